import { AsyncLocalStorage } from 'node:async_hooks';
import { availableParallelism } from 'node:os';
import { MaterializeResult } from '../definitions/asset.ts';
import type { Definitions } from '../definitions/definitions.ts';
import type { RunConfig } from '../definitions/job.ts';
import { type MetadataInput, type MetadataRecord, normalizeMetadata } from '../definitions/metadata.ts';
import type { ResourceDefinition } from '../definitions/resource.ts';
import {
  describeError,
  InstanceError,
  NonRetriableError,
  RetryAfterError,
  serializeError,
  UsageError,
  UserCodeError,
} from '../errors.ts';
import type { EventDataByType } from '../events/events.ts';
import type { DagInstance } from '../instance/dag-instance.ts';
import { type ConcurrencyPools, instancePools } from '../instance/pools.ts';
import { retryWhileUnreachable } from '../instance/postgres-storage.ts';
import type { NewEvent, RunRecord, StoredEvent } from '../instance/storage.ts';
import type { IOManager } from '../io/io-manager.ts';
import { defaultMapping, mapPartitions } from '../partitions/mappings.ts';
import { timeWindowOf } from '../partitions/partitions.ts';
import {
  loadPartitionContext,
  partitionSelectionOf,
  type RunPartitions,
  resolveRunPartitions,
} from '../partitions/run-partitions.ts';
import {
  type AssetContext,
  type CheckContext,
  type CheckResult,
  type EventType,
  FINISHED_RUN_STATUSES,
  type Logger,
  type LogLevel,
  type RunResult,
  type RunStatus,
  type SpawnOptions,
  type StepResult,
  type StepStatus,
} from '../types.ts';
import { RedactingBuffer, redact } from '../util/secrets.ts';
import { configVersion, currentDataVersion, valueDataVersion } from '../versions/data-version.ts';
import type { MaterializationVersion } from '../versions/staleness.ts';
import { type ExecutionPlan, type PlanOptions, type PlanStep, planRun } from './plan.ts';
import { spawnProcess } from './process-tree.ts';
import { retryDelay } from './retry.ts';
import {
  finishRun,
  newRunOwner,
  type RunLiveness,
  RunReconciler,
  runLiveness,
  startHeartbeat,
  startRunWithEvent,
} from './run-lifecycle.ts';
import { StepScheduler } from './scheduler.ts';

export interface ExecuteOptions extends PlanOptions {
  instance: DagInstance;
  definitions: Definitions;
  /** The code location the definitions came from, recorded on the run. */
  location?: string;
  /** Steps run at once; default: the number of CPUs. */
  maxConcurrency?: number;
  /** Called for every event after it is stored, in order. */
  onEvent?: (event: StoredEvent) => void;
  /** Aborting terminates the run (same as `dag run terminate`). */
  signal?: AbortSignal;
  /** How often to check the instance for a terminate request from another process. Default 500 ms. */
  cancelPollMs?: number;
  /**
   * How long the first event of a batch waits for others before the batch is stored (default
   * 20 ms): a step's events share one write, and those of a short run go with its end.
   */
  eventLingerMs?: number;
  /** How long to wait for steps to stop after a terminate before giving up on them. Default 10 s. */
  terminateGraceMs?: number;
  parentRunId?: string;
  rootRunId?: string;
  /** The run already exists (created as QUEUED or NOT_STARTED by a launcher); execute it. */
  existingRun?: boolean;
  /** Heartbeat interval and timeout. Default: `runLiveness()` (DAG_RUN_HEARTBEAT_MS, DAG_RUN_HEARTBEAT_TIMEOUT_MS). */
  liveness?: RunLiveness;
}

interface StepState {
  step: PlanStep;
  status: StepStatus;
  attempts: number;
  startedAt: number;
  endedAt: number;
  metadata: MetadataRecord;
  checks: StepResult['checks'];
  error?: string;
  /** A blocking ERROR check failed: the step fails and downstream steps are skipped. */
  blocked: boolean;
  /** Names of the blocking ERROR checks that failed. */
  failedBlockingChecks: string[];
  /** What the materialization is computed from, recorded with it. */
  version?: MaterializationVersion;
  /** The data version the function gave (MaterializeResult.dataVersion). */
  dataVersion?: string;
  /** The data version this run's materialization of the asset recorded (once it is recorded). */
  materializedDataVersion?: string;
}

const PROGRESS_INTERVAL_MS = 500;

/** Events a run may hold in memory while the database cannot be reached. */
const MAX_PENDING_EVENTS = 100_000;

type OutputSink = (text: string, stream: 'stdout' | 'stderr') => void;

/** The step whose user code runs in this async context: what it prints is logged to its run. */
const stepOutput = new AsyncLocalStorage<OutputSink>();
let outputCaptured = false;

/**
 * Makes what user code writes to process.stdout / process.stderr (console.log, a library's
 * warnings) also a LOG event of the step that wrote it, found through the async context, so
 * it is in `dag logs` and the UI and not only on the terminal of the process. The write
 * itself still happens. Installed once, by the first run of the process.
 */
function captureStepOutput(): void {
  if (outputCaptured) return;
  outputCaptured = true;
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    const write = stream.write;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const sink = stepOutput.getStore();
      if (sink) {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
        try {
          sink(text, name);
        } catch {
          // Logging a step's output must never break the write itself.
        }
      }
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as NodeJS.WriteStream['write'];
  }
}

/** Events stored in one round trip at most (a multi-row INSERT in one transaction). */
const MAX_BATCH = 1_000;
/** Queued events past which the run waits for the writer before starting more steps. */
const HIGH_WATER = 5_000;
/**
 * How long the first event of a batch waits for others before the batch is stored: the
 * events of a step (start, materialization, success) and of steps running together share
 * one write, and those of a short run go into its final transaction.
 */
const LINGER_MS = 20;

interface QueuedEvent {
  event: NewEvent;
  done: () => void;
}

/**
 * Writes a run's events in order, in batches: while one batch is being stored, the events
 * that arrive queue up and are stored together next, in one transaction (group commit), so
 * a run of 10,000 steps does not pay a round trip and a commit per event. A batch is stored
 * whole or not at all: a crash loses at most the unstored tail, never half an event, and the
 * run's final status is written with the events `takeRest()` hands over, in one transaction.
 * A batch waits LINGER_MS for more events before it is stored. While the database cannot be reached,
 * events wait in memory, in order, and are retried (for at most `retryForMs`, at most
 * MAX_PENDING_EVENTS of them). Past either bound the writer fails: `onFailure` is told once
 * (the run stops) and `takeRest()` throws. No event is ever dropped in silence.
 */
