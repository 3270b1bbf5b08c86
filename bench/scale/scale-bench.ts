/**
 * Scale-out benchmark: `dag worker` processes (the compiled CLI) on one embedded PostgreSQL,
 * the daemon's run queue (in this process) handing runs to them through the job queue.
 *
 *   node --import tsx bench/scale/scale-bench.ts [--samples 30] [--runs 1000] [--workers 4] [--concurrency 3]
 *     [--only launch,throughput,recovery]   (a part alone, printed, RESULTS.md left as it is)
 *
 * - Launch latency: a run queued (`submitRun`, as `dag job launch` does) on an idle worker
 *   with a process per run (`--fresh-process-per-run`, one started ahead), to its RUN_START
 *   event, one run at a time; p50 and p99.
 * - Throughput: `--runs` no-op runs queued at once over `--workers` workers (reused run
 *   processes, the default), first queued to last finished; with the CPU time spent by the
 *   workers, their run processes, this process (the daemon) and PostgreSQL, and the database
 *   transactions per run (pg_stat_database).
 * - Recovery: kill -9 of the worker holding a run (tag dag/max_retries=1), to the retry's
 *   RUN_START on another worker.
 *
 * Writes its section of bench/RESULTS.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import {
  Daemon,
  DagInstance,
  ensureEmbeddedPostgres,
  stopEmbeddedPostgres,
  submitRun,
  Workspace,
} from '@dag/core';
import { DEFAULT_CLI, workerDispatch } from '@dag/server';
import { machine, writeResultsSection } from '../ds/harness.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SAMPLES = flag('samples', 30);
const RUNS = flag('runs', 1000);
const WORKERS = flag('workers', 4);
const CONCURRENCY = flag('concurrency', 3);
const onlyAt = args.indexOf('--only');
/** The parts to measure (all by default; only a full run writes bench/RESULTS.md). */
const ONLY = new Set(onlyAt >= 0 ? args[onlyAt + 1]!.split(',') : ['launch', 'throughput', 'recovery']);
const DEFS = path.join(import.meta.dirname, 'defs.ts');
const LIVENESS = { DAG_WORKER_HEARTBEAT_MS: '1000', DAG_WORKER_TIMEOUT_MS: '10000' };
Object.assign(process.env, LIVENESS);

const home = await mkdtemp(path.join(tmpdir(), 'dag-scale-bench-'));
await chmod(home, 0o755);
await ensureEmbeddedPostgres(home);
const instance = await DagInstance.open({ home });
const storage = instance.storage;
const { definitions } = (await Workspace.load({ file: DEFS })).locations[0]!;
const release = path.join(home, 'release');
const startedFile = path.join(home, 'started');

const dispatch = await workerDispatch(instance);
const daemon = new Daemon({
  instance,
  locations: (await Workspace.load({ file: DEFS })).locations,
  launch: (run) => dispatch.launch(run),
  launchBlocked: () => dispatch.launchBlocked(),
  workerSlots: () => dispatch.workerSlots(),
  maxConcurrentRuns: 1000,
  liveness: { heartbeatMs: 1000, timeoutMs: 30_000 },
});
const stopDaemon = new AbortController();
const daemonDone = daemon.run(stopDaemon.signal, { idleMs: 500 });

interface W {
  child: ChildProcess;
  exited: Promise<void>;
}
function startWorker(concurrency: number, extra: string[] = []): W {
  const child = spawn(
    process.execPath,
    [
      DEFAULT_CLI,
      '-f',
      DEFS,
      'worker',
      '--concurrency',
      String(concurrency),
      ...extra,
      ...(process.env.BENCH_WORKER_ARGS?.split(' ') ?? []),
    ],
    {
      env: {
        ...process.env,
        ...LIVENESS,
        DAG_HOME: home,
        DAG_POSTGRES_URL: instance.url,
        BENCH_RELEASE: release,
        BENCH_STARTED: startedFile,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return { child, exited: new Promise((r) => child.once('exit', () => r())) };
}
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 600_000,
  pollMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
async function liveWorkers(n: number): Promise<void> {
  await until(`${n} workers`, async () =>
    (await storage.listWorkers()).filter((w) => w.silentMs < 5000).length >= n ? true : undefined,
  );
}
async function stop(ws: W[]): Promise<void> {
  for (const w of ws) w.child.kill('SIGTERM');
  await Promise.all(ws.map((w) => w.exited));
}
async function runStartAt(runId: string): Promise<Date | undefined> {
  const [start] = await storage.getEvents(runId, { types: ['RUN_START'] });
  if (!start) {
    const run = await storage.getRun(runId);
    if (run && ['FAILURE', 'CANCELED'].includes(run.status))
      throw new Error(`run ${runId} ended ${run.status} before it started: ${run.error}`);
  }
  return start?.ts;
}
/** utime+stime (+ of reaped children) of a process, in ms, from /proc/<pid>/stat. */
async function cpuOf(pid: number | 'self', children = true): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // Fields 14-17 (utime, stime, cutime, cstime) are at 11-14 after the command.
  return ((f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0)) * 1000) / 100;
}
/** CPU of the embedded PostgreSQL: its postmaster and every backend (reaped or alive), in ms. */
async function postgresCpu(): Promise<number> {
  const pidFile = (await readdir(home, { recursive: true })).find((f) => f.endsWith('postmaster.pid'));
  const postmaster = Number((await readFile(path.join(home, pidFile!), 'utf8')).split('\n')[0]);
  let total = await cpuOf(postmaster);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === postmaster) total += await cpuOf(Number(entry));
  }
  return total;
}
/** Transactions committed or rolled back in the instance's database so far. */
async function transactions(): Promise<number> {
  const pool = (storage as unknown as { pool: { query: (q: string) => Promise<{ rows: { n: string }[] }> } })
    .pool;
  await pool.query('SELECT pg_stat_force_next_flush()').catch(() => {});
  const { rows } = await pool.query(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]!.n);
}
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const load = () => loadavg()[0]!.toFixed(1);

