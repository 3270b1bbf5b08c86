import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { UsageError } from '../errors.ts';
import type { EventDataByType } from '../events/events.ts';
import type {
  InFlightRun,
  InstanceStorage,
  NewEvent,
  NewEventOfRun,
  RunOwner,
  RunRecord,
  StoredEvent,
} from '../instance/storage.ts';
import { FINISHED_RUN_STATUSES, type LogLevel, RUN_STATUSES, type RunStatus } from '../types.ts';
import { envMillis } from '../util/env-millis.ts';
import {
  MAX_RETRIES_TAG,
  RETRY_NUMBER_TAG,
  RUN_CHANNELS,
  type WorkerLiveness,
  workerLiveness,
} from '../workers/worker-env.ts';
import { isProcessAlive } from './process-tree.ts';

/**
 * The run lifecycle: the one place that decides how a run's status may change. Every
 * launcher (the CLI, `dag dev`'s run processes, the daemon's queue, later workers) goes
 * through it:
 *
 *   submit (NOT_STARTED, or QUEUED)  ->  claim (QUEUED -> STARTING, compare-and-set)
 *   -> start (-> STARTED: a new attempt takes ownership: attempt id, host, pid, heartbeat)
 *   -> finish (-> SUCCESS | FAILURE | CANCELED, the final event in the same transaction;
 *      a trigger frees the run's concurrency pool slots in that transaction too: migration 000011)
 *
 * Each change is a guarded transition (`UPDATE ... WHERE status IN (from-states)`), so two
 * processes never both move a run and a finished run never moves again. The owner renews
 * its heartbeat while it runs; `reconcileRuns` finishes runs whose owner is gone.
 */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  NOT_STARTED: ['QUEUED', 'STARTING', 'STARTED', 'CANCELED', 'FAILURE'],
  QUEUED: ['STARTING', 'STARTED', 'CANCELED', 'FAILURE'],
  STARTING: ['STARTED', 'CANCELING', 'CANCELED', 'FAILURE'],
  STARTED: ['SUCCESS', 'FAILURE', 'CANCELING', 'CANCELED'],
  // A run may still end on its own while the terminate is on its way.
  CANCELING: ['CANCELED', 'FAILURE', 'SUCCESS'],
  SUCCESS: [],
  FAILURE: [],
  CANCELED: [],
};

/** The statuses a run may move to `to` from. */
export function fromStatuses(to: RunStatus): RunStatus[] {
  return RUN_STATUSES.filter((s) => RUN_TRANSITIONS[s].includes(to));
}

/** How often an owner renews its heartbeat, and after how long without one it is presumed dead. */
export interface RunLiveness {
  heartbeatMs: number;
  timeoutMs: number;
}

/**
 * From DAG_RUN_HEARTBEAT_MS (default 5000) and DAG_RUN_HEARTBEAT_TIMEOUT_MS (default 60000;
 * at least twice the heartbeat).
 */
export function runLiveness(env: NodeJS.ProcessEnv = process.env): RunLiveness {
  const read = (name: string, fallback: number): number => envMillis(env, name, fallback);
  const heartbeatMs = read('DAG_RUN_HEARTBEAT_MS', 5000);
  const timeoutMs = read('DAG_RUN_HEARTBEAT_TIMEOUT_MS', 60_000);
  if (timeoutMs < 2 * heartbeatMs) {
    throw new UsageError(
      `DAG_RUN_HEARTBEAT_TIMEOUT_MS (${timeoutMs}) must be at least twice DAG_RUN_HEARTBEAT_MS (${heartbeatMs}), or live runs would be taken for dead.`,
    );
  }
  return { heartbeatMs, timeoutMs };
}

/** A new attempt owned by this process. */
export function newRunOwner(): RunOwner {
  return { attemptId: randomUUID(), pid: process.pid, hostname: hostname() };
}

/** The queue hands a run to a launcher: QUEUED -> STARTING. False if another claimed it (or it was canceled). */
export async function claimQueuedRun(storage: InstanceStorage, runId: string): Promise<boolean> {
  return (await storage.transitionRun(runId, { from: ['QUEUED'], to: 'STARTING' })) !== undefined;
}

