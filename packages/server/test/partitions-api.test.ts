import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BACKFILL_TAG, Daemon, isProcessAlive, materialize, type RunRecord } from '@dag/core';
import { waitFor } from '../../core/test/support.ts';
import { call, type ServerFixture, serverFixture } from './support.ts';

const file = path.join(import.meta.dirname, 'fixtures', 'partition-defs.ts');

describe('partitions and backfills API', () => {
  let f: ServerFixture;
  before(async () => {
    f = await serverFixture({ file });
  });
  after(async () => {
    await f.close();
  });

  test('GET /api/assets/:key/partitions: every partition and its status', async () => {
    const definitions = f.workspace.locations[0]!.definitions;
    const run = await materialize({
      instance: f.test.instance,
      definitions,
      selection: 'events',
      partition: '2026-11-02',
    });
    assert.equal(run.status, 'SUCCESS', run.error);
    const res = await call<{
      keys: string[];
      statuses: string[];
      counts: Record<string, number>;
      partitions: { type: string };
    }>(f.app, '/api/assets/events/partitions');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.partitions.type, 'daily');
    assert.equal(res.body.keys.length, 30);
    assert.equal(res.body.statuses[1], 'MATERIALIZED');
    assert.equal(res.body.counts.MISSING, 29);
    // The compact form: the same keys and statuses, front-coded and one character each.
    const compact = await call<{ keys: string[]; statuses: string; statusNames: string[]; counts: unknown }>(
      f.app,
      '/api/assets/events/partitions?format=compact',
    );
    assert.equal(compact.status, 200, compact.text);
    assert.deepEqual(compact.body.statusNames, ['MATERIALIZED', 'FAILED', 'IN_PROGRESS', 'MISSING']);
    assert.deepEqual(
      [...compact.body.statuses].map((c) => compact.body.statusNames[Number(c)]),
      res.body.statuses,
    );
    assert.deepEqual(compact.body.keys.slice(0, 3), ['02026-11-01', '92', '93']);
    assert.deepEqual(compact.body.counts, res.body.counts);
    const size = (...parts: unknown[]) => parts.reduce<number>((n, p) => n + JSON.stringify(p).length, 0);
    assert.ok(
      size(compact.body.keys, compact.body.statuses) < size(res.body.keys, res.body.statuses) / 3,
      'keys and statuses in a third of the bytes',
    );
    const unknown = await call<{ error: { message: string } }>(
      f.app,
      '/api/assets/events/partitions?format=csv',
    );
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /Unknown partitions format 'csv': use format=compact/);
    // Revalidated by its ETag: unchanged statuses are a 304 with no body; a new status changes it.
    const etag = res.headers.get('ETag');
    assert.ok(etag, 'an ETag');
    const unchanged = await call(f.app, '/api/assets/events/partitions', {
      headers: { 'If-None-Match': etag },
    });
    assert.equal(unchanged.status, 304);
    assert.equal(unchanged.text, '');
    const third = await materialize({
      instance: f.test.instance,
      definitions,
      selection: 'events',
      partition: '2026-11-03',
    });
    assert.equal(third.status, 'SUCCESS', third.error);
    const changed = await call<{ statuses: string[] }>(f.app, '/api/assets/events/partitions', {
      headers: { 'If-None-Match': etag },
    });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('ETag'), etag);
    assert.equal(changed.body.statuses[2], 'MATERIALIZED');
    assert.equal((await call(f.app, '/api/assets/plain/partitions')).status, 400);
    const asset = await call<{ asset: { partitions: unknown } }>(f.app, '/api/assets/events');
    assert.deepEqual(asset.body.asset.partitions, {
      type: 'daily',
      description: 'daily from 2026-11-01 (Asia/Seoul)',
    });
  });

  test('POST /api/runs with a partition: a bad key is a 400 naming the asset and the valid range', async () => {
    const res = await call<{ error: { message: string } }>(f.app, '/api/runs', {
      json: { selection: 'events', partition: '2027-01-01' },
    });
    assert.equal(res.status, 400);
    assert.match(
      res.body.error.message,
      /not a partition of asset 'events'; valid: 2026-11-01\.\.\.2026-11-30/,
    );
  });

  test('backfills: launch, list, show, cancel; dynamic keys through the API', async () => {
    const launched = await call<{ backfill: { backfillId: string; partitionCount: number; status: string } }>(
      f.app,
      '/api/backfills',
      { json: { selection: 'events', partitions: '2026-11-01...2026-11-10', singleRun: false } },
    );
    assert.equal(launched.status, 201, launched.text);
    assert.equal(launched.body.backfill.partitionCount, 10);
    const id = launched.body.backfill.backfillId;
    const list = await call<{ backfills: { backfillId: string }[] }>(f.app, '/api/backfills');
    assert.deepEqual(
      list.body.backfills.map((b) => b.backfillId),
      [id],
    );
    const shown = await call<{ backfill: { partitionKeys: string[] } }>(f.app, `/api/backfills/${id}`);
    assert.equal(shown.body.backfill.partitionKeys.length, 10);
    assert.equal((await call(f.app, '/api/backfills/nope')).status, 404);
    const bad = await call<{ error: { message: string } }>(f.app, '/api/backfills', {
      json: { selection: 'plain' },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /None of the assets selected \(plain\) is partitioned/);
    const canceled = await call<{ backfill: { status: string } }>(f.app, `/api/backfills/${id}/cancel`, {
      method: 'POST',
    });
    assert.equal(canceled.body.backfill.status, 'CANCELING');
    const added = await call<{ added: string[] }>(f.app, '/api/partitions/customers', {
      json: { keys: ['acme'] },
    });
    assert.deepEqual(added.body.added, ['acme']);
    assert.deepEqual((await call<{ keys: string[] }>(f.app, '/api/partitions/customers')).body.keys, [
      'acme',
    ]);
    assert.equal((await call(f.app, '/api/partitions/nope')).status, 404);
    // The Partitions page's index: every partitioned asset with its counts, and the dynamic partitions.
    const index = await call<{
      assets: {
        assetKey: string;
        total: number;
        partitions: { dynamic?: string[] };
        counts: Record<string, number>;
      }[];
      dynamic: { name: string; keyCount: number; assets: string[] }[];
    }>(f.app, '/api/partitions');
    assert.equal(index.status, 200, index.text);
    assert.deepEqual(
      index.body.assets.map((a) => [a.assetKey, a.total, a.partitions.dynamic ?? null]),
      [
        ['events', 30, null],
        ['customer_report', 1, ['customers']],
        ['stubborn', 2, null],
      ],
    );
    assert.equal(index.body.assets[0]!.counts.MATERIALIZED, 2); // 2026-11-02 and 2026-11-03, above
    assert.deepEqual(index.body.dynamic, [{ name: 'customers', keyCount: 1, assets: ['customer_report'] }]);
    const removed = await call<{ deleted: string[] }>(f.app, '/api/partitions/customers/acme', {
      method: 'DELETE',
    });
    assert.deepEqual(removed.body.deleted, ['acme']);
    const again = await call<{ error: { message: string } }>(f.app, '/api/partitions/customers/acme', {
      method: 'DELETE',
    });
    assert.equal(again.status, 404);
    assert.match(again.body.error.message, /Dynamic partitions 'customers' has no key 'acme'/);
  });

  test('canceling a backfill terminates its running runs: a process that does not stop is killed, the runs end CANCELED', async () => {
    const storage = f.test.instance.storage;
    const daemon = new Daemon({
      instance: f.test.instance,
      locations: f.workspace.locations,
      launch: async (run) => await f.launcher.execute(run.runId),
      terminate: (runId) => f.launcher.terminate(runId),
    });
    const launched = await call<{ backfill: { backfillId: string } }>(f.app, '/api/backfills', {
      json: { selection: 'stubborn' },
    });
    assert.equal(launched.status, 201, launched.text);
    const id = launched.body.backfill.backfillId;
    const runsOf = async (): Promise<RunRecord[]> =>
      (await storage.listRuns({ tags: { [BACKFILL_TAG]: id } })).runs;
    // Two partitions, each run in a process of its own, both running.
    const running = await waitFor(
      'both runs of the backfill to run',
      async () => {
        await daemon.tick();
        const runs = await runsOf();
        return runs.length === 2 && runs.every((r) => r.status === 'STARTED' && r.pid) ? runs : undefined;
      },
      120_000,
    );
    const canceled = await call<{ backfill: { status: string } }>(f.app, `/api/backfills/${id}/cancel`, {
      method: 'POST',
    });
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.body.backfill.status, 'CANCELING');
    // Their step ignores the terminate: the launcher kills each process after its grace period.
    const ended = await waitFor(
      'the runs to end',
      async () => {
        const runs = await runsOf();
        return runs.every((r) => ['SUCCESS', 'FAILURE', 'CANCELED'].includes(r.status)) ? runs : undefined;
      },
      60_000,
    );
    assert.deepEqual(
      ended.map((r) => r.status),
      ['CANCELED', 'CANCELED'],
    );
    for (const r of running)
      assert.equal(isProcessAlive(r.pid!), false, `process ${r.pid} of run ${r.runId}`);
    await daemon.tick();
    const after = await call<{ backfill: { status: string; runCounts: Record<string, number> } }>(
      f.app,
      `/api/backfills/${id}`,
    );
    assert.equal(after.body.backfill.status, 'CANCELED');
    assert.deepEqual(after.body.backfill.runCounts, { CANCELED: 2 });
    // Nothing changes afterwards.
    await daemon.tick();
    assert.deepEqual(
      (await runsOf()).map((r) => r.status),
      ['CANCELED', 'CANCELED'],
    );
  });
});
