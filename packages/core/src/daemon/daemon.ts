import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { assetsInProgress, evaluateAutomation } from '../automation/evaluator.ts';
import type {
  RunRequest,
  ScheduleDefinition,
  SensorDefinition,
  SensorLogger,
} from '../definitions/automation.ts';
import type { Definitions } from '../definitions/definitions.ts';
import { describeError } from '../errors.ts';
import { assetFreshness } from '../events/asset-status.ts';
import { planRun } from '../execution/plan.ts';
import { isProcessAlive } from '../execution/process-tree.ts';
import {
  claimQueuedRun,
  failBeforeStart,
  type RunLiveness,
  RunReconciler,
  runLiveness,
} from '../execution/run-lifecycle.ts';
import type { DagInstance } from '../instance/dag-instance.ts';
import { isConnectionError } from '../instance/postgres-storage.ts';
import type { InstigatorState, NewTick, RunRecord, TickRun } from '../instance/storage.ts';
import { BackfillSubmitter } from '../partitions/backfill.ts';
import { partitionForTick } from '../partitions/schedule.ts';
import { RUN_CHANNELS } from '../workers/worker-env.ts';
import type { CodeLocation } from '../workspace/workspace.ts';
import { type Clock, systemClock } from './clock.ts';
import { ticksBetween } from './schedule-ticks.ts';

export const DAEMON_TYPE = 'daemon';

export interface TagConcurrencyLimit {
  key: string;
  /** Only runs whose tag has this value count; without it, each value has its own limit. */
  value?: string;
  limit: number;
}

export interface DaemonOptions {
  instance: DagInstance;
  /** The code locations, or a function returning the current ones (`dag dev` reloads them). */
  locations: readonly CodeLocation[] | (() => readonly CodeLocation[]);
  /** Starts executing a run the queue dequeued (its status is already STARTING). */
  launch: (run: RunRecord, location: CodeLocation) => Promise<void>;
  clock?: Clock;
  daemonId?: string;
  /** Runs in progress at once. Default 10. */
  maxConcurrentRuns?: number;
  tagConcurrencyLimits?: TagConcurrencyLimit[];
  /**
   * Asked once per pass of the run queue: why no run can start now (runs go to workers and
   * none is alive), or undefined. Runs then stay QUEUED with that reason.
   */
  launchBlocked?: () => Promise<string | undefined>;
  /**
   * Asked once per pass of the run queue when runs go to workers: how many runs the live
   * workers execute at once in all. Runs beyond the free slots stay QUEUED (the job queue
   * never holds more than the workers can take at once).
   */
  workerSlots?: () => Promise<number>;
  /** Another daemon takes over when the active one has not heartbeated for this long. Default 30 s. */
  heartbeatStaleMs?: number;
  /**
   * Heartbeat of runs and when their owner is presumed dead: the daemon finishes runs whose
   * owner is gone (at start, then every heartbeat). Default: `runLiveness()`.
   */
  liveness?: RunLiveness;
  /** How long a sensor may run before its tick fails. Default 60 s. */
  sensorTimeoutMs?: number;
  /** Base URL of the UI, for links in alerts. Default DAG_UI_URL or http://127.0.0.1:3000. */
  uiUrl?: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Backfill partitions submitted per transaction (default 1,000) and transactions per tick (default all). */
  backfillChunkSize?: number;
  backfillChunksPerTick?: number;
  /**
   * Stops a running run of a canceled backfill. Default `terminateRun` (its owner sees
   * CANCELING); `dag dev` passes its launcher's, which also kills a process that does not stop.
   */
  terminate?: (runId: string) => Promise<unknown>;
  /**
   * Runs whose process a launcher of this process watches: it records their end itself (with
   * the signal or exit code), so the reconciler leaves them to it.
   */
  watchedRuns?: () => ReadonlySet<string>;
}

export interface TickSummary {
  leader: boolean;
  runsRequested: string[];
  runsLaunched: string[];
  failedTicks: string[];
  /** When the next schedule or sensor is due (for sleeping until then). */
  nextDueAt: Date | null;
}

type Instigator =
  | { kind: 'schedule'; def: ScheduleDefinition; location: CodeLocation }
  | { kind: 'sensor'; def: SensorDefinition; location: CodeLocation };