/**
 * A process starts executing a run and owns it. Undefined, changing nothing, if the run is not
 * waiting to start. `event` (the run's RUN_START) is stored in the same transaction.
 */
export async function startRun(
  storage: InstanceStorage,
  runId: string,
  owner: RunOwner,
  event?: NewEventOfRun,
): Promise<RunRecord | undefined> {
  return (await startRunWithEvent(storage, runId, owner, event))?.run;
}

/** `startRun`, with the stored start event. */
export async function startRunWithEvent(
  storage: InstanceStorage,
  runId: string,
  owner: RunOwner,
  event?: NewEventOfRun,
): Promise<{ run: RunRecord; event: StoredEvent | undefined } | undefined> {
  return await storage.transitionRun(runId, {
    from: ['NOT_STARTED', 'QUEUED', 'STARTING'],
    to: 'STARTED',
    owner,
    ...(event ? { event } : {}),
  });
}

/** A run that never started and cannot (bad plan, launch failed): FAILURE with the reason. */
export async function failBeforeStart(
  storage: InstanceStorage,
  runId: string,
  message: string,
): Promise<boolean> {
  const done = await storage.transitionRun(runId, {
    from: ['NOT_STARTED', 'QUEUED', 'STARTING'],
    to: 'FAILURE',
    error: message,
    event: { type: 'RUN_FAILURE', level: 'error', message },
  });
  return done !== undefined;
}

const FINAL_EVENT = { SUCCESS: 'RUN_SUCCESS', FAILURE: 'RUN_FAILURE', CANCELED: 'RUN_CANCELED' } as const;

export interface FinishRun {
  status: 'SUCCESS' | 'FAILURE' | 'CANCELED';
  /** The final event's message. */
  message: string;
  /** Stored on the run (its reason); null for a success. */
  error?: string | null;
  level?: LogLevel;
  data?: EventDataByType['RUN_FAILURE'] | EventDataByType['RUN_CANCELED'];
  /** Only if this attempt still owns the run. */
  attemptId?: string;
  /** The run's last events, stored first in the same transaction (whether or not the run still moves). */
  before?: readonly NewEvent[];
  /** Not if the run was marked CANCELING meanwhile (its owner then ends it CANCELED). */
  unlessCanceling?: boolean;
}

/**
 * Ends a run: the final event and the final status in one transaction. Undefined, changing
 * nothing, if the run already finished or (with `attemptId`) another attempt owns it.
 */
export async function finishRun(
  storage: InstanceStorage,
  runId: string,
  finish: FinishRun,
): Promise<{ run: RunRecord; event: StoredEvent | undefined; before?: StoredEvent[] } | undefined> {
  return await storage.transitionRun(runId, {
    from: fromStatuses(finish.status).filter((s) => !finish.unlessCanceling || s !== 'CANCELING'),
    to: finish.status,
    ...(finish.attemptId !== undefined ? { attemptId: finish.attemptId } : {}),
    ...(finish.before?.length ? { before: finish.before } : {}),
    error: finish.error ?? null,
    event: {
      type: FINAL_EVENT[finish.status],
      level:
        finish.level ??
        (finish.status === 'SUCCESS' ? 'info' : finish.status === 'CANCELED' ? 'warn' : 'error'),
      message: finish.message,
      ...(finish.data ? { data: finish.data } : {}),
    } as NewEventOfRun,
  });
}

export type TerminateOutcome =
  | { outcome: 'unknown' }
  | { outcome: 'finished'; run: RunRecord }
  | { outcome: 'canceled' | 'canceling'; run: RunRecord };

/**
 * Terminates a run. One that has not started (QUEUED, NOT_STARTED) is CANCELED at once: no
 * process owns it. A running one becomes CANCELING and its owner stops it; if its owner is
 * already known to be gone, it is CANCELED here. Asking again is harmless.
 */
