import { createWriteStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  type DagInstance,
  describeError,
  type RunConfig,
  type RunLiveness,
  type RunRecord,
  redact,
  runLiveness,
  type TerminateOutcome,
  terminateRun,
  UsageError,
  type Workspace,
} from '@dag/core';
import type Docker from 'dockerode';
import type { Launcher, LaunchRequest } from './interfaces.ts';
import { type LauncherParts, launchOrQueue, recordRunExit, runLogFile } from './run-launcher.ts';

export interface DockerRunLauncherOptions {
  instance: DagInstance;
  workspace: Workspace;
  /** The image each run's container starts from: a dag image holding the code locations. */
  image: string;
  /** The engine. Default: DOCKER_HOST (else the local socket), as `docker` finds it. */
  docker?: Docker;
  /**
   * The containers' network. Default `host`: the instance database at a loopback address (the
   * embedded server) is reachable only from the host's network.
   */
  network?: string;
  /**
   * The workspace or definitions file inside the image (`-w`/`-f` of `dag execute-run`).
   * Default: the image's own (workspace.yaml in its working directory).
   */
  codeFile?: string;
  /** Names of environment variables of this process to pass to each run (e.g. a pipeline's keys). */
  forwardEnv?: string[];
  /** Environment of this process. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long a terminated run may take to stop before its container is killed. Default 10 s. */
  graceMs?: number;
  /** Store launched runs as QUEUED for the daemon's run queue (see RunLauncherOptions.queue). */
  queue?: { onQueued: () => void };
  liveness?: RunLiveness;
  log?: (level: 'warn' | 'error', message: string) => void;
}

/** The label that names the run a container executes. */
export const RUN_ID_LABEL = 'dag.run-id';

interface RunContainer {
  runId: string;
  container: Docker.Container;
  logFile: string;
  terminateRequested: boolean;
  terminating?: Promise<void>;
  /** Resolves once the container has exited, its output is in the log file and the run is final. */
  done: Promise<void>;
}

/**
 * Launches each run in its own container from a dag image, like Dagster's DockerRunLauncher:
 * `dag execute-run <runId>` with the instance's database URL, on the image's own code
 * locations. The container's output goes to `<DAG_HOME>/logs/<runId>.log`; a container that
 * exits before its run recorded its end fails the run (or cancels it after a terminate),
 * naming the exit code. Terminate asks the run to stop, then `docker stop`s its container
 * (SIGTERM to the image's init, SIGKILL to everything in it after the grace period).
 *
 * Selected for `dag dev` and `dag daemon` by DAG_RUN_LAUNCHER=docker (see `createRunLauncher`).
 *
 * @example
 * const launcher = new DockerRunLauncher({ instance, workspace, image: 'dag:latest' });
 * const run = await launcher.launch({ location: workspace.location('quickstart'), job: 'etl_job' });
 */
export class DockerRunLauncher implements Launcher {
  private readonly options: DockerRunLauncherOptions;
  private readonly runs = new Map<string, RunContainer>();
  private readonly queuedConfigs = new Map<string, RunConfig>();
  private readonly liveness: RunLiveness;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private docker: Promise<Docker> | undefined;
  private closed = false;

  constructor(options: DockerRunLauncherOptions) {
    this.options = options;
    this.liveness = options.liveness ?? runLiveness();
  }

  private log(level: 'warn' | 'error', message: string): void {
    if (this.options.log) this.options.log(level, message);
    else process.stderr.write(`${redact(`dag: ${level}: ${message}`)}\n`);
  }

  private engine(): Promise<Docker> {
    this.docker ??= this.options.docker
      ? Promise.resolve(this.options.docker)
      : import('dockerode').then(({ default: Dockerode }) => new Dockerode());
    return this.docker;
  }

  logFile(runId: string): string {
    return runLogFile(this.options.instance, runId);
  }

  /** Runs whose container this launcher watches. */
  get active(): string[] {
    return [...this.runs.keys()];
  }

