import type { MetadataRecord } from '../definitions/metadata.ts';
import type { DagEvent, EventDataByType } from '../events/events.ts';
import type { EventType, LogLevel, RunStatus } from '../types.ts';
import type { MaterializationVersion } from '../versions/staleness.ts';

export interface RunRecord {
  runId: string;
  jobName: string;
  location: string | null;
  status: RunStatus;
  /** Asset keys of an asset run, null for an op job. */
  assetSelection: string[] | null;
  /** The selection as given at launch (ad-hoc asset runs, or a narrowing of a job). */
  selection: string | null;
  /** Only these steps run (a re-execution from failure); null for all. */
  stepKeys: string[] | null;
  runConfig: Record<string, unknown>;
  tags: Record<string, string>;
  parentRunId: string | null;
  rootRunId: string | null;
  error: string | null;
  /** The owner: the process that executes the run (or launched its process), and its host. */
  pid: number | null;
  hostname: string | null;
  /** When the owner last showed it was alive (database clock); null before anyone owns the run. */
  heartbeatAt: Date | null;
  /** The attempt that owns the run; writes of another (stale) attempt are rejected. */
  attemptId: string | null;
  /** Why a QUEUED run is still waiting (a run limit, a code location not loaded); null otherwise. */
  queueReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  /** The worker (`dag worker`) that took the run; null for a run not executed by a worker. */
  workerId?: string | null;
}

export interface NewRun {
  runId: string;
  jobName: string;
  location?: string | null;
  status: RunStatus;
  assetSelection: string[] | null;
  selection?: string | null;
  stepKeys?: string[] | null;
  runConfig?: Record<string, unknown>;
  tags?: Record<string, string>;
  parentRunId?: string | null;
  rootRunId?: string | null;
}

/** An event to store; `data` has the shape of its type (see EventDataByType). */
export type NewEvent = {
  [T in EventType]: {
    runId: string;
    type: T;
    stepKey?: string | null;
    assetKey?: string | null;
    level?: LogLevel;
    message?: string;
    data?: EventDataByType[T] | null;
    ts?: Date;
  };
}[EventType];

/** A stored event, discriminated on `type` (see DagEvent). */
export type StoredEvent = DagEvent<Date>;

/** A NewEvent without its run id (the run is known from elsewhere), still discriminated on `type`. */
export type NewEventOfRun = NewEvent extends infer E ? (E extends unknown ? Omit<E, 'runId'> : never) : never;

/** The process that takes a run over: a new attempt, on this host, with this pid. */
export interface RunOwner {
  attemptId: string;
  pid: number;
  hostname: string;
}

/**
 * A guarded status change: it happens only if the run is in one of `from` (and, with
 * `attemptId`, still owned by that attempt), so two processes never both move a run, and a
 * finished run never moves again. Start and end times follow the new status.
 */
export interface RunTransition {
  from: readonly RunStatus[];
  to: RunStatus;
  attemptId?: string;
  /** Takes ownership (sets attempt, pid, host and a first heartbeat). */
  owner?: RunOwner;
  error?: string | null;
  /** Stored in the same transaction as the status (a run's final event and final status are one). */
  event?: NewEventOfRun;
  /**
   * Events of the run stored first, in the same transaction, whether or not the status
   * changes (the run's last step events, written with its end: one transaction for both).
   */
  before?: readonly NewEvent[];
}

/** A run someone has taken and not finished, and how long its owner has been silent. */
export interface InFlightRun extends RunRecord {
  /** Milliseconds since the last heartbeat (or start, or claim), by the database clock. */
  silentMs: number;
  /**
   * For a run a worker took: milliseconds since that worker's last heartbeat (database clock),
   * or null when the worker's row is gone (it deregistered). Undefined for other runs.
   */
  workerSilentMs?: number | null;
}

/** A `dag worker` process, as it registered and last heartbeated. */
export interface WorkerRecord {
  workerId: string;
  hostname: string;
  pid: number;
  concurrency: number;
  startedAt: Date;
  lastHeartbeat: Date;
  /** Milliseconds since the last heartbeat, by the database clock. */
  silentMs: number;
  /** 'running', or 'draining' once it stopped taking runs. */
  state: 'running' | 'draining';
  /** Runs it executes now. */
  currentRuns: string[];
}

export interface AssetRecord {
  assetKey: string;
  lastMaterializationId: number | null;
  lastRunId: string | null;
  lastMaterializedAt: Date | null;
  lastMetadata: MetadataRecord | null;
}

