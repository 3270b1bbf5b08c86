import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Daemon, type MetadataSeries, materialize } from '@dag/core';
import { call, type ServerFixture, serverFixture } from './support.ts';

describe('asset history API: plots, staleness, automation', () => {
  let fx: ServerFixture;
  before(async () => {
    fx = await serverFixture({ file: path.join(import.meta.dirname, 'fixtures', 'history-defs.ts') });
    const location = fx.workspace.locations[0]!;
    for (const rows of [5, 7, 9]) {
      const result = await materialize({
        instance: fx.test.instance,
        definitions: location.definitions,
        selection: 'counted',
        runConfig: { ops: { counted: { config: { rows } } } },
      });
      assert.equal(result.status, 'SUCCESS', result.error);
    }
    await new Daemon({
      instance: fx.test.instance,
      locations: [location],
      maxConcurrentRuns: 0,
      launch: async () => {},
    }).tick();
  });
  after(async () => {
    await fx.close();
  });

  test('plots: every numeric metadata key as a series, oldest first', async () => {
    const res = await call<{ series: MetadataSeries[] }>(fx.app, '/api/assets/counted/plots');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.series.map((s) => [s.key, s.type, s.points.map((p) => p.value)]),
      [
        ['rows', 'int', [5, 7, 9]],
        ['took', 'duration', [50, 70, 90]],
      ],
    );
    assert.equal((await call(fx.app, '/api/assets/nope/plots')).status, 404);
  });

  test('staleness: the reasons, and the versions recorded', async () => {
    const res = await call<{ stale: boolean; reasons: { cause: string }[]; codeVersion: string }>(
      fx.app,
      '/api/assets/counted/staleness',
    );
    assert.equal(res.body.stale, true);
    // Materialized with rows: 9, while it runs with rows: 1 by default.
    assert.deepEqual(
      res.body.reasons.map((r) => r.cause),
      ['config'],
    );
    assert.equal(res.body.codeVersion, '1');
  });

  test('automation: the condition and its explained evaluations', async () => {
    const res = await call<{
      condition: string;
      evaluations: { requested: boolean; explanation: { label: string; reason: string } }[];
    }>(fx.app, '/api/assets/follower/automation');
    assert.equal(res.body.condition, 'eager()');
    assert.equal(res.body.evaluations[0]?.requested, true);
    assert.equal(res.body.evaluations[0]?.explanation.label, 'eager()');
    assert.match(res.body.evaluations[0]?.explanation.reason ?? '', /never materialized/);
  });
});
