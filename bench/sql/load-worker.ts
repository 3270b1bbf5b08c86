/** A fresh process: how long loading the project takes cold (module load included). */
const started = performance.now();
const { sqlProject } = await import('@dag/sql');
const imported = performance.now();
const project = sqlProject({ dir: process.argv[2]!, warehouse: 'duckdb:///tmp/bench-sql-unused.duckdb' });
const loaded = performance.now();
console.log(
  JSON.stringify({
    importMs: imported - started,
    loadMs: loaded - imported,
    totalMs: loaded - started,
    assets: project.assets.length,
    checks: project.checks.length,
  }),
);