/** Where an asset's data stands: its latest materialization and latest observation. */
export interface AssetVersionRecord {
  assetKey: string;
  lastMaterializationId: number | null;
  lastMaterializedAt: Date | null;
  /** What the latest materialization recorded (null: none, or stored before versions were). */
  version: MaterializationVersion | null;
  lastObservationId: number | null;
  lastObservedAt: Date | null;
  /** The data version the latest observation reported. */
  observedDataVersion: string | null;
}

/** One evaluation of an asset's automation condition. */
export interface AutomationEvaluationRecord {
  id?: number;
  location: string;
  assetKey: string;
  evaluatedAt: Date;
  conditionTrue: boolean;
  requested: boolean;
  runId: string | null;
  /** The condition tree with each node's outcome and why (see automation/condition.ts). */
  explanation: unknown;
}

export interface CheckExecution {
  id: number;
  assetKey: string;
  checkName: string;
  runId: string;
  passed: boolean;
  severity: 'WARN' | 'ERROR';
  metadata: MetadataRecord | null;
  createdAt: Date;
}

/** 'automation': the daemon's evaluation of automation conditions, one per code location. */
export type InstigatorType = 'schedule' | 'sensor' | 'automation';
export type InstigatorStatus = 'RUNNING' | 'STOPPED';
export type TickStatus = 'SUCCESS' | 'SKIPPED' | 'FAILURE';

export interface InstigatorState {
  type: InstigatorType;
  name: string;
  status: InstigatorStatus;
  cursor: string | null;
  updatedAt: Date;
}

export interface TickRecord {
  id: number;
  type: InstigatorType;
  name: string;
  status: TickStatus;
  tickTime: Date;
  runIds: string[];
  runKeys: string[];
  cursor: string | null;
  error: string | null;
  skipReason: string | null;
  createdAt: Date;
}

/** A run a tick requests; with a runKey it is created only if that key is new for the instigator. */
export interface TickRun extends NewRun {
  runKey?: string;
}

export interface NewTick {
  type: InstigatorType;
  name: string;
  status: TickStatus;
  tickTime: Date;
  runs?: TickRun[];
  /** The new cursor; undefined leaves the stored one unchanged. */
  cursor?: string | null;
  /**
   * The on/off state to record when a cursor is stored for an instigator that has no stored
   * state yet: its definition's default status. A tick never changes an existing state.
   * Default RUNNING.
   */
  statusIfNew?: InstigatorStatus;
  error?: string | null;
  skipReason?: string | null;
  daemonId?: string;
}

export interface FreshnessRecord {
  assetKey: string;
  stale: boolean;
  lagMinutes: number | null;
  staleSince: Date | null;
  checkedAt: Date;
}

