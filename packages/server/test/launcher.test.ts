import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { RunRecord, StoredEvent } from '@dag/core';
import pg from 'pg';
import { processTree } from '../src/process-table.ts';
import {
  call,
  openGate,
  processState,
  type ServerFixture,
  serverFixture,
  useGates,
  waitFor,
} from './support.ts';

type Json = Record<string, unknown>;

/**
 * The pids of a run's process and what it spawned, once `sleeps` of them are `sleep` (a tree
 * seen earlier may hold only the TypeScript loader's helper, while the run still answers).
 */
function sleepingTree(fx: ServerFixture, runId: string, sleeps: number): Promise<number[]> {
  return waitFor(`the run process tree with ${sleeps} sleep(s)`, async () => {
    const run = await fx.test.instance.storage.getRun(runId);
    if (!run?.pid) return undefined;
    const procs = await processTree(run.pid);
    let seen = 0;
    for (const p of procs) {
      const comm = await readFile(`/proc/${p.pid}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === 'sleep') seen++;
    }
    return seen === sleeps ? [run.pid, ...procs.map((p) => p.pid)] : undefined;
  });
}

describe('one process per run', () => {
  let fx: ServerFixture;
  let removeGates: () => Promise<void>;
  before(async () => {
    removeGates = await useGates();
    fx = await serverFixture();
  });
  after(async () => {
    await fx.close();
    await removeGates();
  });

  test('terminate kills the run and every process it spawned', async () => {
    const launched = await call<{ runId: string }>(fx.app, '/api/runs', { json: { selection: 'spawner' } });
    assert.equal(launched.status, 201, launched.text);
    const { runId } = launched.body;
    // Wait until the step's shell has started both sleeps.
    const tree = await sleepingTree(fx, runId, 2);
    assert.ok(tree.length >= 4, `run process, sh and two sleeps: ${tree}`);

    const res = await call<{ runId: string; status: string }>(fx.app, `/api/runs/${runId}/terminate`, {
      method: 'POST',
    });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { runId, status: 'CANCELING' });
    await fx.launcher.waitFor(runId);
    await waitFor(
      'every process of the run to be gone',
      async () => {
        const alive = [];
        for (const pid of tree) {
          const state = await processState(pid);
          if (state !== undefined && state !== 'Z') alive.push(pid);
        }
        return alive.length === 0 ? true : undefined;
      },
      15_000,
    );
    const detail = await call<{ run: RunRecord; steps: Json[] }>(fx.app, `/api/runs/${runId}`);
    assert.equal(detail.body.run.status, 'CANCELED');
    assert.equal(detail.body.steps[0]!.status, 'canceled');
    const again = await call(fx.app, `/api/runs/${runId}/terminate`, { method: 'POST' });
    assert.equal(again.status, 409);
  });

  test('a run that does not stop within the grace period has its process tree killed', async () => {
    const launched = await call<{ runId: string }>(fx.app, '/api/runs', { json: { selection: 'stubborn' } });
    const { runId } = launched.body;
    const tree = await sleepingTree(fx, runId, 1);
    const started = Date.now();
    assert.equal((await call(fx.app, `/api/runs/${runId}/terminate`, { method: 'POST' })).status, 202);
    await fx.launcher.waitFor(runId);
    assert.ok(Date.now() - started >= 2500, 'the run had its grace period (3 s in tests)');
    for (const pid of tree)
      assert.ok([undefined, 'Z'].includes(await processState(pid)), `process ${pid} survived`);
    const run = (await fx.test.instance.storage.getRun(runId))!;
    // SIGTERM reaches the blocking sleep and the run process together: the step fails as its
    // sleep dies, racing the run's own cancel (see the report on executor final statuses).
    assert.ok(['CANCELED', 'FAILURE'].includes(run.status), run.status);
    const logs = await call(fx.app, `/api/runs/${runId}/logs`);
    assert.match(logs.text, /run process (exited with code|was killed by)/);
  });

  test('a run process that crashes leaves the server up and the run FAILED, naming the exit code and log', async () => {
    const launched = await call<{ runId: string }>(fx.app, '/api/runs', { json: { selection: 'crasher' } });
    assert.equal(launched.status, 201, launched.text);
    const { runId } = launched.body;
    await waitFor('the line logged before the crash', async () =>
      (await fx.test.instance.storage.getEvents(runId)).some((e) => e.message.includes('about to crash'))
        ? true
        : undefined,
    );
    await openGate(`crasher-${runId}`);
    await fx.launcher.waitFor(runId);
    const detail = await call<{ run: RunRecord; steps: Json[] }>(fx.app, `/api/runs/${runId}`);
    assert.equal(detail.body.run.status, 'FAILURE');
    assert.match(detail.body.run.error ?? '', /exited with code 3/);
    assert.match(detail.body.run.error ?? '', new RegExp(`logs/${runId}\\.log`));
    assert.ok(detail.body.run.endedAt);
    assert.equal(detail.body.steps[0]!.status, 'failure');
    const events = await call<{ events: StoredEvent[] }>(fx.app, `/api/runs/${runId}/events`);
    assert.equal(events.body.events.at(-1)!.type, 'RUN_FAILURE');
    assert.ok(events.body.events.some((e) => e.message.includes('about to crash')));
    const logs = await call(fx.app, `/api/runs/${runId}/logs`);
    assert.match(logs.text, /run process exited with code 3/);
    // The server still answers.
    assert.equal((await call(fx.app, '/api/definitions')).status, 200);
  });

  test('terminating a run that has not started executing yet cancels it', async () => {
    const launched = await call<{ runId: string }>(fx.app, '/api/runs', { json: { selection: 'chatty' } });
    const { runId } = launched.body;
    const res = await call(fx.app, `/api/runs/${runId}/terminate`, { method: 'POST' });
    assert.equal(res.status, 202);
    await fx.launcher.waitFor(runId);
    const run = (await fx.test.instance.storage.getRun(runId))!;
    assert.equal(run.status, 'CANCELED');
  });
});

describe('shutting down while the instance refuses connections', () => {
  test('the server stops its runs all the same, and records them once the instance answers', async () => {
    const fx = await serverFixture();
    const dbName = new URL(fx.test.url).pathname.slice(1);
    const adminUrl = new URL(fx.test.url);
    adminUrl.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    const allow = (yes: boolean) => admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS ${yes}`);
    try {
      const launched = await call<{ runId: string }>(fx.app, '/api/runs', {
        json: { selection: 'stubborn' },
      });
      assert.equal(launched.status, 201, launched.text);
      const { runId } = launched.body;
      const tree = await sleepingTree(fx, runId, 1);
      // The instance goes away: no new connection, and the open ones are cut.
      await allow(false);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
        dbName,
      ]);
      const closing = fx.launcher.close();
      await waitFor(
        'every process of the run to be gone while the instance refuses connections',
        async () => {
          for (const pid of tree) if (![undefined, 'Z'].includes(await processState(pid))) return undefined;
          return true;
        },
        30_000,
      );
      await allow(true);
      await closing;
      const run = (await fx.test.instance.storage.getRun(runId))!;
      assert.ok(['CANCELED', 'FAILURE'].includes(run.status), `${run.status}: no run is left STARTED`);
    } finally {
      await allow(true);
      await admin.end();
      await fx.close();
    }
  });
});
