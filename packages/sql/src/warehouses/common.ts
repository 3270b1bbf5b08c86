import type {
  ExecuteResult,
  MergeSpec,
  QueryResult,
  Warehouse,
  WarehouseCallOptions,
  WarehouseColumn,
} from '../warehouse.ts';

/** What the DuckDB and PostgreSQL engines share: quoting, JSON-safe values, ordering, aborts. */

/** Thrown when the warehouse cannot be reached or opened (as opposed to a statement failing). */
export class WarehouseConnectError extends Error {
  override name = 'WarehouseConnectError';
}

export function quoteDouble(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."name"`: how DuckDB and PostgreSQL name a relation. */
export function quotedRelation(schema: string, name: string): string {
  return `${quoteDouble(schema)}.${quoteDouble(name)}`;
}

/** Values as they can go into metadata and JSON: bigints, dates and buffers made plain. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

/** Runs tasks one after another (one connection, one statement or transaction at a time). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => {});
    return next;
  }

  idle(): Promise<unknown> {
    return this.tail;
  }
}

/** Runs `fn`; when `signal` fires meanwhile, calls `cancel` (which makes `fn` fail). */
export async function withAbort<T>(
  signal: AbortSignal | undefined,
  cancel: () => void,
  fn: () => Promise<T>,
): Promise<T> {
  if (!signal) return await fn();
  signal.throwIfAborted();
  const onAbort = () => cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Runs `statements` between BEGIN and COMMIT on one connection (`run` executes one statement
 * and returns its affected-row count); any failure rolls back and rethrows.
 */
export async function inTransaction(
  run: (sql: string) => Promise<number | null>,
  statements: readonly string[],
): Promise<{ rowsAffected: number | null }[]> {
  await run('BEGIN');
  try {
    const results: { rowsAffected: number | null }[] = [];
    for (const sql of statements) results.push({ rowsAffected: await run(sql) });
    await run('COMMIT');
    return results;
  } catch (error) {
    await run('ROLLBACK').catch(() => {});
    throw error;
  }
}

/**
 * What DuckDB and PostgreSQL answer the same way: double-quoted names, schemas, and the
 * relations and columns of information_schema.
 */
export abstract class InformationSchemaWarehouse {
  abstract query(sql: string, options?: WarehouseCallOptions): Promise<QueryResult>;
  abstract execute(sql: string, options?: WarehouseCallOptions): Promise<ExecuteResult>;
  abstract transaction(
    statements: readonly string[],
    options?: WarehouseCallOptions,
  ): Promise<ExecuteResult[]>;

  /** Delete the rows with the new keys and insert the new rows, in one transaction. */
  async mergeRows(schema: string, name: string, spec: MergeSpec, options?: WarehouseCallOptions) {
    const results = await this.transaction(deleteInsertStatements(this, schema, name, spec), options);
    return results[results.length - 1]?.rowsAffected ?? 0;
  }

  relation(schema: string, name: string): string {
    return quotedRelation(schema, name);
  }

  quoteIdentifier(name: string): string {
    return quoteDouble(name);
  }

  async ensureSchema(schema: string): Promise<void> {
    await this.execute(`CREATE SCHEMA IF NOT EXISTS ${quoteDouble(schema)}`);
  }

  async relationType(schema: string, name: string): Promise<'table' | 'view' | null> {
    const { rows } = await this.query(
      `SELECT table_type FROM information_schema.tables WHERE table_schema = ${literal(schema)} AND table_name = ${literal(name)}`,
    );
    const type = rows[0]?.table_type;
    return type === undefined ? null : type === 'VIEW' ? 'view' : 'table';
  }

  async columns(schema: string, name: string): Promise<WarehouseColumn[]> {
    const { rows } = await this.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ${literal(schema)} AND table_name = ${literal(name)} ORDER BY ordinal_position`,
    );
    return rows.map((r) => ({ name: String(r.column_name), type: String(r.data_type) }));
  }
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The statements that put new rows into a table, in the SQL all three engines accept: delete the
 * target's rows whose key is among the new rows (unless appending), then insert the new rows.
 * Run them in one transaction.
 */
export function deleteInsertStatements(
  warehouse: Pick<Warehouse, 'relation' | 'quoteIdentifier'>,
  schema: string,
  name: string,
  spec: MergeSpec,
): string[] {
  const target = warehouse.relation(schema, name);
  const tmp = warehouse.relation(schema, spec.tmpName);
  const q = (c: string) => warehouse.quoteIdentifier(c);
  const cols = spec.columns.map(q).join(', ');
  const statements: string[] = [];
  if (spec.strategy !== 'append' && spec.uniqueKey?.length) {
    const match = spec.uniqueKey.map((k) => `dag_new.${q(k)} = dag_old.${q(k)}`).join(' AND ');
    statements.push(
      `DELETE FROM ${target} AS dag_old WHERE EXISTS (SELECT 1 FROM ${tmp} AS dag_new WHERE ${match})`,
    );
  }
  statements.push(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${tmp}`);
  return statements;
}
