import { registerSecret, resource } from '@dag/core';
import { openWarehouse, type Warehouse, warehouseKind } from '@dag/sql';
import { z } from 'zod';

/**
 * A second BigQuery project, reached with its own service-account key: LEGACY_BIGQUERY_URL
 * (`bigquery://<project>/<dataset-prefix>?location=...`) and LEGACY_GCP_SERVICE_ACCOUNT_KEY (the
 * key's JSON or a path to it, secret). The main warehouse keeps GCP_SERVICE_ACCOUNT_KEY; this one
 * is for reading (or writing) the project the original system also used. BIGQUERY_EMULATOR_HOST
 * points both elsewhere (the BigQuery replica in tests).
 */
export const legacyBigquery = resource({
  name: 'legacy_bigquery',
  description:
    'A second BigQuery project with its own key: LEGACY_BIGQUERY_URL (bigquery://<project>/<dataset-prefix>?location=...) and LEGACY_GCP_SERVICE_ACCOUNT_KEY (JSON or a file path).',
  config: z.object({
    url: z
      .string()
      .min(1, 'set LEGACY_BIGQUERY_URL to bigquery://<project>/<dataset-prefix>?location=<location>')
      .refine((url) => /^bigquery:/i.test(url), 'LEGACY_BIGQUERY_URL must be a bigquery:// URL'),
    key: z
      .string()
      .min(1, 'set LEGACY_GCP_SERVICE_ACCOUNT_KEY to the JSON key (or its path) of the second project'),
    emulatorHost: z.string().optional(),
  }),
  env: {
    url: 'LEGACY_BIGQUERY_URL',
    key: { env: 'LEGACY_GCP_SERVICE_ACCOUNT_KEY', secret: true },
    emulatorHost: 'BIGQUERY_EMULATOR_HOST',
  },
  create: (config): Promise<Warehouse> => {
    warehouseKind(config.url);
    registerSecret(config.key);
    return openWarehouse(config.url, {
      GCP_SERVICE_ACCOUNT_KEY: config.key,
      ...(config.emulatorHost ? { BIGQUERY_EMULATOR_HOST: config.emulatorHost } : {}),
    });
  },
  dispose: (warehouse) => warehouse.close(),
});
