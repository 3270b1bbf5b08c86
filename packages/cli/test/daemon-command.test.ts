import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { waitFor } from '../../core/test/support.ts';
import { cliInstance } from './run-dag.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'packages/cli/bin/dag.js');
const defs = path.join(import.meta.dirname, 'fixtures', 'good.ts');

describe('dag daemon', () => {
  const setup = cliInstance('dag-daemon-cmd-');

  test('stops in order on SIGTERM, as dag dev and dag worker do', async () => {
    const child = spawn(process.execPath, [bin, '-f', defs, 'daemon'], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ...setup.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor(
        'the daemon start line',
        async () => /dag daemon: \S+ on instance/.test(output) || undefined,
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      assert.match(output, /dag daemon: stopping[\s\S]*dag daemon: stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
