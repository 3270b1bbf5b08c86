import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import {
  DagInstance,
  installLastResortHandlers,
  isProcessAlive,
  UsageError,
  untilStopSignal,
  WORKER_ENV,
  type Workspace,
  workerLiveness,
} from '@dag/core';
import type { Command } from 'commander';
import { EXIT_OK, EXIT_RUN_FAILED } from './exit-codes.ts';
import { table } from './format.ts';

export interface WorkerCommandContext {
  loadWorkspace: () => Promise<Workspace>;
  out: (text: string) => void;
  err: (text: string) => void;
  setExit: (code: number) => void;
}

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new UsageError(`${name} must be a positive integer, got '${raw}'.`);
  return value;
}

function seconds(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new UsageError(`${name} must be a number of seconds, got '${raw}'.`);
  return value;
}

/**
 * Where each running `dag worker` of this machine (or container) records its id, in a file
 * named by its pid: `dag worker health` checks the heartbeats of exactly these workers.
 */
const WORKER_ID_DIR = path.join(tmpdir(), 'dag-workers');

/** Records this worker's id for `dag worker health`, dropping the files of workers that are gone. */
async function recordWorkerId(workerId: string): Promise<() => Promise<void>> {
  const file = path.join(WORKER_ID_DIR, String(process.pid));
  try {
    await mkdir(WORKER_ID_DIR, { recursive: true });
    for (const entry of await readdir(WORKER_ID_DIR))
      if (/^\d+$/.test(entry) && !isProcessAlive(Number(entry)))
        await unlink(path.join(WORKER_ID_DIR, entry)).catch(() => {});
    await writeFile(file, workerId);
  } catch {
    // Not writable here: `dag worker health` falls back to the host name.
  }
  return async () => await unlink(file).catch(() => {});
}

/**
 * The ids of the workers running on this machine (or container), from their files; undefined
 * when no worker ever recorded one here (then health matches by host name).
 */
async function localWorkerIds(): Promise<string[] | undefined> {
  const entries = await readdir(WORKER_ID_DIR).catch(() => undefined);
  if (!entries || entries.length === 0) return undefined;
  const ids: string[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || !isProcessAlive(Number(entry))) continue;
    const id = await readFile(path.join(WORKER_ID_DIR, entry), 'utf8').catch(() => '');
    if (id) ids.push(id.trim());
  }
  return ids;
}

/**
 * `dag worker [--concurrency N] [--grace-period S]`: takes queued runs from the instance's job
 * queue and executes each in its own process; `dag worker list` and `dag worker health`.
 */
