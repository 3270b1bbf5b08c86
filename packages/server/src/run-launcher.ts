import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { appendFile, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname, setPriority } from 'node:os';
import path from 'node:path';
import {
  CODE_SNAPSHOT_ENV,
  CODE_SNAPSHOT_PRELOAD,
  type DagInstance,
  describeError,
  FINISHED_RUN_STATUSES,
  finishRun,
  isRunProcessReady,
  killProcessTree,
  type RunConfig,
  type RunLiveness,
  type RunRecord,
  redact,
  retryWhileUnreachable,
  runLiveness,
  siblingModule,
  storedRunPlan,
  submitRun,
  type TerminateOutcome,
  terminateRun,
  type Workspace,
} from '@dag/core';
import type { Launcher, LaunchRequest } from './interfaces.ts';
import { killSurvivors, type ProcessIdentity, processTree, processTrees } from './process-table.ts';
import { REUSE_DEFAULTS, ReusedRunProcess, type ReuseOptions, type RunExit } from './run-launcher-reuse.ts';
import { type CodeChangeWatch, watchCodeChanges } from './worker/code-changes.ts';

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
  /**
   * Store launched runs as QUEUED and leave their start to the daemon's run queue (which
   * calls `execute`), so the run and tag limits hold them too; `onQueued` wakes the queue.
   * Default: start each run at once.
   */
  queue?: { onQueued: () => void };
  /** Heartbeat of the runs whose process this launcher watches. Default: `runLiveness()`. */
  liveness?: RunLiveness;
  /** Where problems the launcher handles go (a database outage at a run's exit). Default: stderr. */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /**
   * Gives each run process an IPC channel to this process: when this process dies (even by
   * kill -9), the run process kills what it spawned and exits (a worker's runs never outlive it).
   */
  exitWithLauncher?: boolean;
  /** Sends SIGTERM to the run process as soon as it is terminated, besides marking it CANCELING. */
  signalOnTerminate?: boolean;
  /** After SIGTERM to a tree being killed, how long until SIGKILL. Default 2 s. */
  killGraceMs?: number;
  /** Called once a run's process has exited and its record is final. */
  onExit?: (runId: string) => void;
  /**
   * Run processes kept started ahead of time, waiting for a run (see `prestart`): launch
   * latency without a process start. Needs `exitWithLauncher` and a workspace that does not
   * reload. Default 0.
   */
  spares?: number;
  /**
   * Keeps run processes for further runs (one run at a time), instead of one process per run:
   * a process that loaded the code location once executes the next run without starting
   * Node and loading the definitions again. It is retired after `maxRuns`, when its memory
   * grew past `maxRssGrowth`, after any run that did not succeed (failed, terminated,
   * aborted) or left processes running, and once the code location's files changed on disk.
   * Needs `exitWithLauncher` and a workspace that does not reload. Default: a process per run.
   */
  reuse?: ReuseOptions;
  /** Names this process in the run's log file. Default 'dag dev'. */
  label?: string;
  /**
   * Scheduling priority of run processes (`nice`, 0-19): a worker runs them below itself, so
   * that busy runs never starve its heartbeat. Default: this process's.
   */
  runPriority?: number;
}

type ExitResult = RunExit;

/** A spawned run process and its exit. */
interface Started {
  child: ChildProcess;
  exited: Promise<ExitResult>;
}

interface RunProcess {
  runId: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<ExitResult>;
  /** The reused process executing it (see `reuse`), if any. */
  reused?: ReusedRunProcess;
  /** Every process seen in the run's tree, so the ones orphaned by a dying parent can be found. */
  seen: Map<number, ProcessIdentity>;
  terminateRequested: boolean;
  terminating?: Promise<void>;
  /** Why this launcher killed the run (`abort`): its FAILURE reason. */
  abortReason?: string;
  /** Resolves once the run process has exited and its run record is final. */
  done: Promise<void>;
}

/** The `dag` CLI entry point of this repository. */
export const DEFAULT_CLI = path.resolve(import.meta.dirname, '../../cli/bin/dag.js');

