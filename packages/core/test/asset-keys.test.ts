import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asset, DefinitionError, Definitions, materialize, planRun, SelectionError } from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

function project() {
  const src = asset({ name: 'raw/orders', external: true, group: 'sql' }, () => {
    throw new Error('an external asset is never run');
  });
  const loaded = asset({ name: 'src_customer', group: 'sql' }, () => 1);
  const dim = asset({ name: 'dim/dim_customer', deps: [loaded, src], group: 'sql', io: false }, () => {});
  const dimOrder = asset({ name: 'dim/dim_order', deps: [src], group: 'sql', io: false }, () => {});
  const fct = asset({ name: 'fct/fct_order', deps: [dim, dimOrder], group: 'sql' }, () => 'f');
  return new Definitions({ assets: [src, loaded, dim, dimOrder, fct] });
}

describe('multi-part asset keys', () => {
  test('a key is names joined by /, each a valid name', () => {
    assert.equal(asset({ name: 'a/b/c' }, () => {}).key, 'a/b/c');
    for (const bad of ['a//b', '/a', 'a/', 'a/1b', 'a b/c']) {
      assert.throws(
        () => asset({ name: bad }, () => {}),
        (e: Error) => {
          assert.ok(e instanceof DefinitionError);
          assert.match(e.message, /Invalid asset name .*names joined by '\//);
          assert.ok(e.message.includes(JSON.stringify(bad)));
          return true;
        },
      );
    }
  });

  test('selection takes path keys: key:dim/*, dim/x+, +fct/x, and plain keys still work', () => {
    const defs = project();
    assert.deepEqual(defs.select('key:dim/*').sort(), ['dim/dim_customer', 'dim/dim_order']);
    assert.deepEqual(defs.select('dim/*').sort(), ['dim/dim_customer', 'dim/dim_order']);
    assert.deepEqual(defs.select('dim/dim_customer+'), ['dim/dim_customer', 'fct/fct_order']);
    assert.deepEqual(defs.select('+dim/dim_customer'), ['raw/orders', 'src_customer', 'dim/dim_customer']);
    assert.deepEqual(defs.select('src_customer'), ['src_customer']);
    assert.throws(
      () => defs.select('dim/dim_custmer'),
      /Unknown asset 'dim\/dim_custmer'.*dim\/dim_customer/s,
    );
  });

  test('external assets are in the graph but never in a run', () => {
    const defs = project();
    const plan = planRun(defs, { selection: '+fct/fct_order' });
    assert.deepEqual(plan.steps.map((s) => s.key).sort(), [
      'dim/dim_customer',
      'dim/dim_order',
      'fct/fct_order',
      'src_customer',
    ]);
    assert.throws(
      () => planRun(defs, { selection: 'raw/orders' }),
      (e: Error) => e instanceof SelectionError && /only external assets \(raw\/orders\)/.test(e.message),
    );
  });

  test('a run over path keys materializes and stores values under the path', async () => {
    const defs = project();
    const result = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: '+fct/fct_order',
    });
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.deepEqual(result.steps.map((s) => [s.key, s.status]).sort(), [
      ['dim/dim_customer', 'success'],
      ['dim/dim_order', 'success'],
      ['fct/fct_order', 'success'],
      ['src_customer', 'success'],
    ]);
    const [record] = await t.instance.storage.getAssetRecords(['fct/fct_order']);
    assert.equal(record?.lastRunId, result.runId, 'the materialization is recorded under the path key');
  });
});
