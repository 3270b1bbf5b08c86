import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { submitRun, Workspace } from '@dag/core';
import { freshInstance, type TestInstance } from '../../../core/test/support.ts';
import { waitFor } from '../support.ts';
import {
  startDispatchingDaemon,
  startWorker,
  stopWorker,
  WORKER_FIXTURE,
  WORKER_TEST_ENV,
  type WorkerProcess,
} from './support.ts';

Object.assign(process.env, WORKER_TEST_ENV);

// 1,000, as the scale-out's check asks: workers reuse their run processes, so a run costs tens
// of milliseconds of CPU, not the second a new process costs; the drain takes about two minutes
// on a loaded 2-core machine. WORKER_TEST_RUNS sets another count.
const RUNS = Number(process.env.WORKER_TEST_RUNS ?? 1000);

describe('three workers drain the run queue', () => {
  let test: TestInstance;
  let workers: WorkerProcess[] = [];
  let daemon: Awaited<ReturnType<typeof startDispatchingDaemon>>;
  let counter: string;

  before(async () => {
    test = await freshInstance();
    counter = path.join(test.home, 'side-effects.log');
    daemon = await startDispatchingDaemon(test.instance, { maxConcurrentRuns: 9 });
    workers = [0, 1, 2].map(() =>
      startWorker(test, { concurrency: 3, env: { WORKER_TEST_COUNTER: counter } }),
    );
  });

  after(async () => {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await daemon.stop();
    await test.cleanup();
  });

  it(`${RUNS} queued no-op runs: every one succeeds once, none lost, none run twice`, async () => {
    const { definitions } = (await Workspace.load({ file: WORKER_FIXTURE })).locations[0]!;
    await waitFor('three workers registered', async () =>
      (await test.instance.storage.listWorkers()).length === 3 ? true : undefined,
    );
    const started = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      ids.push((await submitRun(test.instance, definitions, { job: 'noop_job', status: 'QUEUED' })).runId);
    }
    await waitFor(
      `${RUNS} runs finished`,
      async () =>
        (await test.instance.storage.countRuns({ statuses: ['SUCCESS', 'FAILURE', 'CANCELED'] })) >= RUNS
          ? true
          : undefined,
      RUNS * 2000 + 60_000,
    );
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `drained ${RUNS} runs in ${seconds.toFixed(1)} s (${(RUNS / seconds).toFixed(1)} runs/s)\n`,
    );
    const runs = await Promise.all(ids.map((id) => test.instance.storage.getRun(id)));
    const unsuccessful = runs.filter((r) => r?.status !== 'SUCCESS');
    // What the workers said is the first thing to read when a run did not succeed.
    if (unsuccessful.length > 0)
      for (const w of workers) process.stderr.write(`--- worker output\n${w.output().slice(-5000)}\n`);
    assert.deepEqual(
      unsuccessful.map((r) => `${r?.runId} ${r?.status} ${r?.error}`),
      [],
    );
    // Every run was taken by one of the workers.
    const workerIds = new Set((await test.instance.storage.listWorkers()).map((w) => w.workerId));
    assert.ok(runs.every((r) => r?.workerId && workerIds.has(r.workerId)));
    assert.ok(new Set(runs.map((r) => r!.workerId)).size >= 2, 'the runs were spread over the workers');
    // The side effect of each run's step happened exactly once.
    const lines = (await readFile(counter, 'utf8')).trim().split('\n');
    const perRun = new Map<string, number>();
    for (const line of lines) perRun.set(line.split(' ')[1]!, (perRun.get(line.split(' ')[1]!) ?? 0) + 1);
    assert.equal(lines.length, RUNS);
    assert.deepEqual(
      ids.filter((id) => perRun.get(id) !== 1),
      [],
    );
  });
});
