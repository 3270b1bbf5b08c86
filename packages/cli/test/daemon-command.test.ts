import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { spawnWatched, waitFor } from '../../core/test/support.ts';
import { cliInstance } from './run-dag.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'packages/cli/bin/dag.js');
const defs = path.join(import.meta.dirname, 'fixtures', 'good.ts');

describe('dag daemon', () => {
  const setup = cliInstance('dag-daemon-cmd-');

  test('stops in order on SIGTERM, as dag dev and dag worker do', async () => {
    const { child, output, exited } = spawnWatched(
      [bin, '-f', defs, 'daemon'],
      { NO_COLOR: '1', ...setup.env },
      root,
    );
    try {
      await waitFor(
        'the daemon start line',
        async () => /dag daemon: \S+ on instance/.test(output()) || undefined,
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output());
      assert.match(output(), /dag daemon: stopping[\s\S]*dag daemon: stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