  async launch(request: LaunchRequest): Promise<RunRecord> {
    if (this.closed) throw new Error('The run launcher is closed: the server is shutting down.');
    return await launchOrQueue(this.parts(), request, 'container');
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

  private containerEnv(): string[] {
    const { instance } = this.options;
    const source = this.options.env ?? process.env;
    const env: string[] = [`DAG_POSTGRES_URL=${instance.url}`];
    for (const name of this.options.forwardEnv ?? []) {
      // The server's token and the instance URL are never the run's to set.
      if (name === 'DAG_UI_TOKEN' || name === 'DAG_POSTGRES_URL') continue;
      const value = source[name];
      if (value !== undefined) env.push(`${name}=${value}`);
    }
    return env;
  }

  /**
   * Starts the container of a stored run (one `launch` just submitted, or one the daemon's
   * queue dequeued). Resolves once the container runs. `runConfig` (secrets included) reaches
   * the run over the container's stdin, never its environment, command line or the database.
   */
  async execute(runId: string, runConfig?: RunConfig): Promise<void> {
    if (this.runs.has(runId)) return;
    runConfig ??= this.queuedConfigs.get(runId);
    this.queuedConfigs.delete(runId);
    const docker = await this.engine();
    const logFile = this.logFile(runId);
    await mkdir(path.dirname(logFile), { recursive: true });
    const code = this.options.codeFile;
    const cmd = [
      ...(code ? [/\.ya?ml$/i.test(code) ? '-w' : '-f', code] : []),
      'execute-run',
      runId,
      ...(runConfig !== undefined ? ['--config-stdin'] : []),
    ];
    await appendFile(
      logFile,
      `[dag] ${new Date().toISOString()} starting a container of ${this.options.image}: dag ${cmd.join(' ')}\n`,
    );
    const container = await docker.createContainer({
      Image: this.options.image,
      name: `dag-run-${runId}`,
      Cmd: cmd,
      Env: this.containerEnv(),
      Labels: { [RUN_ID_LABEL]: runId },
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: runConfig !== undefined,
      OpenStdin: runConfig !== undefined,
      StdinOnce: runConfig !== undefined,
      HostConfig: { NetworkMode: this.options.network ?? 'host', Init: false },
    });
    const attached = (await container.attach({
      stream: true,
      stdin: runConfig !== undefined,
      stdout: true,
      stderr: true,
      hijack: runConfig !== undefined,
    })) as NodeJS.ReadWriteStream & { destroy(): void };
    const out = createWriteStream(logFile, { flags: 'a' });
    const demuxed = new PassThrough();
    demuxed.pipe(out);
    docker.modem.demuxStream(attached, demuxed, demuxed);
    const streamEnded = new Promise<void>((resolve) => {
      attached.once('end', resolve);
      attached.once('close', resolve);
      attached.once('error', () => resolve());
    });
    try {
      await container.start();
    } catch (error) {
      attached.destroy();
      demuxed.end();
      out.end();
      await container.remove({ force: true }).catch(() => {});
      throw error;
    }
    if (runConfig !== undefined) attached.end(JSON.stringify(runConfig));
    const entry: RunContainer = {
      runId,
      container,
      logFile,
      terminateRequested: false,
      done: Promise.resolve(),
    };
    entry.done = (async () => {
      let how: string;
      try {
        const result = (await container.wait()) as { StatusCode: number };
        how = `exited with code ${result.StatusCode}`;
      } catch (error) {
        how = `could not be watched: ${describeError(error)}`;
      }
      // Its last output reaches the file before the run is judged.
      await Promise.race([streamEnded, new Promise((r) => setTimeout(r, 2000).unref())]);
      demuxed.end();
      await new Promise<void>((resolve) => out.end(() => resolve()));
      await appendFile(logFile, `[dag] ${new Date().toISOString()} the run's container ${how}\n`).catch(
        () => {},
      );
      try {
        await recordRunExit(this.parts(), {
          runId,
          noun: 'container',
          how,
          logFile,
          terminateRequested: entry.terminateRequested,
        });
      } catch (error) {
        this.log(
          'error',
          `Could not record the end of run ${runId} (its container exited): ${describeError(error)}. It is finished once the instance is reachable again.`,
        );
      } finally {
        await container.remove({ force: true }).catch(() => {});
        this.runs.delete(runId);
        if (this.runs.size === 0) {
          clearInterval(this.heartbeatTimer);
          this.heartbeatTimer = undefined;
        }
      }
    })();
    this.runs.set(runId, entry);
    // The launcher vouches for the run until its process inside the container takes over.
    await this.options.instance.storage.heartbeatRun(runId).catch(() => undefined);
    this.heartbeatTimer ??= setInterval(() => void this.heartbeat(), this.liveness.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    const storage = this.options.instance.storage;
    await Promise.all([...this.runs.keys()].map((id) => storage.heartbeatRun(id).catch(() => undefined)));
  }

  async terminate(runId: string): Promise<TerminateOutcome> {
    const result = await terminateRun(this.options.instance.storage, runId);
    const entry = this.runs.get(runId);
    if (!entry || result.outcome === 'unknown' || result.outcome === 'finished') return result;
    entry.terminateRequested = true;
    // docker stop: SIGTERM, then SIGKILL to every process of the container after the grace period.
    entry.terminating ??= entry.container
      .stop({ t: Math.ceil((this.options.graceMs ?? 10_000) / 1000) })
      .catch(() => undefined)
      .then(() => entry.done);
    return result;
  }

  async waitFor(runId: string): Promise<void> {
    await this.runs.get(runId)?.done;
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.runs.values()];
    await Promise.all(entries.map((e) => this.terminate(e.runId).catch(() => undefined)));
    await Promise.all(entries.map((e) => (e.terminating ?? Promise.resolve()).then(() => e.done)));
    clearInterval(this.heartbeatTimer);
  }
}

/** What `createRunLauncher` makes: a Launcher whose `execute` the daemon's run queue calls. */
export type ExecutingLauncher = Launcher & {
  execute(runId: string, runConfig?: RunConfig): Promise<void>;
  /** Resolves when the run this launcher executes has ended and its record is final. */
  waitFor(runId: string): Promise<void>;
  /** The runs it watches now and finishes itself (the daemon's reconciler leaves them alone). */
  readonly active: string[];
};

/**
 * The Docker run launcher's options from the environment, or undefined when DAG_RUN_LAUNCHER is
 * unset or `process` (a child process per run):
 *
 * - DAG_RUN_LAUNCHER=docker
 * - DAG_DOCKER_IMAGE: the image of the runs (required)
 * - DAG_DOCKER_NETWORK: their network (default `host`)
 * - DAG_DOCKER_CODE_FILE: the workspace or definitions file inside the image (default: its own)
 * - DAG_DOCKER_FORWARD_ENV: comma-separated names of variables to pass on to each run
 */
export function dockerLauncherFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<DockerRunLauncherOptions, 'image' | 'network' | 'codeFile' | 'forwardEnv'> | undefined {
  const kind = env.DAG_RUN_LAUNCHER?.trim() || 'process';
  if (kind === 'process') return undefined;
  if (kind !== 'docker') {
    throw new UsageError(`DAG_RUN_LAUNCHER must be 'process' or 'docker', got '${kind}'.`);
  }
  const image = env.DAG_DOCKER_IMAGE?.trim();
  if (!image) {
    throw new UsageError(
      'DAG_RUN_LAUNCHER=docker needs DAG_DOCKER_IMAGE: the dag image to run each run in (e.g. dag:latest, built from the repository Dockerfile).',
    );
  }
  const network = env.DAG_DOCKER_NETWORK?.trim();
  const codeFile = env.DAG_DOCKER_CODE_FILE?.trim();
  const forwardEnv = (env.DAG_DOCKER_FORWARD_ENV ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return {
    image,
    ...(network ? { network } : {}),
    ...(codeFile ? { codeFile } : {}),
    ...(forwardEnv.length ? { forwardEnv } : {}),
  };
}
