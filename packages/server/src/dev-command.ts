import {
  Daemon,
  DagInstance,
  installLastResortHandlers,
  redact,
  UsageError,
  untilStopSignal,
  Workspace,
  watchWorkspace,
} from '@dag/core';
import type { Command } from 'commander';
import type { startServer } from './start-server.ts';

export interface DevIo {
  /** Where the server's messages go. Default: stderr, redacted. */
  err: (text: string) => void;
}

const defaultIo: DevIo = { err: (text) => process.stderr.write(`${redact(text)}\n`) };

interface DevOptions {
  host: string;
  port: string;
  file?: string;
  workspace?: string;
  uiDir?: string;
  watch: boolean;
  workers?: string;
  daemon: boolean;
}

/**
 * Adds `dag dev [--host] [--port] [-f file] [-w workspace]` to a commander program: serves
 * the API and the UI, launches each run in its own process, and stops cleanly (terminating
 * the runs it launched, closing the instance) on SIGINT or SIGTERM. `DAG_UI_TOKEN` sets the
 * token; without it only loopback addresses may be bound.
 *
 * @example
 * const program = new Command('dag');
 * registerDev(program);
 */
export function registerDev(program: Command, io: DevIo = defaultIo): Command {
  return program
    .command('dev')
    .description('serve the web UI and its API; each run gets its own process')
    .option('--host <host>', 'address to bind (any but loopback requires DAG_UI_TOKEN)', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '3000')
    .option('-f, --file <file>', 'a definitions file (instead of the workspace file)')
    .option(
      '-w, --workspace <file>',
      'the workspace file (default: workspace.yaml in this or a parent folder)',
    )
    .option('--ui-dir <dir>', 'the built UI to serve (default: packages/ui/dist)')
    .option(
      '--workers <n>',
      'start n local `dag worker` processes and hand every run to them (the job queue)',
    )
    .option(
      '--no-watch',
      'do not reload definitions when their files change (POST /api/definitions/reload still does)',
    )
    .option(
      '--no-daemon',
      'serve the UI and API only: a separate `dag daemon` ticks schedules and sensors and starts queued runs',
    )
    .action(async (opts: DevOptions) => {
      const globals = program.opts<{ file?: string; workspace?: string }>();
      const file = opts.file ?? globals.file;
      const workspaceFile = opts.workspace ?? globals.workspace;
      const workerCount = opts.workers === undefined ? 0 : Number(opts.workers);
      if (!Number.isInteger(workerCount) || workerCount < 0 || workerCount > 64) {
        throw new UsageError(`--workers must be an integer from 0 to 64, got '${opts.workers}'.`);
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new UsageError(`--port must be an integer from 0 to 65535, got '${opts.port}'.`);
      }
      const token = process.env.DAG_UI_TOKEN?.trim() || undefined;
      // Refuse an unsafe binding before loading anything.
      // The server's modules load only when `dag dev` runs: every other command starts faster.
      const { checkBinding, startServer } = await import('./start-server.ts');
      const { createRunLauncher } = await import('./create-run-launcher.ts');
      const { ensureUiBuilt } = await import('./ensure-ui-built.ts');
      const { registerResourceSecrets } = await import('./resource-secrets.ts');
      checkBinding(opts.host, token);
      const workspace = await Workspace.load({
        ...(file ? { file } : {}),
        ...(workspaceFile ? { workspaceFile } : {}),
        reloadable: true,
      });
      if (!opts.uiDir) await ensureUiBuilt(io.err);
      const removeLastResort = installLastResortHandlers('dag dev', io.err);
      // Listened for from here on: a signal that arrives while dag dev is still starting stops it
      // in order once it has started, instead of killing it half-started.
      const stopSignal = untilStopSignal();
      const instance = await DagInstance.open({ supervise: { log: io.err } });
      // Runs launched from the UI or the API wait in the daemon's run queue like any other,
      // so the run and tag limits hold them too.
      let daemon: Daemon | undefined;
      // A process per run, or a container per run (DAG_RUN_LAUNCHER=docker).
      const launcher = createRunLauncher({
        instance,
        workspace,
        queue: { onQueued: () => daemon?.wake() },
        log: (level, message) => io.err(`dag dev: ${level}: ${message}`),
      });
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({
          workspace,
          instance,
          launcher,
          host: opts.host,
          port,
          ...(token ? { token } : {}),
          ...(opts.uiDir ? { uiDir: opts.uiDir } : {}),
        });
      } catch (error) {
        await instance.close();
        throw error;
      }
      const names = workspace.locations.map((l) => l.name).join(', ');
      io.err(`dag dev: ${workspace.locations.length} code location(s) (${names}), instance ${instance.home}`);
      io.err(`dag dev: listening on ${server.url}`);
      if (token) {
        io.err(
          `dag dev: every request needs the token in DAG_UI_TOKEN: open ${server.url}?token=<DAG_UI_TOKEN> once in the browser, or send 'Authorization: Bearer <DAG_UI_TOKEN>'.`,
        );
      }
      // An edited definitions file (or a module of its package it imports) reloads its location.
      const watcher = opts.watch
        ? watchWorkspace(workspace, {
            onReload: (results) => {
              registerResourceSecrets(workspace);
              for (const r of results) {
                io.err(
                  r.error
                    ? `dag dev: reloading ${r.location} failed (its last good definitions stay loaded): ${r.error.file}${r.error.line ? `:${r.error.line}` : ''}: ${r.error.message}`
                    : `dag dev: reloaded ${r.location}`,
                );
              }
            },
          })
        : undefined;
      // With --workers, admitted runs go to local `dag worker` processes through the job queue.
      const { startLocalWorkers, workerDispatch } = await import('./worker/local-workers.ts');
      const dispatch =
        workerCount > 0 ? await workerDispatch(instance, { log: (m) => io.err(`dag dev: ${m}`) }) : undefined;
      const localWorkers =
        workerCount > 0
          ? startLocalWorkers({ count: workerCount, workspace, instance, log: io.err })
          : undefined;
      // The daemon ticks schedules and sensors, finishes runs whose owner died (at once on
      // start-up), and starts queued runs, each in its own process.
      const stopDaemon = new AbortController();
      daemon = opts.daemon
        ? new Daemon({
            instance,
            // The current definitions, as reloads replace them.
            locations: () => workspace.locations,
            launch: async (run) => {
              if (dispatch) return await dispatch.launch(run);
              await launcher.execute(run.runId);
              // A run's end wakes the daemon: the next partition of a self-dependent backfill
              // starts at once (runs on workers wake it through the instance's run-queue channel).
              void launcher.waitFor(run.runId).then(
                () => daemon?.wake(),
                () => {},
              );
            },
            ...(dispatch
              ? { launchBlocked: () => dispatch.launchBlocked(), workerSlots: () => dispatch.workerSlots() }
              : {}),
            // The running runs of a canceled backfill are stopped as the UI's terminate does.
            terminate: (runId) => launcher.terminate(runId),
            watchedRuns: () => new Set(launcher.active),
            uiUrl: server.url,
            log: (level, message) => io.err(`dag dev: daemon ${level}: ${message}`),
          })
        : undefined;
      if (!daemon) io.err('dag dev: --no-daemon: queued runs wait for a `dag daemon` on this instance');
      const daemonDone = daemon ? daemon.run(stopDaemon.signal) : Promise.resolve();
      // A second signal while stopping exits at once.
      const signal = await stopSignal;
      io.err(
        `dag dev: ${signal}: stopping (running runs are terminated; press Ctrl-C again to exit at once)`,
      );
      try {
        stopDaemon.abort();
        await watcher?.close();
        await daemonDone;
        await localWorkers?.stop();
        await dispatch?.close().catch(() => {});
        await server.close();
      } finally {
        await instance.close();
        removeLastResort();
      }
      io.err('dag dev: stopped');
    });
}
