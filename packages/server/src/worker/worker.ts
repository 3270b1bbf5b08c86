import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type DagInstance,
  describeError,
  failBeforeStart,
  type InstanceStorage,
  PostgresStorage,
  RUN_CHANNELS,
  requeueRun,
  type WorkerLiveness,
  type Workspace,
  workerLiveness,
} from '@dag/core';
import { RunLauncher } from '../run-launcher.ts';
import type { ReuseOptions } from '../run-launcher-reuse.ts';
import { RunQueue } from './run-queue.ts';

export interface WorkerOptions {
  instance: DagInstance;
  /** The worker's own code locations: its run processes load these. */
  workspace: Workspace;
  /** Runs executed at once. Default 4. */
  concurrency?: number;
  /** On stop, how long runs may go on before they are killed and handed back to the queue. Default 30 s. */
  graceMs?: number;
  /** A terminated run that has not stopped after this long has its process tree killed. Default 1 s. */
  terminateGraceMs?: number;
  liveness?: WorkerLiveness;
  workerId?: string;
  /** Run processes kept started ahead of time, waiting for a run (lower launch latency). Default 1. */
  prestart?: number;
  /**
   * A new process for each run (`dag worker --fresh-process-per-run`): nothing of one run's
   * process can reach the next, at the cost of starting Node and loading the code location
   * for every run. Default: run processes are reused, one run at a time (see `reuse`).
   */
  freshProcessPerRun?: boolean;
  /** How reused run processes are recycled (ignored with `freshProcessPerRun`). */
  reuse?: Omit<ReuseOptions, 'poolSize'>;
  /** The `dag` CLI entry point of run processes (default: this repository's). */
  cliPath?: string;
  /** Environment of run processes. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/**
 * A worker (`dag worker`): takes runs the daemon's queue admitted, from the instance's job
 * queue, and executes each in a child process (the run launcher's), with its own code
 * locations. Any number of workers on any machines share one instance.
 *
 * - A run is the worker's once `assignRunToWorker` (compare-and-set on the run) says so; the
 *   job is acknowledged after that, so a worker dying in between leaves the job to be
 *   delivered again and nothing runs twice.
 * - It heartbeats (dag_workers). A worker that could not renew its heartbeat for the lease
 *   (60 % of the worker timeout) kills its runs' process trees, so no step of a run goes on
 *   once others may presume the worker dead, fail the run and retry it. Run processes also
 *   die with their worker (kill -9 included).
 * - A terminate of one of its runs (from any machine) reaches it over LISTEN/NOTIFY: it
 *   signals the run at once and kills the tree after `terminateGraceMs`.
 * - `stop()` (SIGTERM) stops taking runs, lets the running ones finish within `graceMs`,
 *   then kills the rest and hands them back to the queue (a new run of each is queued).
 */
export class Worker {
  readonly workerId: string;
  readonly concurrency: number;
  private readonly liveness: WorkerLiveness;
  private readonly launcher: RunLauncher;
  private queue: RunQueue | undefined;
  /** A connection of its own for heartbeats: busy run queries never hold up the lease. */
  private beatStorage: InstanceStorage | undefined;
  private listening: { close(): Promise<void> } | undefined;
  private state: 'running' | 'draining' = 'running';
  private stopped = false;
  /** Runs being assigned or spawned (not yet in the launcher's list). */
  private starting = 0;
  private lastBeatAt = Date.now();
  private beating = false;
  private leaseLost = false;
  private timers: NodeJS.Timeout[] = [];
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly runEnded = new Set<() => void>();

