import { UsageError } from '../errors.ts';
import { envMillis } from '../util/env-millis.ts';

/**
 * The names every part of a worker deployment shares: environment variables, the job queue's
 * schema and queue, the notification channels, and the health check. Deployment files
 * (compose, Kubernetes) take them from here through `dag worker health` and the docs.
 */
export const WORKER_ENV = {
  /** The instance's PostgreSQL: every worker, the daemon and the server point at the same one. */
  postgresUrl: 'DAG_POSTGRES_URL',
  /** How often a worker renews its heartbeat, in milliseconds (default 2000). */
  heartbeatMs: 'DAG_WORKER_HEARTBEAT_MS',
  /**
   * After how long without a heartbeat a worker is presumed dead and its runs are failed (and
   * retried per `dag/max_retries`), in milliseconds (default 10000; at least 3 heartbeats).
   * A worker that has not renewed its heartbeat for 60 % of it aborts its runs first.
   */
  timeoutMs: 'DAG_WORKER_TIMEOUT_MS',
  /** Runs a worker executes at once when `--concurrency` is not given (default 4). */
  concurrency: 'DAG_WORKER_CONCURRENCY',
  /** `1`: a new run process for each run, as `dag worker --fresh-process-per-run`. */
  freshProcessPerRun: 'DAG_WORKER_FRESH_PROCESS_PER_RUN',
} as const;

/** The PostgreSQL schema of the job queue (pg-boss) in the instance database. */
export const RUN_QUEUE_SCHEMA = 'dag_queue';
/** The pg-boss queue that delivers claimed runs to workers. */
export const RUN_QUEUE_NAME = 'dag-runs';

/** PostgreSQL NOTIFY channels of the run queue. */
export const RUN_CHANNELS = {
  /** A run was queued, or a slot freed: the daemon's queue looks again at once. */
  queue: 'dag_run_queue',
  /** Runs were handed to the job queue: idle workers fetch at once. */
  dispatched: 'dag_run_dispatched',
  /** A run was asked to terminate (payload: its id): the worker holding it stops it. */
  terminate: 'dag_run_terminate',
} as const;

/** Run tags of Dagster's run retries: how many times a failed run is retried, and which retry a run is. */
export const MAX_RETRIES_TAG = 'dag/max_retries';
export const RETRY_NUMBER_TAG = 'dag/retry_number';

/** The health check of a worker's container: exit 0 when a worker on this host heartbeated within `--max-age` s. */
export const WORKER_HEALTH_COMMAND = ['dag', 'worker', 'health', '--max-age', '30'] as const;

export interface WorkerLiveness {
  heartbeatMs: number;
  timeoutMs: number;
  /** A worker that has not renewed its heartbeat for this long aborts its runs (before others presume it dead). */
  leaseMs: number;
}

/** From DAG_WORKER_HEARTBEAT_MS and DAG_WORKER_TIMEOUT_MS. */
export function workerLiveness(env: NodeJS.ProcessEnv = process.env): WorkerLiveness {
  const read = (name: string, fallback: number): number => envMillis(env, name, fallback);
  const heartbeatMs = read(WORKER_ENV.heartbeatMs, 2000);
  const timeoutMs = read(WORKER_ENV.timeoutMs, 10_000);
  if (timeoutMs < 3 * heartbeatMs) {
    throw new UsageError(
      `${WORKER_ENV.timeoutMs} (${timeoutMs}) must be at least three times ${WORKER_ENV.heartbeatMs} (${heartbeatMs}), or live workers would be taken for dead.`,
    );
  }
  return { heartbeatMs, timeoutMs, leaseMs: Math.floor(timeoutMs * 0.6) };
}