/**
 * The daemon: evaluates schedules and sensors, dequeues runs, and tracks freshness.
 * One daemon per instance is active at a time (a heartbeat row in the instance); another
 * stands by and takes over when the active one stops heartbeating.
 *
 * Invariants: a tick's runs, run keys and new cursor are committed in one transaction, so a
 * restart mid-tick neither repeats nor loses work; run keys dedupe forever; sensors are
 * evaluated concurrently, so a slow sensor delays no other.
 */
export class Daemon {
  readonly daemonId: string;
  private readonly clock: Clock;
  private readonly nextSensorEval = new Map<string, number>();
  private readonly lastSensorEval = new Map<string, Date>();
  private readonly evaluating = new Set<string>();
  private readonly controller = new AbortController();
  private readonly reconciler: RunReconciler;
  private readonly liveness: RunLiveness;
  private lastReconcile = Number.NEGATIVE_INFINITY;
  /** Per code location, the automation explanation last stored for each asset. */
  private readonly automationSaved = new Map<string, Map<string, string>>();
  private wakeUp: AbortController | undefined;
  private woken = false;
  private readonly backfills: BackfillSubmitter;

  constructor(private readonly options: DaemonOptions) {
    this.daemonId = options.daemonId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.clock = options.clock ?? systemClock;
    this.liveness = options.liveness ?? runLiveness();
    this.backfills = new BackfillSubmitter({
      storage: options.instance.storage,
      chunkSize: options.backfillChunkSize,
      chunksPerTick: options.backfillChunksPerTick,
      ...(options.terminate ? { terminate: options.terminate } : {}),
      log: (level, message) => this.log(level, message),
    });
    this.reconciler = new RunReconciler(options.instance.storage, this.liveness, (level, message) =>
      this.log(level, message),
    );
  }

  /** Ends the current idle wait at once (a run was queued): the next tick starts it. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.abort();
  }

  /**
   * Finishes runs whose owner is gone (see RunReconciler); at most once per heartbeat
   * interval, by the wall clock (owners heartbeat by it).
   */
  async reconcileRuns(): Promise<void> {
    const now = Date.now();
    if (now - this.lastReconcile < this.liveness.heartbeatMs) return;
    this.lastReconcile = now;
    try {
      await this.reconciler.reconcile(undefined, this.options.watchedRuns?.());
    } catch (error) {
      this.log('error', `Could not check runs for dead owners: ${describeError(error)}`);
    }
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.options.log?.(level, message);
  }

  private locations(): readonly CodeLocation[] {
    const { locations } = this.options;
    return typeof locations === 'function' ? locations() : locations;
  }

  private instigators(): Instigator[] {
    return this.locations().flatMap((location) => [
      ...[...location.definitions.schedules.values()].map((def) => ({
        kind: 'schedule' as const,
        def,
        location,
      })),
      ...[...location.definitions.sensors.values()].map((def) => ({
        kind: 'sensor' as const,
        def,
        location,
      })),
    ]);
  }

  /**
   * Becomes the active daemon if no other one is alive: the active one has not heartbeated
   * for `heartbeatStaleMs`, or it ran on this host and its process is gone (a `dag dev`
   * restarted after a crash takes over at once).
   */
  async claim(): Promise<boolean> {
    const storage = this.options.instance.storage;
    const info = { hostname: hostname(), pid: process.pid };
    const staleMs = this.options.heartbeatStaleMs ?? 30_000;
    if (await storage.claimDaemon(DAEMON_TYPE, this.daemonId, this.clock.now(), staleMs, info)) return true;
    const holder = (await storage.getDaemonHeartbeat(DAEMON_TYPE))?.info;
    const pid = typeof holder?.pid === 'number' ? holder.pid : undefined;
    if (holder?.hostname !== info.hostname || pid === undefined || isProcessAlive(pid)) return false;
    return await storage.claimDaemon(DAEMON_TYPE, this.daemonId, this.clock.now(), 0, info);
  }

  private readonly inFlight = new Set<Promise<void>>();

