import { maskConnectionString } from '@dag/core';
import pg from 'pg';
import type {
  ExecuteResult,
  QueryResult,
  RelationKind,
  ReplaceOptions,
  Warehouse,
  WarehouseCallOptions,
} from '../warehouse.ts';
import { TMP_SUFFIX } from '../warehouse.ts';
import {
  InformationSchemaWarehouse,
  inTransaction,
  jsonSafe,
  quoteDouble,
  WarehouseConnectError,
} from './common.ts';

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
      const result = await withLine(sql, c.query({ text: sql, rowMode: 'array' }));
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
      rowsAffected: (await withLine(sql, c.query(sql))).rowCount ?? null,
    }));
  }

  async transaction(statements: readonly string[], options?: WarehouseCallOptions): Promise<ExecuteResult[]> {
    return await this.withClient(options, (c) =>
      inTransaction(async (sql) => (await withLine(sql, c.query(sql))).rowCount ?? null, statements),
    );
  }

  /**
   * One transaction: build into `<name>__dag_tmp`, drop the old relation, rename the new table
   * into place (as dbt-postgres does). The old relation is locked only from the drop on, not
   * while the new rows are built; any failure rolls all of it back. Replacing drops the views
   * that read the old relation (CASCADE, as dbt does); their own models rebuild them.
   */
  async replaceRelation(
    schema: string,
    name: string,
    kind: RelationKind,
    select: string,
    options: ReplaceOptions,
  ): Promise<{ rows: number | null }> {
    const target = this.relation(schema, name);
    const existing =
      options.existing === undefined ? await this.relationType(schema, name) : options.existing;
    const drop = existing
      ? [`DROP ${existing === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${target} CASCADE`]
      : [];
    if (kind === 'view') {
      await this.transaction([...drop, `CREATE VIEW ${target} AS\n${select}`], options);
      return { rows: null };
    }
    const tmpName = `${name}${TMP_SUFFIX}`;
    const tmp = this.relation(schema, tmpName);
    const results = await this.transaction(
      [
        `DROP TABLE IF EXISTS ${tmp}`,
        `CREATE TABLE ${tmp} AS\n${select}`,
        ...drop,
        `ALTER TABLE ${tmp} RENAME TO ${quoteDouble(name)}`,
      ],
      options,
    );
    return { rows: results[1]?.rowsAffected ?? null };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * PostgreSQL places an error by character `position` in the statement; the runner wants the
 * line, as DuckDB ("LINE 3:") and BigQuery ("at [3:5]") give it: set as the error's `line`.
 */
async function withLine<T>(sql: string, pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    const position = Number((error as { position?: string }).position);
    if (Number.isFinite(position) && position > 0 && error && typeof error === 'object') {
      Object.assign(error, { line: sql.slice(0, position - 1).split('\n').length });
    }
    throw error;
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
