import { hostname } from 'node:os';
import {
  DagInstance,
  installLastResortHandlers,
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
        ctx.err(
          `dag worker: ${w.workerId} taking runs (concurrency ${concurrency}) for ${workspace.locations.map((l) => l.name).join(', ')} on instance ${instance.kind === 'postgres' ? 'DAG_POSTGRES_URL' : instance.home}`,
        );
        const signal = await untilStopSignal();
        ctx.err(
          `dag worker: ${signal}: draining (no new runs; running ones get ${graceMs / 1000} s, then are handed back)`,
        );
        try {
          const { handedBack } = await w.stop({ graceMs });
          ctx.err(
            `dag worker: stopped${handedBack.length ? ` (${handedBack.length} run(s) handed back)` : ''}`,
          );
        } finally {
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
      'exit 0 when a worker on this host heartbeated within --max-age seconds (container health checks)',
    )
    .option('--max-age <s>', 'the oldest heartbeat that counts as healthy', '30')
    .option('--id <workerId>', 'this worker only (default: any worker on this host)')
    .action(async (opts: { maxAge: string; id?: string }) => {
      const maxAgeMs = seconds('--max-age', opts.maxAge) * 1000;
      const host = hostname();
      const instance = await DagInstance.open({ migrate: false });
      try {
        const mine = (await instance.storage.listWorkers()).filter((w) =>
          opts.id ? w.workerId === opts.id : w.hostname === host,
        );
        const fresh = mine.filter((w) => w.silentMs <= maxAgeMs);
        if (fresh.length > 0) {
          const w = fresh[0]!;
          ctx.out(
            `healthy: worker ${w.workerId} heartbeated ${(w.silentMs / 1000).toFixed(1)} s ago (${w.state})`,
          );
          return ctx.setExit(EXIT_OK);
        }
        ctx.err(
          mine.length === 0
            ? `unhealthy: no worker ${opts.id ? `'${opts.id}'` : `on host ${host}`} is registered`
            : `unhealthy: the last heartbeat of a worker ${opts.id ? `'${opts.id}'` : `on host ${host}`} was ${(Math.min(...mine.map((w) => w.silentMs)) / 1000).toFixed(1)} s ago (more than ${opts.maxAge} s)`,
        );
        ctx.setExit(EXIT_RUN_FAILED);
      } finally {
        await instance.close();
      }
    });
}
