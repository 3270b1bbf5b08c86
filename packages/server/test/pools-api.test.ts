import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { instancePools } from '@dag/core';
import { call, type ServerFixture, serverFixture } from './support.ts';

describe('GET /api/pools', () => {
  let fx: ServerFixture;
  before(async () => {
    fx = await serverFixture();
  });
  after(async () => {
    await fx?.close();
  });

  test('lists each pool with its limit, its slots in use and who holds them', async () => {
    const pools = instancePools(fx.test.instance);
    await pools.setLimit('bigcommerce', 1);
    const runId = randomUUID();
    await fx.test.instance.storage.createRun({
      runId,
      jobName: 'j',
      status: 'STARTED',
      assetSelection: null,
    });
    assert.equal((await pools.tryClaim('crm', runId, 'push')).claimed, true);
    const res = await call<{
      pools: { name: string; limit: number | null; inUse: number; holders: unknown[] }[];
    }>(fx.app, '/api/pools');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.pools.map((p) => [p.name, p.limit, p.inUse, p.holders.length]),
      [
        ['bigcommerce', 1, 0, 0],
        ['crm', null, 1, 1],
      ],
    );
  });
});
