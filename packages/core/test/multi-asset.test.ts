import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asset, assetCheck, Definitions, materialize, multiAsset, planRun } from '../src/index.ts';
import { freshInstance, type TestInstance } from './support.ts';

let t: TestInstance;
before(async () => {
  t = await freshInstance();
});
after(async () => {
  await t.cleanup();
});

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
});