export interface RunFilter {
  statuses?: RunStatus[];
  jobName?: string;
  tags?: Record<string, string>;
  /** Page size; default 50, at most 1000. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface RunPage {
  runs: RunRecord[];
  nextCursor: string | null;
}

/** Where one partition of an asset stands (a partition with no record is MISSING). */
export type PartitionStatus = 'MATERIALIZED' | 'FAILED' | 'IN_PROGRESS' | 'MISSING';

export interface PartitionStatusRecord {
  partitionKey: string;
  status: PartitionStatus;
  /** The run that last started, materialized or failed it. */
  runId: string | null;
  materializedAt: Date | null;
  updatedAt: Date;
}

/** REQUESTED: runs being submitted or still running; then COMPLETED, FAILED or CANCELED. */
export type BackfillStatus = 'REQUESTED' | 'COMPLETED' | 'FAILED' | 'CANCELING' | 'CANCELED';

export interface BackfillRecord {
  backfillId: string;
  status: BackfillStatus;
  location: string | null;
  /** The asset job it runs, or null for an ad-hoc selection (`selection`). */
  jobName: string | null;
  selection: string | null;
  /** Every partition it covers, in order. */
  partitionKeys: string[];
  /** One run over the whole range instead of one run per partition. */
  singleRun: boolean;
  fromFailure: boolean;
  /** Partitions whose runs have been submitted (the daemon's cursor into partitionKeys). */
  submitted: number;
  runConfig: Record<string, unknown>;
  tags: Record<string, string>;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  endedAt: Date | null;
}

export type NewBackfill = Pick<
  BackfillRecord,
  | 'backfillId'
  | 'location'
  | 'jobName'
  | 'selection'
  | 'partitionKeys'
  | 'singleRun'
  | 'fromFailure'
  | 'runConfig'
  | 'tags'
>;

export interface PurgeOptions {
  olderThanDays: number;
  /** Also delete materialization and check events (the latest per asset is always kept). */
  includeAssetEvents?: boolean;
}

/**
 * Where an instance keeps runs, events, materializations and check results.
 * One conformance suite (test/storage-conformance) runs against every implementation.
 *
 * Invariants: `storeEvent` and `storeEvents` persist before they return (and a batch is
 * stored whole or not at all);
 * a materialization event and the asset's latest-materialization row are written in one
 * transaction; every stored string has passed `redact()`.
 */
export interface InstanceStorage {
  migrate(): Promise<{ applied: number[]; version: number }>;
  schemaVersion(): Promise<number>;
  createRun(run: NewRun): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunPage>;
  countRuns(filter?: Omit<RunFilter, 'limit' | 'cursor'>): Promise<number>;
  /**
   * Sets fields of a run; returns false if the run does not exist. A status given here is
   * applied only to a run that has not finished (use `transitionRun`, through the run
   * lifecycle, for guarded status changes).
   */
  updateRun(
    runId: string,
    fields: {
      status?: RunStatus;
      error?: string | null;
      startedAt?: Date;
      endedAt?: Date;
      pid?: number;
      hostname?: string;
    },
  ): Promise<boolean>;
  /**
   * Applies a guarded transition; returns the run as it now is (and the events stored with
   * it), or undefined, changing nothing but storing `before`, if the guard failed.
   */
  transitionRun(
    runId: string,
    transition: RunTransition,
  ): Promise<{ run: RunRecord; event: StoredEvent | undefined; before?: StoredEvent[] } | undefined>;
  /**
   * Renews the heartbeat of a run that has not finished (only of that attempt, when given;
   * recording the owner's pid and host, when given). Returns the run's status, or undefined
   * if nothing was renewed (finished, another attempt owns it, or unknown).
   */
  heartbeatRun(
    runId: string,
    owner?: { attemptId?: string; pid?: number; hostname?: string },
  ): Promise<RunStatus | undefined>;
  /** Why a QUEUED run is still waiting (null clears it); only for a run that is still QUEUED. */
  setQueueReason(runId: string, reason: string | null): Promise<void>;
  /** Runs taken and not finished (STARTING, STARTED, CANCELING, or NOT_STARTED with an owner). */
  getInFlightRuns(): Promise<InFlightRun[]>;
  storeEvent(event: NewEvent): Promise<StoredEvent>;
  /**
   * Stores events in one round trip and one transaction, in order (ids ascending): all of
   * them, or none. A run's event writer stores its events in such batches.
   */
  storeEvents(events: readonly NewEvent[]): Promise<StoredEvent[]>;
  getEvents(
    runId: string,
    options?: { afterId?: number; limit?: number; types?: EventType[] },
  ): Promise<StoredEvent[]>;
  getAssetRecords(keys?: string[]): Promise<AssetRecord[]>;
  getMaterializations(
    assetKey: string,
    options?: { limit?: number; beforeId?: number },
  ): Promise<StoredEvent[]>;
  /** The latest materialization and observation of each asset (of `keys`, or all). */
  getAssetVersions(keys?: string[]): Promise<AssetVersionRecord[]>;
  saveAutomationEvaluations(records: AutomationEvaluationRecord[]): Promise<void>;
  /** Newest first. */
  getAutomationEvaluations(assetKey: string, limit?: number): Promise<AutomationEvaluationRecord[]>;
  getCheckExecutions(
    assetKey: string,
    options?: { checkName?: string; limit?: number },
  ): Promise<CheckExecution[]>;
  purgeEvents(options: PurgeOptions): Promise<{ deleted: number }>;
  getInstigatorStates(): Promise<InstigatorState[]>;
  setInstigatorStatus(type: InstigatorType, name: string, status: InstigatorStatus): Promise<void>;
  /**
   * Stores a tick, the runs it requested (deduplicated by run key, forever) and the new cursor
   * in ONE transaction: a crash never keeps the cursor without the runs, or the runs without it.
   */
  commitTick(tick: NewTick): Promise<{ tickId: number; runIds: string[]; duplicateRunKeys: string[] }>;
  /** Several ticks in one transaction (a daemon tick's schedules). */
  commitTicks(ticks: NewTick[]): Promise<{ tickId: number; runIds: string[]; duplicateRunKeys: string[] }[]>;
  getTicks(type: InstigatorType, name: string, limit?: number): Promise<TickRecord[]>;
  /** Oldest first. */
  getQueuedRuns(limit?: number): Promise<RunRecord[]>;
  /** Runs starting, running or canceling. */
  getInProgressRuns(): Promise<RunRecord[]>;
  /** A worker starts: its row in dag_workers (replacing one of the same id). */
  registerWorker(worker: {
    workerId: string;
    hostname: string;
    pid: number;
    concurrency: number;
  }): Promise<void>;
  /** Renews a worker's heartbeat; false if its row is gone. */
  heartbeatWorker(
    workerId: string,
    status: { state: WorkerRecord['state']; currentRuns: string[] },
  ): Promise<boolean>;
  /** A worker stopped cleanly. */
  removeWorker(workerId: string): Promise<void>;
  /** Every registered worker, newest first. */
  listWorkers(): Promise<WorkerRecord[]>;
  /**
   * A worker takes a run the queue claimed for it (STARTING, no worker yet): compare-and-set,
   * so of two workers handed the same run only one gets it. Undefined if not this one.
   */
  assignRunToWorker(runId: string, workerId: string): Promise<RunRecord | undefined>;
  /** Sends a notification on a channel (PostgreSQL NOTIFY): a run queued, a terminate requested. */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Listens on channels (PostgreSQL LISTEN) on a connection of its own, reconnecting when it
   * is lost (`onReconnect` then: notifications may have been missed). Resolves once listening.
   */
  listen(
    channels: readonly string[],
    onNotify: (channel: string, payload: string) => void,
    onReconnect?: () => void,
  ): Promise<{ close(): Promise<void> }>;
  /** Finished runs with the status, ended after the cursor (ended_at, run_id), oldest first. */
  getFinishedRunsAfter(
    status: RunStatus,
    after: { endedAt: Date; runId: string } | null,
    limit?: number,
  ): Promise<RunRecord[]>;
  /** Materialization events of an asset with id > afterId, oldest first. */
  getMaterializationsAfter(assetKey: string, afterId: number, limit?: number): Promise<StoredEvent[]>;
  /** Becomes (or stays) the active daemon unless another one heartbeated within staleAfterMs. */
  claimDaemon(
    daemonType: string,
    daemonId: string,
    now: Date,
    staleAfterMs: number,
    info?: Record<string, unknown>,
  ): Promise<boolean>;
  releaseDaemon(daemonType: string, daemonId: string): Promise<void>;
  getDaemonHeartbeat(
    daemonType: string,
  ): Promise<{ daemonId: string; heartbeat: Date; info: Record<string, unknown> | null } | undefined>;
  getFreshness(): Promise<FreshnessRecord[]>;
  setFreshness(record: FreshnessRecord): Promise<void>;
  stats(): Promise<{ runs: number; events: number; assets: number; databaseSize: string }>;
  /** The status of every partition of an asset that has one (one indexed read). */
  getPartitionStatuses(assetKey: string): Promise<PartitionStatusRecord[]>;
  /**
   * Partition key -> status, for the partitions of an asset that have one: the same read as
   * getPartitionStatuses without the runs and times (what a status view of every partition needs).
   */
  getPartitionStatusMap(assetKey: string): Promise<Map<string, PartitionStatus>>;
  /** The keys of a dynamic partitions definition, in the order they were added. */
  getDynamicPartitions(name: string): Promise<string[]>;
  /** Adds keys (those already there are kept); returns the keys that were new. */
  addDynamicPartitions(name: string, keys: readonly string[]): Promise<string[]>;
  /** Deletes keys; returns the keys that were there. */
  deleteDynamicPartitions(name: string, keys: readonly string[]): Promise<string[]>;
  createBackfill(backfill: NewBackfill): Promise<BackfillRecord>;
  getBackfill(backfillId: string): Promise<BackfillRecord | undefined>;
  /** Newest first; `statuses` filters. */
  listBackfills(options?: { statuses?: BackfillStatus[]; limit?: number }): Promise<BackfillRecord[]>;
  /**
   * Stores the runs of the next partitions of a backfill and moves its cursor from `from` to
   * `to`, in one transaction, only if the cursor is still at `from` and the backfill is
   * REQUESTED: returns false (storing nothing) otherwise, so no partition is submitted twice.
   * Runs are queued in the order given.
   */
  submitBackfillRuns(backfillId: string, from: number, to: number, runs: readonly NewRun[]): Promise<boolean>;
  /** Changes a backfill's status if it is in one of `from`; returns whether it did. */
  setBackfillStatus(
    backfillId: string,
    from: readonly BackfillStatus[],
    to: BackfillStatus,
    error?: string | null,
  ): Promise<boolean>;
  /** The number of runs of each backfill by status. */
  getBackfillRunCounts(
    backfillIds: readonly string[],
  ): Promise<Map<string, Partial<Record<RunStatus, number>>>>;
  /** Cancels the backfill's runs that are still QUEUED (with a RUN_CANCELED event each); returns how many. */
  cancelQueuedBackfillRuns(backfillId: string, reason: string): Promise<number>;
  close(): Promise<void>;
}
