/**
 * The one contract between @dag/sql and a warehouse engine. The project runner (compile,
 * materialize, test) speaks only to this interface; each engine (DuckDB, PostgreSQL, BigQuery)
 * implements it in `warehouses/<engine>.ts`.
 *
 * Names: a model lives in a schema (BigQuery: a dataset) and has a name. `relation()` quotes
 * both for the engine's SQL; engines that prefix datasets (BigQuery's `<dataset-prefix>_<schema>`)
 * do it there, so the runner never builds a relation name by hand.
 */

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
  /** Creates the schema (dataset) if it does not exist. */
  ensureSchema(schema: string): Promise<void>;
  /** Whether a table or view exists, and which. */
  relationType(schema: string, name: string): Promise<'table' | 'view' | null>;
  /** The columns of a table or view, in order; empty when it does not exist. */
  columns(schema: string, name: string): Promise<WarehouseColumn[]>;
  close(): Promise<void>;
}
