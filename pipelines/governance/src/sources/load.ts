import type { Warehouse, WarehouseKind } from '@dag/sql';

/**
 * Loading source rows into the warehouse's `raw` schema, the same way for every source asset
 * (BigCommerce, the read-only PostgreSQL databases): a declared table, created when missing,
 * and an upsert by key that runs as "delete the rows with these keys, insert the new rows" in
 * one transaction per batch. That statement pair is the one upsert all three engines (DuckDB,
 * PostgreSQL, BigQuery) run alike, so re-running a window never duplicates a row.
 *
 * The `Warehouse` contract of @dag/sql takes SQL text only (no bound parameters), so values
 * are rendered here as typed literals, per engine, after validation.
 */

/** The column types a raw table may have; each maps to the engine's own type. */
export type RawColumnType = 'string' | 'bigint' | 'int' | 'decimal' | 'boolean' | 'timestamp';

export interface RawTable {
  /** Default `raw`. */
  schema?: string;
  name: string;
  /** Column name -> type, in table order. */
  columns: Readonly<Record<string, RawColumnType>>;
  /** The unique key column (default `id`); rows without it are skipped. */
  key?: string;
}

export interface SkippedRow {
  /** The row's key, when it has one. */
  key: string | null;
  reason: string;
}

export interface UpsertResult {
  /** Rows written (after dropping duplicates of a key within the call: the last one wins). */
  upserted: number;
  /** Rows that could not be written (missing key, a value of the wrong type), with why. */
  skipped: SkippedRow[];
}

/** The schema every source table lands in. */
export const RAW_SCHEMA = 'raw';

/** Rows per DELETE + INSERT transaction. */
export const DEFAULT_UPSERT_BATCH = 500;

const TYPES: Record<WarehouseKind, Record<RawColumnType, string>> = {
  duckdb: {
    string: 'VARCHAR',
    bigint: 'BIGINT',
    int: 'INTEGER',
    decimal: 'DECIMAL(18,4)',
    boolean: 'BOOLEAN',
    timestamp: 'TIMESTAMP',
  },
  postgres: {
    string: 'text',
    bigint: 'bigint',
    int: 'integer',
    decimal: 'numeric(18,4)',
    boolean: 'boolean',
    timestamp: 'timestamp',
  },
  bigquery: {
    string: 'STRING',
    bigint: 'INT64',
    int: 'INT64',
    decimal: 'NUMERIC',
    boolean: 'BOOL',
    timestamp: 'TIMESTAMP',
  },
};

/** The engine's own type of a raw column type (`string` is VARCHAR, text or STRING). */
export function sqlType(kind: WarehouseKind, type: RawColumnType): string {
  return TYPES[kind][type];
}

class InvalidValue extends Error {}

function stringLiteral(kind: WarehouseKind, value: string): string {
  if (kind === 'bigquery') {
    // BigQuery string literals take backslash escapes and no raw line breaks.
    const escaped = value
      .replaceAll('\\', '\\\\')
      .replaceAll("'", "\\'")
      .replaceAll('\n', '\\n')
      .replaceAll('\r', '\\r');
    return `'${escaped}'`;
  }
  // DuckDB and PostgreSQL (standard_conforming_strings): only the quote doubles. NUL is not text.
  return `'${value.replaceAll('\u0000', '').replaceAll("'", "''")}'`;
}

/** An ISO date-time without a zone (`2026-12-01 09:00:00`, `2026-12-01T09:00`): read as UTC. */
const ZONELESS = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/;

/**
 * UTC `YYYY-MM-DD HH:MM:SS.mmm`, the timestamp text every engine reads. Accepts a Date, epoch
 * milliseconds, an ISO string (one without a zone is UTC, never the machine's local time) or an
 * RFC 2822 date (`Wed, 10 Jan 2018 21:05:30 +0000`, BigCommerce v2).
 */
export function timestampText(value: unknown): string {
  let date: Date;
  if (value instanceof Date) date = value;
  else if (typeof value === 'number') date = new Date(value);
  else if (typeof value === 'string') {
    const zoneless = ZONELESS.exec(value.trim());
    date = new Date(zoneless ? `${zoneless[1]}T${zoneless[2]}Z` : value);
  } else date = new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw new InvalidValue(`not a timestamp: ${JSON.stringify(value)}`);
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

function integerText(value: unknown, bits: 32 | 64): string {
  const text =
    typeof value === 'bigint' ? value.toString() : typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^-?\d+$/.test(text.trim())) {
    throw new InvalidValue(`not an integer: ${JSON.stringify(value)}`);
  }
  const n = BigInt(text.trim());
  const limit = bits === 32 ? 2n ** 31n : 2n ** 63n;
  if (n < -limit || n >= limit) throw new InvalidValue(`out of range for a ${bits}-bit integer: ${text}`);
  return n.toString();
}

function decimalText(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text.trim())) {
    throw new InvalidValue(`not a decimal number: ${JSON.stringify(value)}`);
  }
  return text.trim();
}

/** One value as a literal of the column's type for this engine; throws InvalidValue. */
function literal(kind: WarehouseKind, type: RawColumnType, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const sqlType = TYPES[kind][type];
  switch (type) {
    case 'string':
      if (typeof value === 'object') return stringLiteral(kind, JSON.stringify(value));
      return stringLiteral(kind, String(value));
    case 'bigint':
      return integerText(value, 64);
    case 'int':
      return integerText(value, 32);
    case 'decimal':
      return `CAST('${decimalText(value)}' AS ${sqlType})`;
    case 'boolean':
      if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
      if (value === 'true' || value === 't' || value === 1) return 'TRUE';
      if (value === 'false' || value === 'f' || value === 0) return 'FALSE';
      throw new InvalidValue(`not a boolean: ${JSON.stringify(value)}`);
    case 'timestamp':
      return `CAST('${timestampText(value)}' AS ${sqlType})`;
  }
}