export async function terminateRun(storage: InstanceStorage, runId: string): Promise<TerminateOutcome> {
  const notStarted = await storage.transitionRun(runId, {
    from: ['QUEUED', 'NOT_STARTED'],
    to: 'CANCELED',
    error: 'The run was terminated before it started.',
    event: { type: 'RUN_CANCELED', level: 'warn', message: 'The run was terminated before it started.' },
  });
  if (notStarted) return { outcome: 'canceled', run: notStarted.run };
  const canceling = await storage.transitionRun(runId, { from: ['STARTING', 'STARTED'], to: 'CANCELING' });
  // The worker holding the run, on whatever machine, stops it at once (its process also polls).
  if (canceling) await storage.notify(RUN_CHANNELS.terminate, runId).catch(() => {});
  const run = await storage.getRun(runId);
  if (!run) return { outcome: 'unknown' };
  if (FINISHED_RUN_STATUSES.includes(run.status)) return { outcome: 'finished', run };
  if (run.status !== 'CANCELING') return { outcome: 'canceling', run };
  const gone = run.pid !== null && run.hostname === hostname() && !isProcessAlive(run.pid);
  if (gone) {
    const message = `The run was terminated; its process ${run.pid} on ${run.hostname} was already gone.`;
    const done = await finishRun(storage, runId, { status: 'CANCELED', message, error: message });
    if (done) return { outcome: 'canceled', run: done.run };
  }
  return { outcome: 'canceling', run };
}

/**
 * Why a run's owner is gone, or undefined while it may be alive: its process on this host
 * has exited, or it has not heartbeated for `timeoutMs` (`watchedMs`: how long the caller has
 * been able to see heartbeats, so a database outage is not taken for the death of every owner).
 */
export function ownerGone(
  run: InFlightRun,
  liveness: RunLiveness,
  watchedMs: number,
  thisHost: string = hostname(),
  workers: WorkerLiveness = workerLiveness(),
): string | undefined {
  if (run.workerId && run.workerSilentMs !== undefined) {
    // A worker looks after its own runs (their processes, their heartbeats) while it lives.
    if (run.workerSilentMs === null) return `its worker ${run.workerId} stopped without finishing it`;
    if (run.workerSilentMs >= workers.timeoutMs && watchedMs >= workers.timeoutMs) {
      return `its worker ${run.workerId} (on ${run.hostname ?? 'an unknown host'}) has not heartbeated for ${Math.round(run.workerSilentMs / 1000)} s (worker timeout ${Math.round(workers.timeoutMs / 1000)} s): the worker died, lost its machine or was cut off from the database`;
    }
    return undefined;
  }
  if (run.pid !== null && run.hostname === thisHost && !isProcessAlive(run.pid)) {
    return `its process ${run.pid} on ${run.hostname} exited without finishing it`;
  }
  if (run.silentMs >= liveness.timeoutMs && watchedMs >= liveness.timeoutMs) {
    const who = run.pid !== null ? `its process ${run.pid} on ${run.hostname}` : 'no process';
    return `${who} has not shown it was alive for ${Math.round(run.silentMs / 1000)} s (heartbeat timeout ${Math.round(liveness.timeoutMs / 1000)} s)`;
  }
  return undefined;
}

/**
 * Finds runs whose owner is gone and finishes them: CANCELED if a terminate was requested,
 * else FAILURE, with a reason that says what happened. Run by the daemon (at start and
 * periodically) and so by `dag dev`. Keep one per process: it remembers since when it has
 * reached the database.
 */
export class RunReconciler {
  private reachableSince: number | undefined;

  constructor(
    private readonly storage: InstanceStorage,
    private readonly liveness: RunLiveness = runLiveness(),
    private readonly log?: (level: 'warn' | 'error', message: string) => void,
    private readonly workers: WorkerLiveness = workerLiveness(),
  ) {}

  /** The caller saw the database fail: heartbeats missed until now prove nothing. */
  databaseUnreachable(): void {
    this.reachableSince = undefined;
  }

