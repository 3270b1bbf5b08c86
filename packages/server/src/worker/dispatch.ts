import { type DagInstance, type RunRecord, WORKER_ENV, type WorkerLiveness, workerLiveness } from '@dag/core';
import { RunQueue } from './run-queue.ts';

/** How the daemon's run queue hands admitted runs to workers instead of starting them itself. */
export interface WorkerDispatch {
  /** For the daemon's `launch`: the run (claimed, STARTING) goes to the job queue. */
  launch(run: RunRecord): Promise<void>;
  /** For the daemon's `launchBlocked`: why no run can start (no live worker), or undefined. */
  launchBlocked(): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Admission stays with the daemon's queue (one active daemon: the run limit and tag limits
 * are counted in one place); workers only execute what it admitted. Runs wait QUEUED, with
 * the reason, while no worker is alive.
 */
export async function workerDispatch(
  instance: DagInstance,
  options: { liveness?: WorkerLiveness; log?: (message: string) => void } = {},
): Promise<WorkerDispatch> {
  const liveness = options.liveness ?? workerLiveness();
  const queue = await RunQueue.open(instance, {
    supervise: true,
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    launch: (run) => queue.dispatch([run.runId]),
    launchBlocked: async () => {
      const workers = await instance.storage.listWorkers();
      const alive = workers.filter((w) => w.state === 'running' && w.silentMs < liveness.timeoutMs);
      if (alive.length > 0) return undefined;
      return `Waiting for a worker: none has heartbeated in the last ${Math.round(liveness.timeoutMs / 1000)} s (${WORKER_ENV.timeoutMs}). Start one with \`dag worker\` on a machine pointing at this instance.`;
    },
    close: () => queue.close(),
  };
}
