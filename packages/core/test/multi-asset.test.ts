import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asset,
  assetCheck,
  BACKFILL_TAG,
  Daemon,
  Definitions,
  dailyPartitions,
  executeStoredRun,
  launchBackfill,
  materialize,
  multiAsset,
  PARTITION_TAG,
  planRun,
} from '../src/index.ts';
import { useFreshInstance, waitFor } from './support.ts';

const t = useFreshInstance();

async function materializations(key: string): Promise<number> {
  return (await t.instance.storage.getMaterializations(key, { limit: 100 })).length;
}

describe('multi-assets', () => {
  test('one call materializes every output; each output is its own asset with its own checks', async () => {
    let calls = 0;
    const split = multiAsset(
      {
        name: 'split',
        outs: { left: { checks: [] }, right: { group: 'sides' } },
      },
      async () => {
        calls++;
        return { left: 1, right: 2 };
      },
    );
    const rightOk = assetCheck({ name: 'right_ok', asset: 'right' }, async () => ({ passed: true }));
    let sum = 0;
    const total = asset(
      { name: 'total', ins: { l: split.outs.left, r: split.outs.right } },
      async (_ctx, i) => {
        sum = i.l + i.r;
      },
    );
    const defs = new Definitions({ assets: [split, total], assetChecks: [rightOk] });
    assert.deepEqual(defs.select('*'), ['left', 'right', 'total']);
    assert.equal(defs.graph.get('right').group, 'sides');
    const result = await materialize({ instance: t.instance, definitions: defs, selection: '*' });
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(calls, 1);
    assert.equal(sum, 3);
    assert.deepEqual(
      result.steps.find((s) => s.key === 'right')?.checks.map((c) => [c.name, c.passed]),
      [['right_ok', true]],
    );
  });

  test('a subsettable multi-asset materializes only the selected outputs', async () => {
    const seen: string[][] = [];
    const pair = multiAsset(
      { name: 'pair', outs: { first: {}, second: {} }, canSubset: true },
      async (ctx) => {
        seen.push([...ctx.selectedOutputs]);
        return Object.fromEntries(ctx.selectedOutputs.map((o) => [o, o.length]));
      },
    );
    const defs = new Definitions({ assets: [pair] });
    const before1 = await materializations('first');
    const before2 = await materializations('second');
    const result = await materialize({ instance: t.instance, definitions: defs, selection: 'second' });
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.deepEqual(seen, [['second']]);
    assert.deepEqual(
      result.steps.map((s) => s.key),
      ['second'],
    );
    assert.equal(await materializations('first'), before1);
    assert.equal(await materializations('second'), before2 + 1);
  });

  test('a non-subsettable multi-asset selected partly runs whole, and the run says so', async () => {
    const seen: string[][] = [];
    const whole = multiAsset({ name: 'whole', outs: { a_out: {}, b_out: {} } }, async (ctx) => {
      seen.push([...ctx.selectedOutputs]);
      return { a_out: 'a', b_out: 'b' };
    });
    const defs = new Definitions({ assets: [whole] });
    const plan = planRun(defs, { selection: 'a_out' });
    assert.deepEqual(plan.assetSelection, ['a_out', 'b_out']);
    assert.match(plan.notes[0] ?? '', /Multi-asset 'whole' cannot materialize a subset.*'b_out'/);
    const events: string[] = [];
    const result = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: 'a_out',
      onEvent: (e) => {
        if (e.type === 'ENGINE_EVENT') events.push(e.message);
      },
    });
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.deepEqual(seen, [['a_out', 'b_out']]);
    assert.ok(events.some((m) => /cannot materialize a subset/.test(m)));
  });

  test('a non-subsettable multi-asset that leaves out an output fails, naming it', async () => {
    const partial = multiAsset({ name: 'partial', outs: { p1: {}, p2: {} } }, async () => ({ p1: 1 }));
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [partial] }),
      selection: '*',
    });
    assert.equal(result.status, 'FAILURE');
    assert.match(
      result.steps.find((s) => s.key === 'p2')?.error ?? '',
      /'partial' returned no value for its output 'p2'/,
    );
  });

  describe('partitioned', () => {
    const days = dailyPartitions({ start: '2026-11-01', timezone: 'Asia/Seoul', end: '2026-11-05' });

    test('every output shares the partitions; one call per partition stores each output per partition', async () => {
      const calls: string[] = [];
      const shards = multiAsset(
        { name: 'shards', partitions: days, outs: { shard_a: {}, shard_b: {} } },
        async (ctx) => {
          calls.push(ctx.partitionKey);
          const window = ctx.partitionTimeWindow;
          return { shard_a: `a:${ctx.partitionKey}`, shard_b: window.start.toISOString() };
        },
      );
      let read: unknown;
      const joined = asset(
        { name: 'shards_joined', partitions: days, ins: { a: shards.outs.shard_a } },
        async (ctx, { a }) => {
          read = a;
          return `${ctx.partitionKey}=${String(a)}`;
        },
      );
      const defs = new Definitions({ assets: [shards, joined] });
      assert.equal(defs.graph.get('shard_b').partitions, days);
      const result = await materialize({
        instance: t.instance,
        definitions: defs,
        selection: '*',
        partition: '2026-11-03',
      });
      assert.equal(result.status, 'SUCCESS', result.error);
      assert.deepEqual(calls, ['2026-11-03']);
      assert.equal(read, 'a:2026-11-03');
      for (const key of ['shard_a', 'shard_b', 'shards_joined']) {
        const statuses = await t.instance.storage.getPartitionStatuses(key);
        assert.deepEqual(
          statuses.map((s) => [s.partitionKey, s.status]),
          [['2026-11-03', 'MATERIALIZED']],
          key,
        );
      }
      // A key that is not one of the shared partitions is refused, naming the output asset.
      await assert.rejects(
        materialize({
          instance: t.instance,
          definitions: defs,
          selection: 'shard_a',
          partition: '2027-01-01',
        }),
        /'2027-01-01' is not a partition of asset 'shard_(a|b)'/,
      );
    });

    test('a backfill over a subsettable multi-asset runs one call per partition for the selected output only', async () => {
      const seen: string[] = [];
      const pair = multiAsset(
        { name: 'pair_days', partitions: days, outs: { day_left: {}, day_right: {} }, canSubset: true },
        async (ctx) => {
          seen.push(`${ctx.partitionKey}:${ctx.selectedOutputs.join(',')}`);
          return Object.fromEntries(ctx.selectedOutputs.map((o) => [o, ctx.partitionKey]));
        },
      );
      const defs = new Definitions({ assets: [pair] });
      const backfill = await launchBackfill({
        storage: t.instance.storage,
        definitions: defs,
        location: 'test',
        selection: 'day_right',
        partitions: '2026-11-01...2026-11-03',
      });
      const d: Daemon = new Daemon({
        instance: t.instance,
        locations: [{ name: 'test', file: 'test.ts', definitions: defs }],
        launch: async (run) => {
          await executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId });
        },
      });
      const done = await waitFor('the backfill to complete', async () => {
        await d.tick();
        const b = await t.instance.storage.getBackfill(backfill.backfillId);
        return b?.status === 'COMPLETED' ? b : undefined;
      });
      assert.equal(done.submitted, 3);
      const runs = (await t.instance.storage.listRuns({ tags: { [BACKFILL_TAG]: backfill.backfillId } }))
        .runs;
      assert.deepEqual(runs.map((r) => r.tags[PARTITION_TAG]).sort(), backfill.partitionKeys);
      assert.ok(runs.every((r) => r.status === 'SUCCESS'));
      assert.deepEqual(seen.sort(), ['2026-11-01:day_right', '2026-11-02:day_right', '2026-11-03:day_right']);
      const right = await t.instance.storage.getPartitionStatuses('day_right');
      assert.deepEqual(
        right.map((s) => s.status),
        ['MATERIALIZED', 'MATERIALIZED', 'MATERIALIZED'],
      );
      assert.deepEqual(await t.instance.storage.getPartitionStatuses('day_left'), []);
    });
  });
});
