import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type Definitions,
  descendants,
  instancePools,
  isProcessAlive,
  type RunRecord,
  submitRun,
  terminateRun,
  Workspace,
} from '@dag/core';
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

describe('workers under faults', () => {
  let test: TestInstance;
  let definitions: Definitions;
  let daemon: Awaited<ReturnType<typeof startDispatchingDaemon>>;
  let counter: string;
  let release: string;
  const workers: WorkerProcess[] = [];
  const spawnWorker = (args: string[] = []) => {
    const w = startWorker(test, {
      concurrency: 2,
      args,
      env: { WORKER_TEST_COUNTER: counter, WORKER_TEST_RELEASE: release },
    });
    workers.push(w);
    return w;
  };
  const launch = async (job: string, tags: Record<string, string> = {}) =>
    await submitRun(test.instance, definitions, { job, tags, status: 'QUEUED' });
  const run = async (id: string) => (await test.instance.storage.getRun(id))!;
  const lines = async () =>
    (await readFile(counter, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  const registered = async (w: WorkerProcess) =>
    await waitFor(
      'the worker registered',
      async () => {
        const id = w.id();
        return id && (await test.instance.storage.listWorkers()).some((r) => r.workerId === id)
          ? id
          : undefined;
      },
      60_000,
    );

  /** Resolves once worker `id` has heartbeated `beats` more times: it has been alive and working since. */
  const heartbeats = async (id: string, beats: number) => {
    const beatOf = async () =>
      (await test.instance.storage.listWorkers()).find((r) => r.workerId === id)?.lastHeartbeat.getTime();
    let last = await beatOf();
    let seen = 0;
    await waitFor(
      `worker ${id} to heartbeat ${beats} more time(s)`,
      async () => {
        const beat = await beatOf();
        if (beat !== undefined && (last === undefined || beat > last)) {
          seen++;
          last = beat;
        }
        return seen >= beats ? true : undefined;
      },
      60_000,
    );
  };

  before(async () => {
    test = await freshInstance();
    definitions = (await Workspace.load({ file: WORKER_FIXTURE })).locations[0]!.definitions;
    counter = path.join(test.home, 'side-effects.log');
    release = path.join(test.home, 'release');
    daemon = await startDispatchingDaemon(test.instance, {
      tagConcurrencyLimits: [{ key: 'db', limit: 2 }],
    });
  });

  after(async () => {
    await writeFile(release, '');
    await Promise.all(workers.map((w) => stopWorker(w)));
    await daemon.stop();
    await test.cleanup();
  });

  it('kill -9 of a worker mid-run: the run fails naming its worker within 15 s of its last heartbeat, and is retried on another worker', async () => {
    const a = spawnWorker();
    const aId = await registered(a);
    const queued = await launch('held_job', { 'dag/max_retries': '1' });
    const running = await waitFor(
      'the run started on the worker',
      async () => {
        const r = await run(queued.runId);
        return r.status === 'STARTED' && (await lines()).includes(`held-start ${r.runId}`) ? r : undefined;
      },
      60_000,
    );
    assert.equal(running.workerId, aId);
    const b = spawnWorker();
    const bId = await registered(b);
    a.child.kill('SIGKILL');
    await a.exited;
    const lastBeat = (await test.instance.storage.listWorkers()).find(
      (w) => w.workerId === aId,
    )!.lastHeartbeat;
    const failed = await waitFor(
      'the run failed',
      async () => {
        const r = await run(queued.runId);
        return r.status === 'FAILURE' ? r : undefined;
      },
      40_000,
    );
    assert.match(failed.error ?? '', new RegExp(`worker ${aId.replaceAll('.', '\\.')}.*has not heartbeated`));
    const boundMs = failed.endedAt!.getTime() - lastBeat.getTime();
    process.stderr.write(`kill -9: failed ${boundMs} ms after the worker's last heartbeat\n`);
    assert.ok(boundMs <= 15_000, `failed ${boundMs} ms after the last heartbeat`);
    // Its run process died with the worker: it never committed its step.
    assert.ok(running.pid !== null && !isProcessAlive(running.pid));
    const retry = await waitFor(
      'the retry started on the other worker',
      async () => {
        const { runs } = await test.instance.storage.listRuns({ limit: 50 });
        const r = runs.find((x) => x.parentRunId === queued.runId);
        return r && r.status === 'STARTED' ? r : undefined;
      },
      60_000,
    );
    assert.equal(retry.workerId, bId);
    assert.equal(retry.rootRunId, queued.runId);
    assert.equal(retry.tags['dag/retry_number'], '1');
    await writeFile(release, '');
    await waitFor(
      'the retry succeeded',
      async () => ((await run(retry.runId)).status === 'SUCCESS' ? true : undefined),
      60_000,
    );
    const commits = (await lines()).filter((l) => l.startsWith('held-commit'));
    assert.deepEqual(commits, [`held-commit ${retry.runId}`]);
    await stopWorker(b);
  });

  it('terminate from another machine: the worker holding the run kills its process tree within the grace + 1 s, and CANCELED stays', async () => {
    const w = spawnWorker(['--terminate-grace', '1']);
    const workerId = await registered(w);
    const queued = await launch('stubborn_job');
    const running = await waitFor(
      'the stubborn run started',
      async () => {
        const r = await run(queued.runId);
        return r.status === 'STARTED' && r.pid !== null ? r : undefined;
      },
      60_000,
    );
    const tree = [running.pid!, ...(await descendants(running.pid!))];
    const asked = Date.now();
    const outcome = await terminateRun(test.instance.storage, queued.runId);
    assert.equal(outcome.outcome, 'canceling');
    await waitFor(
      'the run process tree is gone',
      async () => (tree.some(isProcessAlive) ? undefined : true),
      20_000,
    );
    const tookMs = Date.now() - asked;
    process.stderr.write(`terminate: process tree gone ${tookMs} ms after the request\n`);
    assert.ok(tookMs <= 2000 + 1000, `the tree took ${tookMs} ms to die (grace 1 s + 1 s)`);
    const canceled = await waitFor('CANCELED', async () => {
      const r = await run(queued.runId);
      return r.status === 'CANCELED' ? r : undefined;
    });
    await terminateRun(test.instance.storage, queued.runId);
    // The worker that held the run goes on working: nothing it writes moves the run again.
    await heartbeats(workerId, 2);
    assert.equal((await run(canceled.runId)).status, 'CANCELED');
    await stopWorker(w);
  });

  it('tag limits hold across workers: never more than 2 runs with the tag in progress, sampled throughout', async () => {
    const ws = [spawnWorker(), spawnWorker()];
    await Promise.all(ws.map(registered));
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await launch('brief_job', { db: 'warehouse' })).runId);
    let most = 0;
    await waitFor(
      'the tagged runs finished',
      async () => {
        const inProgress = await test.instance.storage.getInProgressRuns();
        most = Math.max(most, inProgress.filter((r) => r.tags.db === 'warehouse').length);
        const done = await Promise.all(ids.map(run));
        return done.every((r: RunRecord) => r.status === 'SUCCESS') ? true : undefined;
      },
      120_000,
    );
    assert.ok(most <= 2, `${most} runs with db=warehouse were in progress at once`);
    assert.ok(most >= 1);
    await Promise.all(ws.map((w) => stopWorker(w)));
  });

  it('pool limits hold across workers: never more than 1 step of the pool at once, sampled throughout', async () => {
    const pools = instancePools(test.instance);
    await pools.setLimit('wpool', 1);
    const ws = [spawnWorker(), spawnWorker()];
    await Promise.all(ws.map(registered));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await launch('pooled_job')).runId);
    let most = 0;
    await waitFor(
      'the pooled runs finished',
      async () => {
        const held = await pools.holderRunIds('wpool');
        most = Math.max(most, held.length);
        const done = await Promise.all(ids.map(run));
        return done.every((r: RunRecord) => r.status === 'SUCCESS') ? true : undefined;
      },
      120_000,
    );
    assert.ok(most <= 1, `${most} runs held a slot of wpool at once`);
    // The steps' own record of when they ran: one at a time.
    const spans = (await lines())
      .filter((l) => l.startsWith('pooled '))
      .map((l) => l.split(' ').slice(2).map(Number) as [number, number])
      .sort((a, b) => a[0] - b[0]);
    assert.equal(spans.length, 6);
    for (let i = 1; i < spans.length; i++)
      assert.ok(spans[i]![0] >= spans[i - 1]![1], `two steps of wpool overlapped: ${JSON.stringify(spans)}`);
    await Promise.all(ws.map((w) => stopWorker(w)));
    await pools.close();
  });

  it('SIGTERM drains a worker: it takes no new run, its running run finishes, then it exits and deregisters', async () => {
    await writeFile(release, '').then(() => import('node:fs/promises').then((fs) => fs.rm(release)));
    const w = spawnWorker(['--grace-period', '60']);
    const id = await registered(w);
    const queued = await launch('held_job');
    await waitFor(
      'the run started',
      async () => ((await run(queued.runId)).status === 'STARTED' ? true : undefined),
      60_000,
    );
    w.child.kill('SIGTERM');
    await waitFor('the worker is draining', async () =>
      (await test.instance.storage.listWorkers()).find((r) => r.workerId === id)?.state === 'draining'
        ? true
        : undefined,
    );
    const later = await launch('noop_job');
    // The daemon's queue has looked at the run and holds it: its only worker drains.
    const held = await waitFor('the daemon to hold the new run back', async () => {
      const r = await run(later.runId);
      return r.queueReason ? r : undefined;
    });
    assert.match(held.queueReason!, /Waiting for a worker/);
    assert.equal(held.status, 'QUEUED');
    assert.equal(held.workerId ?? null, null, 'a draining worker takes no run');
    await writeFile(release, '');
    assert.equal(await w.exited, 0);
    assert.equal((await run(queued.runId)).status, 'SUCCESS');
    assert.ok(!(await test.instance.storage.listWorkers()).some((r) => r.workerId === id));
    // The queued run goes to the next worker.
    const next = spawnWorker();
    await registered(next);
    await waitFor(
      'the later run ran elsewhere',
      async () => ((await run(later.runId)).status === 'SUCCESS' ? true : undefined),
      60_000,
    );
    await stopWorker(next);
  });

  it('SIGTERM past the grace period: the run is killed and handed back to the queue, nothing lost', async () => {
    const { rm } = await import('node:fs/promises');
    await rm(release, { force: true });
    const w = spawnWorker(['--grace-period', '1']);
    await registered(w);
    const queued = await launch('held_job');
    await waitFor(
      'the run started',
      async () => ((await run(queued.runId)).status === 'STARTED' ? true : undefined),
      60_000,
    );
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0);
    const failed = await run(queued.runId);
    assert.equal(failed.status, 'FAILURE');
    assert.match(failed.error ?? '', /grace period \(1 s\).*handed back/);
    const { runs } = await test.instance.storage.listRuns({ limit: 50 });
    const again = runs.find((r) => r.parentRunId === queued.runId);
    assert.ok(again, 'a new run of it is queued');
    const next = spawnWorker();
    await registered(next);
    await writeFile(release, '');
    await waitFor(
      'the handed-back run succeeded',
      async () => ((await run(again.runId)).status === 'SUCCESS' ? true : undefined),
      60_000,
    );
    await stopWorker(next);
  });
});
