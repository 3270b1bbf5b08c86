import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { lazyRequire, resource } from '@dag/core';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { z } from 'zod';
import { DEFAULT_DUCKDB_PATH } from '../ds-paths.ts';

/** Loaded when the file is opened, not with the definitions. */
const duckdb = lazyRequire<typeof import('@duckdb/node-api')>('@duckdb/node-api', import.meta.url);

/** What `ds_duckdb` hands to assets. */
export interface DsDuckDb {
  readonly path: string;
  /**
   * Opens the database file, runs `fn` on a connection and closes it again. The file is held
   * only for that long: DuckDB allows one writing process per file, and a run should not keep
   * other readers (a notebook, the demo's summary) out for its whole duration.
   */
  withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
}

/**
 * The logo processing history. One row per logo version: (file, png_md5) is unique; processing
 * the same bytes again (a re-run, a run resumed after a kill) replaces that row.
 */
export const LOGO_UPDATES_DDL = `
CREATE TABLE IF NOT EXISTS ds_logo_updates (
  run_id VARCHAR NOT NULL,
  file VARCHAR NOT NULL,
  png_md5 VARCHAR NOT NULL,
  channel_id VARCHAR,
  brand VARCHAR,
  company_id VARCHAR,
  png_url VARCHAR,
  webp_url VARCHAR,
  status VARCHAR NOT NULL,
  error VARCHAR,
  bytes BIGINT,
  processed_at TIMESTAMPTZ NOT NULL
)`;

/**
 * The history database at `file` (created, with its folder and table, when missing), as the
 * `ds_duckdb` resource hands it to assets.
 */
export async function openDsDuckDb(file: string): Promise<DsDuckDb> {
  await mkdir(path.dirname(file), { recursive: true });
  // The table is created by the first use, not by an open of its own: each open and close of
  // the file costs a checkpoint (~100 ms), a large share of a re-run that has nothing to do.
  let tableEnsured = false;
  const withConnection = async <T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> => {
    let instance: DuckDBInstance;
    try {
      instance = await duckdb().DuckDBInstance.create(file);
    } catch (error) {
      throw new Error(
        `ds_duckdb: cannot open ${file}: another process may hold it open (DuckDB allows one writer per file); close it or set DS_DUCKDB_PATH to another file.`,
        { cause: error },
      );
    }
    const connection = await instance.connect();
    try {
      if (!tableEnsured) {
        await connection.run(LOGO_UPDATES_DDL);
        tableEnsured = true;
      }
      return await fn(connection);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  };
  return { path: file, withConnection };
}

/** The DuckDB file of the pipeline's history (`data/ds.duckdb`; DS_DUCKDB_PATH overrides). */
export const dsDuckDb = resource({
  name: 'ds_duckdb',
  description:
    'DuckDB file holding the logo history table ds_logo_updates. DS_DUCKDB_PATH, default data/ds.duckdb.',
  config: z.object({ path: z.string().default(DEFAULT_DUCKDB_PATH) }),
  env: { path: 'DS_DUCKDB_PATH' },
  create: (config) => openDsDuckDb(path.resolve(config.path)),
});
