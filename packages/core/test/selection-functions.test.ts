import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asset, Definitions, SelectionError, selectionOfKeys, selectionUses } from '../src/index.ts';

const noop = async () => {};
const defs = new Definitions({
  assets: Array.from({ length: 3000 }, (_, i) =>
    asset({ name: `k${i}`, deps: i ? [`k${i - 1}`] : [] }, noop),
  ),
});

describe('selection functions and key lists', () => {
  test('stale() resolves from the context it is given, and composes', () => {
    const stale = new Set(['k5', 'k7']);
    assert.deepEqual(defs.select('stale()', { stale }), ['k5', 'k7']);
    assert.deepEqual(defs.select('stale() and not k7', { stale }), ['k5']);
    assert.equal(defs.select('stale()+', { stale }).length, 2995);
    assert.ok(selectionUses('group:x or stale()', 'stale'));
    assert.ok(!selectionUses('k1+', 'stale'));
  });

  test('stale() without the instance, or an unknown function, is a clear error', () => {
    assert.throws(
      () => defs.select('stale()'),
      (e: unknown) => {
        assert.ok(e instanceof SelectionError);
        assert.match(e.message, /stale\(\) in selection "stale\(\)" depends on the instance/);
        return true;
      },
    );
    assert.throws(() => defs.select('fresh()'), /unknown function 'fresh\(\)'; supported: stale\(\)/);
  });

  test('a selection of thousands of keys stays within the nesting limit', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`).filter((_, i) => i % 2 === 0);
    assert.deepEqual(defs.select(selectionOfKeys(keys)), keys);
  });
});
