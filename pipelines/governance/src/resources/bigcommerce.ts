import { type ResourceDefinition, resource } from '@dag/core';
import { z } from 'zod';
import {
  BigCommerceClient,
  type BigCommerceClientOptions,
  DEFAULT_BIGCOMMERCE_API_URL,
} from '../bigcommerce/client.ts';

/** The concurrency pool of every step that calls the store: they share its quota. */
export const BIGCOMMERCE_POOL = 'bigcommerce';

/** What the `bigcommerce` resource hands to assets: a new client per step (its own stats). */
export interface BigCommerceResource {
  readonly storeHash: string;
  readonly apiUrl: string;
  client(options?: Pick<BigCommerceClientOptions, 'signal' | 'onWarning'>): BigCommerceClient;
}

/**
 * The BigCommerce store: `BIGCOMMERCE_ACCESS_TOKEN` (secret), `BIGCOMMERCE_STORE_HASH`,
 * `BIGCOMMERCE_API_URL` (default https://api.bigcommerce.com; a replica's address offline) and
 * `BIGCOMMERCE_MAX_IN_FLIGHT` (default 8).
 */
export const bigcommerce: ResourceDefinition<BigCommerceResource> = resource({
  name: 'bigcommerce',
  description:
    'The BigCommerce store API (v2 orders, v3 customers, catalog and inventory), paced to the store quota from its X-Rate-Limit headers.',
  config: z.object({
    accessToken: z.string().min(1, 'set BIGCOMMERCE_ACCESS_TOKEN to the access token of a store API account'),
    storeHash: z
      .string()
      .regex(
        /^[a-z0-9]+$/i,
        'set BIGCOMMERCE_STORE_HASH to the letters and digits after /stores/ in the API path',
      ),
    apiUrl: z.string().url().default(DEFAULT_BIGCOMMERCE_API_URL),
    maxInFlight: z.coerce.number().int().min(1).max(64).default(8),
  }),
  env: {
    accessToken: { env: 'BIGCOMMERCE_ACCESS_TOKEN', secret: true },
    storeHash: 'BIGCOMMERCE_STORE_HASH',
    apiUrl: 'BIGCOMMERCE_API_URL',
    maxInFlight: 'BIGCOMMERCE_MAX_IN_FLIGHT',
  },
  create: (config) => ({
    storeHash: config.storeHash,
    apiUrl: config.apiUrl,
    client: (options = {}) =>
      new BigCommerceClient({
        accessToken: config.accessToken,
        storeHash: config.storeHash,
        apiUrl: config.apiUrl,
        maxInFlight: config.maxInFlight,
        ...options,
      }),
  }),
});
