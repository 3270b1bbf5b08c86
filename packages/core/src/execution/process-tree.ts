import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SpawnOptions, SpawnResult } from '../types.ts';
import type { StoredRunPlan } from './stored-run.ts';

/**
 * Every descendant pid of `pid` (children, grandchildren, ...), from /proc where available, else
 * `ps`. /proc is read synchronously: its files are in memory, and a scan of a few hundred
 * processes costs a few milliseconds this way against tens through the thread pool.
 */
export async function descendants(pid: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Field 4 is the ppid; the command (field 2) may contain spaces, so parse after its ')'.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parentOf.set(Number(entry), Number(fields[1]));
      } catch {
        // The process exited while we were reading.
      }
    }
  } catch {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    for (const line of out.trim().split('\n')) {
      const [p, pp] = line.trim().split(/\s+/).map(Number);
      if (p !== undefined && pp !== undefined) parentOf.set(p, pp);
    }
  }
  const out: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const current = frontier.pop()!;
    for (const [child, parent] of parentOf) {
      if (parent === current && !out.includes(child)) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Whether a process exists (signal 0 probes without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills a process and all its descendants: SIGTERM first, SIGKILL after `graceMs` for what
 * is left (SIGKILL at once when `graceMs` is 0). Descendants are collected before signalling, since a parent that dies first
 * leaves its children re-parented and unreachable through the tree.
 */
export async function killProcessTree(pid: number, graceMs = 3000): Promise<void> {
  const tree = [pid, ...(await descendants(pid))];
  // No grace: SIGKILL only, so that nothing of the tree gets to act on a SIGTERM first.
  if (graceMs <= 0) {
    signal(-pid, 'SIGKILL');
    for (const p of tree) signal(p, 'SIGKILL');
  } else {
    // The process group too: children started in the group but not yet visible in /proc.
    signal(-pid, 'SIGTERM');
    for (const p of tree) signal(p, 'SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && tree.some(isProcessAlive)) await new Promise((r) => setTimeout(r, 50));
  const late = [...tree, ...(await descendants(pid))];
  signal(-pid, 'SIGKILL');
  for (const p of late) if (isProcessAlive(p)) signal(p, 'SIGKILL');
}

/**
 * Runs a command in its own process group, hands each output line to `onLine`, and kills
 * the whole tree when `signal` aborts. Resolves when the process exits (never rejects for a
 * non-zero exit: the caller decides what a failure is).
 */
export async function spawnProcess(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { signal: AbortSignal; onLine: NonNullable<SpawnOptions['onLine']> },
): Promise<SpawnResult> {
  const tailSize = options.tailLines ?? 40;
  const tail: string[] = [];
  if (options.signal.aborted)
    return { exitCode: null, signal: 'SIGTERM', tail: ['(not started: the run was terminated)'] };
  return await new Promise<SpawnResult>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let killing: Promise<void> | undefined;
    const onAbort = () => {
      if (child.pid !== undefined) killing = killProcessTree(child.pid);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    const pending: Promise<void>[] = [];
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', (line) => {
        tail.push(line);
        if (tail.length > tailSize) tail.shift();
        options.onLine(line, name);
      });
      pending.push(new Promise((r) => lines.on('close', () => r())));
    }
    child.on('error', (error) => {
      options.signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (exitCode, sig) => {
      options.signal.removeEventListener('abort', onAbort);
      void Promise.all([...pending, killing]).then(() => resolve({ exitCode, signal: sig, tail }));
    });
  });
}

/**
 * For a run process a worker started with an IPC channel: when that channel closes (the worker
 * died, even by kill -9), kill everything this process spawned and exit at once, recording
 * nothing. The run is then failed by whoever finds its worker dead, and retried; no step of
 * it goes on behind a retry's back. Without a channel, nothing happens.
 */
export function exitWithParent(code = 70): void {
  const channel = process.channel;
  if (!channel) return;
  // The channel must not keep a finished run process alive.
  channel.unref();
  process.once('disconnect', () => {
    void descendants(process.pid)
      .then((pids) => {
        for (const pid of pids) signal(pid, 'SIGKILL');
      })
      .finally(() => process.exit(code));
  });
}

/** What a launcher hands a run process it started ahead of time: the run to execute. */
export interface RunHandoff {
  runId: string;
  /** The run's config with its secrets, when the launcher holds it. */
  runConfig?: unknown;
  /** The run as the launcher just read it (a worker's assignment), so the process need not read it again. */
  run?: StoredRunPlan;
  /**
   * The process is kept for further runs: after this one it reports `RunFinished` and waits
   * for the next handoff (or exits when the launcher disconnects). Without it, it exits.
   */
  reuse?: boolean;
}

/** What a reused run process tells its launcher after each run (see `reportRunFinished`). */
export interface RunFinished {
  type: 'dag:run-finished';
  runId: string;
  /** The run's final status, as this process recorded it. */
  status: string;
  /** Resident memory after the run (bytes). */
  rss: number;
  /** CPU time this process has used so far (user + system, ms). */
  cpuMs: number;
  /** Processes the run left running below this one (the launcher then retires it). */
  leftover: number;
  /** Bytes this process wrote to its stdout and stderr so far (the launcher reads its output up to there). */
  stdoutBytes: number;
  stderrBytes: number;
}

const RUN_PROCESS_READY = 'dag:run-process-ready';

/** What a run process started ahead of time tells its launcher once it waits for a run. */
export interface RunProcessReady {
  type: typeof RUN_PROCESS_READY;
}

/** Whether an IPC message from a run process says it is ready for a run. */
export function isRunProcessReady(message: unknown): message is RunProcessReady {
  return (message as RunProcessReady | null)?.type === RUN_PROCESS_READY;
}

/** Whether an IPC message from a run process is its `RunFinished` report. */
export function isRunFinishedReport(message: unknown): message is RunFinished {
  return (message as RunFinished | null)?.type === 'dag:run-finished';
}

/** In a reused run process: tells the launcher the run is over, and how the process stands. */
export async function reportRunFinished(runId: string, status: string): Promise<void> {
  const written = (stream: NodeJS.WriteStream) => (stream as { bytesWritten?: number }).bytesWritten ?? 0;
  const report: RunFinished = {
    type: 'dag:run-finished',
    runId,
    status,
    rss: process.memoryUsage.rss(),
    cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage()),
    leftover: (await descendants(process.pid)).length,
    stdoutBytes: written(process.stdout),
    stderrBytes: written(process.stderr),
  };
  await new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(report, undefined, {}, () => resolve());
  });
}

/**
 * In a run process a launcher started ahead of time (its definitions loaded, the instance
 * open): waits for the launcher to name the run to execute, over the IPC channel.
 */
export function waitForRunHandoff(): Promise<RunHandoff> {
  const channel = process.channel;
  if (!channel) {
    return Promise.reject(
      new Error('--from-launcher needs the IPC channel of a launcher (it is started by one).'),
    );
  }
  channel.ref();
  // The launcher may now count on it: its definitions are loaded and its instance open.
  process.send?.({ type: RUN_PROCESS_READY } satisfies RunProcessReady, undefined, {}, () => {});
  return new Promise((resolve, reject) => {
    const onDisconnect = () => reject(new Error('The launcher went away before naming a run.'));
    process.once('disconnect', onDisconnect);
    process.once('message', (message: RunHandoff) => {
      process.off('disconnect', onDisconnect);
      channel.unref();
      resolve(message);
    });
  });
}
