import {
  type DagInstance,
  describeError,
  RUN_CHANNELS,
  RUN_QUEUE_NAME,
  RUN_QUEUE_SCHEMA,
  redact,
} from '@dag/core';
import PgBoss from 'pg-boss';

/** What a job of the run queue carries: only the run's id (the run itself is in the instance). */
export interface RunJob {
  runId: string;
}

/** A job fetched by a worker: acknowledge it (`complete`) once the run is assigned or refused. */
export interface FetchedRun {
  jobId: string;
  runId: string;
}

/**
 * The job queue that delivers claimed runs to workers: pg-boss, in the `dag_queue` schema of
 * the instance's PostgreSQL (created on first use). It only delivers: the run's claim in the
 * instance (QUEUED -> STARTING by the daemon's queue, then the assignment to one worker, both
 * compare-and-set) decides who executes a run, so a job delivered twice runs nothing twice.
 *
 * A job a worker fetched but never acknowledged (it died in between) expires after
 * `expireInSeconds` and is delivered again.
 */
export class RunQueue {
  private constructor(
    private readonly boss: PgBoss,
    private readonly instance: DagInstance,
  ) {}

  /**
   * Connects to the instance's PostgreSQL and creates or upgrades the queue's schema.
   * `supervise`: this process also runs the queue's maintenance (expiring unacknowledged jobs).
   */
  static async open(
    instance: DagInstance,
    options: { supervise?: boolean; log?: (message: string) => void } = {},
  ): Promise<RunQueue> {
    const boss = new PgBoss({
      connectionString: instance.url,
      schema: RUN_QUEUE_SCHEMA,
      application_name: 'dag run queue',
      max: 3,
      supervise: options.supervise ?? false,
      schedule: false,
      migrate: true,
      maintenanceIntervalSeconds: 30,
    });
    boss.on('error', (error) => options.log?.(redact(`run queue: ${describeError(error)}`)));
    await boss.start();
    await boss.createQueue(RUN_QUEUE_NAME, {
      name: RUN_QUEUE_NAME,
      expireInSeconds: 60,
      retryLimit: 100,
      retryDelay: 1,
      retentionMinutes: 60,
    });
    return new RunQueue(boss, instance);
  }

  /** Hands claimed runs to the workers and wakes idle ones. */
  async dispatch(runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.boss.insert(
      runIds.map((runId) => ({ name: RUN_QUEUE_NAME, data: { runId } satisfies RunJob })),
    );
    await this.instance.storage.notify(RUN_CHANNELS.dispatched, String(runIds.length)).catch(() => {});
  }

  /** Up to `max` delivered runs (none when the queue is empty). */
  async fetch(max: number): Promise<FetchedRun[]> {
    if (max <= 0) return [];
    const jobs = await this.boss.fetch<RunJob>(RUN_QUEUE_NAME, { batchSize: max });
    return jobs.map((job) => ({ jobId: job.id, runId: job.data.runId }));
  }

  /** Acknowledges delivered jobs: they are not delivered again. */
  async complete(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.boss.complete(RUN_QUEUE_NAME, [...jobIds]);
  }

  /**
   * Gives delivered jobs back: a worker that could not say whether it took their runs (the
   * database did not answer) lets them be delivered again, about a second later.
   */
  async giveBack(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.boss.fail(RUN_QUEUE_NAME, [...jobIds]);
  }

  /** Jobs waiting for a worker. */
  async size(): Promise<number> {
    return await this.boss.getQueueSize(RUN_QUEUE_NAME);
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true, close: true } as PgBoss.StopOptions);
  }
}