/** Launch latency on one idle worker, a process per run. */
async function measureLaunch() {
  const ws = [startWorker(1, ['--fresh-process-per-run'])];
  await liveWorkers(1);
  await until('the first run process ready', spareReady);
  const latencies: number[] = [];
  const loadBefore = load();
  for (let i = 0; i < SAMPLES + 2; i++) {
    const run = await submitRun(instance, definitions, { job: 'noop_job', status: 'QUEUED' });
    const start = await until('RUN_START', () => runStartAt(run.runId));
    if (i >= 2) latencies.push(start.getTime() - run.createdAt.getTime());
    await until('the run finished', async () =>
      ['SUCCESS', 'FAILURE'].includes((await storage.getRun(run.runId))!.status) ? true : undefined,
    );
    // The worker is idle again once the process it started ahead for the next run is ready
    // (the launcher notes it in that process's log).
    await until('the next run process ready', spareReady);
  }
  latencies.sort((a, b) => a - b);
  await stop(ws);
  // How long each of those processes took from its spawn to ready (Node, `dag`, the definitions, the instance).
  const starts: number[] = [];
  for (const file of await readdir(path.join(home, 'logs')))
    for (const m of (await readFile(path.join(home, 'logs', file), 'utf8')).matchAll(
      / ready (\d+) ms after its start/g,
    ))
      starts.push(Number(m[1]));
  starts.sort((a, b) => a - b);
  return { latencies, loadBefore, processStartMs: starts.length > 0 ? pct(starts, 50) : Number.NaN };
}

