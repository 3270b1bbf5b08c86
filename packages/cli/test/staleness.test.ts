import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cliInstance, dag } from './run-dag.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'versions.ts');

interface Listed {
  key: string;
  stale: boolean;
  staleReasons: string[];
}

describe('dag list --status and materialize stale()', () => {
  const setup = cliInstance('dag-cli-');

  const list = async (extra: NodeJS.ProcessEnv = {}) => {
    const res = await dag(['-f', fixture, 'list', '--status', '--json'], { ...setup.env, ...extra });
    assert.equal(res.code, 0, res.stderr);
    return Object.fromEntries(
      (JSON.parse(res.stdout) as { assets: Listed[] }).assets.map((a) => [a.key, [a.stale, a.staleReasons]]),
    );
  };

  test('a code change shows as stale with its reason, and stale() refreshes only that', async () => {
    assert.equal((await dag(['-f', fixture, 'materialize', '--select', '*', '--json'], setup.env)).code, 0);
    const changed = { DERIVED_CODE_VERSION: '2' };
    assert.deepEqual(await list(changed), {
      source: [false, []],
      derived: [true, ['code version changed: 1 -> 2']],
    });
    const run = await dag(['-f', fixture, 'materialize', '--select', 'stale()', '--json'], {
      ...setup.env,
      ...changed,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      (JSON.parse(run.stdout) as { steps: { key: string }[] }).steps.map((s) => s.key),
      ['derived'],
    );
    // Spawns are few (each loads the CLI): the human listing checks the refreshed state.
    const human = await dag(['-f', fixture, 'list', '--status'], { ...setup.env, ...changed });
    assert.match(human.stdout, /derived\s/);
    assert.doesNotMatch(human.stdout, /STALE/);
  });
});
