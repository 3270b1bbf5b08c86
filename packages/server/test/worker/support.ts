import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Daemon, type DagInstance, type TagConcurrencyLimit, Workspace } from '@dag/core';
import { DEFAULT_CLI } from '../../src/run-launcher.ts';
import { workerDispatch } from '../../src/worker/dispatch.ts';

export const WORKER_FIXTURE = path.join(import.meta.dirname, 'worker-defs.ts');

/** Worker liveness for tests: the production defaults (heartbeat 2 s, presumed dead after 10 s, lease 6 s). */
export const WORKER_TEST_ENV = { DAG_WORKER_HEARTBEAT_MS: '2000', DAG_WORKER_TIMEOUT_MS: '10000' };

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | NodeJS.Signals | null>;
  id: () => string | undefined;
}

/** `dag worker` as its own process (the compiled CLI), on the test instance. */
export function startWorker(
  instance: { home: string; url: string },
  options: { concurrency?: number; env?: NodeJS.ProcessEnv; args?: string[]; wrap?: string[] } = {},
): WorkerProcess {
  const argv = [
    process.execPath,
    DEFAULT_CLI,
    '-f',
    WORKER_FIXTURE,
    'worker',
    '--concurrency',
    String(options.concurrency ?? 4),
    ...(options.args ?? []),
  ];
  const [command, ...args] = [...(options.wrap ?? []), ...argv];
  const child = spawn(command!, args, {
    env: {
      ...process.env,
      ...WORKER_TEST_ENV,
      DAG_HOME: instance.home,
      DAG_POSTGRES_URL: instance.url,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return {
    child,
    output: () => out,
    exited,
    id: () => /dag worker: (\S+) taking runs/.exec(out)?.[1],
  };
}

/** The daemon's run queue in this process, handing admitted runs to workers. */
export async function startDispatchingDaemon(
  instance: DagInstance,
  options: { maxConcurrentRuns?: number; tagConcurrencyLimits?: TagConcurrencyLimit[] } = {},
): Promise<{ daemon: Daemon; stop: () => Promise<void> }> {
  const workspace = await Workspace.load({ file: WORKER_FIXTURE });
  const dispatch = await workerDispatch(instance);
  const daemon = new Daemon({
    instance,
    locations: workspace.locations,
    launch: (run) => dispatch.launch(run),
    launchBlocked: () => dispatch.launchBlocked(),
    maxConcurrentRuns: options.maxConcurrentRuns ?? 100,
    ...(options.tagConcurrencyLimits ? { tagConcurrencyLimits: options.tagConcurrencyLimits } : {}),
    liveness: { heartbeatMs: 500, timeoutMs: 20_000 },
  });
  const controller = new AbortController();
  const done = daemon.run(controller.signal, { idleMs: 500 });
  return {
    daemon,
    stop: async () => {
      controller.abort();
      await done;
      await dispatch.close();
    },
  };
}

/** Stops a worker process: SIGTERM, then SIGKILL if it has not exited in time. */
export async function stopWorker(w: WorkerProcess, timeoutMs = 20_000): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), timeoutMs);
  await w.exited;
  clearTimeout(timer);
}