/** The CLI arguments that load a workspace's code locations in another process. */
export function workspaceArgs(workspace: Workspace): string[] {
  const source = workspace.source;
  return /\.ya?ml$/i.test(source) ? ['-w', source] : ['-f', source];
}
/** Node flags of a run process: the redaction of its stdout/stderr, the code snapshot's loader. */
const PRELOAD = [
  '--import',
  siblingModule('./redact-output.ts', import.meta.url),
  // Loads the code locations from the server's snapshot when DAG_CODE_SNAPSHOT is set.
  '--import',
  CODE_SNAPSHOT_PRELOAD,
];

/**
 * The TypeScript loader is preloaded where it is needed from the start: when this launcher
 * runs from the TypeScript sources (so do the preloads above), and under a code snapshot (whose
 * hooks must come after it). Otherwise the run process registers it when it loads the
 * definitions: the compiled modules of `dag` load without passing through its hooks, which
 * cost a run process's start about 150 ms of CPU.
 */
function preloadFor(snapshot: string | undefined): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  return fromSource || snapshot ? ['--import', import.meta.resolve('tsx'), ...PRELOAD] : PRELOAD;
}

/**
 * Validates and stores the run a launch request asks for: QUEUED for the daemon's run queue,
 * or ready to start at once. Invalid input rejects with a DagError and stores nothing.
 */
export async function submitLaunchRequest(
  instance: DagInstance,
  request: LaunchRequest,
  queued: boolean,
): Promise<RunRecord> {
  return await submitRun(instance, request.location.definitions, {
    location: request.location.name,
    ...(request.job !== undefined ? { job: request.job } : {}),
    ...(request.selection !== undefined ? { selection: request.selection } : {}),
    ...(request.runConfig !== undefined ? { runConfig: request.runConfig } : {}),
    ...(request.tags !== undefined ? { tags: request.tags } : {}),
    ...(request.parentRunId !== undefined ? { parentRunId: request.parentRunId } : {}),
    ...(request.rootRunId !== undefined ? { rootRunId: request.rootRunId } : {}),
    ...(request.stepKeys !== undefined ? { stepKeys: request.stepKeys } : {}),
    ...(queued ? { status: 'QUEUED' as const } : {}),
  });
}

/** What `launchOrQueue` and `recordRunExit` need of a launcher. */
/** Where a run's output is kept: `logs/<runId>.log` in the instance folder, whatever launched it. */
export function runLogFile(instance: DagInstance, runId: string): string {
  // Run ids are UUIDs; anything else must not escape the logs folder.
  return path.join(instance.home, 'logs', `${path.basename(runId)}.log`);
}

export interface LauncherParts {
  instance: DagInstance;
  liveness: RunLiveness;
  queue: { onQueued: () => void } | undefined;
  /** The config of each queued run as given (secrets included), until the queue starts it. */
  queuedConfigs: Map<string, RunConfig>;
  execute(runId: string, runConfig?: RunConfig): Promise<void>;
}

/**
 * Stores the run a request asks for, then queues it (its config, secrets included, held in
 * memory until the queue starts it: the stored copy is redacted) or starts it at once. A run
 * whose `noun` (process, container) cannot be started is recorded as FAILURE.
 */
export async function launchOrQueue(
  parts: LauncherParts,
  request: LaunchRequest,
  noun: string,
): Promise<RunRecord> {
  const run = await submitLaunchRequest(parts.instance, request, !!parts.queue);
  if (parts.queue) {
    if (request.runConfig !== undefined) parts.queuedConfigs.set(run.runId, request.runConfig);
    parts.queue.onQueued();
    return run;
  }
  try {
    await parts.execute(run.runId, request.runConfig);
  } catch (error) {
    await finishUnrecordedRun(
      parts,
      run.runId,
      'FAILURE',
      `The run ${noun} could not be started: ${(error as Error).message}`,
    );
    throw error;
  }
  return run;
}

