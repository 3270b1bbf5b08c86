import { sqlProject } from '@dag/sql';

/**
 * The SQL project `transformer/` (dbt layout): dim, fct and mart models as assets, their schema
 * tests as asset checks, its sources mapped onto the `src_*` assets. The warehouse comes from
 * WAREHOUSE_URL (DuckDB `data/warehouse.duckdb` by default, BigQuery in production).
 */
export const transformer = sqlProject({ dir: new URL('../transformer/', import.meta.url) });

/**
 * The warehouse resource (`transformer_warehouse`) the models run on. Every asset that writes
 * into the warehouse (the source loaders, the notification events) uses this same resource, so
 * a run opens the warehouse once (DuckDB allows one writer per file).
 */
export const governanceWarehouse = transformer.warehouse;
