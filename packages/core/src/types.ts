/**
 * Terminology (Dagster's words, so its users feel at home):
 *
 * - asset: a named piece of data (a table, a bucket's files, a report) and the function that
 *   produces it. Identified by its key (`name`), it has a group, upstream deps, config, resources.
 * - materialization: one successful run of an asset's function, recorded with metadata.
 * - asset check: a named test on an asset; ERROR checks can block downstream assets.
 * - op: a plain step that is not an asset; a graph job wires ops together.
 * - job: a selection of assets (or an op graph) run together.
 * - resource: a configured client for an outside system, built once per run.
 * - run: one execution of a job or a selection; has a run id, a status and an event log.
 * - step: the unit of execution inside a run: one asset (with its checks) or one op.
 * - event: an entry in the event log (run started, step failed, log line, materialization...).
 * - instance: where runs and events are stored (PostgreSQL: embedded by default, or by URL).
 * - code location: a definitions file; the workspace file lists them.
 *
 * Persisted strings are forever: the values of RunStatus and EventType are stored in the
 * instance and must never be renamed once released.
 */
import type { MetadataInput, MetadataRecord } from './definitions/metadata.ts';

export const RUN_STATUSES = [
  'QUEUED',
  'NOT_STARTED',
  'STARTING',
  'STARTED',
  'SUCCESS',
  'FAILURE',
  'CANCELING',
  'CANCELED',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** A run in one of these has ended; its status no longer changes. */
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['SUCCESS', 'FAILURE', 'CANCELED'];
/** A run in one of these is waiting, running or stopping: it may still touch its assets. */
export const IN_PROGRESS_RUN_STATUSES: readonly RunStatus[] = [
  'QUEUED',
  'NOT_STARTED',
  'STARTING',
  'STARTED',
  'CANCELING',
];

export const EVENT_TYPES = [
  'RUN_STARTING',
  'RUN_START',
  'RUN_SUCCESS',
  'RUN_FAILURE',
  'RUN_CANCELING',
  'RUN_CANCELED',
  'STEP_START',
  'STEP_SUCCESS',
  'STEP_FAILURE',
  'STEP_SKIPPED',
  'STEP_UP_FOR_RETRY',
  'STEP_RESTARTED',
  'STEP_PROGRESS',
  'ASSET_MATERIALIZATION',
  'ASSET_CHECK_EVALUATION',
  'ASSET_OBSERVATION',
  'LOG',
  'ENGINE_EVENT',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export type StepKind = 'asset' | 'op';
export type StepStatus = 'pending' | 'running' | 'success' | 'failure' | 'skipped' | 'canceled';

export interface RetryPolicy {
  /** Attempts after the first one. */
  maxRetries: number;
  /** Base delay before a retry. Default 1000. */
  delayMs?: number;
  /** How the delay grows per attempt. Default 'exponential'. */
  backoff?: 'constant' | 'linear' | 'exponential';
  /** Randomises each delay by up to ±50% ('plus-minus') or 0..100% ('full'). Default 'plus-minus'. */
  jitter?: 'none' | 'full' | 'plus-minus';
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called for every line of stdout/stderr; by default each line goes to the step's log. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Lines kept for the error message when the process fails. Default 40. */
  tailLines?: number;
}

export interface SpawnResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of output, for error messages. */
  tail: string[];
}

/** What every user function (asset, op, check) receives. */
export interface StepContext<C = unknown, R = Record<string, unknown>> {
  readonly runId: string;
  readonly stepKey: string;
  readonly jobName: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  readonly config: C;
  readonly resources: R;
  readonly log: Logger;
  /** Fires when the run is terminated; long work should stop, spawned processes are killed. */
  readonly signal: AbortSignal;
  /** The instance folder (DAG_HOME): a place for files that belong to this instance. */
  readonly home: string;
  /** Reports progress of a long step; the CLI draws a bar and the UI a gauge. Throttled. */
  progress(done: number, total?: number, message?: string): void;
  /** Adds metadata to this step's materialization (merged with what the function returns). */
  addMetadata(metadata: Record<string, MetadataInput>): void;
  /**
   * Runs a command as a child process in its own process group, streams its output into the
   * log line by line, and kills the whole process tree when the run is terminated.
   */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): Promise<SpawnResult>;
}

export interface AssetContext<C = unknown, R = Record<string, unknown>> extends StepContext<C, R> {
  readonly assetKey: string;
  /**
   * The outputs this step materializes: for a multi-asset, the names of the outputs selected in
   * this run (a subsettable multi-asset returns only these); for an asset, its key.
   */
  readonly selectedOutputs: readonly string[];
  /**
   * The partition this run materializes (a partitioned asset run for one partition). Reading it
   * on an unpartitioned asset, or in a run over a range, throws: use partitionKeyRange.
   */
  readonly partitionKey: string;
  /** Every partition this run materializes, in order (one, or a range's keys). */
  readonly partitionKeys: readonly string[];
  /** The first and last partition of this run (the same key for a one-partition run). */
  readonly partitionKeyRange: { start: string; end: string };
  /** For time partitions: from the start of the first window to the end of the last one. */
  readonly partitionTimeWindow: { start: Date; end: Date };
  /** Whether this step materializes partitions. */
  readonly isPartitioned: boolean;
}

export interface CheckResult {
  passed: boolean;
  /** Overrides the check's declared severity for this evaluation. */
  severity?: 'WARN' | 'ERROR';
  description?: string;
  metadata?: Record<string, MetadataInput>;
}

export interface CheckContext<R = Record<string, unknown>> extends StepContext<unknown, R> {
  readonly assetKey: string;
  readonly checkName: string;
  /** Metadata of the materialization this check evaluates (empty for a standalone check run). */
  readonly materializationMetadata: MetadataRecord;
}

/** What a run reports back to its caller (CLI --json prints this). */
export interface RunResult {
  runId: string;
  jobName: string;
  status: RunStatus;
  durationMs: number;
  steps: StepResult[];
  error?: string;
}

export interface StepResult {
  key: string;
  kind: StepKind;
  status: StepStatus;
  attempts: number;
  durationMs: number;
  metadata: MetadataRecord;
  checks: { name: string; passed: boolean; severity: 'WARN' | 'ERROR' }[];
  error?: string;
}
