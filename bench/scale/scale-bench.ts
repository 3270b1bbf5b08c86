/**
 * Scale-out benchmark: `dag worker` processes (the compiled CLI) on one embedded PostgreSQL,
 * the daemon's run queue handing runs to them through the job queue, a process per run.
 *
 *   node --import tsx bench/scale/scale-bench.ts [--samples 30] [--runs 1000] [--workers 4] [--concurrency 3]
 *
 * - Launch latency: a run queued (`submitRun`, as `dag job launch` does) on an idle worker,
 *   to its RUN_START event, one run at a time; p50 and p99.
 * - Throughput: `--runs` no-op runs queued at once over `--workers` workers, first queued to
 *   last finished.
 * - Recovery: kill -9 of the worker holding a run (tag dag/max_retries=1), to the retry's
 *   RUN_START on another worker.
 *
 * Writes its section of bench/RESULTS.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
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
import { writeResultsSection } from '../ds/harness.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SAMPLES = flag('samples', 30);
const RUNS = flag('runs', 1000);
const WORKERS = flag('workers', 4);
const CONCURRENCY = flag('concurrency', 3);
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
function startWorker(concurrency: number): W {
  const child = spawn(
    process.execPath,
    [DEFAULT_CLI, '-f', DEFS, 'worker', '--concurrency', String(concurrency)],
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
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
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
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const load = () => loadavg()[0]!.toFixed(1);

// Launch latency on one idle worker.
let ws = [startWorker(1)];
await liveWorkers(1);
const latencies: number[] = [];
const loadBefore = load();
for (let i = 0; i < SAMPLES + 2; i++) {
  const run = await submitRun(instance, definitions, { job: 'noop_job', status: 'QUEUED' });
  const start = await until('RUN_START', () => runStartAt(run.runId));
  if (i >= 2) latencies.push(start.getTime() - run.createdAt.getTime());
  await until('the run finished', async () =>
    ['SUCCESS', 'FAILURE'].includes((await storage.getRun(run.runId))!.status) ? true : undefined,
  );
  await new Promise((r) => setTimeout(r, 200));
}
latencies.sort((a, b) => a - b);
await stop(ws);

// Throughput over several workers.
ws = Array.from({ length: WORKERS }, () => startWorker(CONCURRENCY));
await liveWorkers(WORKERS);
const loadThroughput = load();
const t0 = Date.now();
for (let i = 0; i < RUNS; i++) await submitRun(instance, definitions, { job: 'noop_job', status: 'QUEUED' });
const queuedMs = Date.now() - t0;
await until(
  `${RUNS} runs`,
  async () =>
    (await storage.countRuns({ statuses: ['SUCCESS', 'FAILURE', 'CANCELED'], jobName: 'noop_job' })) >=
    RUNS + SAMPLES + 2
      ? true
      : undefined,
  3_600_000,
);
const drainMs = Date.now() - t0;
const failed = await storage.countRuns({ statuses: ['FAILURE', 'CANCELED'] });
await stop(ws);

// Recovery: kill -9 of the worker holding a run, to the retry's RUN_START elsewhere.
ws = [startWorker(1)];
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

stopDaemon.abort();
await daemonDone;
await dispatch.close();
await instance.close();
await stopEmbeddedPostgres(home);
await rm(home, { recursive: true, force: true });

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const body = `## Scale-out: \`dag worker\` launch latency, throughput, recovery (\`bench/scale/scale-bench.ts\`)

\`node --import tsx bench/scale/scale-bench.ts --samples ${SAMPLES} --runs ${RUNS} --workers ${WORKERS} --concurrency ${CONCURRENCY}\`,
one embedded PostgreSQL, workers as \`dag worker\` processes of the compiled CLI, a process per run,
heartbeat 1 s and worker timeout 10 s. Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}.

| measure | result | goal | Dagster |
|---|---|---|---|
| launch latency, queued → RUN_START on an idle worker, p50 (${SAMPLES} runs, load average ${loadBefore}) | ${s(pct(latencies, 50))} | ≤ 0.3 s | 3–6 s (#26194) |
| launch latency, p99 | ${s(pct(latencies, 99))} | | |
| throughput, ${RUNS} no-op runs over ${WORKERS} workers × ${CONCURRENCY} (load average ${loadThroughput}) | ${(RUNS / (drainMs / 1000)).toFixed(1)} runs/s (${s(drainMs)}; queued in ${s(queuedMs)}; ${failed} failed) | ≥ 20 runs/s | ~1 run/s (#4311) |
| recovery, kill -9 of the worker → the retry's RUN_START on another worker | ${s(recoveryMs)} | ≤ 25 s | 120–180 s |
`;
process.stdout.write(`${body}\n`);
await writeResultsSection('scale', body);
