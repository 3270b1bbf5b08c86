import path from 'node:path';
import { resource } from '@dag/core';
import { z } from 'zod';
import { DEFAULT_DATA_DIR } from '../ds-paths.ts';

/** The pipeline's local folders, all under one data folder. */
export interface DsFiles {
  /** `data/images/ds` (DS_DATA_DIR). */
  readonly dataDir: string;
  /** Downloaded PNGs waiting to be converted: `<dataDir>/<source-bucket>/`. */
  downloadDir(sourceBucket: string): string;
  /** Converted WebPs waiting to be published: `<dataDir>/<target-bucket>/`. */
  webpDir(targetBucket: string): string;
  /** Published PNG + WebP: `<dataDir>/final/`. */
  readonly finalDir: string;
  /** Small state files (the download manifest): `<dataDir>/.state/`. */
  readonly stateDir: string;
}

/** The local data folder (DS_DATA_DIR, default `<repo>/data/images/ds`). */
export const dsFiles = resource({
  name: 'ds_files',
  description: 'Local working folders of the DS pipeline: DS_DATA_DIR, default data/images/ds.',
  config: z.object({ dataDir: z.string().default(DEFAULT_DATA_DIR) }),
  env: { dataDir: 'DS_DATA_DIR' },
  create: (config): DsFiles => {
    const dataDir = path.resolve(config.dataDir);
    return {
      dataDir,
      downloadDir: (bucket) => path.join(dataDir, bucket),
      webpDir: (bucket) => path.join(dataDir, bucket),
      finalDir: path.join(dataDir, 'final'),
      stateDir: path.join(dataDir, '.state'),
    };
  },
});
