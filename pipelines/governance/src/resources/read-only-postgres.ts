import {
  lazyRequire,
  maskConnectionString,
  type ResourceDefinition,
  registerSecret,
  resource,
} from '@dag/core';
import type pg from 'pg';
import { z } from 'zod';

// Loaded when a pool is made: defining the resource (listing the workspace) does not pay for pg.
const postgres = lazyRequire<typeof pg>('pg', import.meta.url);

/** Default statement timeout of a read-only query. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;

/** What `wise_postgres` and `commerce_postgres` hand to assets. */
export interface ReadOnlyPostgres {
  /** The resource's name (`wise_postgres`), used in every error. */
  readonly name: string;
  /** The connection URL with its password masked, for logs and metadata. */
  readonly location: string;
  readonly statementTimeoutMs: number;
  /**
   * Runs one statement, with `$1`-style parameters, in its own `BEGIN READ ONLY` transaction
   * with `SET LOCAL statement_timeout`. The server refuses anything that writes.
   */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]>;
  close(): Promise<void>;
}

/** Why a read-only query failed; the message names the resource and says what to do. */
export class ReadOnlyPostgresError extends Error {
  override name = 'ReadOnlyPostgresError';
  constructor(
    message: string,
    /** `read_only` (the server refused a write), `timeout`, `unreachable` or `query`. */
    readonly reason: 'read_only' | 'timeout' | 'unreachable' | 'query',
    /** The PostgreSQL SQLSTATE, when the server answered. */
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const TIMESTAMP_OID = 1114;

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function explain(
  name: string,
  envVar: string,
  location: string,
  timeoutMs: number,
  error: unknown,
): ReadOnlyPostgresError {
  const e = error as { code?: string; message?: string };
  const message = maskConnectionString(e.message ?? String(error));
  const code = e.code;
  // 25006: read_only_sql_transaction; some refusals (0A000, feature_not_supported) also say read-only.
  if (code === '25006' || (code === '0A000' && /read-only/i.test(message))) {
    return new ReadOnlyPostgresError(
      `${name} is read-only: the server refused a statement that writes (${message}). Read with SELECT only; writes belong to the database's own application.`,
      'read_only',
      code,
    );
  }
  if (code === '57014') {
    return new ReadOnlyPostgresError(
      `${name}: the query ran longer than its statement timeout (${timeoutMs} ms) and the server cancelled it. Narrow the query (a smaller window: lower hours_lookback) or raise ${envVar.replace(/_URL$/, '_STATEMENT_TIMEOUT_MS')}.`,
      'timeout',
      code,
    );
  }
  if (
    (code && CONNECTION_ERROR_CODES.has(code)) ||
    code === '28P01' ||
    code === '28000' ||
    code === '3D000' ||
    /Connection terminated|connect ECONN|timeout expired/i.test(message)
  ) {
    return new ReadOnlyPostgresError(
      `${name}: cannot reach ${location} (${message}). Check ${envVar} (host, port, database, user and password) and that the server is up.`,
      'unreachable',
      code,
    );
  }
  return new ReadOnlyPostgresError(`${name}: the query failed on ${location}: ${message}`, 'query', code);
}

/**
 * A PostgreSQL connection the server itself keeps read-only: each query runs alone (the
 * extended protocol, which refuses a second statement such as `COMMIT; DELETE ...`) in a
 * `BEGIN READ ONLY` transaction with `SET LOCAL statement_timeout`, on sessions whose
 * `default_transaction_read_only` is on. A text filter ("refuse INSERT or DELETE") would block a
 * column named `deleted_at` and let UPDATE, DDL, `WITH ... DELETE` and writing functions through;
 * the server's own read-only mode refuses every write, whatever the text.
 */
export function openReadOnlyPostgres(options: {
  name: string;
  url: string;
  envVar: string;
  statementTimeoutMs?: number;
  maxConnections?: number;
}): ReadOnlyPostgres {
  const { name, url, envVar } = options;
  const timeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  try {
    const password = new URL(url).password;
    if (password) registerSecret(decodeURIComponent(password));
  } catch {}
  const location = maskConnectionString(url);
  const pool = new (postgres().Pool)({
    connectionString: url,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: 15_000,
    options: '-c default_transaction_read_only=on',
    application_name: `dag ${name}`,
    // A `timestamp` (without time zone) stays the text the server sent: pg would read it as the
    // process's local time and shift it.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === TIMESTAMP_OID
          ? (value: string) => value
          : postgres().types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client's error (server restart) must not crash the run worker.
  pool.on('error', () => {});
  return {
    name,
    location,
    statementTimeoutMs: timeoutMs,
    async query<R extends Record<string, unknown>>(
      sql: string,
      params: readonly unknown[] = [],
    ): Promise<R[]> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw explain(name, envVar, location, timeoutMs, error);
      }
      let broken = false;
      try {
        await client.query('BEGIN TRANSACTION READ ONLY');
        await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
        // `queryMode` (pg >= 8.12) forces the extended protocol even without parameters; @types/pg
        // does not declare it yet.
        const statement: pg.QueryConfig & { queryMode: 'extended' } = {
          text: sql,
          values: [...params],
          queryMode: 'extended',
        };
        const result = await client.query<R>(statement);
        await client.query('ROLLBACK');
        return result.rows;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw explain(name, envVar, location, timeoutMs, error);
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** A read-only PostgreSQL resource read from `<envVar>` (secret) and `<envVar minus _URL>_STATEMENT_TIMEOUT_MS`. */
export function readOnlyPostgresResource(options: {
  name: string;
  envVar: string;
  description: string;
}): ResourceDefinition<ReadOnlyPostgres> {
  const timeoutVar = options.envVar.replace(/_URL$/, '_STATEMENT_TIMEOUT_MS');
  return resource({
    name: options.name,
    description: `${options.description} Read-only: every query runs in a READ ONLY transaction with a statement timeout (${options.envVar}, ${timeoutVar}, default ${DEFAULT_STATEMENT_TIMEOUT_MS} ms).`,
    config: z.object({
      url: z.string().min(1, `set ${options.envVar} to postgresql://user:password@host:5432/database`),
      statementTimeoutMs: z.coerce.number().int().positive().default(DEFAULT_STATEMENT_TIMEOUT_MS),
    }),
    env: { url: { env: options.envVar, secret: true }, statementTimeoutMs: timeoutVar },
    create: (config) =>
      openReadOnlyPostgres({
        name: options.name,
        url: config.url,
        envVar: options.envVar,
        statementTimeoutMs: config.statementTimeoutMs,
      }),
    dispose: (value) => value.close(),
  });
}

/** The Wisely application database (point transactions), read-only. */
export const wisePostgres = readOnlyPostgresResource({
  name: 'wise_postgres',
  envVar: 'WISE_POSTGRES_URL',
  description: 'The Wisely application database (point_transaction).',
});

/** The commerce database (quotations), read-only. */
export const commercePostgres = readOnlyPostgresResource({
  name: 'commerce_postgres',
  envVar: 'COMMERCE_POSTGRES_URL',
  description: 'The commerce database (quotation).',
});
