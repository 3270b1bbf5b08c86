import { Definitions } from '@dag/core';
import { sqlProject } from '@dag/sql';

/** The generated project of the bench, as a code location (`dag -f bench/sql/defs.ts list`). */
const project = sqlProject({
  dir: process.env.BENCH_SQL_DIR!,
  warehouse: 'duckdb:///tmp/bench-sql-unused.duckdb',
});
export default new Definitions({ assets: [...project.assets], assetChecks: [...project.checks] });