/**
 * Each valid row as a `(...)` VALUES tuple by its key literal (the last row of a key wins, as a
 * later page of the same record would); rows without a key or with a value of the wrong type
 * are reported instead.
 */
function renderRows(
  warehouse: Warehouse,
  table: RawTable,
  rows: Iterable<Record<string, unknown>>,
): { values: Map<string, string>; skipped: SkippedRow[] } {
  const key = table.key ?? 'id';
  const columns = Object.entries(table.columns);
  const keyType = table.columns[key];
  if (!keyType) throw new Error(`raw table ${table.name}: its key column '${key}' is not among its columns`);
  const skipped: SkippedRow[] = [];
  const values = new Map<string, string>();
  for (const row of rows) {
    const keyValue = row[key];
    if (keyValue === null || keyValue === undefined || keyValue === '') {
      skipped.push({ key: null, reason: `no ${key}` });
      continue;
    }
    try {
      const keyLiteral = literal(warehouse.kind, keyType, keyValue);
      const tuple = columns.map(([name, type]) => {
        try {
          return literal(warehouse.kind, type, row[name]);
        } catch (error) {
          if (error instanceof InvalidValue) throw new InvalidValue(`${name}: ${error.message}`);
          throw error;
        }
      });
      values.set(keyLiteral, `(${tuple.join(', ')})`);
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      skipped.push({ key: String(keyValue), reason: error.message });
    }
  }
  return { values, skipped };
}

function tableOf(warehouse: Warehouse, table: RawTable): string {
  return warehouse.relation(table.schema ?? RAW_SCHEMA, table.name);
}

/** `CREATE TABLE IF NOT EXISTS` for the declared table (and its schema). */
export async function ensureRawTable(warehouse: Warehouse, table: RawTable): Promise<void> {
  const schema = table.schema ?? RAW_SCHEMA;
  await warehouse.ensureSchema(schema);
  const columns = Object.entries(table.columns)
    .map(([name, type]) => `${warehouse.quoteIdentifier(name)} ${TYPES[warehouse.kind][type]}`)
    .join(', ');
  await warehouse.execute(`CREATE TABLE IF NOT EXISTS ${tableOf(warehouse, table)} (${columns})`);
}

/**
 * Upserts `rows` into `table` by its key (creating the table when missing). Columns the table
 * declares but a row lacks are written as NULL; keys a row has but the table does not declare
 * are ignored. A row with no key or a value of the wrong type is skipped and reported, never
 * half-written; the others go on. Each batch is one transaction.
 */
export async function upsertRows(
  warehouse: Warehouse,
  table: RawTable,
  rows: Iterable<Record<string, unknown>>,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<UpsertResult> {
  await ensureRawTable(warehouse, table);
  const { values: byKey, skipped } = renderRows(warehouse, table, rows);
  const columns = Object.keys(table.columns);
  const key = table.key ?? 'id';
  const target = tableOf(warehouse, table);
  const columnList = columns.map((name) => warehouse.quoteIdentifier(name)).join(', ');
  const quotedKey = warehouse.quoteIdentifier(key);
  const entries = [...byKey.entries()];
  const batchSize = options.batchSize ?? DEFAULT_UPSERT_BATCH;
  for (let i = 0; i < entries.length; i += batchSize) {
    const batch = entries.slice(i, i + batchSize);
    await warehouse.transaction(
      [
        `DELETE FROM ${target} WHERE ${quotedKey} IN (${batch.map(([k]) => k).join(', ')})`,
        `INSERT INTO ${target} (${columnList}) VALUES ${batch.map(([, v]) => v).join(', ')}`,
      ],
      options.signal ? { signal: options.signal } : {},
    );
  }
  return { upserted: entries.length, skipped };
}

/**
 * Replaces every row of `table` with `rows` in one transaction: for a table that holds a current
 * snapshot (the on-sale inventory), where a record missing from the new rows must disappear.
 * Invalid rows are skipped and reported as by `upsertRows`.
 */
export async function replaceRows(
  warehouse: Warehouse,
  table: RawTable,
  rows: Iterable<Record<string, unknown>>,
  options: { signal?: AbortSignal } = {},
): Promise<UpsertResult> {
  await ensureRawTable(warehouse, table);
  const { values, skipped } = renderRows(warehouse, table, rows);
  const target = tableOf(warehouse, table);
  const columnList = Object.keys(table.columns)
    .map((name) => warehouse.quoteIdentifier(name))
    .join(', ');
  const statements = [`DELETE FROM ${target} WHERE TRUE`];
  const all = [...values.values()];
  for (let i = 0; i < all.length; i += DEFAULT_UPSERT_BATCH) {
    statements.push(
      `INSERT INTO ${target} (${columnList}) VALUES ${all.slice(i, i + DEFAULT_UPSERT_BATCH).join(', ')}`,
    );
  }
  await warehouse.transaction(statements, options.signal ? { signal: options.signal } : {});
  return { upserted: all.length, skipped };
}

/** Rows in a raw table (0 when it does not exist yet). */
export async function countRows(warehouse: Warehouse, table: RawTable): Promise<number> {
  if ((await warehouse.relationType(table.schema ?? RAW_SCHEMA, table.name)) === null) return 0;
  const { rows } = await warehouse.query(`SELECT count(*) AS n FROM ${tableOf(warehouse, table)}`);
  return Number(rows[0]?.n ?? 0);
}