/** Whether the worker's process started ahead for the next run says it is ready. */
async function spareReady(): Promise<true | undefined> {
  for (const file of await readdir(path.join(home, 'logs')).catch(() => [] as string[]))
    if (
      file.startsWith('spare-') &&
      / ready \(/.test(await readFile(path.join(home, 'logs', file), 'utf8').catch(() => ''))
    )
      return true;
  return undefined;
}

/** Throughput of `RUNS` no-op runs over several workers, with CPU time and transactions. */
async function measureThroughput() {
  const ws = Array.from({ length: WORKERS }, () => startWorker(CONCURRENCY));
  await liveWorkers(WORKERS);
  /** Runs of noop_job finished so far. */
  const finished = () =>
    storage.countRuns({ statuses: ['SUCCESS', 'FAILURE', 'CANCELED'], jobName: 'noop_job' });
  // Warm-up, not measured: every worker's run processes have started and run once (a worker's
  // start-up cost, paid once in its life, not per run).
  const WARMUP = WORKERS * CONCURRENCY * 2;
  const warmTarget = (await finished()) + WARMUP;
  for (let i = 0; i < WARMUP; i++)
    await submitRun(instance, definitions, { job: 'noop_job', status: 'QUEUED' });
  await until('the warm-up runs', async () => ((await finished()) >= warmTarget ? true : undefined));
  const finishedBefore = await finished();
  const loadThroughput = load();
  /** CPU of the workers' run processes so far, alive or reaped (whole lives, start-up included), in ms. */
  async function runProcessesCpu(): Promise<number> {
    const parentOf = new Map<number, number>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      if (stat) parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    }
    const workers = new Set(ws.map((w) => w.child.pid!));
    let total = 0;
    for (const [pid, ppid] of parentOf) if (workers.has(ppid)) total += await cpuOf(pid);
    // Those retired meanwhile (a run that failed, a code change): reaped by their worker.
    for (const w of ws) total += (await cpuOf(w.child.pid!)) - (await cpuOf(w.child.pid!, false));
    return total;
  }
  const workersCpu = async () =>
    (await Promise.all(ws.map((w) => cpuOf(w.child.pid!, false)))).reduce((a, b) => a + b, 0);
  const cpuBefore = {
    bench: await cpuOf('self', false),
    workers: await workersCpu(),
    runProcesses: await runProcessesCpu(),
    postgres: await postgresCpu(),
  };
  const xactBefore = await transactions();
  const t0 = Date.now();
  for (let i = 0; i < RUNS; i++)
    await submitRun(instance, definitions, { job: 'noop_job', status: 'QUEUED' });
  const queuedMs = Date.now() - t0;
  // Polled every 100 ms (a query per poll): the drain's end is known to within that.
  await until(
    `${RUNS} runs`,
    async () => ((await finished()) >= finishedBefore + RUNS ? true : undefined),
    3_600_000,
    100,
  );
  const drainMs = Date.now() - t0;
  const loadAfter = load();
  const failed = await storage.countRuns({ statuses: ['FAILURE', 'CANCELED'] });
  const postgresMs = (await postgresCpu()) - cpuBefore.postgres;
  const workersMs = (await workersCpu()) - cpuBefore.workers;
  const runProcessesMs = (await runProcessesCpu()) - cpuBefore.runProcesses;
  const benchMs = (await cpuOf('self', false)) - cpuBefore.bench;
  await stop(ws);
  // Their backends have flushed their statistics as they disconnected.
  const xactPerRun = ((await transactions()) - xactBefore) / RUNS;
  const cpuMs = runProcessesMs + workersMs + benchMs + postgresMs;
  return {
    WARMUP,
    loadThroughput,
    queuedMs,
    drainMs,
    loadAfter,
    failed,
    postgresMs,
    workersMs,
    runProcessesMs,
    benchMs,
    xactPerRun,
    cpuMs,
  };
}

/** Recovery: kill -9 of the worker holding a run, to the retry's RUN_START elsewhere. */
async function measureRecovery() {
  const ws = [startWorker(1)];
  await liveWorkers(1);
  const held = await submitRun(instance, definitions, {
    job: 'held_job',
    tags: { 'dag/max_retries': '1' },
    status: 'QUEUED',
  });
  await until('the held run started', async () =>
    (await readFile(startedFile, 'utf8').catch(() => '')).includes(held.runId) ? true : undefined,
  );
  const other = startWorker(1);
  await liveWorkers(2);
  const killedAt = Date.now();
  ws[0]!.child.kill('SIGKILL');
  const retryStart = await until('the retry started', async () => {
    const { runs } = await storage.listRuns({ limit: 20 });
    const retry = runs.find((r) => r.parentRunId === held.runId);
    return retry ? await runStartAt(retry.runId) : undefined;
  });
  const recoveryMs = retryStart.getTime() - killedAt;
  await writeFile(release, '');
  await stop([other]);
  return { recoveryMs };
}

const launched = ONLY.has('launch') ? await measureLaunch() : undefined;
if (launched) {
  const { latencies: l } = launched;
  process.stdout.write(
    `launch latency p50 ${pct(l, 50)} ms, p99 ${pct(l, 99)} ms (load ${launched.loadBefore}); a run process ready ${launched.processStartMs} ms after its spawn (median)\n`,
  );
}
const drained = ONLY.has('throughput') ? await measureThroughput() : undefined;
if (drained)
  process.stdout.write(
    `throughput ${(RUNS / (drained.drainMs / 1000)).toFixed(1)} runs/s, ${(drained.cpuMs / RUNS).toFixed(1)} ms CPU per run (run processes ${(drained.runProcessesMs / RUNS).toFixed(1)}, workers ${(drained.workersMs / RUNS).toFixed(1)}, daemon ${(drained.benchMs / RUNS).toFixed(1)}, PostgreSQL ${(drained.postgresMs / RUNS).toFixed(1)}), ${drained.xactPerRun.toFixed(1)} transactions per run, ${drained.failed} failed\n`,
  );
const recovered = ONLY.has('recovery') ? await measureRecovery() : undefined;
if (recovered) process.stdout.write(`recovery ${recovered.recoveryMs} ms\n`);

stopDaemon.abort();
await daemonDone;
await dispatch.close();
await instance.close();
await stopEmbeddedPostgres(home);
if (process.env.BENCH_KEEP) process.stderr.write(`kept ${home}\n`);
else await rm(home, { recursive: true, force: true });