export function registerWorkerCommand(program: Command, ctx: WorkerCommandContext): void {
  const worker = program
    .command('worker')
    .description(
      `take queued runs from the instance (${WORKER_ENV.postgresUrl}) and execute each in its own process`,
    )
    .option('--concurrency <n>', `runs executed at once (default ${WORKER_ENV.concurrency}, else 4)`)
    .option(
      '--grace-period <s>',
      'on SIGTERM, how long running runs may finish before they are handed back',
      '30',
    )
    .option('--prestart <n>', 'run processes kept started ahead of time, waiting for a run (0: none)', '1')
    .option(
      '--fresh-process-per-run',
      'start a new process for each run instead of reusing run processes (one run at a time each)',
    )
    .option(
      '--max-runs-per-process <n>',
      'a reused run process is replaced after this many runs (default 250)',
    )
    .option(
      '--terminate-grace <s>',
      'a terminated run not stopped after this long has its process tree killed',
      '1',
    )
    .action(
      async (opts: {
        concurrency?: string;
        gracePeriod: string;
        terminateGrace: string;
        prestart: string;
        freshProcessPerRun?: boolean;
        maxRunsPerProcess?: string;
      }) => {
        const concurrency = positiveInt(
          '--concurrency',
          opts.concurrency ?? process.env[WORKER_ENV.concurrency]?.trim() ?? '4',
        );
        const graceMs = seconds('--grace-period', opts.gracePeriod) * 1000;
        const terminateGraceMs = seconds('--terminate-grace', opts.terminateGrace) * 1000;
        const prestart = Number(opts.prestart);
        if (!Number.isInteger(prestart) || prestart < 0) {
          throw new UsageError(`--prestart must be a whole number, got '${opts.prestart}'.`);
        }
        const freshProcessPerRun =
          opts.freshProcessPerRun === true || process.env[WORKER_ENV.freshProcessPerRun] === '1';
        const maxRuns =
          opts.maxRunsPerProcess !== undefined
            ? positiveInt('--max-runs-per-process', opts.maxRunsPerProcess)
            : undefined;
        const liveness = workerLiveness();
        const workspace = await ctx.loadWorkspace();
        const removeLastResort = installLastResortHandlers('dag worker', ctx.err);
        // Listened for from here on: a signal while the worker starts drains it once started.
        const stopSignal = untilStopSignal();
        const instance = await DagInstance.open({ supervise: { log: ctx.err } });
        // Loaded when a worker runs: other commands do not pay for the server's modules.
        const { Worker } = await import('@dag/server');
        const w = new Worker({
          instance,
          workspace,
          concurrency,
          graceMs,
          terminateGraceMs,
          prestart,
          freshProcessPerRun,
          ...(maxRuns !== undefined ? { reuse: { maxRuns } } : {}),
          liveness,
          log: (level, message) => ctx.err(`dag worker: ${level}: ${message}`),
        });
        try {
          await w.start();
        } catch (error) {
          await w.close().catch(() => {});
          await instance.close();
          removeLastResort();
          throw error;
        }
        const forgetId = await recordWorkerId(w.workerId);
        ctx.err(
          `dag worker: ${w.workerId} taking runs (concurrency ${concurrency}) for ${workspace.locations.map((l) => l.name).join(', ')} on instance ${instance.kind === 'postgres' ? 'DAG_POSTGRES_URL' : instance.home}`,
        );
        const signal = await stopSignal;
        ctx.err(
          `dag worker: ${signal}: draining (no new runs; running ones get ${graceMs / 1000} s, then are handed back)`,
        );
        try {
          const { handedBack } = await w.stop({ graceMs });
          ctx.err(
            `dag worker: stopped${handedBack.length ? ` (${handedBack.length} run(s) handed back)` : ''}`,
          );
        } finally {
          await forgetId();
          await instance.close();
          removeLastResort();
        }
      },
    );

  worker
    .command('list')
    .description('workers of the instance: id, host, last heartbeat, runs')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { timeoutMs } = workerLiveness();
      const instance = await DagInstance.open();
      try {
        const workers = (await instance.storage.listWorkers()).map((w) => ({
          ...w,
          alive: w.silentMs < timeoutMs,
        }));
        if (opts.json) return ctx.out(JSON.stringify({ workers }, null, 2));
        if (workers.length === 0) return ctx.out('No workers. Start one with `dag worker`.');
        ctx.out(
          table(
            ['WORKER', 'HOST', 'PID', 'STATE', 'LAST HEARTBEAT', 'RUNS'],
            workers.map((w) => [
              w.workerId,
              w.hostname,
              String(w.pid),
              w.alive ? w.state : 'lost',
              `${(w.silentMs / 1000).toFixed(1)} s ago`,
              `${w.currentRuns.length}/${w.concurrency}${w.currentRuns.length ? ` ${w.currentRuns.join(', ')}` : ''}`,
            ]),
          ),
        );
      } finally {
        await instance.close();
      }
    });

  worker
    .command('health')
    .description(
      'exit 0 when a worker running here (this container or machine) heartbeated within --max-age seconds (container health checks)',
    )
    .option('--max-age <s>', 'the oldest heartbeat that counts as healthy', '30')
    .option('--id <workerId>', 'this worker only (default: the workers running here)')
    .action(async (opts: { maxAge: string; id?: string }) => {
      const maxAgeMs = seconds('--max-age', opts.maxAge) * 1000;
      const host = hostname();
      // The workers running here, by id (another container may share the host name); by host
      // name only where no worker recorded its id.
      const local = opts.id ? [opts.id] : await localWorkerIds();
      const instance = await DagInstance.open({ migrate: false });
      try {
        const mine = (await instance.storage.listWorkers()).filter((w) =>
          local ? local.includes(w.workerId) : w.hostname === host,
        );
        const fresh = mine.filter((w) => w.silentMs <= maxAgeMs);
        const which = opts.id
          ? `'${opts.id}'`
          : local
            ? `running here (${local.length ? local.join(', ') : `none alive of those recorded in ${WORKER_ID_DIR}`})`
            : `on host ${host}`;
        if (fresh.length > 0) {
          const w = fresh[0]!;
          ctx.out(
            `healthy: worker ${w.workerId} heartbeated ${(w.silentMs / 1000).toFixed(1)} s ago (${w.state})`,
          );
          return ctx.setExit(EXIT_OK);
        }
        ctx.err(
          mine.length === 0
            ? `unhealthy: no worker ${which} is registered`
            : `unhealthy: the last heartbeat of a worker ${which} was ${(Math.min(...mine.map((w) => w.silentMs)) / 1000).toFixed(1)} s ago (more than ${opts.maxAge} s)`,
        );
        ctx.setExit(EXIT_RUN_FAILED);
      } finally {
        await instance.close();
      }
    });
}