/** Records the end of a run its own process could not record: the final event and status, at once. */
export async function finishUnrecordedRun(
  parts: Pick<LauncherParts, 'instance' | 'liveness'>,
  runId: string,
  status: 'FAILURE' | 'CANCELED',
  message: string,
): Promise<void> {
  await retryWhileUnreachable(
    () => finishRun(parts.instance.storage, runId, { status, message, error: message }),
    { retryForMs: parts.liveness.timeoutMs },
  );
}

/**
 * After the `noun` (process, container) of a run exited: a run that did not record its own end
 * crashed, or was killed after a terminate. `cleanUp` runs first (killing what survived), then
 * the run is recorded as CANCELED after a terminate, else FAILURE, naming how it ended and
 * where its output is.
 */
export async function recordRunExit(
  parts: Pick<LauncherParts, 'instance' | 'liveness'>,
  exit: {
    runId: string;
    noun: string;
    how: string;
    logFile: string;
    terminateRequested: boolean;
    /** Why the launcher aborted the run itself (e.g. its lease was lost): a FAILURE, unless it was terminated. */
    abortReason?: string;
  },
  cleanUp?: () => Promise<void>,
): Promise<void> {
  const run = await retryWhileUnreachable(() => parts.instance.storage.getRun(exit.runId), {
    retryForMs: parts.liveness.timeoutMs,
  });
  if (!run || FINISHED_RUN_STATUSES.includes(run.status)) return;
  await cleanUp?.();
  if (exit.abortReason !== undefined && run.status !== 'CANCELING') {
    await finishUnrecordedRun(parts, exit.runId, 'FAILURE', `${exit.abortReason} Output: ${exit.logFile}`);
  } else if (exit.terminateRequested || run.status === 'CANCELING') {
    await finishUnrecordedRun(
      parts,
      exit.runId,
      'CANCELED',
      `The run was terminated: its ${exit.noun} ${exit.how} before the run finished. Output: ${exit.logFile}`,
    );
  } else {
    await finishUnrecordedRun(
      parts,
      exit.runId,
      'FAILURE',
      `The run ${exit.noun} ${exit.how} before the run finished. Its output is in ${exit.logFile}`,
    );
  }
}

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
  /**
   * The run config of each queued run this launcher submitted, as given (secrets included),
   * until the queue starts it. Lost with the process: such a run then refuses to start with
   * its redacted config and names the fields to supply on re-execution.
   */
  private readonly queuedConfigs = new Map<string, RunConfig>();
  private treeTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly liveness: RunLiveness;

  private readonly label: string;

  constructor(options: RunLauncherOptions) {
    this.options = options;
    this.label = options.label ?? 'dag dev';
    this.liveness = options.liveness ?? runLiveness();
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    if (this.options.log) this.options.log(level, message);
    else
      process.stderr.write(`${redact(`dag: ${level}: ${message}`)}
`);
  }

  logFile(runId: string): string {
    return runLogFile(this.options.instance, runId);
  }

  /** Runs started by this launcher whose process is still alive. */
  get active(): string[] {
    return [...this.processes.keys()];
  }

  async launch(request: LaunchRequest): Promise<RunRecord> {
    if (this.closed) throw new Error('The run launcher is closed: the server is shutting down.');
    // The stored config has its secret values redacted; the run process gets the real one.
    return await launchOrQueue(this.parts(), request, 'process');
  }

  private parts(): LauncherParts {
    return {
      instance: this.options.instance,
      liveness: this.liveness,
      queue: this.options.queue,
      queuedConfigs: this.queuedConfigs,
      execute: (runId, runConfig) => this.execute(runId, runConfig),
    };
  }

  private snapshot: { generation: number; file: Promise<string> } | undefined;

  /**
   * The file holding the JavaScript of the workspace's current definitions (a reloadable
   * workspace only), written once per version under `<DAG_HOME>/code/`: the run process
   * executes that, not whatever the files on disk hold now (half-edited, broken, or newer
   * than what the launch was validated against).
   */
  private codeSnapshotFile(): Promise<string> | undefined {
    const { workspace, instance } = this.options;
    const files = workspace.codeSnapshot();
    if (!files) return undefined;
    if (this.snapshot?.generation !== workspace.generation) {
      const body = JSON.stringify({ files });
      const name = `${createHash('sha256').update(body).digest('hex').slice(0, 32)}.json`;
      const file = path.join(instance.home, 'code', name);
      const written = (async () => {
        if (await stat(file).catch(() => undefined)) return file;
        await mkdir(path.dirname(file), { recursive: true });
        // Written whole, then renamed: a run never reads half a snapshot.
        const partial = `${file}.${process.pid}.tmp`;
        await writeFile(partial, body);
        await rename(partial, file);
        return file;
      })();
      this.snapshot = { generation: workspace.generation, file: written };
      written.catch(() => {
        if (this.snapshot?.file === written) this.snapshot = undefined;
      });
    }
    return this.snapshot!.file;
  }

  private childEnv(snapshot: string | undefined): NodeJS.ProcessEnv {
    const { instance } = this.options;
    const env: NodeJS.ProcessEnv = { ...(this.options.env ?? process.env), DAG_HOME: instance.home };
    if (snapshot) env[CODE_SNAPSHOT_ENV] = snapshot;
    else delete env[CODE_SNAPSHOT_ENV];
    // The server's token is no business of user code.
    delete env.DAG_UI_TOKEN;
    // A run's output goes to its log file (shown in the UI and by `dag logs`), never a terminal:
    // plain text, even where this process's environment asks for colour (`CI`, `FORCE_COLOR`).
    env.NO_COLOR = '1';
    delete env.FORCE_COLOR;
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
  async execute(runId: string, runConfig?: RunConfig, known?: RunRecord): Promise<void> {
    if (this.processes.has(runId)) return;
    // A process started ahead gets the record too (a worker's assignment just read it).
    const handoff = {
      runId,
      ...(runConfig !== undefined ? { runConfig } : {}),
      ...(known?.runId === runId ? { run: storedRunPlan(known) } : {}),
    };
    runConfig ??= this.queuedConfigs.get(runId);
    this.queuedConfigs.delete(runId);
    const logFile = this.logFile(runId);
    let started: Started;
    let reused: ReusedRunProcess | undefined;
    const spare = this.reusing() ? undefined : this.takeSpare();
    if (this.reusing()) {
      reused = await this.idleProcess();
      const header = `[${this.label}] ${new Date().toISOString()} run ${runId} handed to run process ${reused.pid} (run ${reused.runs + 1} of that process)\n`;
      started = { child: reused.child, exited: reused.hand(handoff, logFile, header) };
    } else if (spare) {
      // Started ahead of time: its definitions are loaded and its instance open.
      started = spare;
      await rename(spare.logFile, logFile).catch(() => {});
      const ready =
        spare.readyAt !== undefined
          ? `ready ${spare.readyAt - spare.startedAt} ms after its start`
          : `still starting, ${Date.now() - spare.startedAt} ms after its start: the run waits for it`;
      await appendFile(
        logFile,
        `[${this.label}] ${new Date().toISOString()} run ${runId} handed to run process ${spare.child.pid} (started ahead, ${ready})\n`,
      ).catch(() => {});
      spare.child.send(handoff, (error) => {
        // It died meanwhile: its exit is reported as the run's.
        if (error) spare.child.kill('SIGKILL');
      });
    } else {
      const snapshot = await this.codeSnapshotFile();
      const args = [
        this.options.cliPath ?? DEFAULT_CLI,
        ...workspaceArgs(this.options.workspace),
        'execute-run',
        runId,
        ...(runConfig !== undefined ? ['--config-stdin'] : []),
      ];
      started = await this.spawnRunProcess(args, logFile, snapshot, runConfig);
    }
    if (!reused) this.fillSpares();
    const { child, exited } = started;
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
      ...(reused ? { reused } : {}),
    };
    entry.done = exited.then(async (result) => {
      try {
        await this.afterExit(entry, result);
      } catch (error) {
        // The database may be down: the run stays in progress and the reconciliation of
        // orphaned runs finishes it later. Never an unhandled rejection.
        this.log(
          'error',
          `Could not record the end of run ${runId} (its process exited): ${describeError(error)}. It is finished once the instance is reachable again.`,
        );
      } finally {
        this.processes.delete(runId);
        this.options.onExit?.(runId);
        if (this.processes.size === 0) {
          clearInterval(this.treeTimer);
          clearInterval(this.heartbeatTimer);
          this.treeTimer = undefined;
          this.heartbeatTimer = undefined;
        }
      }
    });
    this.processes.set(runId, entry);
    if (reused) this.fillSpares();
    // The launcher owns the run until its process takes it over; while that process lives,
    // the launcher's heartbeat says so too (it may take a while to load the definitions). A
    // run a worker was just assigned has that heartbeat already, and its worker's liveness
    // stands for it; its process records its own pid when it starts the run.
    if (known?.runId !== runId || !known.workerId)
      await this.options.instance.storage
        .heartbeatRun(runId, { pid: child.pid, hostname: hostname() })
        .catch(() => undefined);
    this.treeTimer ??= setInterval(() => void this.recordTrees(), this.options.treePollMs ?? 1000);
    this.treeTimer.unref();
    this.heartbeatTimer ??= setInterval(() => void this.heartbeat(), this.liveness.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /**
   * Spawns `dag <args>` as a run process (own process group, output appended to `logFile`,
   * or piped to this process with `pipeOutput`).
   */
  private async spawnRunProcess(
    args: string[],
    logFile: string,
    snapshot: string | undefined,
    runConfig?: RunConfig,
    pipeOutput = false,
  ): Promise<Started> {
    await mkdir(path.dirname(logFile), { recursive: true });
    await appendFile(
      logFile,
      `[${this.label}] ${new Date().toISOString()} starting: dag ${args.slice(1).join(' ')}\n`,
    );
    const fd = pipeOutput ? 'pipe' : openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...preloadFor(snapshot), ...args], {
        cwd: this.options.cwd ?? process.cwd(),
        env: this.childEnv(snapshot),
        // Its own process group: signals to the server's terminal do not reach runs, and the
        // run's tree can be signalled as a group.
        detached: true,
        stdio: [
          runConfig !== undefined ? 'pipe' : 'ignore',
          fd,
          fd,
          ...(this.options.exitWithLauncher ? (['ipc'] as const) : []),
        ],
      });
    } finally {
      if (typeof fd === 'number') closeSync(fd);
    }
    if (this.options.runPriority !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, this.options.runPriority);
      } catch {
        // Not permitted here: the run keeps this process's priority.
      }
    }
    // The channel only tells the run process that this one is alive; it must not keep this one running.
    if (this.options.exitWithLauncher) child.channel?.unref();
    if (runConfig !== undefined) {
      // A process that dies before reading it makes the pipe fail; its exit is reported below.
      child.stdin?.on('error', () => {});
      child.stdin?.end(JSON.stringify(runConfig));
    }
    const exited = new Promise<ExitResult>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    return { child, exited };
  }

  /** Processes started ahead of time; `readyAt` once one said it waits for a run. */
  private spares: (Started & { logFile: string; startedAt: number; readyAt?: number })[] = [];
  private sparesStarting = 0;
  private spareRetryAt = 0;
  /** Reused run processes waiting for a run (see `reuse`), the longest idle first. */
  private idle: ReusedRunProcess[] = [];
  /** Bumped on each change of the code on disk: processes started before it are retired. */
  private codeGeneration = 0;
  private codeWatch: CodeChangeWatch | undefined;

  /** Reused processes executing a run now. */
  private busyReused(): number {
    let n = 0;
    for (const entry of this.processes.values()) if (entry.reused && !entry.reused.retired) n++;
    return n;
  }

  /** Whether runs go to reused processes (see `reuse`). */
  private reusing(): boolean {
    return (
      this.options.reuse !== undefined &&
      !!this.options.exitWithLauncher &&
      !this.options.workspace.codeSnapshot()
    );
  }

  private reuseOptions(): Required<ReuseOptions> {
    return { ...REUSE_DEFAULTS, ...this.options.reuse };
  }

  /** Starts a process to be reused (loads the code location, then waits for runs over IPC). */
  private async startReusedProcess(): Promise<ReusedRunProcess> {
    if (!this.codeWatch) {
      this.codeWatch = watchCodeChanges(this.options.workspace, {
        ignore: [this.options.instance.home],
        onChange: (file) => this.onCodeChange(file),
        onError: (error) => this.log('warn', `Watching the code for changes failed: ${describeError(error)}`),
      });
      const watch = this.codeWatch;
      void watch.ready.then(() => {
        if (this.codeWatch === watch && !this.closed)
          this.log(
            'info',
            'Watching the code locations for changes: run processes that loaded older code are retired.',
          );
      });
    }
    const ownLog = path.join(this.options.instance.home, 'logs', `run-process-${randomUUID()}.log`);
    const args = [
      this.options.cliPath ?? DEFAULT_CLI,
      ...workspaceArgs(this.options.workspace),
      'execute-run',
      '--from-launcher',
    ];
    const started = await this.spawnRunProcess(args, ownLog, undefined, undefined, true);
    const w = new ReusedRunProcess(started.child, ownLog, this.codeGeneration);
    if (started.child.pid === undefined) {
      const result = await started.exited;
      throw result.error ?? new Error(`spawning ${process.execPath} failed`);
    }
    void w.exited.then(() => {
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      // Died before it ran anything: try again later, not in a loop.
      if (w.runs === 0 && !w.retired) this.spareRetryAt = Date.now() + 5000;
    });
    return w;
  }

  /** An idle reused process with current code, or a new one. */
  private async idleProcess(): Promise<ReusedRunProcess> {
    for (;;) {
      const w = this.idle.shift();
      if (!w) return await this.startReusedProcess();
      if (w.alive && !w.retired && w.generation === this.codeGeneration) return w;
      w.retire();
    }
  }

  private onCodeChange(file: string): void {
    this.codeGeneration++;
    const stale = this.idle.splice(0);
    // Said either way: a process busy with a run (or just finishing one) is retired when it
    // comes back, so no later run executes the old code.
    if (stale.length > 0)
      this.log(
        'warn',
        `${file} changed: retiring ${stale.length} idle run process(es) that loaded the old code.`,
      );
    else
      this.log('info', `${file} changed: run processes that loaded the old code retire when their run ends.`);
    for (const w of stale) w.retire();
    this.fillSpares();
  }

  /** After a reused process reported its run finished: back to the idle ones, or retired. */
  private release(w: ReusedRunProcess, why: string | undefined): void {
    const options = this.reuseOptions();
    if (
      why === undefined &&
      !this.closed &&
      w.alive &&
      // The code changed while it finished its run: it retires now.
      w.generation === this.codeGeneration &&
      this.idle.length + this.busyReused() <= options.poolSize
    ) {
      this.idle.push(w);
      return;
    }
    w.retire();
    this.fillSpares();
  }

  /**
   * Keeps `spares` run processes started ahead of time (definitions loaded, instance open,
   * waiting for a run over IPC), so that a run starts without waiting for a process to start.
   * Only with `exitWithLauncher` and a workspace that does not reload.
   */
  private fillSpares(): void {
    const want = this.options.spares ?? 0;
    if (this.closed || !this.options.exitWithLauncher || this.options.workspace.codeSnapshot()) return;
    if (Date.now() < this.spareRetryAt) return;
    if (this.reusing()) {
      while (this.idle.length + this.sparesStarting + this.busyReused() < this.reuseOptions().poolSize) {
        this.sparesStarting++;
        void this.startReusedProcess()
          .then((w) => {
            if (this.closed) w.retire();
            else this.idle.push(w);
          })
          .catch((error) =>
            this.log('warn', `Could not start a run process ahead of time: ${describeError(error)}`),
          )
          .finally(() => {
            this.sparesStarting--;
          });
      }
      return;
    }
    while (want > 0 && this.spares.length + this.sparesStarting < want) {
      this.sparesStarting++;
      const logFile = path.join(this.options.instance.home, 'logs', `spare-${randomUUID()}.log`);
      const args = [
        this.options.cliPath ?? DEFAULT_CLI,
        ...workspaceArgs(this.options.workspace),
        'execute-run',
        '--from-launcher',
      ];
      const startedAt = Date.now();
      void this.spawnRunProcess(args, logFile, undefined)
        .then((started) => {
          if (started.child.pid === undefined || this.closed) {
            started.child.kill('SIGKILL');
            return;
          }
          const spare: (typeof this.spares)[number] = { ...started, logFile, startedAt };
          this.spares.push(spare);
          started.child.on('message', (message) => {
            if (!isRunProcessReady(message) || spare.readyAt !== undefined || !this.spares.includes(spare))
              return;
            spare.readyAt = Date.now();
            void appendFile(
              logFile,
              `[${this.label}] ${new Date().toISOString()} run process ${started.child.pid} ready (${spare.readyAt - startedAt} ms after its start)\n`,
            ).catch(() => {});
          });
          void started.exited.then(() => {
            // Died before it was handed a run: try again later, not in a loop.
            const i = this.spares.indexOf(spare);
            if (i >= 0) {
              this.spares.splice(i, 1);
              this.spareRetryAt = Date.now() + 5000;
              void unlink(logFile).catch(() => {});
            }
          });
        })
        .catch((error) =>
          this.log('warn', `Could not start a run process ahead of time: ${describeError(error)}`),
        )
        .finally(() => {
          this.sparesStarting--;
        });
    }
  }

  /** A process started ahead for the next run: one that is ready if any, else the oldest. */
  private takeSpare(): (typeof this.spares)[number] | undefined {
    const i = this.spares.findIndex((s) => s.readyAt !== undefined);
    return this.spares.splice(Math.max(0, i), 1)[0];
  }

  /** Starts the run processes kept ahead of time (see `spares`). */
  prestart(): void {
    this.fillSpares();
  }

  private async heartbeat(): Promise<void> {
    const storage = this.options.instance.storage;
    await Promise.all(
      [...this.processes.keys()].map((id) => storage.heartbeatRun(id).catch(() => undefined)),
    );
  }

  private async recordTree(entry: RunProcess): Promise<void> {
    for (const p of await processTree(entry.pid)) if (!entry.seen.has(p.pid)) entry.seen.set(p.pid, p);
  }

  private async recordTrees(): Promise<void> {
    const entries = [...this.processes.values()];
    const trees = await processTrees(entries.map((e) => e.pid)).catch(() => undefined);
    for (const entry of entries)
      for (const p of trees?.get(entry.pid) ?? []) if (!entry.seen.has(p.pid)) entry.seen.set(p.pid, p);
  }

  private async afterExit(entry: RunProcess, result: ExitResult): Promise<void> {
    const reused = entry.reused;
    if (reused && result.finished) {
      const terminated = entry.terminateRequested || entry.abortReason !== undefined;
      const why = reused.retireReason(result.finished, this.reuseOptions(), this.codeGeneration, terminated);
      await reused.endRunLog(
        `[${this.label}] ${new Date().toISOString()} run process ${entry.pid} finished the run (${result.finished.status}, ${Math.round(reused.lastRunCpuMs)} ms of CPU)${why ? `; retired: ${why}` : '; kept for the next run'}\n`,
      );
      this.release(reused, why);
      // The run recorded its own end; only one that did not (it never started) is finished here.
      if (FINISHED_RUN_STATUSES.includes(result.finished.status as RunRecord['status'])) return;
    }
    if (reused && !result.finished) {
      reused.retire();
      await reused.endRunLog('');
    }
    const how = result.error
      ? `failed: ${result.error.message}`
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.code}`;
    await appendFile(entry.logFile, `[${this.label}] ${new Date().toISOString()} run process ${how}\n`).catch(
      () => {},
    );
    await recordRunExit(
      this.parts(),
      {
        runId: entry.runId,
        noun: 'process',
        how,
        logFile: entry.logFile,
        terminateRequested: entry.terminateRequested,
        ...(entry.abortReason !== undefined ? { abortReason: entry.abortReason } : {}),
      },
      async () => {
        // The run did not record its own end: what its process left behind is killed first.
        entry.seen.delete(entry.pid);
        await killSurvivors(entry.seen.values());
      },
    );
  }

  async terminate(runId: string): Promise<TerminateOutcome> {
    const result = await terminateRun(this.options.instance.storage, runId);
    const entry = this.processes.get(runId);
    // Not ours, or already over: the owner (or the reconciliation of dead owners) ends it.
    if (!entry || result.outcome === 'unknown' || result.outcome === 'finished') return result;
    entry.terminateRequested = true;
    if (this.options.signalOnTerminate) entry.child.kill('SIGTERM');
    entry.terminating ??= this.stopProcess(entry);
    return result;
  }

  /** Gives a run's process the grace period to stop on its own (it sees CANCELING), then kills its whole tree. */
  private async stopProcess(entry: RunProcess): Promise<void> {
    await this.recordTree(entry).catch(() => {});
    const stopped = await Promise.race([
      entry.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), this.options.graceMs ?? 10_000).unref()),
    ]);
    await this.recordTree(entry).catch(() => {});
    if (!stopped) await killProcessTree(entry.pid, this.options.killGraceMs ?? 2000);
    await entry.done;
    // The run may have stopped on its own while some of what it spawned did not.
    entry.seen.delete(entry.pid);
    await killSurvivors(entry.seen.values());
  }

  /**
   * Kills a run's process tree now, without asking it to stop: its lease is lost, or it
   * outlived a shutdown's grace period. The run is recorded as FAILURE with `reason` (once
   * the instance is reachable). Resolves when the process has exited and its record is final
   * (or could not be written).
   */
  async abort(runId: string, reason: string): Promise<void> {
    const entry = this.processes.get(runId);
    if (!entry) return;
    entry.abortReason ??= reason;
    await this.recordTree(entry).catch(() => {});
    // SIGKILL at once: a run asked to stop would record itself CANCELED, and this is no cancel.
    await killProcessTree(entry.pid, 0);
    entry.seen.delete(entry.pid);
    await killSurvivors(entry.seen.values());
    await entry.done;
  }

  /** Resolves when the run's process has exited and its record is final (runs of this launcher). */
  async waitFor(runId: string): Promise<void> {
    const entry = this.processes.get(runId);
    if (entry) await entry.done;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.codeWatch?.close().catch(() => {});
    const idle = this.idle.splice(0);
    await Promise.all(
      idle.map(async (w) => {
        if (w.pid !== undefined) await killProcessTree(w.pid, 0);
        await w.exited;
      }),
    );
    const spares = this.spares.splice(0);
    await Promise.all(
      spares.map(async (spare) => {
        if (spare.child.pid !== undefined) await killProcessTree(spare.child.pid, 0);
        await spare.exited;
        await unlink(spare.logFile).catch(() => {});
      }),
    );
    const entries = [...this.processes.values()];
    await Promise.all(
      entries.map((e) =>
        this.terminate(e.runId).catch((error) => {
          // The instance did not take the terminate (it may be restarting): the process stops
          // all the same, and its run is finished as owner-gone once the instance answers.
          this.log(
            'warn',
            `could not record the terminate of run ${e.runId} (${describeError(error)}); stopping its process anyway`,
          );
          e.terminateRequested = true;
        }),
      ),
    );
    for (const e of entries) e.terminating ??= this.stopProcess(e);
    await Promise.all(entries.map((e) => e.terminating!.then(() => e.done)));
    clearInterval(this.treeTimer);
    clearInterval(this.heartbeatTimer);
  }
}
