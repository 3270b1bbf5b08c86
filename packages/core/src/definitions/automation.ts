import { DefinitionError } from '../errors.ts';
import type { JobDefinition, RunConfig } from './job.ts';
import { assertValidName } from './validation.ts';

export type DefaultStatus = 'RUNNING' | 'STOPPED';

export interface RunRequest {
  /** Runs with a key already requested by this sensor are never launched again. */
  runKey?: string;
  config?: RunConfig;
  tags?: Record<string, string>;
  /** Narrows the job's assets for this run (selection syntax). */
  selection?: string;
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
}

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
}

function jobNameOf(job: JobDefinition | string, owner: string): string {
  if (typeof job === 'string') return job;
  if (job && typeof job === 'object' && job.kind === 'job') return job.name;
  throw new DefinitionError(`'${owner}': job must be a job definition or a job name.`);
}

export function isValidTimeZone(timezone: string): boolean {
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
  assertValidName(options.name, 'schedule');
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
  };
}

export interface SensorContext {
  /** The cursor the previous tick returned, or undefined on the first tick. */
  cursor: string | undefined;
  lastTickAt: Date | undefined;
  signal: AbortSignal;
}

export interface SensorResult {
  runRequests?: RunRequest[];
  cursor?: string;
  skipReason?: string;
}

export interface SensorOptions {
  name: string;
  job: JobDefinition | string;
  description?: string;
  /** Seconds between evaluations. Default 30. */
  minimumIntervalSeconds?: number;
  defaultStatus?: DefaultStatus;
  fn: (ctx: SensorContext) => SensorResult | Promise<SensorResult>;
}

export interface SensorDefinition {
  readonly kind: 'sensor';
  readonly name: string;
  readonly jobName: string;
  readonly description: string | undefined;
  readonly minimumIntervalSeconds: number;
  readonly defaultStatus: DefaultStatus;
  readonly fn: SensorOptions['fn'];
}

/**
 * A sensor: polls for an event and requests runs; `runKey` dedupes, the cursor persists.
 */
export function sensor(options: SensorOptions): SensorDefinition {
  assertValidName(options.name, 'sensor');
  if (typeof options.fn !== 'function') throw new DefinitionError(`Sensor '${options.name}' needs an fn.`);
  const interval = options.minimumIntervalSeconds ?? 30;
  if (!(interval > 0)) {
    throw new DefinitionError(
      `Sensor '${options.name}': minimumIntervalSeconds must be > 0, got ${interval}.`,
    );
  }
  return {
    kind: 'sensor',
    name: options.name,
    jobName: jobNameOf(options.job, options.name),
    description: options.description,
    minimumIntervalSeconds: interval,
    defaultStatus: options.defaultStatus ?? 'STOPPED',
    fn: options.fn,
  };
}
