import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type {
  ExecuteResult,
  QueryResult,
  RelationKind,
  ReplaceOptions,
  Warehouse,
  WarehouseCallOptions,
  WarehouseColumn,
} from '../warehouse.ts';
import {
  InformationSchemaWarehouse,
  inTransaction,
  jsonSafe,
  SerialQueue,
  WarehouseConnectError,
  withAbort,
} from './common.ts';

/**
 * DuckDB, a file (`duckdb:///abs/path.duckdb`) or `:memory:`. One connection, used by one
 * statement at a time: DuckDB runs a connection's statements in order, and a transaction must
 * not interleave with another step's statements.
 */
export class DuckDBWarehouse extends InformationSchemaWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  readonly displayName: string;
  private opened: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  private readonly queue = new SerialQueue();

  constructor(readonly file: string) {
    super();
    this.displayName = `duckdb://${file}`;
  }

  private open(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
    this.opened ??= (async () => {
      try {
        if (this.file !== ':memory:') await mkdir(path.dirname(this.file), { recursive: true });
        const instance = await DuckDBInstance.create(this.file);
        return { instance, connection: await instance.connect() };
      } catch (error) {
        this.opened = undefined;
        throw new WarehouseConnectError(
          `Cannot open the DuckDB warehouse ${this.file}: ${(error as Error).message}. Another process may hold the file open (DuckDB allows one writer per file), or the folder is not writable; set WAREHOUSE_URL to another duckdb:///path.`,
          { cause: error },
        );
      }
    })();
    return this.opened;
  }

  private async run<T>(options: WarehouseCallOptions | undefined, fn: (c: DuckDBConnection) => Promise<T>) {
    const { connection } = await this.open();
    return await this.queue.run(() =>
      withAbort(
        options?.signal,
        () => connection.interrupt(),
        () => fn(connection),
      ),
    );
  }

  async query(sql: string, options?: WarehouseCallOptions): Promise<QueryResult> {
    return await this.run(options, async (c) => {
      const reader = await c.runAndReadAll(sql);
      const names = reader.columnNames();
      const types = reader.columnTypes();
      return {
        columns: names.map((name, i) => ({ name, type: String(types[i]) })),
        rows: reader.getRowObjectsJS().map((row) => jsonSafe(row) as Record<string, unknown>),
      };
    });
  }

  async execute(sql: string, options?: WarehouseCallOptions): Promise<ExecuteResult> {
    return await this.run(options, async (c) => ({ rowsAffected: changed(await c.run(sql)) }));
  }

  async transaction(statements: readonly string[], options?: WarehouseCallOptions): Promise<ExecuteResult[]> {
    return await this.run(options, (c) =>
      inTransaction(async (sql) => changed(await c.run(sql)), statements),
    );
  }

  /**
   * `CREATE OR REPLACE` is one statement in its own transaction: a failure (or a killed process)
   * leaves the previous relation whole, and no temporary table is needed. A relation of the
   * other kind in the way is dropped in the same transaction. When the caller did not look up
   * what is there (`existing` undefined), the one statement is tried first: DuckDB refuses to
   * replace a relation of the other kind (changing nothing), and only then is the catalog asked.
   */
  async replaceRelation(
    schema: string,
    name: string,
    kind: RelationKind,
    select: string,
    options: ReplaceOptions,
  ): Promise<{ rows: number | null }> {
    const target = this.relation(schema, name);
    const create = `CREATE OR REPLACE ${kind === 'table' ? 'TABLE' : 'VIEW'} ${target} AS\n${select}`;
    const replace = (existing: RelationKind | null) =>
      this.run(options, async (c) => {
        const swap = existing !== null && existing !== kind;
        if (swap) await c.run('BEGIN');
        try {
          if (swap) await c.run(`DROP ${existing === 'view' ? 'VIEW' : 'TABLE'} ${target}`);
          // CREATE TABLE ... AS answers one row: the number of rows it wrote.
          const reader = await c.runAndReadAll(create);
          if (swap) await c.run('COMMIT');
          const count = kind === 'table' ? reader.getRows()[0]?.[0] : undefined;
          return { rows: count === undefined || count === null ? null : Number(count) };
        } catch (error) {
          if (swap) await c.run('ROLLBACK').catch(() => {});
          throw error;
        }
      });
    if (options.existing !== undefined) return await replace(options.existing);
    try {
      return await replace(kind);
    } catch (error) {
      if (!/Existing object .* is of type/i.test(String((error as Error)?.message))) throw error;
      return await replace(await this.relationType(schema, name));
    }
  }

  /** The result's own column types: much faster in DuckDB than information_schema. */
  override async columns(schema: string, name: string): Promise<WarehouseColumn[]> {
    try {
      return (await this.query(`SELECT * FROM ${this.relation(schema, name)} LIMIT 0`)).columns;
    } catch (error) {
      // One statement in the common case; the catalog is asked only when the query failed.
      if ((await this.relationType(schema, name)) === null) return [];
      throw error;
    }
  }

  override async relationType(schema: string, name: string): Promise<'table' | 'view' | null> {
    const { rows } = await this.query(
      `SELECT 'table' AS t FROM duckdb_tables() WHERE schema_name = ${literal(schema)} AND table_name = ${literal(name)} UNION ALL SELECT 'view' FROM duckdb_views() WHERE schema_name = ${literal(schema)} AND view_name = ${literal(name)}`,
    );
    return (rows[0]?.t as 'table' | 'view' | undefined) ?? null;
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (!opened) return;
    const { instance, connection } = await opened.catch(() => ({
      instance: undefined,
      connection: undefined,
    }));
    await this.queue.idle();
    connection?.closeSync();
    instance?.closeSync();
  }
}

function changed(result: { rowsChanged: number; columnNames(): string[] }): number | null {
  // A SELECT reports 0 changed rows; only statements that write report a count.
  return Number.isFinite(result.rowsChanged) ? result.rowsChanged : null;
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
