import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliInstance, dag } from './run-dag.ts';

describe('dag pool', () => {
  const setup = cliInstance('dag-cli-pool-');

  test('set, list (table and JSON) and delete a pool limit; bad input is refused with a reason', async () => {
    const set = await dag(['pool', 'set', 'bigcommerce', '2'], setup.env);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /Pool 'bigcommerce': at most 2 steps at once/);
    const listed = await dag(['pool', 'list'], setup.env);
    assert.match(listed.stdout, /bigcommerce\s+2\s+0/);
    const json = await dag(['pool', 'list', '--json'], setup.env);
    assert.deepEqual(JSON.parse(json.stdout), {
      pools: [{ name: 'bigcommerce', limit: 2, inUse: 0, holders: [] }],
    });
    const negative = await dag(['pool', 'set', 'bigcommerce', '-1'], setup.env);
    assert.notEqual(negative.code, 0);
    const notANumber = await dag(['pool', 'set', 'bigcommerce', 'many'], setup.env);
    assert.notEqual(notANumber.code, 0);
    assert.match(notANumber.stderr, /must be a whole number >= 0/);
    const badName = await dag(['pool', 'set', 'big commerce', '1'], setup.env);
    assert.notEqual(badName.code, 0);
    assert.match(badName.stderr, /Invalid pool name/);
    const deleted = await dag(['pool', 'delete', 'bigcommerce'], setup.env);
    assert.equal(deleted.code, 0, deleted.stderr);
    const again = await dag(['pool', 'delete', 'bigcommerce'], setup.env);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /has no limit set/);
    assert.match((await dag(['pool', 'list'], setup.env)).stdout, /No pools/);
  });
});
