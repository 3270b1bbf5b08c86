import { DefinitionError } from '../errors.ts';
import type { RunRecord, StoredEvent } from '../instance/storage.ts';
import type { TimeWindowPartitions } from '../partitions/partitions.ts';
import type { AssetDefinition } from './asset.ts';
import type { JobDefinition, RunConfig } from './job.ts';
import type { ResourceDefinition, ResourceValues } from './resource.ts';
import { assertKnownOptions, assertValidName } from './validation.ts';

export type DefaultStatus = 'RUNNING' | 'STOPPED';

export interface RunRequest {
  /** Runs with a key already requested by this sensor are never launched again. */
  runKey?: string;
  config?: RunConfig;
  tags?: Record<string, string>;
  /** Narrows the job's assets for this run (selection syntax). */
  selection?: string;
  /** The partition to materialize (or a range 'A...B'), for a job of partitioned assets. */
  partitionKey?: string;
}

export interface ScheduleOptions {
  name: string;
  /** Five-field cron, e.g. `0 2 * * *`. */
  cron: string;
  /** IANA time zone, e.g. `Asia/Seoul`. Default UTC. */
  timezone?: string;
  job: JobDefinition | string;
  description?: string;
  config?: RunConfig;
  tags?: Record<string, string>;
  defaultStatus?: DefaultStatus;
  /** What to do with ticks missed while the daemon was down. Default 'one'. */
  catchUp?: 'none' | 'one' | 'all';
  /**
   * Time partitions: each tick runs the partition that has just closed (the last one complete
   * at the tick time). Set by buildScheduleFromPartitionedJob.
   */
  partitions?: TimeWindowPartitions;
}

const SCHEDULE_OPTIONS = {
  name: true,
  cron: true,
  timezone: true,
  job: true,
  description: true,
  config: true,
  tags: true,
  defaultStatus: true,
  catchUp: true,
  partitions: true,
} as const satisfies Record<keyof ScheduleOptions, true>;

export interface ScheduleDefinition {
  readonly kind: 'schedule';
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly jobName: string;
  readonly description: string | undefined;
  readonly config: RunConfig;
  readonly tags: Readonly<Record<string, string>>;
  readonly defaultStatus: DefaultStatus;
  readonly catchUp: 'none' | 'one' | 'all';
  readonly partitions: TimeWindowPartitions | undefined;
}

function jobNameOf(job: JobDefinition | string, owner: string): string {
  if (typeof job === 'string') return job;
  if (job && typeof job === 'object' && job.kind === 'job') return job.name;
  throw new DefinitionError(`'${owner}': job must be a job definition or a job name.`);
}

/** The canonical IANA time zones, listed once (cheap, where a first `DateTimeFormat` loads the zone data). */
let canonicalTimeZones: Set<string> | undefined;

