import { Daemon, DagInstance, installLastResortHandlers, untilStopSignal, type Workspace } from '@dag/core';
import type { Command } from 'commander';

export interface DaemonCommandContext {
  loadWorkspace: () => Promise<Workspace>;
  err: (text: string) => void;
}

/**
 * `dag daemon`: the daemon alone (no UI). Each run it starts gets its own process, as in
 * `dag dev`. A second daemon on the same instance stands by until the first stops.
 */
export function registerDaemonCommand(program: Command, ctx: DaemonCommandContext): void {
  program
    .command('daemon')
    .description('run the daemon: schedules, sensors, the run queue and freshness (Ctrl-C to stop)')
    .option('--max-concurrent-runs <n>', 'runs in progress at once', '10')
    .option(
      '--workers',
      'hand admitted runs to `dag worker` processes (the job queue) instead of starting them here',
    )
    .action(async (opts: { maxConcurrentRuns: string; workers?: boolean }) => {
      const max = Number(opts.maxConcurrentRuns);
      if (!Number.isInteger(max) || max <= 0) {
        throw new Error(`--max-concurrent-runs must be a positive integer, got '${opts.maxConcurrentRuns}'.`);
      }
      const workspace = await ctx.loadWorkspace();
      const removeLastResort = installLastResortHandlers('dag daemon', ctx.err);
      const instance = await DagInstance.open({ supervise: { log: ctx.err } });
      // Loaded when the daemon runs: other commands do not pay for the server's modules.
      const { createRunLauncher, workerDispatch } = await import('@dag/server');
      const dispatch = opts.workers
        ? await workerDispatch(instance, { log: (message) => ctx.err(`dag daemon: ${message}`) })
        : undefined;
      // A process per run, or a container per run (DAG_RUN_LAUNCHER=docker).
      const launcher = createRunLauncher({
        instance,
        workspace,
        log: (level, message) => ctx.err(`dag daemon: ${level}: ${message}`),
      });
      const stop = new AbortController();
      // The first SIGINT or SIGTERM stops the daemon in order; a second exits at once, as for
      // `dag dev` and `dag worker`.
      void untilStopSignal().then(() => {
        ctx.err('dag daemon: stopping (Ctrl-C again to exit at once)');
        stop.abort();
      });
      const daemon = new Daemon({
        instance,
        locations: workspace.locations,
        maxConcurrentRuns: max,
        launch: async (run) => {
          if (dispatch) return await dispatch.launch(run);
          await launcher.execute(run.runId);
          // A run's end wakes the daemon: the next partition of a self-dependent backfill starts
          // at once (runs on workers wake it through the instance's run-queue channel).
          void launcher.waitFor(run.runId).then(
            () => daemon.wake(),
            () => {},
          );
        },
        ...(dispatch
          ? { launchBlocked: () => dispatch.launchBlocked(), workerSlots: () => dispatch.workerSlots() }
          : {}),
        watchedRuns: () => new Set(launcher.active),
        log: (level, message) => ctx.err(`dag daemon: ${level}: ${message}`),
      });
      ctx.err(
        `dag daemon: ${daemon.daemonId} on instance ${instance.home} (${workspace.locations.map((l) => l.name).join(', ')})`,
      );
      try {
        await daemon.run(stop.signal);
      } finally {
        await launcher.close();
        await dispatch?.close().catch(() => {});
        await instance.close();
        removeLastResort();
      }
      ctx.err('dag daemon: stopped');
    });
}