  /**
   * One pass (over the runs of `only`, when given, leaving out those of `skip`: runs whose
   * process a launcher here watches and finishes itself); returns the runs it finished.
   */
  async reconcile(only?: ReadonlySet<string>, skip?: ReadonlySet<string>): Promise<RunRecord[]> {
    let runs: InFlightRun[];
    try {
      runs = await this.storage.getInFlightRuns();
    } catch (error) {
      this.databaseUnreachable();
      throw error;
    }
    const now = Date.now();
    this.reachableSince ??= now;
    const finished: RunRecord[] = [];
    for (const run of runs) {
      if ((only && !only.has(run.runId)) || skip?.has(run.runId)) continue;
      const why = ownerGone(run, this.liveness, now - this.reachableSince, hostname(), this.workers);
      if (!why) continue;
      const canceled = run.status === 'CANCELING';
      const message = canceled
        ? `The run was terminated and its owner is gone: ${why}.`
        : `The run's owner is gone: ${why}. The run did not finish; re-execute it.`;
      const done = await finishRun(this.storage, run.runId, {
        status: canceled ? 'CANCELED' : 'FAILURE',
        message,
        error: message,
        data: {
          ...(canceled ? {} : { failedSteps: [] }),
          reconciled: { pid: run.pid, hostname: run.hostname },
        } as EventDataByType['RUN_FAILURE'],
      });
      if (done) {
        finished.push(done.run);
        this.log?.('warn', `Run ${run.runId} (${run.jobName}) ended ${done.run.status}: ${message}`);
        // Only the pass whose transition won gets here: a run is retried once per failure.
        if (done.run.status === 'FAILURE' && retriesLeft(done.run) > 0) {
          const retry = await requeueRun(this.storage, done.run, 'retry');
          this.log?.(
            'warn',
            `Run ${run.runId} is retried as run ${retry.runId} (${RETRY_NUMBER_TAG}=${retry.tags[RETRY_NUMBER_TAG]} of ${MAX_RETRIES_TAG}=${done.run.tags[MAX_RETRIES_TAG]}).`,
          );
        }
      }
    }
    return finished;
  }
}

/** How many more times a failed run may be retried, by its `dag/max_retries` and `dag/retry_number` tags. */
export function retriesLeft(run: RunRecord): number {
  const max = Number(run.tags[MAX_RETRIES_TAG] ?? 0);
  const done = Number(run.tags[RETRY_NUMBER_TAG] ?? 0);
  if (!Number.isInteger(max) || max <= 0) return 0;
  return Math.max(0, max - (Number.isInteger(done) ? done : 0));
}

/**
 * Queues a new run doing what a finished run did (same job, selection, steps, config and
 * tags), child of it (parent and root run ids), and wakes the run queue: a retry (`retry`:
 * its `dag/retry_number` tag counts up) or a run a stopping worker handed back (`handback`).
 * A config whose secrets were redacted in storage makes the new run fail before it starts,
 * naming the fields.
 */
export async function requeueRun(
  storage: InstanceStorage,
  run: RunRecord,
  why: 'retry' | 'handback',
): Promise<RunRecord> {
  const tags = { ...run.tags };
  if (why === 'retry') tags[RETRY_NUMBER_TAG] = String(Number(run.tags[RETRY_NUMBER_TAG] ?? 0) + 1);
  const created = await storage.createRun({
    runId: randomUUID(),
    jobName: run.jobName,
    location: run.location,
    status: 'QUEUED',
    assetSelection: run.assetSelection,
    selection: run.selection,
    stepKeys: run.stepKeys,
    runConfig: run.runConfig,
    tags,
    parentRunId: run.runId,
    rootRunId: run.rootRunId ?? run.runId,
  });
  await storage.notify(RUN_CHANNELS.queue, created.runId).catch(() => {});
  return created;
}

/**
 * Renews the heartbeat of a run this process owns, every `heartbeatMs`. `onLost` is called
 * once if the run is no longer this attempt's (finished by the reconciler, taken over).
 * Database errors are left to the next beat. Returns a function that stops it.
 */
export function startHeartbeat(
  storage: InstanceStorage,
  runId: string,
  attemptId: string,
  heartbeatMs: number,
  onLost: () => void,
): () => void {
  let lost = false;
  const timer = setInterval(() => {
    void storage.heartbeatRun(runId, { attemptId }).then(
      (status) => {
        if (status === undefined && !lost) {
          lost = true;
          onLost();
        }
      },
      () => {},
    );
  }, heartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}
