/**
 * The dbt project in this folder as assets: every model an asset (`staging/stg_orders`,
 * `marts/customers`), every test an asset check. The warehouse is WAREHOUSE_URL, by default
 * the DuckDB file data/warehouse.duckdb in the working directory.
 */
import { Definitions } from '@dag/core';
import { sqlProject } from '@dag/sql';

const jaffle = sqlProject({ dir: new URL('./', import.meta.url) });

export default new Definitions({ assets: [...jaffle.assets], assetChecks: [...jaffle.checks] });