if (!launched || !drained || !recovered) process.exit(0);
const { latencies, loadBefore, processStartMs } = launched;
const {
  WARMUP,
  loadThroughput,
  queuedMs,
  drainMs,
  loadAfter,
  failed,
  postgresMs,
  workersMs,
  runProcessesMs,
  benchMs,
  xactPerRun,
  cpuMs,
} = drained;
const { recoveryMs } = recovered;
const verdict = (met: boolean) => (met ? '**met**' : '**not met**');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const body = `## Scale-out: \`dag worker\` launch latency, throughput, recovery (\`bench/scale/scale-bench.ts\`)

- Command: \`node --import tsx bench/scale/scale-bench.ts --samples ${SAMPLES} --runs ${RUNS} --workers ${WORKERS} --concurrency ${CONCURRENCY}\`
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- One embedded PostgreSQL; the daemon's run queue in the bench process; workers are \`dag worker\` processes of the compiled CLI; heartbeat 1 s, worker timeout 10 s. Launch latency is measured with a process per run (\`--fresh-process-per-run\`, one started ahead) on an idle worker: each run is queued once the process started ahead for it is ready (a run that arrives sooner waits for that process's start, the row below); throughput and recovery with the default, run processes reused one run at a time (each worker starts its pool, --concurrency + 1 processes, when it starts). The drain follows a warm-up of ${WARMUP} runs, not measured, once every worker's pool is up: its CPU time is what runs cost a running worker, not a worker's start.

| measure | result | goal | Dagster |
|---|---|---|---|
| launch latency, queued → RUN_START on an idle worker, process per run, p50 (${SAMPLES} runs, load average ${loadBefore}) | ${s(pct(latencies, 50))} | ≤ 0.3 s | 3–6 s (#26194), 17 s from a sensor (#19607) |
| launch latency, p99 | ${s(pct(latencies, 99))} | | |
| a run process started ahead: from its spawn to ready (Node, \`dag\`, the definitions, the instance), median | ${s(processStartMs)} | | |
| throughput, ${RUNS} no-op runs over ${WORKERS} workers × ${CONCURRENCY} (load average ${loadThroughput} at start, ${loadAfter} at end) | ${(RUNS / (drainMs / 1000)).toFixed(1)} runs/s (${s(drainMs)}; queued in ${s(queuedMs)}; ${failed} failed) | ≥ 20 runs/s | ~1 run/s on Kubernetes (#4311); backfills enqueue ~1 run/s (#28998) |
| CPU time of that drain: workers and run processes, daemon, PostgreSQL | ${s(cpuMs)}: ${(cpuMs / RUNS).toFixed(1)} ms per run (run processes ${(runProcessesMs / RUNS).toFixed(1)}, workers ${(workersMs / RUNS).toFixed(1)}, submitting and the daemon's queue ${(benchMs / RUNS).toFixed(1)}, PostgreSQL ${(postgresMs / RUNS).toFixed(1)}); ${(RUNS / (cpuMs / 1000)).toFixed(1)} runs per CPU-second | | |
| database transactions per run (all processes, pg_stat_database) | ${xactPerRun.toFixed(1)} | | |
| recovery, kill -9 of the worker → the retry's RUN_START on another worker | ${s(recoveryMs)} | ≤ 25 s | 120–180 s, never with the default launcher; graphile-worker holds the lock 4 h |

- Verdicts on this run: launch p50 ${verdict(pct(latencies, 50) <= 300)}, throughput ${verdict(RUNS / (drainMs / 1000) >= 20)}, recovery ${verdict(recoveryMs <= 25_000)}.
- The wall times are of a machine shared with other work (see the load averages): the CPU time is the steadier figure. At ${(cpuMs / RUNS).toFixed(1)} ms of CPU per run, a quiet machine of ${cpus().length} cores could drain at most ${((cpus().length * RUNS) / (cpuMs / 1000)).toFixed(0)} runs/s, if every core were busy with runs; the goal of 20 runs/s needs at most ${((cpus().length * 1000) / 20).toFixed(0)} ms per run on ${cpus().length} cores.
- Each run is about ${xactPerRun.toFixed(0)} database transactions over all processes: the submit (insert, NOTIFY), the daemon's claim, its queue reason and the job's insert and NOTIFY, the worker's fetch, assignment and acknowledgement, the run process's two (its start with RUN_START; its step events, final event and status at its end, handed the run record by its worker rather than reading it), and the NOTIFY that frees the worker's slot; the daemon's passes (one per wake-up), idle workers' fetches and the bench's polling are counted in too.
`;
process.stdout.write(`${body}\n`);
await writeResultsSection('scale', body);
