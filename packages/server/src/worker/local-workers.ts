import { type ChildProcess, spawn } from 'node:child_process';
import type { DagInstance, Workspace } from '@dag/core';
import { DEFAULT_CLI, workspaceArgs } from '../run-launcher.ts';

export { workerDispatch } from './dispatch.ts';

/**
 * `dag dev --workers N`: N `dag worker` processes on this machine, on the same instance and
 * code locations, their output prefixed and passed on. `stop()` sends SIGTERM (they drain)
 * and waits for them.
 */
export function startLocalWorkers(options: {
  count: number;
  workspace: Workspace;
  instance: DagInstance;
  log: (text: string) => void;
  cliPath?: string;
}): { children: ChildProcess[]; stop: () => Promise<void> } {
  const env: NodeJS.ProcessEnv = { ...process.env, DAG_HOME: options.instance.home };
  if (options.instance.kind === 'postgres') env.DAG_POSTGRES_URL = options.instance.url;
  else delete env.DAG_POSTGRES_URL;
  delete env.DAG_UI_TOKEN;
  const children = Array.from({ length: options.count }, (_, i) => {
    const child = spawn(
      process.execPath,
      [options.cliPath ?? DEFAULT_CLI, ...workspaceArgs(options.workspace), 'worker'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) options.log(`[worker ${i + 1}] ${line}`);
      });
    }
    child.on('exit', (code, signal) => {
      if (code !== 0) options.log(`[worker ${i + 1}] exited (${signal ?? `code ${code}`})`);
    });
    return child;
  });
  return {
    children,
    stop: async () => {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