  /** Waits for sensor evaluations still running from earlier ticks. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * One pass: schedules, sensors, freshness, then the run queue. Sensors run concurrently;
   * with `waitForSensors: false` (the daemon loop) a slow sensor keeps evaluating in the
   * background while later ticks go on, and is not started again until it finishes.
   */
  async tick(options: { waitForSensors?: boolean } = {}): Promise<TickSummary> {
    const summary: TickSummary = {
      leader: false,
      runsRequested: [],
      runsLaunched: [],
      failedTicks: [],
      nextDueAt: null,
    };
    if (!(await this.claim())) return summary;
    summary.leader = true;
    const storage = this.options.instance.storage;
    const states = new Map<string, InstigatorState>(
      (await storage.getInstigatorStates()).map((s) => [`${s.type}:${s.name}`, s]),
    );
    const now = this.clock.now();
    let nextDue = Number.POSITIVE_INFINITY;
    const work: Promise<void>[] = [];
    const scheduleTicks: NewTick[] = [];
    for (const instigator of this.instigators()) {
      const state = states.get(`${instigator.kind}:${instigator.def.name}`);
      const status = state?.status ?? instigator.def.defaultStatus;
      if (status !== 'RUNNING') continue;
      if (instigator.kind === 'schedule') {
        const { tick, next } = this.evaluateSchedule(instigator.def, instigator.location, state, now);
        if (tick) scheduleTicks.push(tick);
        if (next) nextDue = Math.min(nextDue, next.getTime());
      } else {
        const key = instigator.def.name;
        const dueAt = this.nextSensorEval.get(key) ?? now.getTime();
        if (dueAt <= now.getTime() && !this.evaluating.has(key)) {
          this.nextSensorEval.set(key, now.getTime() + instigator.def.minimumIntervalSeconds * 1000);
          this.evaluating.add(key);
          const evaluation = this.evaluateSensor(
            instigator.def,
            instigator.location,
            state,
            now,
            summary,
          ).finally(() => {
            this.evaluating.delete(key);
            this.inFlight.delete(evaluation);
          });
          this.inFlight.add(evaluation);
          if (options.waitForSensors ?? true) work.push(evaluation);
        }
        nextDue = Math.min(nextDue, this.nextSensorEval.get(key) ?? now.getTime());
      }
    }
    // Every schedule due now commits in one transaction, while the sensors evaluate.
    work.push(this.commitSchedules(scheduleTicks, summary));
    await Promise.allSettled(work);
    await this.evaluateAutomation(now, states, summary);
    await this.checkFreshness(now, states);
    // Orphans first: a run whose owner died must not hold a slot of the queue.
    await this.reconcileRuns();
    await this.submitBackfills(summary);
    await this.dequeue(summary);
    summary.nextDueAt = Number.isFinite(nextDue) ? new Date(nextDue) : null;
    return summary;
  }

  /**
   * Evaluates one sensor now, whatever its status and interval (`dag sensor tick`); the runs
   * it requests are queued like any other.
   */
  async tickSensor(name: string): Promise<TickSummary> {
    const summary: TickSummary = {
      leader: true,
      runsRequested: [],
      runsLaunched: [],
      failedTicks: [],
      nextDueAt: null,
    };
    const found = this.instigators().find((i) => i.kind === 'sensor' && i.def.name === name);
    if (found?.kind !== 'sensor') throw new Error(`Unknown sensor '${name}'.`);
    const state = (await this.options.instance.storage.getInstigatorStates()).find(
      (s) => s.type === 'sensor' && s.name === name,
    );
    await this.evaluateSensor(found.def, found.location, state, this.clock.now(), summary);
    return summary;
  }

  /** Runs until `signal` aborts: stands by while another daemon is active, ticks when leader. */
  async run(signal: AbortSignal, options: { idleMs?: number } = {}): Promise<void> {
    const idle = options.idleMs ?? 1000;
    const stop = () => this.controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    let wasLeader = false;
    // A run queued or a slot freed by any process (`dag job launch`, a worker) wakes the queue.
    const listening = await this.options.instance.storage
      .listen(
        [RUN_CHANNELS.queue],
        () => this.wake(),
        () => this.wake(),
      )
      .catch((error) => {
        this.log(
          'warn',
          `Not listening for queued runs (they start at the next tick): ${describeError(error)}`,
        );
        return undefined;
      });
    try {
      while (!signal.aborted) {
        let wait = idle;
        try {
          const summary = await this.tick({ waitForSensors: false });
          if (summary.leader !== wasLeader) {
            this.log(
              'info',
              summary.leader
                ? `Daemon ${this.daemonId} is active.`
                : `Daemon ${this.daemonId} is standing by.`,
            );
            wasLeader = summary.leader;
          }
          if (summary.nextDueAt)
            wait = Math.min(idle, Math.max(0, summary.nextDueAt.getTime() - this.clock.now().getTime()));
        } catch (error) {
          // Owners could not heartbeat either: give them time again once the database is back.
          if (isConnectionError(error)) this.reconciler.databaseUnreachable();
          this.log('error', `Daemon tick failed: ${describeError(error)}`);
        }
        if (this.woken) wait = 0;
        this.woken = false;
        this.wakeUp = new AbortController();
        await this.clock.sleep(wait, AbortSignal.any([signal, this.wakeUp.signal]));
      }
    } finally {
      signal.removeEventListener('abort', stop);
      await listening?.close();
      await this.settle();
      await this.options.instance.storage.releaseDaemon(DAEMON_TYPE, this.daemonId).catch(() => {});
    }
  }

