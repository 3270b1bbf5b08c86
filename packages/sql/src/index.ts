/**
 * @dag/sql: a dbt-layout SQL project run natively as assets, on DuckDB (the default),
 * PostgreSQL or BigQuery. This file is the package's only door.
 */
export type { Dialect } from './dialect.ts';
export { dialectMacros, PORTABLE_MACROS } from './dialect.ts';
export {
  DEFAULT_WAREHOUSE_FILE,
  defaultWarehouseUrl,
  openWarehouse,
  warehouseKind,
} from './open-warehouse.ts';
export type { ModelNode, SourceTable, TestNode } from './project.ts';
export { SqlProjectFiles } from './project.ts';
export type { ModelRunResult, TestRunResult } from './run.ts';
export { ModelRunError, runModel, runTest } from './run.ts';
export type { CompiledSql, SqlProject, SqlProjectOptions } from './sql-project.ts';
export { sqlProject, sqlProjectOf } from './sql-project.ts';
export type * from './warehouse.ts';
