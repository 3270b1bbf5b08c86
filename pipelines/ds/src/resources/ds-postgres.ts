import { ensureEmbeddedPostgres, lazyRequire, maskConnectionString, resource, withDatabase } from '@dag/core';
import type pg from 'pg';
import { z } from 'zod';

/** Loaded when the resource is made, not with the definitions. */
const postgres = lazyRequire<typeof pg>('pg', import.meta.url);

/** What `ds_postgres` hands to assets. */
export interface DsPostgres {
  readonly pool: pg.Pool;
  /** The connection URL with its password masked, for logs and metadata. */
  readonly location: string;
  readonly database: string;
}

/** The database the DS pipeline uses on the instance's embedded server when DS_POSTGRES_URL is unset. */
export const EMBEDDED_DS_DATABASE = 'ds';

/**
 * The `company` table as the pipeline needs it. Created only when missing: an existing table
 * (production) is used as it is, and `naver_channel_id` / `updated_at` are optional there.
 */
export const COMPANY_DDL = `
CREATE TABLE IF NOT EXISTS company (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  naver_channel_id text,
  thumbnail text,
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new (postgres().Client)({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client
        .query(`CREATE DATABASE ${postgres().escapeIdentifier(database)}`)
        .catch((error: { code?: string }) => {
          if (error.code !== '42P04') throw error; // created concurrently by another run
        });
    }
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL holding the `company` table whose `thumbnail` the pipeline sets.
 * DS_POSTGRES_URL (secret); without it, the `ds` database on the instance's embedded server.
 */
export const dsPostgres = resource({
  name: 'ds_postgres',
  description:
    "PostgreSQL with the `company` table (thumbnail = the logo's public PNG URL). DS_POSTGRES_URL, else the `ds` database on the instance's embedded server.",
  config: z.object({ url: z.string().optional() }),
  env: { url: { env: 'DS_POSTGRES_URL', secret: true } },
  create: async (config, context): Promise<DsPostgres> => {
    let url = config.url;
    if (!url) {
      const server = await ensureEmbeddedPostgres(context.home);
      await ensureDatabase(server.url, EMBEDDED_DS_DATABASE);
      url = withDatabase(server.url, EMBEDDED_DS_DATABASE);
    }
    const location = maskConnectionString(url);
    const pool = new (postgres().Pool)({ connectionString: url, max: 4 });
    // An idle client's error (server restart) must not crash the run worker.
    pool.on('error', () => {});
    try {
      await pool.query(COMPANY_DDL);
    } catch (error) {
      await pool.end().catch(() => {});
      throw new Error(
        `ds_postgres: cannot prepare the company table in ${location}: check DS_POSTGRES_URL (host, database, user rights to CREATE TABLE).`,
        { cause: error },
      );
    }
    return { pool, location, database: new URL(url).pathname.slice(1) };
  },
  dispose: async (value) => {
    await value.pool.end();
  },
});