  private buildRun(
    location: CodeLocation,
    jobName: string,
    request: RunRequest,
    extraTags: Record<string, string>,
  ): TickRun {
    const plan = planRun(location.definitions, {
      job: jobName,
      ...(request.selection ? { selection: request.selection } : {}),
      ...(request.config ? { runConfig: request.config } : {}),
      ...(request.partitionKey !== undefined ? { partition: request.partitionKey } : {}),
      tags: { ...extraTags, ...(request.tags ?? {}) },
    });
    return {
      runId: plan.runId,
      jobName: plan.jobName,
      location: location.name,
      status: 'QUEUED',
      assetSelection: plan.assetSelection,
      selection: request.selection ?? null,
      runConfig: plan.runConfig as Record<string, unknown>,
      tags: plan.tags,
      ...(request.runKey !== undefined ? { runKey: request.runKey } : {}),
    };
  }

  private async commit(tick: NewTick, summary: TickSummary): Promise<void> {
    const { runIds, duplicateRunKeys } = await this.options.instance.storage.commitTick({
      ...tick,
      daemonId: this.daemonId,
    });
    summary.runsRequested.push(...runIds);
    if (tick.status === 'FAILURE') summary.failedTicks.push(`${tick.type}:${tick.name}`);
    if (duplicateRunKeys.length) {
      this.log(
        'info',
        `${tick.type} ${tick.name}: run keys already used, not launched again: ${duplicateRunKeys.join(', ')}`,
      );
    }
  }

  /**
   * Evaluates the automation conditions of every code location (one pass over each graph) and
   * commits the run it requests together with the new cursor. An 'automation' instigator of the
   * location that is STOPPED turns it off.
   */
  async evaluateAutomation(
    now: Date,
    states: Map<string, InstigatorState>,
    summary: TickSummary,
  ): Promise<void> {
    const storage = this.options.instance.storage;
    const locations = this.locations().filter((l) => l.definitions.assets.some((a) => a.automationCondition));
    if (locations.length === 0) return;
    try {
      const [versions, inProgress] = await Promise.all([
        storage.getAssetVersions(),
        assetsInProgress(storage),
      ]);
      const byKey = new Map(versions.map((v) => [v.assetKey, v]));
      for (const location of locations) {
        const state = states.get(`automation:${location.name}`);
        if (state?.status === 'STOPPED') continue;
        const lastSaved = this.automationSaved.get(location.name) ?? new Map<string, string>();
        this.automationSaved.set(location.name, lastSaved);
        const result = evaluateAutomation({
          location: location.name,
          definitions: location.definitions,
          versions: byKey,
          inProgress,
          state,
          now,
          lastSaved,
        });
        if (result.tick) await this.commit(result.tick, summary);
        await storage.saveAutomationEvaluations(result.records);
        for (const key of result.requested) inProgress.add(key);
      }
    } catch (error) {
      this.log('error', `Automation evaluation failed: ${describeError(error)}`);
      summary.failedTicks.push('automation');
    }
  }

