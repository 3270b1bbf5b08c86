/**
 * The one contract between @dag/sql and a warehouse engine. The project runner (compile,
 * materialize, test) speaks only to this interface; each engine (DuckDB, PostgreSQL, BigQuery)
 * implements it in `warehouses/<engine>.ts`.
 *
 * Names: a model lives in a schema (BigQuery: a dataset) and has a name. `relation()` quotes
 * both for the engine's SQL; engines that prefix datasets (BigQuery's `<dataset-prefix>_<schema>`)
 * do it there, so the runner never builds a relation name by hand.
 */

/** The suffix of a relation built beside its model's relation before it takes its place. */
export const TMP_SUFFIX = '__dag_tmp';

export type WarehouseKind = 'duckdb' | 'postgres' | 'bigquery';

export interface WarehouseColumn {
  name: string;
  /** The engine's own type name, as it reports it (`VARCHAR`, `integer`, `INT64`...). */
  type: string;
}

export interface QueryResult {
  columns: WarehouseColumn[];
  rows: Record<string, unknown>[];
}

export interface ExecuteResult {
  /** Rows inserted, updated or deleted, when the engine reports it; null otherwise. */
  rowsAffected: number | null;
}

export interface WarehouseCallOptions {
  /** Cancels the statement (terminate of the run). */
  signal?: AbortSignal;
}

export type RelationKind = 'table' | 'view';

export interface ReplaceOptions extends WarehouseCallOptions {
  /**
   * What is at the name now (from `relationType`), so the engine knows what it replaces;
   * undefined when the caller did not look: the engine then finds out itself, and only if it
   * needs to (DuckDB replaces in one statement and looks only when a relation of the other
   * kind is in the way).
   */
  existing?: RelationKind | null;
}

/** New rows, built into the table `tmpName` next to the target, and how they go in. */
export interface MergeSpec {
  tmpName: string;
  /** The new rows' columns, all present in the target. */
  columns: readonly string[];
  /** `merge` and `delete+insert` replace the target's rows with the same key; `append` only inserts. */
  strategy: 'merge' | 'delete+insert' | 'append';
  uniqueKey?: readonly string[];
}

export interface Warehouse {
  readonly kind: WarehouseKind;
  /** Where it is, fit to print: passwords and keys are masked. */
  readonly displayName: string;
  /** Quotes `schema.name` for this engine's SQL (BigQuery: `project.<prefix>_<schema>.name`). */
  relation(schema: string, name: string): string;
  /** Quotes one identifier (a column) for this engine's SQL. */
  quoteIdentifier(name: string): string;
  /** Runs one statement that returns rows. */
  query(sql: string, options?: WarehouseCallOptions): Promise<QueryResult>;
  /** Runs one statement for its effect. */
  execute(sql: string, options?: WarehouseCallOptions): Promise<ExecuteResult>;
  /**
   * Runs the statements as one atomic unit: all take effect or none does (DuckDB and PostgreSQL:
   * BEGIN ... COMMIT; BigQuery: one multi-statement script in BEGIN TRANSACTION ... COMMIT
   * TRANSACTION). Returns each statement's result in order.
   */
  transaction(statements: readonly string[], options?: WarehouseCallOptions): Promise<ExecuteResult[]>;
  /**
   * Builds `select` as the table or view `schema.name`, replacing whatever is there, as one
   * atomic step: when the statement fails or the process dies, the previous relation is whole.
   * Each engine swaps its own way (DuckDB: `CREATE OR REPLACE`; PostgreSQL: build beside, then
   * drop and rename in one transaction; BigQuery: `CREATE OR REPLACE`, atomic by itself).
   * An error's line is counted in the statement that runs `select`, whose line 2 is the select's
   * line 1. Returns the table's row count when the engine reports it for free, else null.
   */
  replaceRelation(
    schema: string,
    name: string,
    kind: RelationKind,
    select: string,
    options: ReplaceOptions,
  ): Promise<{ rows: number | null }>;
  /**
   * Puts the new rows of `spec.tmpName` into the table `schema.name` as one atomic step (all or
   * nothing). Returns the number of new rows written.
   */
  mergeRows(schema: string, name: string, spec: MergeSpec, options?: WarehouseCallOptions): Promise<number>;
  /** Creates the schema (dataset) if it does not exist. */
  ensureSchema(schema: string): Promise<void>;
  /** Whether a table or view exists, and which. */
  relationType(schema: string, name: string): Promise<'table' | 'view' | null>;
  /** The columns of a table or view, in order; empty when it does not exist. */
  columns(schema: string, name: string): Promise<WarehouseColumn[]>;
  close(): Promise<void>;
}