  constructor(private readonly options: WorkerOptions) {
    this.concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.concurrency) || this.concurrency <= 0) {
      throw new Error(`A worker's concurrency must be a positive integer, got ${this.concurrency}.`);
    }
    this.liveness = options.liveness ?? workerLiveness();
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.launcher = new RunLauncher({
      instance: options.instance,
      workspace: options.workspace,
      ...(options.cliPath ? { cliPath: options.cliPath } : {}),
      ...(options.env ? { env: options.env } : {}),
      graceMs: options.terminateGraceMs ?? 1000,
      // SIGTERM went to the run when it was terminated: past the grace, SIGKILL at once.
      killGraceMs: 0,
      exitWithLauncher: true,
      runPriority: 10,
      spares: options.prestart ?? 1,
      ...(options.freshProcessPerRun
        ? {}
        : { reuse: { ...options.reuse, poolSize: this.concurrency + (options.prestart ?? 1) } }),
      signalOnTerminate: true,
      label: `dag worker ${this.workerId}`,
      log: (level, message) => this.log(level, message),
      onExit: () => this.onRunExit(),
    });
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.options.log?.(level, message);
  }

  /** Runs this worker executes now. */
  get runs(): string[] {
    return this.launcher.active;
  }

  /** This worker's row in `dag_workers`: on start, and again if it was removed meanwhile. */
  private async register(storage: InstanceStorage): Promise<void> {
    await storage.registerWorker({
      workerId: this.workerId,
      hostname: hostname(),
      pid: process.pid,
      concurrency: this.concurrency,
    });
  }

  /** Registers, connects to the job queue, listens for terminates, and starts taking runs. */
  async start(): Promise<void> {
    const storage = this.options.instance.storage;
    await this.register(storage);
    this.lastBeatAt = Date.now();
    this.beatStorage = await PostgresStorage.connect(this.options.instance.url, { max: 1 });
    this.queue = await RunQueue.open(this.options.instance, {
      supervise: true,
      log: (message) => this.log('warn', message),
    });
    this.listening = await storage.listen(
      [RUN_CHANNELS.dispatched, RUN_CHANNELS.terminate],
      (channel, payload) => {
        if (channel === RUN_CHANNELS.terminate) this.onTerminate(payload);
        else this.wake();
      },
      () => void this.recheckTerminates(),
    );
    const beat = setInterval(() => void this.heartbeat(), this.liveness.heartbeatMs);
    const lease = setInterval(() => this.checkLease(), Math.min(250, this.liveness.heartbeatMs));
    this.timers.push(beat, lease);
    this.launcher.prestart();
    this.loopDone = this.loop();
  }

  private wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private onRunExit(): void {
    for (const resolve of this.runEnded) resolve();
    this.wake();
    // A slot is free here, and one may be in the daemon's queue.
    void this.options.instance.storage.notify(RUN_CHANNELS.queue, this.workerId).catch(() => {});
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.state === 'running') {
      this.woken = false;
      let fetched = 0;
      const free = this.concurrency - this.launcher.active.length - this.starting;
      if (free > 0 && !this.leaseLost) {
        try {
          const jobs = await this.queue!.fetch(free);
          fetched = jobs.length;
          if (jobs.length > 0) await this.take(jobs);
        } catch (error) {
          this.log('error', `Could not fetch runs from the queue: ${describeError(error)}`);
        }
      }
      if (this.stopped || this.state !== 'running') break;
      // More may be waiting when the batch was full; else sleep until woken (or poll).
      if (fetched > 0 && fetched === free) continue;
      if (this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async take(jobs: { jobId: string; runId: string }[]): Promise<void> {
    const storage = this.options.instance.storage;
    this.starting += jobs.length;
    try {
      const unanswered: string[] = [];
      const assigned = await Promise.all(
        jobs.map(async (job) => {
          try {
            return await storage.assignRunToWorker(job.runId, this.workerId);
          } catch (error) {
            this.log(
              'warn',
              `Could not take run ${job.runId}, giving it back to the queue: ${describeError(error)}`,
            );
            unanswered.push(job.jobId);
            return undefined;
          }
        }),
      );
      // Acknowledged once the run is ours (or someone else's): never delivered again. One whose
      // assignment got no answer goes back to the queue (the assignment is compare-and-set:
      // delivered again, it runs once).
      await this.queue!.complete(jobs.map((j) => j.jobId).filter((id) => !unanswered.includes(id)));
      await this.queue!.giveBack(unanswered).catch((error) =>
        this.log(
          'error',
          `Could not give runs back to the queue (they are delivered again after the job expiry): ${describeError(error)}`,
        ),
      );
      await Promise.all(
        assigned.map(async (run) => {
          if (!run) return;
          try {
            await this.launcher.execute(run.runId, undefined, run);
          } catch (error) {
            await failBeforeStart(
              storage,
              run.runId,
              `Worker ${this.workerId} could not start the run's process: ${describeError(error)}`,
            ).catch(() => {});
          }
        }),
      );
    } finally {
      this.starting -= jobs.length;
    }
  }

  private lastTickAt = Date.now();

  private async heartbeat(): Promise<void> {
    // A timer that fires this late means this process was not running (a stalled machine, a
    // blocked event loop): the likeliest reason the instance would presume it dead.
    const late = Date.now() - this.lastTickAt - this.liveness.heartbeatMs;
    this.lastTickAt = Date.now();
    if (late > this.liveness.leaseMs / 3)
      this.log(
        'warn',
        `Worker ${this.workerId}'s heartbeat ran ${(late / 1000).toFixed(1)} s late: this process did not get to run.`,
      );
    if (this.beating) {
      this.log('warn', `Worker ${this.workerId}'s previous heartbeat has not answered yet.`);
      return;
    }
    this.beating = true;
    try {
      const storage = this.beatStorage ?? this.options.instance.storage;
      const status = { state: this.state, currentRuns: this.launcher.active };
      const known = await storage.heartbeatWorker(this.workerId, status);
      if (!known) await this.register(storage);
      this.lastBeatAt = Date.now();
      if (this.leaseLost) {
        this.leaseLost = false;
        this.log('info', `Worker ${this.workerId} reached the instance again: taking runs.`);
        this.wake();
      }
    } catch (error) {
      this.log('warn', `Could not renew the heartbeat of worker ${this.workerId}: ${describeError(error)}`);
    } finally {
      this.beating = false;
    }
  }

  /** Past the lease without a heartbeat: the instance may presume this worker dead, so its runs must stop now. */
  private checkLease(): void {
    const silent = Date.now() - this.lastBeatAt;
    if (silent < this.liveness.leaseMs || this.leaseLost) return;
    this.leaseLost = true;
    const runs = this.launcher.active;
    this.log(
      'error',
      `Worker ${this.workerId} could not renew its heartbeat for ${Math.round(silent / 1000)} s (lease ${Math.round(this.liveness.leaseMs / 1000)} s): aborting its ${runs.length} run(s); they are failed and retried elsewhere.`,
    );
    for (const runId of runs) {
      void this.launcher.abort(
        runId,
        `Worker ${this.workerId} lost its lease (no heartbeat reached the instance for ${Math.round(silent / 1000)} s) and killed the run's processes, so that no step runs twice.`,
      );
    }
  }

  private onTerminate(runId: string): void {
    if (!this.launcher.active.includes(runId)) return;
    this.log('info', `Terminating run ${runId}.`);
    this.launcher.terminate(runId).catch((error) => {
      this.log('error', `Could not terminate run ${runId}: ${describeError(error)}`);
    });
  }

  /** After the notification connection came back: terminates missed meanwhile. */
  private async recheckTerminates(): Promise<void> {
    for (const runId of this.launcher.active) {
      const run = await this.options.instance.storage.getRun(runId).catch(() => undefined);
      if (run?.status === 'CANCELING') this.onTerminate(runId);
    }
  }

  /**
   * Stops taking runs, lets the running ones finish within the grace period, then kills the
   * rest and queues each again; deregisters and disconnects.
   */
  async stop(options: { graceMs?: number } = {}): Promise<{ handedBack: string[] }> {
    if (this.stopped) return { handedBack: [] };
    const graceMs = options.graceMs ?? this.options.graceMs ?? 30_000;
    this.state = 'draining';
    this.wake();
    await this.loopDone;
    await this.heartbeat();
    const deadline = Date.now() + graceMs;
    while (this.launcher.active.length > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        const done = () => {
          clearTimeout(timer);
          this.runEnded.delete(done);
          resolve();
        };
        this.runEnded.add(done);
      });
    }
    const storage = this.options.instance.storage;
    const handedBack: string[] = [];
    await Promise.all(
      this.launcher.active.map(async (runId) => {
        await this.launcher.abort(
          runId,
          `Worker ${this.workerId} shut down and its grace period (${Math.round(graceMs / 1000)} s) ended before the run finished: its processes were killed and the run was handed back to the queue (a new run of it, child of this one).`,
        );
        const run = await storage.getRun(runId);
        if (run?.status === 'FAILURE') {
          const again = await requeueRun(storage, run, 'handback');
          handedBack.push(again.runId);
          this.log('warn', `Run ${runId} handed back to the queue as run ${again.runId}.`);
        }
      }),
    );
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.listening?.close();
    await storage.removeWorker(this.workerId).catch(() => {});
    await this.queue?.close().catch(() => {});
    await this.beatStorage?.close().catch(() => {});
    await this.launcher.close();
    return { handedBack };
  }

  /** Dies as if killed, for a process that must exit now: no drain, nothing recorded. */
  async close(): Promise<void> {
    this.stopped = true;
    this.state = 'draining';
    this.wake();
    for (const timer of this.timers) clearInterval(timer);
    await this.loopDone;
    await this.listening?.close();
    await this.queue?.close().catch(() => {});
    await this.beatStorage?.close().catch(() => {});
    await this.launcher.close();
  }
}
