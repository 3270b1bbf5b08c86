import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type DagInstance,
  FINISHED_RUN_STATUSES,
  isProcessAlive,
  killProcessTree,
  type RunConfig,
  type RunRecord,
  redact,
  submitRun,
  type Workspace,
} from '@dag/core';
import type { Launcher, LaunchRequest } from './interfaces.ts';
import { killSurvivors, type ProcessIdentity, processTree } from './process-table.ts';

export interface RunLauncherOptions {
  instance: DagInstance;
  workspace: Workspace;
  /** The `dag` CLI entry point. Default: packages/cli/bin/dag.js of this repository. */
  cliPath?: string;
  /** Working directory of run processes. Default: this process's. */
  cwd?: string;
  /** Environment of run processes. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** How long a terminated run may take to stop before its process tree is killed. Default 10 s. */
  graceMs?: number;
  /** How often the process tree of each run is recorded. Default 1 s. */
  treePollMs?: number;
}

interface RunProcess {
  runId: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  /** Every process seen in the run's tree, so the ones orphaned by a dying parent can be found. */
  seen: Map<number, ProcessIdentity>;
  terminateRequested: boolean;
  terminating?: Promise<void>;
  /** Resolves once the run process has exited and its run record is final. */
  done: Promise<void>;
}

const DEFAULT_CLI = path.resolve(import.meta.dirname, '../../cli/bin/dag.js');
/** Node flags of a run process: the TypeScript loader, then the redaction of its stdout/stderr. */
const PRELOAD = [
  '--import',
  import.meta.resolve('tsx'),
  '--import',
  pathToFileURL(path.join(import.meta.dirname, 'redact-output.ts')).href,
];

/**
 * Launches each run in its own child process: `dag execute-run <runId>` in its own process
 * group, stdout and stderr appended to `<DAG_HOME>/logs/<runId>.log`. A run that crashes
 * takes only its process down; the launcher then records it as FAILURE, naming the exit
 * code or signal and the log file.
 *
 * Terminate asks the run to stop (the run marks itself CANCELING -> CANCELED and kills what
 * its steps spawned); if its process has not exited after the grace period, the whole tree
 * is killed. Processes of the tree that outlived their parent are killed too, found by
 * the pid and start time recorded while the run was alive.
 *
 * @example
 * const launcher = new RunLauncher({ instance, workspace });
 * const run = await launcher.launch({ location: workspace.location('ds'), job: 'ds_node_job' });
 * await launcher.terminate(run.runId);
 */
