import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { freshDatabase, tempDir } from '../../core/test/support.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'packages/cli/bin/dag.js');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `dag` CLI as a child process (from the repository root by default) and collects its output. */
export function dag(args: string[], env: NodeJS.ProcessEnv, cwd = root): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A fresh instance database and DAG_HOME for the tests of one `describe`, dropped and removed
 * after them. `env` (what to pass to `dag`) and `home` are set once its `before` hook has run;
 * `extraEnv` adds variables derived from `home`.
 */
export function cliInstance(
  prefix: string,
  extraEnv: (home: string) => NodeJS.ProcessEnv = () => ({}),
): { env: NodeJS.ProcessEnv; home: string } {
  const setup = { env: {} as NodeJS.ProcessEnv, home: '' };
  let drop: (() => Promise<void>) | undefined;
  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    setup.home = await tempDir(prefix);
    setup.env = { DAG_POSTGRES_URL: db.url, DAG_HOME: setup.home, ...extraEnv(setup.home) };
  });
  after(async () => {
    await drop?.();
    if (setup.home) await rm(setup.home, { recursive: true, force: true });
  });
  return setup;
}