  /** The tick a schedule needs now (if any) and when it is next due. Pure: commits nothing. */
  private evaluateSchedule(
    schedule: ScheduleDefinition,
    location: CodeLocation,
    state: InstigatorState | undefined,
    now: Date,
  ): { tick?: NewTick; next: Date | undefined } {
    const base = {
      type: 'schedule' as const,
      name: schedule.name,
      daemonId: this.daemonId,
      statusIfNew: schedule.defaultStatus,
    };
    const next = ticksBetween(schedule, now, new Date(now.getTime() + 366 * 86_400_000), 1)[0];
    if (!state?.cursor) {
      // First evaluation since the schedule was turned on: start from now, no backfill.
      return {
        tick: { ...base, status: 'SKIPPED', tickTime: now, cursor: now.toISOString(), skipReason: 'started' },
        next,
      };
    }
    const due = ticksBetween(schedule, new Date(state.cursor), now, 10_000);
    if (due.length === 0) return { next };
    const latest = due[due.length - 1]!;
    let launch: Date[];
    let skipReason: string | null = null;
    if (schedule.catchUp === 'all') launch = due;
    else if (schedule.catchUp === 'one') {
      launch = [latest];
      if (due.length > 1)
        skipReason = `${due.length - 1} missed tick(s) collapsed into one run (catchUp: one)`;
    } else {
      // 'none': only a tick that is due now, not one missed while the daemon was down.
      launch = now.getTime() - latest.getTime() <= 60_000 ? [latest] : [];
      if (due.length > launch.length)
        skipReason = `${due.length - launch.length} missed tick(s) skipped (catchUp: none)`;
    }
    try {
      const runs = launch.flatMap((tickTime) => {
        // A schedule of a partitioned job runs the partition that has just closed.
        const partitionKey = partitionForTick(schedule, tickTime);
        if (schedule.partitions && partitionKey === undefined) return [];
        return [
          this.buildRun(
            location,
            schedule.jobName,
            {
              runKey: tickTime.toISOString(),
              config: schedule.config,
              tags: schedule.tags,
              ...(partitionKey !== undefined ? { partitionKey } : {}),
            },
            { 'dag/schedule': schedule.name, 'dag/tick': tickTime.toISOString() },
          ),
        ];
      });
      return {
        tick: {
          ...base,
          status: runs.length ? 'SUCCESS' : 'SKIPPED',
          tickTime: latest,
          runs,
          cursor: latest.toISOString(),
          skipReason,
        },
        next,
      };
    } catch (error) {
      // The cursor still moves on: a schedule whose run config is broken must not retry the same tick forever.
      return {
        tick: {
          ...base,
          status: 'FAILURE',
          tickTime: latest,
          cursor: latest.toISOString(),
          error: describeError(error),
        },
        next,
      };
    }
  }

  private async commitSchedules(ticks: NewTick[], summary: TickSummary): Promise<void> {
    if (ticks.length === 0) return;
    try {
      const results = await this.options.instance.storage.commitTicks(ticks);
      results.forEach((result, i) => {
        summary.runsRequested.push(...result.runIds);
        if (ticks[i]!.status === 'FAILURE') summary.failedTicks.push(`schedule:${ticks[i]!.name}`);
      });
    } catch (error) {
      this.log('error', `Could not commit ${ticks.length} schedule tick(s): ${describeError(error)}`);
    }
  }

  private sensorLogger(name: string): SensorLogger {
    return {
      info: (message) => this.log('info', `sensor ${name}: ${message}`),
      warn: (message) => this.log('warn', `sensor ${name}: ${message}`),
    };
  }

