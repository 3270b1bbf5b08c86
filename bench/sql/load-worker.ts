/** A fresh process: how long loading the project takes cold (module load included). */
const started = performance.now();
const { sqlProject } = await import('@dag/sql');
const imported = performance.now();
const cpu = process.cpuUsage();
const project = sqlProject({ dir: process.argv[2]!, warehouse: 'duckdb:///tmp/bench-sql-unused.duckdb' });
const loaded = performance.now();
const used = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    importMs: imported - started,
    loadMs: loaded - imported,
    /** CPU of the load (every thread: the garbage collector's too). */
    loadCpuMs: (used.user + used.system) / 1000,
    totalMs: loaded - started,
    assets: project.assets.length,
    checks: project.checks.length,
  }),
);