class EventWriter {
  private readonly queue: QueuedEvent[] = [];
  private draining: Promise<void> | undefined;
  private failure: unknown;
  private waiting = false;
  /** Ends the current batch's linger at once (see LINGER_MS). */
  private hurry: (() => void) | undefined;
  constructor(
    private readonly instance: DagInstance,
    private readonly runId: string,
    private readonly retryForMs: number,
    private readonly onEvent: ((event: StoredEvent) => void) | undefined,
    private readonly onFailure: (error: unknown) => void,
    private readonly lingerMs: number = LINGER_MS,
  ) {}

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    // Loudly: the run stops, and what it logs from now on can only go to its process output.
    process.stderr.write(
      `dag: run ${this.runId}: events can no longer be stored in the instance (${redact(describeError(error))}); the run stops and fails.\n`,
    );
    this.onFailure(error);
  }

  /** Queues an event; resolves once it is stored (or the writer has failed). */
  write(event: NewEvent): Promise<void> {
    if (this.queue.length >= MAX_PENDING_EVENTS) {
      this.fail(
        new InstanceError(
          `Run ${this.runId}: more than ${MAX_PENDING_EVENTS} events are waiting for the instance database, which cannot be reached.`,
        ),
      );
    }
    return new Promise<void>((done) => {
      this.queue.push({ event, done });
      // Outside any step's context: what listeners print (the CLI's live output) is not step output.
      if (!this.draining) this.draining = stepOutput.exit(() => this.drain());
      else if (this.queue.length >= MAX_BATCH) this.hurry?.();
    });
  }

  /** Waits LINGER_MS for more events to join the batch (less when hurried). */
  private linger(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.hurry?.(), this.lingerMs);
      this.hurry = () => {
        clearTimeout(timer);
        this.hurry = undefined;
        resolve();
      };
    });
  }

  private async drain(): Promise<void> {
    try {
      await this.linger();
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          if (!this.failure) await this.store(batch.map((q) => q.event));
        } catch (error) {
          this.fail(error);
        } finally {
          for (const q of batch) q.done();
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async store(events: NewEvent[]): Promise<void> {
    const stored = await retryWhileUnreachable(() => this.instance.storage.storeEvents(events), {
      retryForMs: this.retryForMs,
      onRetry: (error) => {
        if (this.waiting) return;
        this.waiting = true;
        process.stderr.write(
          `dag: run ${this.runId}: the instance database cannot be reached (${redact(error.message)}); events are kept and retried for up to ${Math.round(this.retryForMs / 1000)} s.\n`,
        );
      },
    });
    this.waiting = false;
    for (const event of stored) {
      try {
        this.onEvent?.(event);
      } catch {
        // A listener's bug must not break the run.
      }
    }
  }

  /** Resolves at once unless more than HIGH_WATER events wait; then once the queue is stored. */
  async drained(): Promise<void> {
    while (this.queue.length > HIGH_WATER && this.draining) await this.draining;
  }

  /**
   * For the run's final transaction: the events not yet on their way to storage, taken off
   * the queue (those being stored are waited for). `stored` must be called with them once
   * they are stored, `failed` if they could not be.
   */
  async takeRest(): Promise<{
    events: NewEvent[];
    stored: (events: readonly StoredEvent[]) => void;
  }> {
    const taken = this.queue.splice(0);
    this.hurry?.();
    while (this.draining) await this.draining;
    this.throwIfFailed();
    return {
      events: taken.map((q) => q.event),
      stored: (events) => {
        for (const event of events) {
          try {
            this.onEvent?.(event);
          } catch {
            // A listener's bug must not break the run.
          }
        }
        for (const q of taken) q.done();
      },
    };
  }

  private throwIfFailed(): void {
    if (this.failure) {
      throw new InstanceError(
        `Run ${this.runId} could not store its events in the instance: ${redact(describeError(this.failure))}`,
        { cause: this.failure },
      );
    }
  }
}

/**
 * Executes a run: plans it (validating selection and config before anything is written),
 * records it, runs its steps concurrently in dependency order, and stores every event as it
 * happens. Resolves with the run's result; rejects only for errors found before the run
 * starts (definition, selection, config) or when the instance itself fails.
 */
export async function executeRun(options: ExecuteOptions): Promise<RunResult> {
  const plan = planRun(options.definitions, options);
  const { instance } = options;
  const storage = instance.storage;
  const startedAt = Date.now();
  const liveness = options.liveness ?? runLiveness();
  const owner = newRunOwner();
  const partitions = await runPartitions(instance, options.definitions, plan);
  if (!options.existingRun) {
    await storage.createRun({
      runId: plan.runId,
      jobName: plan.jobName,
      location: options.location ?? null,
      status: 'NOT_STARTED',
      assetSelection: plan.assetSelection,
      selection: options.selection ?? null,
      stepKeys: options.stepKeys ?? null,
      runConfig: plan.runConfig as Record<string, unknown>,
      tags: plan.tags,
      parentRunId: options.parentRunId ?? null,
      rootRunId: options.rootRunId ?? options.parentRunId ?? null,
    });
  }
  // Conditional: a terminate that arrived before the run started is not overwritten. The
  // status change and the RUN_START event are one transaction.
  const start = await startRunWithEvent(storage, plan.runId, owner, {
    type: 'RUN_START',
    level: 'info',
    message: `Started run ${plan.runId} of ${plan.jobName} (${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}).`,
    stepKey: null,
    assetKey: null,
    data: { steps: plan.steps.map((s) => s.key), pid: process.pid },
  });
  if (!start) return await notStartedResult(instance, plan.runId);
  const started = start.run;
  if (start.event) {
    try {
      options.onEvent?.(start.event);
    } catch {
      // A listener's bug must not break the run.
    }
  }
  let execution: RunExecution | undefined;
  // Events wait through a database outage of up to a minute (or the heartbeat timeout, if longer).
  const retryForMs = Math.max(liveness.timeoutMs, 60_000);
  const writer = new EventWriter(
    instance,
    plan.runId,
    retryForMs,
    options.onEvent,
    (error) =>
      execution?.requestCancel(
        `The run stops: its events cannot be stored in the instance (${redact(describeError(error))}).`,
      ),
    options.eventLingerMs ?? LINGER_MS,
  );
  execution = new RunExecution(
    plan,
    options,
    writer,
    owner.attemptId,
    liveness,
    retryForMs,
    await ancestorRunIds(instance, started.parentRunId),
    partitions,
  );
  return await execution.run(startedAt);
}

/**
 * Checks the partition of a run before it is stored elsewhere (the API queues runs): throws
 * a UsageError naming the asset and its valid keys for a bad one.
 */
export async function checkRunPartitions(
  instance: DagInstance,
  definitions: Definitions,
  options: PlanOptions,
): Promise<void> {
  await runPartitions(instance, definitions, planRun(definitions, options));
}

/** The partitions a run materializes (from its tags), validated before the run is stored. */
async function runPartitions(
  instance: DagInstance,
  definitions: Definitions,
  plan: ExecutionPlan,
): Promise<RunPartitions | undefined> {
  const assets = plan.steps.flatMap((s) => (s.asset ? [s.asset] : []));
  const selection = partitionSelectionOf(plan.tags);
  if (selection === undefined && !assets.some((a) => a.partitions)) return undefined;
  const upstream = assets.flatMap((a) => a.deps.map((d) => definitions.graph.get(d).partitions));
  const ctx = await loadPartitionContext(instance.storage, [...assets.map((a) => a.partitions), ...upstream]);
  return resolveRunPartitions(assets, selection, ctx);
}

/**
 * The result for a run that could not start because it is no longer waiting: terminated
 * before it started (CANCELING is then made CANCELED), or taken by another process.
 */
export async function notStartedResult(instance: DagInstance, runId: string): Promise<RunResult> {
  const storage = instance.storage;
  let run: RunRecord | undefined = await storage.getRun(runId);
  if (run?.status === 'CANCELING' && !run.startedAt) {
    const message = 'The run was terminated before it started.';
    run = (await finishRun(storage, runId, { status: 'CANCELED', message, error: message }))?.run ?? run;
  }
  if (!run || !FINISHED_RUN_STATUSES.includes(run.status) || run.startedAt) {
    throw new UsageError(
      `Run ${runId} is ${run?.status ?? 'unknown'}; only a NOT_STARTED, QUEUED or STARTING run can be executed.`,
    );
  }
  return {
    runId,
    jobName: run.jobName,
    status: run.status,
    durationMs: 0,
    steps: [],
    ...(run.error ? { error: run.error } : {}),
  };
}

class RunExecution {
  private readonly states = new Map<string, StepState>();
  private readonly controller = new AbortController();
  private readonly resources = new Map<string, Promise<unknown>>();
  private readonly opOutputs = new Map<string, unknown>();
  /** A multi-asset's one call per run, shared by the steps of its outputs. */
  private readonly multiCalls = new Map<string, Promise<unknown>>();
  /** Pool slots this run holds, by slot key (a multi-asset's output steps share one). */
  private readonly slots = new Map<string, { held: Promise<void>; users: number }>();
  private pools: ConcurrencyPools | undefined;
  private readonly io: IOManager;
  private canceled = false;
  private cancelReason: string | undefined;

  constructor(
    private readonly plan: ExecutionPlan,
    private readonly options: ExecuteOptions,
    private readonly writer: EventWriter,
    private readonly attemptId: string,
    private readonly liveness: RunLiveness,
    private readonly retryForMs: number,
    /** Parent, grandparent...: where a re-execution finds outputs of steps it does not run. */
    private readonly ancestors: readonly string[] = [],
    /** The partitions this run materializes, per partitioned asset. */
    private readonly partitions: RunPartitions | undefined = undefined,
  ) {
    this.io = options.definitions.ioManager ?? options.instance.ioManager;
    for (const step of plan.steps) {
      this.states.set(step.key, {
        step,
        status: 'pending',
        attempts: 0,
        startedAt: 0,
        endedAt: 0,
        metadata: {},
        checks: [],
        blocked: false,
        failedBlockingChecks: [],
      });
    }
  }

  /** Writes an event whose `data` has the shape its type declares (EventDataByType). */
  private emit<T extends EventType>(
    type: T,
    message: string,
    fields: { stepKey?: string; assetKey?: string; level?: LogLevel; data?: EventDataByType[T] } = {},
  ): Promise<void> {
    return this.writer.write({
      runId: this.plan.runId,
      type,
      message,
      stepKey: fields.stepKey ?? null,
      assetKey: fields.assetKey ?? null,
      level: fields.level ?? 'info',
      data: fields.data ?? null,
    } as NewEvent);
  }

  requestCancel(reason: string): void {
    this.cancel(reason);
  }

  private cancel(reason: string): void {
    if (this.canceled) return;
    this.canceled = true;
    this.cancelReason = reason;
    void this.emit('RUN_CANCELING', reason, { level: 'warn' });
    this.controller.abort(new Error(reason));
  }

  async run(startedAt: number): Promise<RunResult> {
    const { plan, options } = this;
    const storage = options.instance.storage;
    const external = options.signal;
    const onExternalAbort = () => this.cancel('Run terminated by the caller.');
    if (external?.aborted) onExternalAbort();
    external?.addEventListener('abort', onExternalAbort, { once: true });
    // Another process (the CLI, the UI) terminates a run by marking it CANCELING.
    const poll = setInterval(() => {
      void storage
        .getRun(plan.runId)
        .then((run) => {
          if (run?.status === 'CANCELING') this.cancel('Run terminated by request.');
        })
        .catch(() => {});
    }, options.cancelPollMs ?? 500);
    poll.unref();
    // The owner's heartbeat: without it, the run would be taken for orphaned and finished.
    const stopHeartbeat = startHeartbeat(storage, plan.runId, this.attemptId, this.liveness.heartbeatMs, () =>
      this.cancel('The run was finished by another process (its owner was presumed dead); stopping.'),
    );

    for (const note of plan.notes) await this.emit('ENGINE_EVENT', note);
    try {
      await this.loop();
    } finally {
      clearInterval(poll);
      stopHeartbeat();
      external?.removeEventListener('abort', onExternalAbort);
      await this.disposeResources();
      await this.pools?.close();
    }

    const steps = [...this.states.values()];
    const failed = steps.filter((s) => s.status === 'failure');
    const outcome = (): {
      status: 'SUCCESS' | 'FAILURE' | 'CANCELED';
      error: string | null;
      message: string;
      data?: EventDataByType['RUN_FAILURE'];
    } => {
      if (this.canceled) {
        const error = this.cancelReason ?? 'The run was terminated.';
        return { status: 'CANCELED', error, message: `Run canceled: ${error}` };
      }
      if (failed.length > 0) {
        const failedChecks = failed.flatMap((s) =>
          s.failedBlockingChecks.map((name) => ({ step: s.step.key, check: name })),
        );
        const error = `Step${failed.length > 1 ? 's' : ''} failed: ${failed
          .map((s) =>
            s.failedBlockingChecks.length > 0
              ? `${s.step.key} (blocking check ${s.failedBlockingChecks.map((n) => `'${n}'`).join(', ')} failed)`
              : s.step.key,
          )
          .join(', ')}`;
        return {
          status: 'FAILURE',
          error,
          message: error,
          data: {
            failedSteps: failed.map((s) => s.step.key),
            ...(failedChecks.length > 0 ? { failedChecks } : {}),
          },
        };
      }
      return { status: 'SUCCESS', error: null, message: `Run succeeded in ${Date.now() - startedAt} ms.` };
    };
    const finish = (end: ReturnType<typeof outcome>, before?: readonly NewEvent[]) =>
      retryWhileUnreachable(
        () =>
          finishRun(storage, plan.runId, {
            ...end,
            attemptId: this.attemptId,
            // A run marked CANCELING meanwhile ends CANCELED, not as its steps did (below).
            ...(end.status !== 'CANCELED' ? { unlessCanceling: true } : {}),
            ...(before ? { before } : {}),
          }),
        { retryForMs: this.retryForMs },
      );
    // The events not stored yet, the final event and the status in one transaction; the
    // status only while this attempt owns the run.
    let end = outcome();
    const rest = await this.writer.takeRest();
    let finished = await finish(end, rest.events);
    rest.stored(finished?.before ?? []);
    let status: RunStatus = end.status;
    let error: string | undefined = end.error ?? undefined;
    if (!finished) {
      const current = await storage.getRun(plan.runId);
      if (current?.status === 'CANCELING' && current.attemptId === this.attemptId) {
        // A terminate that raced with the last steps (the run was marked CANCELING while a
        // killed step was failing) still ends the run as CANCELED.
        this.canceled = true;
        end = outcome();
        finished = await finish(end);
        status = end.status;
        error = end.error ?? undefined;
      }
      if (finished) {
        if (finished.event) options.onEvent?.(finished.event);
      } else {
        // Another process finished the run first (its owner was presumed dead): that stands.
        const now = await storage.getRun(plan.runId);
        if (now) {
          status = now.status;
          error = now.error ?? undefined;
        }
      }
    } else if (finished.event) options.onEvent?.(finished.event);
    return {
      runId: plan.runId,
      jobName: plan.jobName,
      status,
      durationMs: Date.now() - startedAt,
      steps: steps.map((s) => {
        const result: StepResult = {
          key: s.step.key,
          kind: s.step.kind,
          status: s.status,
          attempts: s.attempts,
          durationMs: s.endedAt && s.startedAt ? s.endedAt - s.startedAt : 0,
          metadata: s.metadata,
          checks: s.checks,
        };
        if (s.error !== undefined) result.error = s.error;
        return result;
      }),
      ...(error !== undefined ? { error } : {}),
    };
  }

  /**
   * Starts ready steps up to the concurrency limit, in plan order; skips the steps downstream
   * of a step that did not succeed. Each step's end updates only its own downstream steps
   * (StepScheduler), so a run costs O(steps + edges), not O(steps²).
   */
  private async loop(): Promise<void> {
    const max = Math.max(1, this.options.maxConcurrency ?? availableParallelism());
    const scheduler = new StepScheduler(this.plan.steps);
    const running = new Map<string, Promise<void>>();
    const ended: string[] = [];
    // Resolved by the next step to end: one waiter, however many steps run at once.
    let wake: (() => void) | undefined;
    for (;;) {
      for (const key of ended.splice(0)) {
        const state = this.states.get(key)!;
        if (state.status === 'success' && !state.blocked) scheduler.succeeded(key);
        else for (const step of scheduler.notSucceeded(key)) this.skip(this.states.get(step.key)!);
      }
      if (this.canceled) {
        for (const state of this.states.values()) if (state.status === 'pending') this.skip(state);
      }
      while (running.size < max && !this.canceled) {
        const step = scheduler.next();
        if (!step) break;
        const state = this.states.get(step.key)!;
        state.status = 'running';
        // A step that ends at once (no-op user code) still waits for the next turn, so ending
        // steps are handled above, in order, and never re-enter this loop.
        const promise = this.runStep(state).finally(() => {
          running.delete(step.key);
          ended.push(step.key);
          wake?.();
        });
        running.set(step.key, promise);
      }
      if (running.size === 0) {
        if (ended.length > 0) continue;
        return;
      }
      if (this.canceled) {
        // Steps were told to stop (abort signal, process trees killed); wait a bounded time.
        const grace = new Promise<void>((r) =>
          setTimeout(r, this.options.terminateGraceMs ?? 10_000).unref(),
        );
        await Promise.race([Promise.allSettled(running.values()), grace]);
        for (const key of running.keys()) {
          const state = this.states.get(key)!;
          if (state.status === 'running') {
            state.status = 'canceled';
            state.endedAt = Date.now();
          }
        }
        for (const state of this.states.values()) if (state.status === 'pending') state.status = 'canceled';
        return;
      }
      // Backpressure: steps never run far ahead of the event log.
      await this.writer.drained();
      if (ended.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    }
  }

  /** Marks a pending step skipped (its upstream did not succeed) or canceled (the run was terminated). */
  private skip(state: StepState): void {
    if (state.status !== 'pending') return;
    const deps = state.step.deps.map((d) => this.states.get(d)).filter((d) => d !== undefined);
    const bad = deps.find(
      (d) => d.status === 'failure' || d.status === 'skipped' || d.status === 'canceled' || d.blocked,
    );
    const canceled = this.canceled || !bad;
    state.status = canceled ? 'canceled' : 'skipped';
    const reason = canceled
      ? 'the run was terminated'
      : bad.blocked
        ? `a blocking check on upstream '${bad.step.key}' failed`
        : `upstream step '${bad.step.key}' ${bad.status === 'failure' ? 'failed' : 'did not run'}`;
    state.error = `Skipped: ${reason}.`;
    void this.emit('STEP_SKIPPED', `Skipped '${state.step.key}': ${reason}.`, {
      stepKey: state.step.key,
      ...(state.step.asset ? { assetKey: state.step.asset.key } : {}),
      level: 'warn',
      data: { reason, canceled },
    });
  }

  private logger(stepKey: string, assetKey: string | undefined): Logger {
    const log = (level: LogLevel) => (message: string, extra?: Record<string, unknown>) => {
      void this.emit('LOG', String(message), {
        stepKey,
        ...(assetKey ? { assetKey } : {}),
        level,
        ...(extra ? { data: { extra } } : {}),
      });
    };
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  }

  private async resourceValues(
    map: Readonly<Record<string, ResourceDefinition>>,
  ): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [alias, def] of Object.entries(map)) {
      let value = this.resources.get(def.name);
      if (!value) {
        value = def.create(this.plan.resourceConfig.get(def.name), {
          home: this.options.instance.home,
          runId: this.plan.runId,
        });
        this.resources.set(def.name, value);
        // A failed creation is retried by the next step that needs it.
        value.catch(() => this.resources.delete(def.name));
      }
      try {
        out[alias] = await value;
      } catch (error) {
        throw new Error(`Resource '${def.name}' could not be created: ${describeError(error)}`, {
          cause: error,
        });
      }
    }
    return out;
  }

  private async disposeResources(): Promise<void> {
    const defs = new Map<string, ResourceDefinition>();
    for (const step of this.plan.steps) {
      for (const r of Object.values(step.resources)) defs.set(r.name, r);
      for (const c of step.checks) for (const r of Object.values(c.resources)) defs.set(r.name, r);
    }
    for (const [name, promise] of this.resources) {
      try {
        await defs.get(name)?.dispose(await promise);
      } catch (error) {
        await this.emit('ENGINE_EVENT', `Resource '${name}' failed to close: ${describeError(error)}`, {
          level: 'warn',
        });
      }
    }
  }

  private makeContext(
    state: StepState,
    attempt: number,
    stepSignal: AbortSignal,
    resources: Record<string, unknown>,
  ) {
    const { step } = state;
    const assetKey = step.asset?.key;
    const log = this.logger(step.key, assetKey);
    let lastProgress = 0;
    const ctx = {
      runId: this.plan.runId,
      stepKey: step.key,
      jobName: this.plan.jobName,
      assetKey: assetKey ?? step.key,
      selectedOutputs: this.selectedOutputs(step),
      attempt,
      config: step.config,
      resources,
      log,
      signal: stepSignal,
      home: this.options.instance.home,
      progress: (done, total, message) => {
        const now = Date.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS && !(total !== undefined && done >= total)) return;
        lastProgress = now;
        void this.emit('STEP_PROGRESS', message ?? `${done}${total !== undefined ? `/${total}` : ''}`, {
          stepKey: step.key,
          ...(assetKey ? { assetKey } : {}),
          level: 'debug',
          data: { done, ...(total !== undefined ? { total } : {}) },
        });
      },
      addMetadata: (metadata: Record<string, MetadataInput>) => {
        Object.assign(state.metadata, normalizeMetadata(metadata));
      },
      spawn: (command: string, args: readonly string[], spawnOptions: SpawnOptions = {}) =>
        spawnProcess(command, args, {
          ...spawnOptions,
          signal: stepSignal,
          onLine:
            spawnOptions.onLine ??
            ((line, stream) => (stream === 'stderr' ? log.warn(line) : log.info(line))),
        }),
    } satisfies Omit<AssetContext<unknown, Record<string, unknown>>, PartitionContextKeys>;
    this.definePartitionContext(ctx, step);
    return ctx as unknown as AssetContext<unknown, Record<string, unknown>>;
  }

  private async runStep(state: StepState): Promise<void> {
    const { step } = state;
    const assetKey = step.asset?.key;
    const where = step.kind === 'asset' ? `asset '${step.key}'` : `op '${step.key}'`;
    const ids = { stepKey: step.key, ...(assetKey ? { assetKey } : {}) };
    state.startedAt = Date.now();
    // Hot-path events are queued, not awaited: the writer stores them in order, in batches, and
    // the run's final status is written only after every one of them is stored.
    const stepPartitions = this.partitionsOf(step);
    void this.emit(
      'STEP_START',
      `Started ${where}${stepPartitions ? ` (partition${stepPartitions.length > 1 ? `s ${stepPartitions[0]}...${stepPartitions[stepPartitions.length - 1]}` : ` ${stepPartitions[0]}`})` : ''}.`,
      { ...ids, ...(stepPartitions ? { data: { partitions: stepPartitions } } : {}) },
    );
    const maxAttempts = 1 + Math.max(0, step.retry?.maxRetries ?? 0);
    const signal = this.controller.signal;
    let releaseSlot: (() => Promise<void>) | undefined;
    try {
      await this.attempts(state, where, ids, maxAttempts, signal, async () => {
        releaseSlot ??= await this.takeSlot(step, ids);
      });
    } finally {
      await releaseSlot?.();
    }
  }

  /**
   * Takes a slot of the step's pool (none without a pool), waiting while the pool is full;
   * returns its release. The output steps of one multi-asset share its call's slot.
   */
  private async takeSlot(
    step: PlanStep,
    ids: { stepKey: string; assetKey?: string },
  ): Promise<() => Promise<void>> {
    const pool = step.pool;
    if (!pool) return async () => {};
    const runId = this.plan.runId;
    const slotKey = step.asset?.multi?.name ?? step.key;
    let slot = this.slots.get(slotKey);
    if (!slot) {
      const storage = this.options.instance.storage;
      this.pools ??= instancePools(this.options.instance);
      const pools = this.pools;
      // Runs holding the pool's slots whose owner is gone are ended (freeing their slots)
      // by the waiter itself, without waiting for a daemon to do it.
      const reconciler = new RunReconciler(storage, this.liveness);
      const held = pools
        .acquire(pool, runId, slotKey, {
          signal: this.controller.signal,
          onWait: ({ limit, inUse }) => {
            void this.emit(
              'ENGINE_EVENT',
              `Waiting for a slot of pool '${pool}' (${inUse} of ${limit} in use).`,
              ids,
            );
          },
          onStillWaiting: async (holders) => {
            await reconciler.reconcile(new Set(holders));
          },
        })
        .then(({ waitedMs }) => {
          if (waitedMs > 0) {
            void this.emit('ENGINE_EVENT', `Took a slot of pool '${pool}' after ${waitedMs} ms.`, ids);
          }
        });
      slot = { held, users: 0 };
      this.slots.set(slotKey, slot);
    }
    const taken = slot;
    taken.users++;
    try {
      await taken.held;
    } catch (error) {
      taken.users--;
      if (this.slots.get(slotKey) === taken) this.slots.delete(slotKey);
      throw error;
    }
    return async () => {
      if (--taken.users > 0) return;
      if (this.slots.get(slotKey) === taken) this.slots.delete(slotKey);
      // Not freed here (the database is down): the run's end frees it.
      await this.pools!.release(pool, runId, slotKey).catch(() => {});
    };
  }

  /** The attempts of a step, as its retry policy allows; `beforeAttempt` runs before each one's code. */
  private async attempts(
    state: StepState,
    where: string,
    ids: { stepKey: string; assetKey?: string },
    maxAttempts: number,
    signal: AbortSignal,
    beforeAttempt: () => Promise<void>,
  ): Promise<void> {
    const { step } = state;
    for (let attempt = 1; ; attempt++) {
      state.attempts = attempt;
      try {
        await beforeAttempt();
        const resources = await this.resourceValues(step.resources);
        const ctx = this.makeContext(state, attempt, signal, resources);
        const returned = await this.callUserCode(where, step.key, () => this.invoke(step, ctx));
        // A function that returns after its run was terminated (e.g. its child process was
        // killed and it did not check the exit code) did not finish its work.
        if (signal.aborted) throw new Error('The run was terminated while the step was running.');
        if (returned && typeof returned === 'object' && OBSERVED in returned) {
          await this.observed(state, (returned as { [OBSERVED]: unknown })[OBSERVED]);
        } else {
          await this.handleReturn(state, returned);
          if (step.asset) await this.materialized(state);
        }
        if (state.blocked) {
          // As in Dagster: the asset was materialized, but a failed blocking check fails its step
          // (and so the run), whatever the retry policy says: a retry would not run the check again.
          const names = state.failedBlockingChecks.map((n) => `'${n}'`).join(', ');
          throw new NonRetriableError(
            `Blocking ERROR check${state.failedBlockingChecks.length > 1 ? 's' : ''} ${names} on asset '${step.asset!.key}' failed.`,
          );
        }
        state.status = 'success';
        state.endedAt = Date.now();
        void this.emit('STEP_SUCCESS', `Finished ${where} in ${state.endedAt - state.startedAt} ms.`, {
          ...ids,
          data: { durationMs: state.endedAt - state.startedAt, attempts: attempt },
        });
        return;
      } catch (error) {
        const root = error instanceof UserCodeError ? error.cause : error;
        if (signal.aborted) {
          state.status = 'canceled';
          state.endedAt = Date.now();
          state.error = 'Terminated.';
          await this.emit('STEP_FAILURE', `${where} was terminated.`, {
            ...ids,
            level: 'warn',
            data: { canceled: true, error: serializeError(error), attempts: attempt },
          });
          return;
        }
        const retriable = !(root instanceof NonRetriableError) && attempt < maxAttempts;
        if (retriable) {
          const delay = root instanceof RetryAfterError ? root.delayMs : retryDelay(step.retry!, attempt);
          await this.emit(
            'STEP_UP_FOR_RETRY',
            `${where} failed (attempt ${attempt} of ${maxAttempts}); retrying in ${delay} ms: ${describeError(root)}`,
            { ...ids, level: 'warn', data: { attempt, delayMs: delay, error: serializeError(error) } },
          );
          const waited = await sleep(delay, signal);
          if (!waited) continue; // aborted during the wait: the next attempt sees the abort
          await this.emit('STEP_RESTARTED', `Retrying ${where} (attempt ${attempt + 1}).`, ids);
          continue;
        }
        state.status = 'failure';
        state.endedAt = Date.now();
        state.error = redact(describeError(error));
        await this.emit('STEP_FAILURE', state.error, {
          ...ids,
          level: 'error',
          data: { canceled: false, error: serializeError(error), attempts: attempt },
        });
        return;
      }
    }
  }

  /** The one error boundary around user code: names the asset or op, the step and the run. */
  private async callUserCode<T>(where: string, stepKey: string, fn: () => T | Promise<T>): Promise<T> {
    captureStepOutput();
    const assetKey = this.states.get(stepKey)?.step.asset?.key;
    // Whole lines, redacted before they are stored: a secret split across two writes (or
    // across a line break) is caught.
    const buffers = {
      stdout: new RedactingBuffer({ lines: true }),
      stderr: new RedactingBuffer({ lines: true }),
    };
    const log = (text: string, stream: 'stdout' | 'stderr') => {
      for (const line of text.split(/\r?\n/)) {
        if (line.trim() === '') continue;
        void this.emit('LOG', line, {
          stepKey,
          ...(assetKey ? { assetKey } : {}),
          level: stream === 'stderr' ? 'warn' : 'info',
          // Already on the process's own output: renderers of the live log need not print it again.
          data: { stream },
        });
      }
    };
    const sink: OutputSink = (text, stream) => log(buffers[stream].push(text), stream);
    try {
      return await stepOutput.run(sink, fn);
    } catch (error) {
      throw new UserCodeError(
        `Error in ${where} (step '${stepKey}', run ${this.plan.runId}): ${describeError(error)}`,
        {
          cause: error,
          stepKey,
          runId: this.plan.runId,
        },
      );
    } finally {
      log(buffers.stdout.flush(), 'stdout');
      log(buffers.stderr.flush(), 'stderr');
    }
  }

  /** The partitions a step materializes: undefined for an unpartitioned asset or an op. */
  private partitionsOf(step: PlanStep): string[] | undefined {
    return step.asset ? this.partitions?.keysByAsset.get(step.asset.key) : undefined;
  }

  /**
   * ctx.partitionKey, partitionKeys, partitionKeyRange and partitionTimeWindow, as getters that
   * say what is wrong when read on a step that has no partition (not enumerable: a check's
   * context copies the rest).
   */
  private definePartitionContext(ctx: object, step: PlanStep): void {
    const keys = this.partitionsOf(step);
    const where = `Asset '${step.asset?.key ?? step.key}'`;
    const need = (what: string) => {
      if (!keys)
        throw new UsageError(
          `${where} is not partitioned (or this run has no partition): ctx.${what} is not set.`,
        );
      return keys;
    };
    const def = step.asset?.partitions;
    Object.defineProperties(ctx, {
      partitionKey: {
        get: () => {
          const k = need('partitionKey');
          if (k.length > 1) {
            throw new UsageError(
              `${where}: this run covers partitions ${k[0]}...${k[k.length - 1]}; read ctx.partitionKeyRange or ctx.partitionKeys instead of ctx.partitionKey.`,
            );
          }
          return k[0];
        },
      },
      partitionKeys: { get: () => [...need('partitionKeys')] },
      isPartitioned: { get: () => keys !== undefined },
      partitionKeyRange: {
        get: () => {
          const k = need('partitionKeyRange');
          return { start: k[0]!, end: k[k.length - 1]! };
        },
      },
      partitionTimeWindow: {
        get: () => {
          const k = need('partitionTimeWindow');
          const first = timeWindowOf(def!, k[0]!);
          const last = timeWindowOf(def!, k[k.length - 1]!);
          if (!first || !last) {
            throw new UsageError(
              `${where} has no time partitions (${def!.description}): ctx.partitionTimeWindow is not set.`,
            );
          }
          return { start: first.start, end: last.end };
        },
      },
    });
  }

  /**
   * The value of an input: an unpartitioned upstream's value; for a partitioned upstream, the
   * mapped partitions: one partition's value, an object keyed by partition key for several,
   * or undefined for none (the first partition's previous one).
   */
  private async loadAssetInput(step: PlanStep, upstreamKey: string): Promise<unknown> {
    const asset = step.asset!;
    const upstream = upstreamKey === asset.key ? asset : this.options.definitions.graph.get(upstreamKey);
    const load = (partitionKey?: string) =>
      this.io.loadInput({
        key: upstreamKey,
        runId: this.plan.runId,
        stepKey: step.key,
        ...(partitionKey !== undefined ? { partitionKey } : {}),
      });
    if (!upstream.partitions) return await load();
    const mapping =
      (upstreamKey === asset.key ? asset.selfDependency?.mapping : asset.partitionMappings[upstreamKey]) ??
      defaultMapping(upstream.partitions, asset.partitions);
    const keys = mapPartitions({
      mapping,
      upstream: upstream.partitions,
      upstreamKey,
      downstream: asset.partitions,
      downstreamKey: asset.key,
      keys: this.partitionsOf(step) ?? [],
      ctx: this.partitions?.ctx ?? { now: new Date(), dynamicKeys: () => [] },
    });
    if (keys.length === 0) return undefined;
    if (keys.length === 1) return await load(keys[0]);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = await load(k);
    return out;
  }

  /** Output names a step materializes: its asset's key, or a multi-asset's selected outputs. */
  private selectedOutputs(step: PlanStep): string[] {
    const multi = step.asset?.multi;
    if (!multi) return step.asset ? [step.asset.key] : [];
    return multi.outputs.filter((k) => this.states.has(k)).map((k) => multi.outputNames[k]!);
  }

  private async invoke(
    step: PlanStep,
    ctx: AssetContext<unknown, Record<string, unknown>>,
  ): Promise<unknown> {
    if (step.asset) {
      const asset = step.asset;
      const loadInputs = async () => {
        const inputs: Record<string, unknown> = {};
        for (const [name, key] of Object.entries(asset.ins)) {
          inputs[name] = await this.loadAssetInput(step, key);
        }
        return inputs;
      };
      const state = this.states.get(step.key)!;
      state.version = await this.inputVersions(step, asset.codeVersion);
      if (asset.observe) return { [OBSERVED]: await asset.observe(ctx) };
      const multi = asset.multi;
      if (!multi) return await asset.fn(ctx, await loadInputs());
      // The first output step to start calls the function for all of them; a failed call is
      // not kept, so a retry calls it again.
      let call = this.multiCalls.get(multi.name);
      if (!call) {
        call = (async () => await multi.fn(ctx, await loadInputs()))();
        this.multiCalls.set(multi.name, call);
        call.catch(() => this.multiCalls.delete(multi.name));
      }
      const returned = await call;
      const name = multi.outputNames[asset.key]!;
      if (returned === null || typeof returned !== 'object') {
        throw new NonRetriableError(
          `Multi-asset '${multi.name}' must return an object with a value per output (${Object.values(multi.outputNames).join(', ')}), got ${returned === null ? 'null' : typeof returned}.`,
        );
      }
      if (!(name in returned) && !multi.canSubset) {
        throw new NonRetriableError(
          `Multi-asset '${multi.name}' returned no value for its output '${name}'. Return every output, or set canSubset: true and return those in ctx.selectedOutputs.`,
        );
      }
      return (returned as Record<string, unknown>)[name];
    }
    const node = step.node!;
    const inputs: unknown[] = [];
    for (const key of node.inputs) {
      inputs.push(this.opOutputs.has(key) ? this.opOutputs.get(key) : await this.loadOpOutput(key, step.key));
    }
    return await node.op.fn(ctx, ...inputs);
  }

  /** An op output of this run, or (re-execution) of the nearest ancestor run that produced it. */
  private async loadOpOutput(nodeKey: string, stepKey: string): Promise<unknown> {
    const runs = this.plan.steps.some((s) => s.key === nodeKey) ? [this.plan.runId] : [...this.ancestors];
    let lastError: unknown;
    for (const runId of runs) {
      try {
        return await this.io.loadInput({
          key: `__runs/${runId}/${nodeKey}`,
          runId: this.plan.runId,
          stepKey,
        });
      } catch (error) {
        lastError = error;
      }
    }
    throw (
      lastError ??
      new NonRetriableError(`Step '${stepKey}' needs the output of op '${nodeKey}', which no run stored.`)
    );
  }

  /**
   * The versions a materialization of this step is computed from: its code version, its
   * config's, and each upstream asset's current data version (materialized or observed).
   */
  private async inputVersions(
    step: PlanStep,
    codeVersion: string | undefined,
  ): Promise<MaterializationVersion> {
    const deps = step.asset?.deps ?? [];
    const inputs: Record<string, string | null> = {};
    // An upstream asset this run materialized: its version is known here, and its event may
    // still be on its way to storage. Only the others are read, in one query: a run of steps
    // that depend on each other makes no round trip per step.
    const stored: string[] = [];
    for (const dep of deps) {
      const known = this.states.get(dep)?.materializedDataVersion;
      inputs[dep] = known ?? null;
      if (known === undefined) stored.push(dep);
    }
    if (stored.length > 0) {
      const records = await this.options.instance.storage.getAssetVersions(stored);
      const byKey = new Map(records.map((r) => [r.assetKey, r]));
      for (const dep of stored) inputs[dep] = currentDataVersion(byKey.get(dep));
    }
    return { data: '', code: codeVersion ?? null, config: configVersion(step.config), inputs };
  }

  private async handleReturn(state: StepState, returned: unknown): Promise<void> {
    const { step } = state;
    let value = returned;
    if (returned instanceof MaterializeResult) {
      Object.assign(state.metadata, normalizeMetadata(returned.metadata));
      value = returned.value;
      state.dataVersion = returned.dataVersion;
    }
    if (step.asset && state.version) {
      state.version.data =
        state.dataVersion ?? valueDataVersion(step.asset.storeOutput ? value : undefined, step.asset.key);
    }
    if (value === undefined) return;
    if (step.asset) {
      if (!step.asset.storeOutput) return;
      const partitions = this.partitionsOf(step);
      const output = { key: step.asset.key, runId: this.plan.runId, stepKey: step.key };
      if (!partitions) await this.io.handleOutput(output, value);
      else if (partitions.length === 1)
        await this.io.handleOutput({ ...output, partitionKey: partitions[0] }, value);
      else {
        // A run over a range stores one value per partition: the function returns them by key.
        const byKey = value as Record<string, unknown>;
        const missing = partitions.filter((k) => !(k in (byKey ?? {})));
        if (byKey === null || typeof byKey !== 'object' || missing.length > 0) {
          throw new NonRetriableError(
            `Asset '${step.asset.key}' runs over partitions ${partitions[0]}...${partitions[partitions.length - 1]}: return an object with a value per partition key (missing: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}), or nothing.`,
          );
        }
        for (const k of partitions) await this.io.handleOutput({ ...output, partitionKey: k }, byKey[k]);
      }
    } else {
      this.opOutputs.set(step.key, value);
      await this.io.handleOutput(
        { key: `__runs/${this.plan.runId}/${step.key}`, runId: this.plan.runId, stepKey: step.key },
        value,
      );
    }
  }

  /** Records what an observable source asset's observation reported. */
  private async observed(state: StepState, result: unknown): Promise<void> {
    const asset = state.step.asset!;
    const dataVersion = (result as { dataVersion?: unknown } | null)?.dataVersion;
    if (typeof dataVersion !== 'string' || dataVersion === '') {
      throw new NonRetriableError(
        `The observation of asset '${asset.key}' must return { dataVersion: string } (e.g. a bucket's last-modified time or an API cursor), got ${JSON.stringify(result)}.`,
      );
    }
    const metadata = normalizeMetadata((result as { metadata?: Record<string, MetadataInput> }).metadata);
    Object.assign(state.metadata, metadata);
    await this.emit('ASSET_OBSERVATION', `Observed '${asset.key}': data version ${dataVersion}.`, {
      stepKey: state.step.key,
      assetKey: asset.key,
      data: { dataVersion, metadata },
    });
  }

  /** Records the materialization, then runs the asset's checks. */
  private async materialized(state: StepState): Promise<void> {
    const asset = state.step.asset!;
    const ids = { stepKey: state.step.key, assetKey: asset.key };
    const data = { metadata: state.metadata, ...(state.version ? { version: state.version } : {}) };
    const partitions = this.partitionsOf(state.step);
    if (state.version) state.materializedDataVersion = state.version.data;
    if (!partitions)
      void this.emit('ASSET_MATERIALIZATION', `Materialized '${asset.key}'.`, { ...ids, data });
    // One materialization per partition, as in Dagster: each partition's status is its own.
    for (const partition of partitions ?? []) {
      void this.emit('ASSET_MATERIALIZATION', `Materialized '${asset.key}', partition ${partition}.`, {
        ...ids,
        data: { ...data, partition },
      });
    }
    for (const check of state.step.checks) {
      let result: CheckResult;
      try {
        const resources = await this.resourceValues(check.resources);
        const base = this.makeContext(state, 1, this.controller.signal, resources);
        const ctx: CheckContext<Record<string, unknown>> = {
          ...base,
          checkName: check.name,
          materializationMetadata: state.metadata,
        };
        result = await this.callUserCode(
          `check '${check.name}' on asset '${asset.key}'`,
          state.step.key,
          () => check.fn(ctx),
        );
        if (!result || typeof result.passed !== 'boolean') {
          result = { passed: false, description: `Check '${check.name}' must return { passed: boolean }.` };
        }
      } catch (error) {
        result = { passed: false, description: describeError(error) };
      }
      const severity = result.severity ?? check.severity;
      state.checks.push({ name: check.name, passed: result.passed, severity });
      if (!result.passed && severity === 'ERROR' && check.blocking) {
        state.blocked = true;
        state.failedBlockingChecks.push(check.name);
      }
      void this.emit(
        'ASSET_CHECK_EVALUATION',
        `Check '${check.name}' on '${asset.key}' ${result.passed ? 'passed' : `failed (${severity})`}${result.description ? `: ${result.description}` : ''}`,
        {
          ...ids,
          level: result.passed ? 'info' : severity === 'ERROR' ? 'error' : 'warn',
          data: {
            checkName: check.name,
            passed: result.passed,
            severity,
            blocking: check.blocking,
            description: result.description ?? null,
            metadata: normalizeMetadata(result.metadata),
          },
        },
      );
    }
  }
}

/** The context's partition fields: getters defined per step (see definePartitionContext). */
type PartitionContextKeys =
  | 'partitionKey'
  | 'partitionKeys'
  | 'partitionKeyRange'
  | 'partitionTimeWindow'
  | 'isPartitioned';

/** Marks what an observable source asset's observation returned. */
const OBSERVED = Symbol('observed');

/** The chain of parent runs of a re-execution, nearest first. */
async function ancestorRunIds(instance: DagInstance, parentRunId: string | null): Promise<string[]> {
  const out: string[] = [];
  let current = parentRunId;
  while (current && out.length < 50 && !out.includes(current)) {
    out.push(current);
    current = (await instance.storage.getRun(current))?.parentRunId ?? null;
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Materializes a selection of assets: the quickest way to run assets from a script or a test.
 *
 * @example
 * const result = await materialize({ instance, definitions: defs, selection: 'group:demo' });
 */
export async function materialize(
  options: Omit<ExecuteOptions, 'job'> & { selection: string; runConfig?: RunConfig },
): Promise<RunResult> {
  return await executeRun(options);
}