  private async withTimeout<T>(name: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timeoutMs = this.options.sensorTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`Sensor '${name}' did not finish within ${timeoutMs} ms.`));
      }, timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([fn(controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Builds a sensor's resources from the environment for one evaluation, and disposes them. */
  private async withResources<T>(
    sensor: SensorDefinition,
    fn: (resources: Record<string, unknown>) => Promise<T>,
  ): Promise<T> {
    const built: { def: (typeof sensor.resources)[string]; value: unknown }[] = [];
    const resources: Record<string, unknown> = {};
    try {
      for (const [alias, def] of Object.entries(sensor.resources)) {
        const value = await def.create(def.resolveConfig(), {
          home: this.options.instance.home,
          runId: `sensor:${sensor.name}`,
        });
        built.push({ def, value });
        resources[alias] = value;
      }
      return await fn(resources);
    } finally {
      for (const { def, value } of built) await def.dispose(value).catch(() => {});
    }
  }

  private async evaluateSensor(
    sensor: SensorDefinition,
    location: CodeLocation,
    state: InstigatorState | undefined,
    now: Date,
    summary: TickSummary,
  ): Promise<void> {
    const base = {
      type: 'sensor' as const,
      name: sensor.name,
      tickTime: now,
      statusIfNew: sensor.defaultStatus,
    };
    const log = this.sensorLogger(sensor.name);
    try {
      if (sensor.type === 'standard') {
        const lastTickAt = this.lastSensorEval.get(sensor.name);
        const result = await this.withResources(sensor, (resources) =>
          this.withTimeout(sensor.name, async (signal) =>
            sensor.fn!({ cursor: state?.cursor ?? undefined, resources, lastTickAt, now, signal, log }),
          ),
        );
        this.lastSensorEval.set(sensor.name, now);
        for (const change of result?.dynamicPartitionsRequests ?? []) {
          const storage = this.options.instance.storage;
          if (change.add?.length) await storage.addDynamicPartitions(change.name, change.add);
          if (change.delete?.length) await storage.deleteDynamicPartitions(change.name, change.delete);
        }
        const requests = result?.runRequests ?? [];
        const runs = requests.map((r) =>
          this.buildRun(location, sensor.jobName!, r, {
            'dag/sensor': sensor.name,
            ...(r.runKey ? { 'dag/run_key': r.runKey } : {}),
          }),
        );
        await this.commit(
          {
            ...base,
            status: runs.length ? 'SUCCESS' : 'SKIPPED',
            runs,
            ...(result?.cursor !== undefined ? { cursor: result.cursor } : {}),
            skipReason: runs.length ? null : (result?.skipReason ?? 'no run requests'),
          },
          summary,
        );
      } else if (sensor.type === 'run_status') {
        await this.evaluateRunStatusSensor(sensor, location, state, now, summary);
      } else if (sensor.type === 'asset') {
        await this.evaluateAssetSensor(sensor, location, state, now, summary);
      }
      // Freshness sensors are called from checkFreshness on transitions.
    } catch (error) {
      this.log('warn', `sensor ${sensor.name} failed: ${describeError(error)}`);
      await this.commit({ ...base, status: 'FAILURE', error: describeError(error) }, summary).catch(() => {});
    }
  }

  private async evaluateRunStatusSensor(
    sensor: SensorDefinition,
    location: CodeLocation,
    state: InstigatorState | undefined,
    now: Date,
    summary: TickSummary,
  ): Promise<void> {
    const storage = this.options.instance.storage;
    const base = {
      type: 'sensor' as const,
      name: sensor.name,
      tickTime: now,
      statusIfNew: sensor.defaultStatus,
    };
    if (!state?.cursor) {
      // Turned on now: react to runs that finish from here on, not to history.
      await this.commit(
        {
          ...base,
          status: 'SKIPPED',
          cursor: JSON.stringify({ endedAt: now.toISOString(), runId: '' }),
          skipReason: 'started',
        },
        summary,
      );
      return;
    }
    const parsed = JSON.parse(state.cursor) as { endedAt: string; runId: string };
    const finished = await storage.getFinishedRunsAfter(sensor.runStatus!, {
      endedAt: new Date(parsed.endedAt),
      runId: parsed.runId,
    });
    if (finished.length === 0) return;
    const uiUrl = (this.options.uiUrl ?? process.env.DAG_UI_URL ?? 'http://127.0.0.1:3000').replace(
      /\/$/,
      '',
    );
    const runs: TickRun[] = [];
    let cursor = parsed;
    let failure: unknown;
    for (const run of finished) {
      if (!sensor.monitoredJobs || sensor.monitoredJobs.includes(run.jobName)) {
        try {
          const requests = await this.withResources(sensor, (resources) =>
            this.withTimeout(sensor.name, async (signal) =>
              sensor.runStatusFn!({
                run,
                resources,
                events: () => storage.getEvents(run.runId),
                runUrl: `${uiUrl}/runs/${run.runId}`,
                now,
                signal,
                log: this.sensorLogger(sensor.name),
              }),
            ),
          );
          for (const r of requests ?? []) {
            runs.push(this.buildRun(location, sensor.jobName!, r, { 'dag/sensor': sensor.name }));
          }
        } catch (error) {
          failure = error;
          break;
        }
      }
      cursor = { endedAt: run.endedAt!.toISOString(), runId: run.runId };
    }
    await this.commit(
      {
        ...base,
        status: failure ? 'FAILURE' : runs.length ? 'SUCCESS' : 'SKIPPED',
        runs,
        cursor: JSON.stringify(cursor),
        ...(failure ? { error: describeError(failure) } : {}),
      },
      summary,
    );
  }

  private async evaluateAssetSensor(
    sensor: SensorDefinition,
    location: CodeLocation,
    state: InstigatorState | undefined,
    now: Date,
    summary: TickSummary,
  ): Promise<void> {
    const storage = this.options.instance.storage;
    const base = {
      type: 'sensor' as const,
      name: sensor.name,
      tickTime: now,
      statusIfNew: sensor.defaultStatus,
    };
    const assetKey = sensor.assetKey!;
    if (!state?.cursor) {
      const [record] = await storage.getAssetRecords([assetKey]);
      await this.commit(
        {
          ...base,
          status: 'SKIPPED',
          cursor: String(record?.lastMaterializationId ?? 0),
          skipReason: 'started',
        },
        summary,
      );
      return;
    }
    const events = await storage.getMaterializationsAfter(assetKey, Number(state.cursor));
    if (events.length === 0) return;
    const runs: TickRun[] = [];
    let cursor = Number(state.cursor);
    for (const materialization of events) {
      const requests = await this.withTimeout(sensor.name, async (signal) =>
        sensor.assetFn!({ assetKey, materialization, now, signal, log: this.sensorLogger(sensor.name) }),
      );
      for (const r of requests ?? [])
        runs.push(this.buildRun(location, sensor.jobName!, r, { 'dag/sensor': sensor.name }));
      cursor = materialization.id;
    }
    await this.commit(
      { ...base, status: runs.length ? 'SUCCESS' : 'SKIPPED', runs, cursor: String(cursor) },
      summary,
    );
  }

  /** Marks assets stale or fresh against their freshness policy, calling freshness sensors on changes. */
  private async checkFreshness(now: Date, states: Map<string, InstigatorState>): Promise<void> {
    const storage = this.options.instance.storage;
    const policies = this.locations().flatMap((l) =>
      l.definitions.assets.filter((a) => a.freshness).map((a) => ({ asset: a, location: l })),
    );
    if (policies.length === 0) return;
    const records = new Map(
      (await storage.getAssetRecords(policies.map((p) => p.asset.key))).map((r) => [r.assetKey, r]),
    );
    const known = new Map((await storage.getFreshness()).map((f) => [f.assetKey, f]));
    for (const { asset, location } of policies) {
      const {
        maximumLagMinutes: max,
        lagMinutes: lag,
        stale,
      } = assetFreshness(asset.freshness, records.get(asset.key)?.lastMaterializedAt, now)!;
      const previous = known.get(asset.key);
      await storage.setFreshness({
        assetKey: asset.key,
        stale,
        lagMinutes: lag,
        staleSince: stale ? (previous?.stale ? previous.staleSince : now) : null,
        checkedAt: now,
      });
      if (previous?.stale === stale || (!previous && !stale)) continue;
      this.log(
        stale ? 'warn' : 'info',
        `asset ${asset.key} is ${stale ? 'stale' : 'fresh again'} (lag ${lag === null ? 'never materialized' : `${Math.round(lag)} min`}, max ${max} min)`,
      );
      for (const sensor of location.definitions.sensors.values()) {
        if (sensor.type !== 'freshness') continue;
        const status = states.get(`sensor:${sensor.name}`)?.status ?? sensor.defaultStatus;
        if (status !== 'RUNNING') continue;
        try {
          await this.withTimeout(sensor.name, async (signal) =>
            sensor.freshnessFn!({
              assetKey: asset.key,
              stale,
              lagMinutes: lag,
              maximumLagMinutes: max,
              now,
              signal,
              log: this.sensorLogger(sensor.name),
            }),
          );
        } catch (error) {
          await this.commit(
            {
              type: 'sensor',
              name: sensor.name,
              tickTime: now,
              status: 'FAILURE',
              error: describeError(error),
            },
            { leader: true, runsRequested: [], runsLaunched: [], failedTicks: [], nextDueAt: null },
          );
        }
      }
    }
  }

  /**
   * Starts queued runs, oldest first, within the run and tag limits. A run stays queued, with
   * the reason on the run, while a limit holds it or while its code location is not loaded
   * here (it is never run from another location's definitions).
   */
  private async dequeue(summary: TickSummary): Promise<void> {
    const storage = this.options.instance.storage;
    const queued = await storage.getQueuedRuns(200);
    if (queued.length === 0) return;
    const inProgress = await storage.getInProgressRuns();
    const max = this.options.maxConcurrentRuns ?? 10;
    const limits = this.options.tagConcurrencyLimits ?? [];
    const wait = async (run: RunRecord, reason: string) => {
      if (run.queueReason !== reason) await storage.setQueueReason(run.runId, reason);
    };
    const blockedAll = await this.options.launchBlocked?.();
    const slots = await this.options.workerSlots?.();
    // Runs on workers or waiting in the job queue for one.
    const onWorkers = () => inProgress.filter((r) => r.workerId || r.status === 'STARTING').length;
    if (slots !== undefined && slots > 0) {
      // A run in the job queue is this queue's until a live worker takes it: its wait there
      // is no sign of a dead owner.
      const waiting = inProgress.filter((r) => r.status === 'STARTING' && !r.workerId && r.pid === null);
      await Promise.all(waiting.map((r) => storage.heartbeatRun(r.runId).catch(() => undefined)));
    }
    for (const run of queued) {
      const location = this.locationOf(run);
      if (typeof location === 'string') {
        await wait(run, location);
        continue;
      }
      if (blockedAll) {
        await wait(run, blockedAll);
        continue;
      }
      if (slots !== undefined && onWorkers() >= slots) {
        await wait(
          run,
          `Waiting for a free worker slot: the live workers take ${slots} run(s) at once, all busy.`,
        );
        continue;
      }
      if (inProgress.length >= max) {
        await wait(run, `Waiting for a free slot: ${max} run(s) in progress, the limit (maxConcurrentRuns).`);
        continue;
      }
      const blocked = limits.find((limit) => {
        const value = run.tags[limit.key];
        if (value === undefined || (limit.value !== undefined && limit.value !== value)) return false;
        return inProgress.filter((r) => r.tags[limit.key] === value).length >= limit.limit;
      });
      if (blocked) {
        await wait(
          run,
          `Waiting for tag ${blocked.key}=${run.tags[blocked.key]}: ${blocked.limit} run(s) with it in progress (tag concurrency limit).`,
        );
        continue;
      }
      // Compare-and-set: only one daemon (or a terminate) wins a queued run.
      if (!(await claimQueuedRun(storage, run.runId))) continue;
      inProgress.push({ ...run, status: 'STARTING' });
      try {
        await this.options.launch({ ...run, status: 'STARTING', queueReason: null }, location);
        summary.runsLaunched.push(run.runId);
      } catch (error) {
        await failBeforeStart(storage, run.runId, `The run could not be launched: ${describeError(error)}`);
      }
    }
  }

  /** Submits the runs of backfills (see BackfillSubmitter); they are queued like any run. */
  private async submitBackfills(summary: TickSummary): Promise<void> {
    try {
      const runIds = await this.backfills.tick((name) => {
        const location = this.locationOf({ location: name });
        return typeof location === 'string' ? location : location.definitions;
      });
      summary.runsRequested.push(...runIds);
    } catch (error) {
      this.log('error', `Backfills could not be submitted: ${describeError(error)}`);
      summary.failedTicks.push('backfills');
    }
  }

  /** The code location a queued run belongs to, or why it is not loaded here. */
  private locationOf(run: Pick<RunRecord, 'location'>): CodeLocation | string {
    const locations = this.locations();
    const names = locations.map((l) => l.name).join(', ');
    if (run.location === null) {
      if (locations.length === 1) return locations[0]!;
      return `The run names no code location and ${locations.length} are loaded (${names}); launch it from its location.`;
    }
    return (
      locations.find((l) => l.name === run.location) ??
      `Code location '${run.location}' is not loaded by this daemon (loaded: ${names || 'none'}); the run waits until a daemon with that location runs, or terminate it.`
    );
  }

  /** Turns a schedule or sensor on or off (stored in the instance). */
  static async setStatus(
    instance: DagInstance,
    definitions: Definitions,
    type: 'schedule' | 'sensor',
    name: string,
    status: 'RUNNING' | 'STOPPED',
  ): Promise<void> {
    const exists = type === 'schedule' ? definitions.schedules.has(name) : definitions.sensors.has(name);
    if (!exists) throw new Error(`Unknown ${type} '${name}'.`);
    await instance.storage.setInstigatorStatus(type, name, status);
  }
}
