import { spawn } from 'node:child_process';
import path from 'node:path';

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
