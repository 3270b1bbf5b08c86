import { maskConnectionString } from '@dag/core';
import pg from 'pg';
import type { ExecuteResult, QueryResult, Warehouse, WarehouseCallOptions } from '../warehouse.ts';
import { InformationSchemaWarehouse, inTransaction, jsonSafe, WarehouseConnectError } from './common.ts';

/** PostgreSQL by URL (`postgresql://user:pass@host:5432/db`), through a small pg pool. */
export class PostgresWarehouse extends InformationSchemaWarehouse implements Warehouse {
  readonly kind = 'postgres' as const;
  readonly displayName: string;
  private readonly pool: pg.Pool;

  constructor(url: string) {
    super();
    this.displayName = maskConnectionString(url);
    this.pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000 });
    this.pool.on('error', () => {
      // An idle client lost its connection; the next checkout reconnects.
    });
  }

  private async client(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw new WarehouseConnectError(
        `Cannot connect to the PostgreSQL warehouse ${this.displayName}: ${(error as Error).message}. Check that the server runs and WAREHOUSE_URL is right.`,
        { cause: error },
      );
    }
  }

  /** Runs `fn` on one client; an abort cancels the running statement on the server. */
  private async withClient<T>(
    options: WarehouseCallOptions | undefined,
    fn: (c: pg.PoolClient) => Promise<T>,
  ) {
    options?.signal?.throwIfAborted();
    const client = await this.client();
    const pid = (client as unknown as { processID?: number }).processID;
    const onAbort = () => {
      if (pid !== undefined) this.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
    };
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn(client);
    } finally {
      options?.signal?.removeEventListener('abort', onAbort);
      client.release();
    }
  }

  async query(sql: string, options?: WarehouseCallOptions): Promise<QueryResult> {
    return await this.withClient(options, async (c) => {
      const result = await c.query({ text: sql, rowMode: 'array' });
      const columns = result.fields.map((f) => ({ name: f.name, type: typeName(f.dataTypeID) }));
      const rows = (result.rows as unknown[][]).map((row) => {
        const out: Record<string, unknown> = {};
        columns.forEach((col, i) => {
          out[col.name] = jsonSafe(row[i]);
        });
        return out;
      });
      return { columns, rows };
    });
  }

  async execute(sql: string, options?: WarehouseCallOptions): Promise<ExecuteResult> {
    return await this.withClient(options, async (c) => ({
      rowsAffected: (await c.query(sql)).rowCount ?? null,
    }));
  }

  async transaction(statements: readonly string[], options?: WarehouseCallOptions): Promise<ExecuteResult[]> {
    return await this.withClient(options, (c) =>
      inTransaction(async (sql) => (await c.query(sql)).rowCount ?? null, statements),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The common type OIDs by name; others print as their OID. */
const TYPE_NAMES: Record<number, string> = {
  16: 'boolean',
  17: 'bytea',
  20: 'bigint',
  21: 'smallint',
  23: 'integer',
  25: 'text',
  114: 'json',
  700: 'real',
  701: 'double precision',
  1043: 'character varying',
  1082: 'date',
  1114: 'timestamp without time zone',
  1184: 'timestamp with time zone',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
};

function typeName(oid: number): string {
  return TYPE_NAMES[oid] ?? `oid ${oid}`;
}
