import { resource } from '@dag/core';
import { createObjectStore, type ObjectStore } from '@dag/object-store';
import { z } from 'zod';

/** Google Cloud Storage's S3-compatible XML API. */
export const GCS_XML_API = 'https://storage.googleapis.com';

/** What `gcs` hands to assets. */
export interface GcsBucket {
  readonly store: ObjectStore;
  readonly bucket: string;
  /** `gs://bucket` on the endpoint, without credentials. */
  readonly location: string;
}

/**
 * A Google Cloud Storage bucket through its S3-compatible XML API, with an HMAC key of a service
 * account (Cloud Storage > Settings > Interoperability): GCS_BUCKET, GCS_HMAC_ACCESS_ID,
 * GCS_HMAC_SECRET (secret), GCS_ENDPOINT (default https://storage.googleapis.com; an
 * S3-protocol server in tests).
 */
export const gcs = resource({
  name: 'gcs',
  description:
    "A Google Cloud Storage bucket on GCS's S3-compatible XML API (HMAC key): GCS_BUCKET, GCS_HMAC_ACCESS_ID, GCS_HMAC_SECRET, GCS_ENDPOINT (default https://storage.googleapis.com).",
  config: z.object({
    bucket: z.string().min(3, 'set GCS_BUCKET to the bucket name'),
    accessId: z.string().min(1, 'set GCS_HMAC_ACCESS_ID to the HMAC access id of a service account'),
    secret: z.string().min(1, 'set GCS_HMAC_SECRET to the HMAC secret of that access id'),
    endpoint: z.string().url().default(GCS_XML_API),
    region: z.string().default('auto'),
  }),
  env: {
    bucket: 'GCS_BUCKET',
    accessId: 'GCS_HMAC_ACCESS_ID',
    secret: { env: 'GCS_HMAC_SECRET', secret: true },
    endpoint: 'GCS_ENDPOINT',
    region: 'GCS_REGION',
  },
  create: (config): GcsBucket => ({
    store: createObjectStore({
      bucket: config.bucket,
      endpoint: config.endpoint,
      accessKeyId: config.accessId,
      secretAccessKey: config.secret,
      region: config.region,
    }),
    bucket: config.bucket,
    location: `gs://${config.bucket} (${config.endpoint})`,
  }),
});
