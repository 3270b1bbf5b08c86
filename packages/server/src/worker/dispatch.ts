import {
  type DagInstance,
  type RunRecord,
  WORKER_ENV,
  type WorkerLiveness,
  type WorkerRecord,
  workerLiveness,
} from '@dag/core';
import { RunQueue } from './run-queue.ts';

/** How the daemon's run queue hands admitted runs to workers instead of starting them itself. */
export interface WorkerDispatch {
  /** For the daemon's `launch`: the run (claimed, STARTING) goes to the job queue. */
  launch(run: RunRecord): Promise<void>;
  /** For the daemon's `launchBlocked`: why no run can start (no live worker), or undefined. */
  launchBlocked(): Promise<string | undefined>;
  /** For the daemon's `workerSlots`: runs the live, non-draining workers take at once. */
  workerSlots(): Promise<number>;
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
  // One read serves a pass of the daemon's queue (it asks `launchBlocked`, then `workerSlots`).
  let recent: { at: number; workers: Promise<WorkerRecord[]> } | undefined;
  const alive = async () => {
    if (!recent || Date.now() - recent.at > 100) {
      const workers = instance.storage.listWorkers();
      recent = { at: Date.now(), workers };
      workers.catch(() => {
        if (recent?.workers === workers) recent = undefined;
      });
    }
    return (await recent.workers).filter((w) => w.state === 'running' && w.silentMs < liveness.timeoutMs);
  };
  return {
    launch: (run) => queue.dispatch([run.runId]),
    workerSlots: async () => (await alive()).reduce((sum, w) => sum + w.concurrency, 0),
    launchBlocked: async () => {
      if ((await alive()).length > 0) return undefined;
      return `Waiting for a worker: none has heartbeated in the last ${Math.round(liveness.timeoutMs / 1000)} s (${WORKER_ENV.timeoutMs}). Start one with \`dag worker\` on a machine pointing at this instance.`;
    },
    close: () => queue.close(),
  };
}
