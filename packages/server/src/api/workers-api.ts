import { workerLiveness } from '@dag/core';
import { Hono } from 'hono';
import { sendJson } from '../http/json-response.ts';
import type { AppOptions } from '../interfaces.ts';

/**
 * `GET /api/workers`: every registered `dag worker` (id, host, pid, state, concurrency, when
 * it started and last heartbeated, the runs it executes) and whether it is alive (heartbeated
 * within the worker timeout, DAG_WORKER_TIMEOUT_MS).
 */
export function workersApi(options: AppOptions): Hono {
  const api = new Hono();
  api.get('/workers', async (c) => {
    const { timeoutMs } = workerLiveness();
    const workers = await options.instance.storage.listWorkers();
    return sendJson(c, {
      workers: workers.map((w) => ({
        workerId: w.workerId,
        hostname: w.hostname,
        pid: w.pid,
        state: w.state,
        concurrency: w.concurrency,
        startedAt: w.startedAt,
        lastHeartbeat: w.lastHeartbeat,
        ageSeconds: w.silentMs / 1000,
        alive: w.silentMs < timeoutMs,
        runs: w.currentRuns,
      })),
      timeoutSeconds: timeoutMs / 1000,
    });
  });
  return api;
}
