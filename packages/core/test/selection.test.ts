import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asset, Definitions, parseSelection, planRun, SelectionError } from '../src/index.ts';

const noop = async () => {};
const a = asset({ name: 'a', group: 'src', tags: { tier: 'bronze' }, kinds: ['s3'] }, noop);
const b = asset({ name: 'b', group: 'src', deps: [a], tags: { tier: 'bronze' } }, noop);
const c = asset({ name: 'c', group: 'mart', deps: [b], tags: { tier: 'silver' }, kinds: ['postgres'] }, noop);
const d = asset({ name: 'd', group: 'mart', deps: [c] }, noop);
const other = asset({ name: 'other_thing', group: 'misc' }, noop);
const defs = new Definitions({ assets: [a, b, c, d, other] });

describe('selection syntax', () => {
  const cases: [string, string[]][] = [
    ['a', ['a']],
    ['key:b', ['b']],
    ['*', ['a', 'other_thing', 'b', 'c', 'd']],
    ['group:mart', ['c', 'd']],
    ['tag:tier=bronze', ['a', 'b']],
    ['tag:tier', ['a', 'b', 'c']],
    ['kind:postgres', ['c']],
    ['+c', ['a', 'b', 'c']],
    ['1+c', ['b', 'c']],
    ['b+', ['b', 'c', 'd']],
    ['b+1', ['b', 'c']],
    ['+c+', ['a', 'b', 'c', 'd']],
    ['group:src and tag:tier=bronze', ['a', 'b']],
    ['group:src or group:misc', ['a', 'other_thing', 'b']],
    ['not group:mart', ['a', 'other_thing', 'b']],
    ['(group:src or group:mart) and not tag:tier=bronze', ['c', 'd']],
    ['+(d) and not a', ['b', 'c', 'd']],
    ['other_*', ['other_thing']],
    ['a, d', ['a', 'd']],
    ['key:"c"', ['c']],
    // Dagster's traversal asterisks: same as '+' with no depth limit.
    ['*c', ['a', 'b', 'c']],
    ['b*', ['b', 'c', 'd']],
    ['*b*', ['a', 'b', 'c', 'd']],
    ['*c and not a', ['b', 'c']],
    // Not an asset key in the middle: a wildcard as before; an explicit key: is always one.
    ['*_thing', ['other_thing']],
    ['key:*c', ['c']],
  ];
  for (const [selection, expected] of cases) {
    test(`${selection} -> ${expected.join(',')}`, () => {
      assert.deepEqual(defs.select(selection), expected);
    });
  }

  test('results are in topological order whatever the expression order', () => {
    assert.deepEqual(defs.select('d or a or c'), ['a', 'c', 'd']);
  });

  test('parse errors point at the position', () => {
    const bad: [string, number, RegExp][] = [
      ['group:src and', 13, /expected an asset key/],
      ['(a or b', 7, /expected '\)'/],
      ['grp:src', 0, /unknown attribute 'grp:'/],
      ['a b', 2, /unexpected 'b'/],
      ['a $ b', 2, /unexpected character '\$'/],
      ['tag:', 4, /expected a value after 'tag:'/],
    ];
    for (const [selection, position, message] of bad) {
      assert.throws(
        () => parseSelection(selection),
        (error: unknown) => {
          assert.ok(error instanceof SelectionError, `${selection}: ${String(error)}`);
          assert.equal(error.position, position, `${selection}: ${error.message}`);
          assert.match(error.message, message);
          assert.match(error.message, /\^/);
          return true;
        },
      );
    }
  });

  test('an unknown key is an error with a suggestion', () => {
    assert.throws(
      () => defs.select('other_thingg'),
      /Unknown asset 'other_thingg'.*Did you mean 'other_thing'/s,
    );
  });

  test('an empty selection is an error', () => {
    assert.throws(() => defs.select('  '), SelectionError);
  });

  test('a wildcard that matches nothing resolves to no keys; planning a run of it is an error', () => {
    assert.deepEqual(defs.select('zzz*'), []);
    assert.throws(() => planRun(defs, { selection: 'zzz*' }), /Selection 'zzz\*' matches no assets/);
  });
});