export class RunLauncher implements Launcher {
  private readonly options: RunLauncherOptions;
  private readonly processes = new Map<string, RunProcess>();
  private treeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: RunLauncherOptions) {
    this.options = options;
  }

  logFile(runId: string): string {
    // Run ids are UUIDs; anything else must not escape the logs folder.
    return path.join(this.options.instance.home, 'logs', `${path.basename(runId)}.log`);
  }

  /** Runs started by this launcher whose process is still alive. */
  get active(): string[] {
    return [...this.processes.keys()];
  }

  async launch(request: LaunchRequest): Promise<RunRecord> {
    if (this.closed) throw new Error('The run launcher is closed: the server is shutting down.');
    const run = await submitRun(this.options.instance, request.location.definitions, {
      location: request.location.name,
      ...(request.job !== undefined ? { job: request.job } : {}),
      ...(request.selection !== undefined ? { selection: request.selection } : {}),
      ...(request.runConfig !== undefined ? { runConfig: request.runConfig } : {}),
      ...(request.tags !== undefined ? { tags: request.tags } : {}),
      ...(request.parentRunId !== undefined ? { parentRunId: request.parentRunId } : {}),
      ...(request.rootRunId !== undefined ? { rootRunId: request.rootRunId } : {}),
      ...(request.stepKeys !== undefined ? { stepKeys: request.stepKeys } : {}),
    });
    try {
      // The stored config has its secret values redacted; the run process gets the real one.
      await this.execute(run.runId, request.runConfig);
    } catch (error) {
      await this.finishRun(
        run.runId,
        'FAILURE',
        `The run process could not be started: ${(error as Error).message}`,
      );
      throw error;
    }
    return run;
  }

  private sourceArgs(): string[] {
    const source = this.options.workspace.source;
    return /\.ya?ml$/i.test(source) ? ['-w', source] : ['-f', source];
  }

  private childEnv(): NodeJS.ProcessEnv {
    const { instance } = this.options;
    const env: NodeJS.ProcessEnv = { ...(this.options.env ?? process.env), DAG_HOME: instance.home };
    // The server's token is no business of user code.
    delete env.DAG_UI_TOKEN;
    // The run process must use this server's database, whatever its environment says.
    if (instance.kind === 'postgres') env.DAG_POSTGRES_URL = instance.url;
    else delete env.DAG_POSTGRES_URL;
    return env;
  }

  /**
   * Starts the process of a stored run: one `launch` just submitted, or one the daemon's
   * queue dequeued. Resolves once the process is spawned.
   *
   * `runConfig` is the run's config as given at launch, secrets included: the stored copy has
   * them redacted (`***`), so it reaches the run process over its stdin, never the database,
   * a file or its command line.
   */
  async execute(runId: string, runConfig?: RunConfig): Promise<void> {
    if (this.processes.has(runId)) return;
    const logFile = this.logFile(runId);
    await mkdir(path.dirname(logFile), { recursive: true });
    const args = [
      this.options.cliPath ?? DEFAULT_CLI,
      ...this.sourceArgs(),
      'execute-run',
      runId,
      ...(runConfig !== undefined ? ['--config-stdin'] : []),
    ];
    await appendFile(
      logFile,
      `[dag dev] ${new Date().toISOString()} starting: dag ${args.slice(1).join(' ')}\n`,
    );
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...PRELOAD, ...args], {
        cwd: this.options.cwd ?? process.cwd(),
        env: this.childEnv(),
        // Its own process group: signals to the server's terminal do not reach runs, and the
        // run's tree can be signalled as a group.
        detached: true,
        stdio: [runConfig !== undefined ? 'pipe' : 'ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    if (runConfig !== undefined) {
      // A process that dies before reading it makes the pipe fail; its exit is reported below.
      child.stdin?.on('error', () => {});
      child.stdin?.end(JSON.stringify(runConfig));
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
      },
    );
    if (child.pid === undefined) {
      const result = await exited;
      throw result.error ?? new Error(`spawning ${process.execPath} failed`);
    }
    const entry: RunProcess = {
      runId,
      child,
      pid: child.pid,
      logFile,
      exited,
      seen: new Map([[child.pid, { pid: child.pid, start: null }]]),
      terminateRequested: false,
      done: Promise.resolve(),
    };
    entry.done = exited.then(async (result) => {
      try {
        await this.afterExit(entry, result);
      } finally {
        this.processes.delete(runId);
        if (this.processes.size === 0 && this.treeTimer) {
          clearInterval(this.treeTimer);
          this.treeTimer = undefined;
        }
      }
    });
    this.processes.set(runId, entry);
    this.treeTimer ??= setInterval(() => void this.recordTrees(), this.options.treePollMs ?? 1000);
    this.treeTimer.unref();
  }

  private async recordTree(entry: RunProcess): Promise<void> {
    for (const p of await processTree(entry.pid)) if (!entry.seen.has(p.pid)) entry.seen.set(p.pid, p);
  }

  private async recordTrees(): Promise<void> {
    await Promise.all([...this.processes.values()].map((e) => this.recordTree(e).catch(() => {})));
  }

  private async afterExit(
    entry: RunProcess,
    result: { code: number | null; signal: NodeJS.Signals | null; error?: Error },
  ): Promise<void> {
    const how = result.error
      ? `failed: ${result.error.message}`
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.code}`;
    await appendFile(entry.logFile, `[dag dev] ${new Date().toISOString()} run process ${how}\n`).catch(
      () => {},
    );
    const run = await this.options.instance.storage.getRun(entry.runId);
    if (!run || FINISHED_RUN_STATUSES.includes(run.status)) return;
    // The run did not record its own end: it crashed, or was killed after a terminate.
    entry.seen.delete(entry.pid);
    await killSurvivors(entry.seen.values());
    if (entry.terminateRequested || run.status === 'CANCELING') {
      await this.finishRun(
        entry.runId,
        'CANCELED',
        `The run was terminated: its process ${how} before the run finished. Output: ${entry.logFile}`,
      );
    } else {
      await this.finishRun(
        entry.runId,
        'FAILURE',
        `The run process ${how} before the run finished. Its output is in ${entry.logFile}`,
      );
    }
  }

  /** Records the end of a run its own process could not record: a terminal event, then the status. */
  private async finishRun(runId: string, status: 'FAILURE' | 'CANCELED', message: string): Promise<void> {
    const storage = this.options.instance.storage;
    await storage.storeEvent({
      runId,
      type: status === 'CANCELED' ? 'RUN_CANCELED' : 'RUN_FAILURE',
      level: 'error',
      message: redact(message),
    });
    await storage.updateRun(runId, { status, error: message, endedAt: new Date() });
  }

  async terminate(runId: string): Promise<boolean> {
    const storage = this.options.instance.storage;
    if (!(await storage.requestCancel(runId))) return false;
    const entry = this.processes.get(runId);
    if (!entry) {
      // Not ours. If its process is known to be gone (a dead CLI on this machine), nobody
      // else will record the end: do it here.
      const run = await storage.getRun(runId);
      if (run?.pid && run.hostname === hostname() && !isProcessAlive(run.pid)) {
        await this.finishRun(runId, 'CANCELED', `The run was terminated; its process ${run.pid} was gone.`);
      }
      return true;
    }
    entry.terminateRequested = true;
    entry.terminating ??= (async () => {
      await this.recordTree(entry).catch(() => {});
      const stopped = await Promise.race([
        entry.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), this.options.graceMs ?? 10_000).unref()),
      ]);
      await this.recordTree(entry).catch(() => {});
      if (!stopped) await killProcessTree(entry.pid, 2000);
      await entry.done;
      // The run may have stopped on its own while some of what it spawned did not.
      entry.seen.delete(entry.pid);
      await killSurvivors(entry.seen.values());
    })();
    return true;
  }

  /** Resolves when the run's process has exited and its record is final (runs of this launcher). */
  async waitFor(runId: string): Promise<void> {
    const entry = this.processes.get(runId);
    if (entry) await entry.done;
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.processes.values()];
    await Promise.all(entries.map((e) => this.terminate(e.runId).catch(() => false)));
    await Promise.all(entries.map((e) => (e.terminating ?? Promise.resolve()).then(() => e.done)));
    if (this.treeTimer) clearInterval(this.treeTimer);
  }
}