export function isValidTimeZone(timezone: string): boolean {
  canonicalTimeZones ??= new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
  if (canonicalTimeZones.has(timezone)) return true;
  // Aliases ('Etc/UTC', 'US/Pacific') and other spellings the runtime accepts.
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * A schedule: launches a job on a cron in a time zone.
 *
 * @example
 * schedule({ name: 'ds_daily', cron: '0 2 * * *', timezone: 'Asia/Seoul', job: dsNodeJob });
 */
export function schedule(options: ScheduleOptions): ScheduleDefinition {
  assertValidName(options?.name, 'schedule');
  assertKnownOptions(options, SCHEDULE_OPTIONS, `Schedule '${options.name}'`);
  const fields = typeof options.cron === 'string' ? options.cron.trim().split(/\s+/) : [];
  if (fields.length !== 5 && fields.length !== 6) {
    throw new DefinitionError(
      `Schedule '${options.name}': cron ${JSON.stringify(options.cron)} must have 5 fields (minute hour day month weekday), e.g. '0 2 * * *'.`,
    );
  }
  const timezone = options.timezone ?? 'UTC';
  if (!isValidTimeZone(timezone)) {
    throw new DefinitionError(
      `Schedule '${options.name}': unknown time zone ${JSON.stringify(timezone)}; use an IANA name such as 'Asia/Seoul'.`,
    );
  }
  return {
    kind: 'schedule',
    name: options.name,
    cron: options.cron.trim(),
    timezone,
    jobName: jobNameOf(options.job, options.name),
    description: options.description,
    config: options.config ?? {},
    tags: { ...(options.tags ?? {}) },
    defaultStatus: options.defaultStatus ?? 'STOPPED',
    catchUp: options.catchUp ?? 'one',
    partitions: options.partitions,
  };
}

export interface SensorContext<R = Record<string, unknown>> {
  /** The cursor the previous tick returned, or undefined on the first tick. */
  cursor: string | undefined;
  /** The resources named in the sensor's `resources`, built for this evaluation. */
  resources: R;
  lastTickAt: Date | undefined;
  /** The daemon's clock at this tick (injected in tests). */
  now: Date;
  signal: AbortSignal;
  log: SensorLogger;
}

export interface SensorLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface SensorResult {
  runRequests?: RunRequest[];
  /** Keys to add to (or delete from) dynamic partitions, applied before the run requests. */
  dynamicPartitionsRequests?: { name: string; add?: string[]; delete?: string[] }[];
  cursor?: string;
  skipReason?: string;
}

export type SensorType = 'standard' | 'run_status' | 'asset' | 'freshness';

interface SensorBase {
  name: string;
  description?: string;
  /** Seconds between evaluations. Default 30. */
  minimumIntervalSeconds?: number;
  defaultStatus?: DefaultStatus;
}

export interface SensorOptions<R extends Record<string, ResourceDefinition> = Record<string, never>>
  extends SensorBase {
  job: JobDefinition | string;
  /** Resources the sensor uses (built from the environment for each evaluation). */
  resources?: R;
  fn: (ctx: SensorContext<ResourceValues<R>>) => SensorResult | Promise<SensorResult>;
}

/** What a run-status sensor sees: one finished run (and its events, loaded on demand). */
export interface RunStatusSensorContext<R = Record<string, unknown>> {
  run: RunRecord;
  /** The resources named in the sensor's `resources`. */
  resources: R;
  events: () => Promise<StoredEvent[]>;
  /** A link to the run in the UI, from DAG_UI_URL (default http://127.0.0.1:3000). */
  runUrl: string;
  now: Date;
  signal: AbortSignal;
  log: SensorLogger;
}

export interface RunStatusSensorOptions<R extends Record<string, ResourceDefinition> = Record<string, never>>
  extends SensorBase {
  resources?: R;
  /** The status that triggers the sensor. */
  runStatus: 'SUCCESS' | 'FAILURE' | 'CANCELED';
  /** Only runs of these jobs (default: every job). */
  monitoredJobs?: (JobDefinition | string)[];
  /** The job to launch from returned run requests, if any. */
  job?: JobDefinition | string;
  fn: (
    ctx: RunStatusSensorContext<ResourceValues<R>>,
  ) => undefined | RunRequest[] | Promise<undefined | RunRequest[]>;
}

export interface AssetSensorContext {
  assetKey: string;
  materialization: StoredEvent;
  now: Date;
  signal: AbortSignal;
  log: SensorLogger;
}

export interface AssetSensorOptions extends SensorBase {
  asset: AssetDefinition | string;
  job: JobDefinition | string;
  fn: (ctx: AssetSensorContext) => undefined | RunRequest[] | Promise<undefined | RunRequest[]>;
}

export interface FreshnessSensorContext {
  assetKey: string;
  /** True when the asset just became stale, false when it just became fresh again. */
  stale: boolean;
  lagMinutes: number | null;
  maximumLagMinutes: number;
  now: Date;
  signal: AbortSignal;
  log: SensorLogger;
}

export interface FreshnessSensorOptions extends SensorBase {
  fn: (ctx: FreshnessSensorContext) => void | Promise<void>;
}

export interface SensorDefinition {
  readonly kind: 'sensor';
  readonly type: SensorType;
  readonly name: string;
  /** The job runs are requested for (null for sensors that only alert). */
  readonly jobName: string | null;
  readonly description: string | undefined;
  readonly minimumIntervalSeconds: number;
  readonly defaultStatus: DefaultStatus;
  readonly fn?: (ctx: SensorContext) => SensorResult | Promise<SensorResult>;
  readonly resources: Readonly<Record<string, ResourceDefinition>>;
  readonly runStatus?: RunStatusSensorOptions['runStatus'];
  readonly monitoredJobs?: readonly string[] | undefined;
  readonly runStatusFn?: (
    ctx: RunStatusSensorContext,
  ) => undefined | RunRequest[] | Promise<undefined | RunRequest[]>;
  readonly assetKey?: string;
  readonly assetFn?: AssetSensorOptions['fn'];
  readonly freshnessFn?: FreshnessSensorOptions['fn'];
}

const SENSOR_BASE_OPTIONS = {
  name: true,
  description: true,
  minimumIntervalSeconds: true,
  defaultStatus: true,
} as const satisfies Record<keyof SensorBase, true>;
const SENSOR_OPTIONS = {
  ...SENSOR_BASE_OPTIONS,
  job: true,
  resources: true,
  fn: true,
} as const satisfies Record<keyof SensorOptions, true>;
const RUN_STATUS_SENSOR_OPTIONS = {
  ...SENSOR_BASE_OPTIONS,
  resources: true,
  runStatus: true,
  monitoredJobs: true,
  job: true,
  fn: true,
} as const satisfies Record<keyof RunStatusSensorOptions, true>;
const ASSET_SENSOR_OPTIONS = {
  ...SENSOR_BASE_OPTIONS,
  asset: true,
  job: true,
  fn: true,
} as const satisfies Record<keyof AssetSensorOptions, true>;
const FRESHNESS_SENSOR_OPTIONS = {
  ...SENSOR_BASE_OPTIONS,
  fn: true,
} as const satisfies Record<keyof FreshnessSensorOptions, true>;

function sensorBase(options: SensorBase, known: Readonly<Record<string, true>>) {
  assertValidName(options?.name, 'sensor');
  assertKnownOptions(options, known, `Sensor '${options.name}'`);
  const interval = options.minimumIntervalSeconds ?? 30;
  if (!(interval > 0)) {
    throw new DefinitionError(
      `Sensor '${options.name}': minimumIntervalSeconds must be > 0, got ${interval}.`,
    );
  }
  return {
    kind: 'sensor' as const,
    name: options.name,
    description: options.description,
    minimumIntervalSeconds: interval,
    defaultStatus: options.defaultStatus ?? ('STOPPED' as const),
    resources: {},
  };
}

function requireFn(name: string, fn: unknown): void {
  if (typeof fn !== 'function') throw new DefinitionError(`Sensor '${name}' needs an fn.`);
}

/**
 * A sensor: polls for an event and requests runs; `runKey` dedupes forever, the cursor
 * persists in the same transaction as the runs a tick requests.
 *
 * @example
 * sensor({ name: 'new_files', job, minimumIntervalSeconds: 60, fn: async ({ cursor }) => ({ runRequests: [{ runKey: 'x' }] }) });
 */
export function sensor<R extends Record<string, ResourceDefinition> = Record<string, never>>(
  options: SensorOptions<R>,
): SensorDefinition {
  requireFn(options.name, options.fn);
  return {
    ...sensorBase(options, SENSOR_OPTIONS),
    type: 'standard',
    jobName: jobNameOf(options.job, options.name),
    resources: { ...(options.resources ?? {}) },
    fn: options.fn as SensorDefinition['fn'],
  };
}

/**
 * Reacts to runs finishing with a status (each run is seen once), e.g. to alert on failures.
 *
 * @example
 * runStatusSensor({ name: 'on_failure', runStatus: 'FAILURE', fn: async ({ run, runUrl }) => { ... } });
 */
export function runStatusSensor<R extends Record<string, ResourceDefinition> = Record<string, never>>(
  options: RunStatusSensorOptions<R>,
): SensorDefinition {
  requireFn(options.name, options.fn);
  if (!['SUCCESS', 'FAILURE', 'CANCELED'].includes(options.runStatus)) {
    throw new DefinitionError(
      `Sensor '${options.name}': runStatus must be SUCCESS, FAILURE or CANCELED, got ${JSON.stringify(options.runStatus)}.`,
    );
  }
  return {
    ...sensorBase({ minimumIntervalSeconds: 5, ...options }, RUN_STATUS_SENSOR_OPTIONS),
    type: 'run_status',
    jobName: options.job === undefined ? null : jobNameOf(options.job, options.name),
    runStatus: options.runStatus,
    monitoredJobs: options.monitoredJobs?.map((j) => jobNameOf(j, options.name)),
    resources: { ...(options.resources ?? {}) },
    runStatusFn: options.fn as SensorDefinition['runStatusFn'],
  };
}

/** Reacts to each new materialization of an asset. */
export function assetSensor(options: AssetSensorOptions): SensorDefinition {
  requireFn(options.name, options.fn);
  const assetKey = typeof options.asset === 'string' ? options.asset : options.asset.key;
  return {
    ...sensorBase(options, ASSET_SENSOR_OPTIONS),
    type: 'asset',
    jobName: jobNameOf(options.job, options.name),
    assetKey,
    assetFn: options.fn,
  };
}

/** Called when an asset with a freshness policy becomes stale (and fresh again). */
export function freshnessSensor(options: FreshnessSensorOptions): SensorDefinition {
  requireFn(options.name, options.fn);
  return {
    ...sensorBase(options, FRESHNESS_SENSOR_OPTIONS),
    type: 'freshness',
    jobName: null,
    freshnessFn: options.fn,
  };
}
