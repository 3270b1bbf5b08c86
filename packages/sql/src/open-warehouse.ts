import path from 'node:path';
import { ConfigError, maskConnectionString, registerSecret, siblingModule } from '@dag/core';
import type { RelationNamer } from './compile.ts';
import type { Warehouse, WarehouseKind } from './warehouse.ts';
import { quoteDouble, quotedRelation } from './warehouses/common.ts';

/** The embedded default: a DuckDB file in the working directory, no set-up. */
export const DEFAULT_WAREHOUSE_FILE = path.join('data', 'warehouse.duckdb');

/** Where the BigQuery engine lives; loaded only for `bigquery://` URLs. */
const BIGQUERY_MODULE = './warehouses/bigquery.ts';

// The engines are imported when a warehouse of their kind is opened, not with the package:
// loading a project (`dag list`) needs none of them, and DuckDB's native module alone takes
// seconds to load on a busy machine.

export function defaultWarehouseUrl(cwd = process.cwd()): string {
  return `duckdb://${path.resolve(cwd, DEFAULT_WAREHOUSE_FILE)}`;
}

/** The engine a warehouse URL names, without connecting. */
export function warehouseKind(url: string): WarehouseKind {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'duckdb') return 'duckdb';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'bigquery') return 'bigquery';
  throw new ConfigError(
    `Unsupported warehouse URL '${maskConnectionString(url)}': use duckdb:///abs/path.duckdb, postgresql://user@host/db or bigquery://<project>/<dataset-prefix>?location=<location> (set WAREHOUSE_URL or sqlProject({ warehouse })).`,
  );
}

function duckdbFile(url: string): string {
  const rest = url.replace(/^duckdb:(\/\/)?/i, '');
  if (rest === '' || rest === ':memory:') return ':memory:';
  return path.resolve(decodeURIComponent(rest));
}

/**
 * Opens (lazily: nothing connects until the first statement) the engine for a warehouse URL.
 * The one place that maps URLs to engines.
 */
export async function openWarehouse(url: string, env: NodeJS.ProcessEnv = process.env): Promise<Warehouse> {
  const kind = warehouseKind(url);
  if (kind === 'duckdb') {
    const { DuckDBWarehouse } = await import('./warehouses/duckdb.ts');
    return new DuckDBWarehouse(duckdbFile(url));
  }
  if (kind === 'postgres') {
    const { PostgresWarehouse } = await import('./warehouses/postgres.ts');
    try {
      const password = new URL(url).password;
      if (password) registerSecret(decodeURIComponent(password));
    } catch {}
    return new PostgresWarehouse(url);
  }
  const credentials = env.GCP_SERVICE_ACCOUNT_KEY;
  if (credentials) registerSecret(credentials);
  let module: {
    BigQueryWarehouse: new (options: {
      url: string;
      credentials?: string;
      apiEndpoint?: string;
    }) => Warehouse;
  };
  try {
    module = await import(/* the engine is optional */ siblingModule(BIGQUERY_MODULE, import.meta.url));
  } catch (error) {
    throw new ConfigError(
      `The BigQuery engine (${BIGQUERY_MODULE} in @dag/sql) could not be loaded for ${maskConnectionString(url)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return new module.BigQueryWarehouse({
    url,
    credentials,
    apiEndpoint: env.BIGQUERY_EMULATOR_HOST || undefined,
  });
}

/**
 * What compiling needs of a warehouse: its relation names. DuckDB and PostgreSQL name them the
 * same way and need no engine for it (compiling does not load DuckDB's native module); only
 * BigQuery's names (project, dataset prefix) come from its engine. `close` when done.
 */
export async function relationNamer(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RelationNamer & { close(): Promise<void> }> {
  const kind = warehouseKind(url);
  if (kind === 'bigquery') {
    const warehouse = await openWarehouse(url, env);
    return {
      kind,
      relation: (schema, name) => warehouse.relation(schema, name),
      quoteIdentifier: (name) => warehouse.quoteIdentifier(name),
      close: () => warehouse.close(),
    };
  }
  return {
    kind,
    relation: quotedRelation,
    quoteIdentifier: quoteDouble,
    close: async () => {},
  };
}
