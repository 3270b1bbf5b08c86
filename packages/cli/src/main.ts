import { readFile } from 'node:fs/promises';
import {
  assetFreshness,
  assetStaleness,
  type CodeLocation,
  DagError,
  DagInstance,
  describeError,
  executeRun,
  executeStoredRun,
  exitWithParent,
  FINISHED_RUN_STATUSES,
  formatDuration,
  RUN_STATUSES,
  type RunConfig,
  type RunResult,
  type RunStatus,
  redact,
  reexecutionOptions,
  reportRunFinished,
  resolveHome,
  resolveSelectionNow,
  type StaleReason,
  type StoredRunPlan,
  type SubmitOptions,
  selectionUses,
  submitRun,
  terminateRun,
  UsageError,
  Workspace,
  waitForRunHandoff,
} from '@dag/core';
import { registerDev } from '@dag/server/dev';
import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import { registerAutomationCommands } from './automation-commands.ts';
import { registerDaemonCommand } from './daemon-command.ts';
import { loadDotEnv } from './dotenv.ts';
import { EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE } from './exit-codes.ts';
import { formatEvent, statusColor, summary, table } from './format.ts';
import { type Io, liveRenderer } from './live-renderer.ts';
import { registerPartitionCommands } from './partition-commands.ts';
import { registerPoolCommands } from './pool-commands.ts';
import { registerPostgresServer } from './postgres-server-command.ts';
import { registerSqlCommands } from './sql-command.ts';
import { registerWorkerCommand } from './worker-command.ts';

export { EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE };

interface GlobalOptions {
  file?: string;
  workspace?: string;
  location?: string;
}

/** Where the command's own output goes: stdout, unless `reserveStdout` took it over. */
let writeOut = (text: string) => process.stdout.write(text);

const defaultIo: Io = {
  out: (text) => writeOut(`${redact(text)}\n`),
  err: (text) => process.stderr.write(`${redact(text)}\n`),
  isTTY: Boolean(process.stderr.isTTY),
};

async function loadWorkspace(opts: GlobalOptions, load: { sourceMaps?: boolean } = {}): Promise<Workspace> {
  return await Workspace.load({
    ...(opts.file ? { file: opts.file } : {}),
    ...(opts.workspace ? { workspaceFile: opts.workspace } : {}),
    ...load,
  });
}

/** Opens the instance for one command and always closes it. */
async function withInstance<T>(
  fn: (instance: DagInstance) => Promise<T>,
  options?: { migrate?: boolean },
): Promise<T> {
  const instance = await DagInstance.open(options);
  try {
    return await fn(instance);
  } finally {
    await instance.close();
  }
}

async function readRunConfig(file: string | undefined): Promise<RunConfig | undefined> {
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read config file ${file}: ${(error as Error).message}`);
  }
  try {
    return (
      file.endsWith('.json') ? JSON.parse(text) : (await import('yaml')).default.parse(text)
    ) as RunConfig;
  } catch (error) {
    throw new UsageError(
      `Config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
}

/** The run config a launcher writes to a run process's stdin (JSON), never stored anywhere. */
async function readConfigFromStdin(runId: string): Promise<RunConfig> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunConfig;
  } catch (error) {
    throw new UsageError(
      `--config-stdin: the config of run ${runId} on stdin is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function parseTags(values: string[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`Invalid --tag '${value}': use key=value.`);
    tags[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return tags;
}

/**
 * Executes a run in this process, rendering it live (or printing one JSON result), and
 * returns the exit code. `reexecute` turns it into a re-execution of a stored run: what to
 * run then comes from that run (through the same `reexecutionOptions` the API uses).
 */
async function runAndReport(
  io: Io,
  location: CodeLocation | ((submit: SubmitOptions) => CodeLocation),
  options: {
    reexecute?: { runId: string; fromFailure: boolean };
    job?: string;
    selection?: string;
    config?: string;
    json?: boolean;
    quiet?: boolean;
    tag?: string[];
    concurrency?: string;
    partition?: string;
  },
): Promise<number> {
  const givenConfig = await readRunConfig(options.config);
  const instance = await DagInstance.open();
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      io.err(pc.yellow('Terminating the run (press Ctrl-C again to exit at once)...'));
      controller.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: RunResult;
  try {
    let submit: SubmitOptions = {
      ...(options.job ? { job: options.job } : {}),
      ...(options.selection ? { selection: options.selection } : {}),
      ...(givenConfig ? { runConfig: givenConfig } : {}),
      tags: parseTags(options.tag),
    };
    if (options.reexecute) {
      submit = await reexecutionOptions(instance, options.reexecute.runId, {
        fromFailure: options.reexecute.fromFailure,
        ...(givenConfig ? { runConfig: givenConfig } : {}),
      });
    }
    const target = typeof location === 'function' ? location(submit) : location;
    const concurrency = options.concurrency === undefined ? undefined : Number(options.concurrency);
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
      throw new UsageError(`--concurrency must be a positive integer, got '${options.concurrency}'.`);
    }
    const { location: _, status: __, ...request } = submit;
    result = await executeRun({
      instance,
      definitions: target.definitions,
      location: target.name,
      ...request,
      ...(concurrency ? { maxConcurrency: concurrency } : {}),
      ...(options.partition !== undefined ? { partition: options.partition } : {}),
      signal: controller.signal,
      ...(options.json ? {} : { onEvent: liveRenderer(io, { quiet: options.quiet ?? false }) }),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await instance.close();
  }
  if (options.json) io.out(JSON.stringify(result, null, 2));
  else io.err(`\n${summary(result)}`);
  return result.status === 'SUCCESS' ? EXIT_OK : EXIT_RUN_FAILED;
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('dag')
    .description('An asset-based data orchestrator. Definitions are TypeScript, the instance is PostgreSQL.')
    .option('-f, --file <file>', 'a definitions file (instead of the workspace file)')
    .option(
      '-w, --workspace <file>',
      'the workspace file (default: workspace.yaml in this or a parent folder)',
    )
    .option('-l, --location <name>', 'the code location to use when the workspace has several')
    .showHelpAfterError()
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();

  program
    .command('list')
    .description('list assets with their group, deps and kinds')
    .option('-g, --group <group>', 'only assets of this group')
    .option('--status', 'include the latest materialization of each asset (opens the instance)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { group?: string; json?: boolean; status?: boolean }) => {
      // Runs no user code beyond loading it: no source maps needed for its stack traces.
      const workspace = await loadWorkspace(globals(), { sourceMaps: false });
      const locations = globals().location ? [workspace.location(globals().location)] : workspace.locations;
      let latest = new Map<string, { at: Date | null; runId: string | null }>();
      const staleness = new Map<string, Map<string, StaleReason[]>>();
      const now = Date.now();
      if (opts.status) {
        await withInstance(async (instance) => {
          latest = new Map(
            (await instance.storage.getAssetRecords()).map((r) => [
              r.assetKey,
              { at: r.lastMaterializedAt, runId: r.lastRunId },
            ]),
          );
          for (const l of locations)
            staleness.set(l.name, await assetStaleness(instance.storage, l.definitions));
        });
      }
      // Stale: overdue by its freshness policy, or changed since its latest materialization.
      const staleOf = (location: string, a: (typeof locations)[number]['definitions']['assets'][number]) => {
        const reasons = (staleness.get(location)?.get(a.key) ?? []).map((r) => r.message);
        const overdue = assetFreshness(a.freshness, latest.get(a.key)?.at, now);
        if (overdue?.stale) {
          reasons.unshift(
            latest.get(a.key)?.at
              ? `overdue: materialized ${Math.round(overdue.lagMinutes ?? 0)} min ago, its freshness policy allows ${overdue.maximumLagMinutes}`
              : 'overdue: never materialized, and it has a freshness policy',
          );
        }
        return { stale: reasons.length > 0, staleReasons: reasons };
      };
      const assets = locations.flatMap((l) =>
        l.definitions.graph.order
          .map((key) => l.definitions.graph.get(key))
          .filter((a) => !opts.group || a.group === opts.group)
          .map((a) => ({
            key: a.key,
            group: a.group,
            location: l.name,
            deps: [...a.deps],
            kinds: [...a.kinds],
            owners: [...a.owners],
            tags: { ...a.tags },
            description: a.description ?? null,
            checks: l.definitions.checksFor(a.key).map((c) => c.name),
            ...(opts.status
              ? {
                  lastMaterializedAt: latest.get(a.key)?.at?.toISOString() ?? null,
                  lastRunId: latest.get(a.key)?.runId ?? null,
                  ...staleOf(l.name, a),
                }
              : {}),
          })),
      );
      if (opts.group && assets.length === 0) {
        const groups = [...new Set(locations.flatMap((l) => l.definitions.assets.map((a) => a.group)))];
        throw new UsageError(`No assets in group '${opts.group}'. Groups: ${groups.join(', ')}.`);
      }
      if (opts.json) return io.out(JSON.stringify({ assets }, null, 2));
      io.out(
        table(
          ['ASSET', 'GROUP', 'DEPS', 'KINDS', ...(opts.status ? ['LAST MATERIALIZED'] : []), 'DESCRIPTION'],
          assets.map((a) => [
            a.key,
            a.group,
            a.deps.join(', ') || '-',
            a.kinds.join(', ') || '-',
            ...(opts.status
              ? [
                  `${a.lastMaterializedAt ?? pc.dim('never')}${a.stale ? ` ${pc.yellow(`STALE: ${a.staleReasons?.join('; ')}`)}` : ''}`,
                ]
              : []),
            (a.description ?? '').split('\n')[0]!.slice(0, 60),
          ]),
        ),
      );
    });

  program
    .command('deps <asset>')
    .description("show an asset's upstream and downstream assets")
    .option('--json', 'machine-readable output')
    .action(async (key: string, opts: { json?: boolean }) => {
      const workspace = await loadWorkspace(globals());
      const { definitions } = workspace.locationForAsset(key, globals().location);
      const graph = definitions.graph;
      graph.get(key);
      const upstream = graph.sort(graph.upstream(key));
      const downstream = graph.sort(graph.downstream(key));
      if (opts.json) {
        return io.out(
          JSON.stringify(
            {
              asset: key,
              parents: graph.parentsOf(key),
              children: graph.childrenOf(key),
              upstream,
              downstream,
            },
            null,
            2,
          ),
        );
      }
      const tree = (
        start: string,
        next: (k: string) => readonly string[],
        prefix: string,
        seen: Set<string>,
      ): string[] => {
        const lines: string[] = [];
        const kids = next(start);
        kids.forEach((k, i) => {
          const last = i === kids.length - 1;
          lines.push(`${prefix}${last ? '└─ ' : '├─ '}${k}${seen.has(k) ? pc.dim(' (see above)') : ''}`);
          if (!seen.has(k)) {
            seen.add(k);
            lines.push(...tree(k, next, `${prefix}${last ? '   ' : '│  '}`, seen));
          }
        });
        return lines;
      };
      io.out(pc.bold(`Upstream of ${key} (${upstream.length}):`));
      io.out(upstream.length ? tree(key, (k) => graph.parentsOf(k), '  ', new Set()).join('\n') : '  (none)');
      io.out(pc.bold(`Downstream of ${key} (${downstream.length}):`));
      io.out(
        downstream.length ? tree(key, (k) => graph.childrenOf(k), '  ', new Set()).join('\n') : '  (none)',
      );
    });

  program
    .command('materialize')
    .description('materialize a selection of assets')
    .requiredOption(
      '-s, --select <selection>',
      "assets to materialize, e.g. 'ds_png2webp', '+ds_img_finalize', 'group:DS'",
    )
    .option('-c, --config <file>', 'run config (YAML or JSON): { ops: { <asset>: { config: {...} } } }')
    .option('-t, --tag <key=value...>', 'tags for the run')
    .option('--concurrency <n>', 'steps run at once (default: CPU count)')
    .option('-p, --partition <key>', "the partition to materialize, or a range 'A...B' in one run")
    .option('-q, --quiet', 'do not print log lines')
    .option('--json', 'print one JSON result (run id, status, steps) and nothing else')
    .action(
      async (opts: {
        select: string;
        config?: string;
        json?: boolean;
        quiet?: boolean;
        tag?: string[];
        concurrency?: string;
        partition?: string;
      }) => {
        const workspace = await loadWorkspace(globals());
        let selection = opts.select;
        let location: CodeLocation;
        if (selectionUses(selection, 'stale')) {
          // stale() is resolved now, against the instance: the run selects the assets it matched.
          const candidates = globals().location
            ? [workspace.location(globals().location)]
            : workspace.locations;
          const resolved = await withInstance(async (instance) => {
            const out: [CodeLocation, string][] = [];
            for (const l of candidates) {
              const s = await resolveSelectionNow(instance.storage, l.definitions, selection);
              if (s !== null) out.push([l, s]);
            }
            return out;
          });
          if (resolved.length === 0) {
            const message = `Selection '${selection}' matches no asset now: nothing is stale.`;
            if (opts.json) io.out(JSON.stringify({ runId: null, status: 'SKIPPED', message }));
            else io.err(message);
            return setExit(EXIT_OK);
          }
          if (resolved.length > 1) {
            throw new UsageError(
              `Selection '${selection}' matches assets in several code locations (${resolved.map(([l]) => l.name).join(', ')}); choose one with -l.`,
            );
          }
          [location, selection] = resolved[0]!;
          if (!opts.json) io.err(`${opts.select} -> ${location.definitions.select(selection).join(', ')}`);
        } else location = workspace.locationForSelection(selection, globals().location);
        setExit(await runAndReport(io, location, { ...opts, selection }));
      },
    );

  const job = program.command('job').description('list and execute jobs');
  job
    .command('list')
    .description('list jobs')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const workspace = await loadWorkspace(globals());
      const jobs = workspace.locations.flatMap((l) =>
        [...l.definitions.jobs.values()].map((j) => ({
          name: j.name,
          location: l.name,
          type: j.type,
          selection: j.type === 'assets' ? j.selection : null,
          steps: j.type === 'assets' ? l.definitions.select(j.selection) : j.nodes.map((n) => n.key),
          description: j.description ?? null,
        })),
      );
      if (opts.json) return io.out(JSON.stringify({ jobs }, null, 2));
      io.out(
        table(
          ['JOB', 'LOCATION', 'TYPE', 'STEPS', 'DESCRIPTION'],
          jobs.map((j) => [
            j.name,
            j.location,
            j.type,
            j.steps.join(' → '),
            (j.description ?? '').slice(0, 50),
          ]),
        ),
      );
    });
  job
    .command('execute')
    .description('execute a job')
    .requiredOption('-j, --job <name>', 'the job to execute')
    .option('-c, --config <file>', 'run config (YAML or JSON)')
    .option('-t, --tag <key=value...>', 'tags for the run')
    .option('--concurrency <n>', 'steps run at once (default: CPU count)')
    .option('-p, --partition <key>', "the partition to materialize, or a range 'A...B' in one run")
    .option('-q, --quiet', 'do not print log lines')
    .option('--json', 'print one JSON result and nothing else')
    .action(
      async (opts: {
        job: string;
        config?: string;
        json?: boolean;
        quiet?: boolean;
        tag?: string[];
        concurrency?: string;
        partition?: string;
      }) => {
        const workspace = await loadWorkspace(globals());
        const location = workspace.locationForJob(opts.job, globals().location);
        setExit(await runAndReport(io, location, opts));
      },
    );

  program
    .command('runs')
    .description('list runs, newest first')
    .addOption(new Option('--status <status>', 'only runs with this status').choices([...RUN_STATUSES]))
    .option('-j, --job <name>', 'only runs of this job')
    .option('-t, --tag <key=value...>', 'only runs with this tag (repeat for several: all must match)')
    .option('-n, --limit <n>', 'how many runs', '20')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: { status?: RunStatus; job?: string; tag?: string[]; limit: string; json?: boolean }) => {
        const tags = parseTags(opts.tag);
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit <= 0)
          throw new UsageError(`--limit must be a positive integer, got '${opts.limit}'.`);
        await withInstance(async (instance) => {
          const page = await instance.storage.listRuns({
            limit,
            ...(opts.status ? { statuses: [opts.status] } : {}),
            ...(opts.job ? { jobName: opts.job } : {}),
            ...(Object.keys(tags).length > 0 ? { tags } : {}),
          });
          if (opts.json)
            return io.out(JSON.stringify({ runs: page.runs, nextCursor: page.nextCursor }, null, 2));
          if (page.runs.length === 0) return io.out('No runs.');
          io.out(
            table(
              ['RUN ID', 'JOB', 'STATUS', 'CREATED', 'DURATION', 'STEPS'],
              page.runs.map((r) => [
                r.runId,
                r.jobName,
                statusColor(r.status),
                r.createdAt.toISOString().replace('T', ' ').slice(0, 19),
                r.startedAt && r.endedAt ? formatDuration(r.endedAt.getTime() - r.startedAt.getTime()) : '-',
                r.assetSelection ? r.assetSelection.join(', ').slice(0, 50) : '-',
              ]),
            ),
          );
          // Why queued runs are still waiting (a limit, a code location not loaded).
          for (const r of page.runs) {
            if (r.status === 'QUEUED' && r.queueReason) io.out(`${r.runId} waits: ${r.queueReason}`);
          }
        });
      },
    );

  program
    .command('logs <runId>')
    .description("print a run's event log")
    .option('-f, --follow', 'keep printing new events until the run finishes')
    .option('--json', 'one JSON event per line')
    .action(async (runId: string, opts: { follow?: boolean; json?: boolean }) => {
      await withInstance(async (instance) => {
        const run = await instance.storage.getRun(runId);
        if (!run) throw new UsageError(`Unknown run '${runId}'. Run 'dag runs' to see run ids.`);
        let after = 0;
        for (;;) {
          const events = await instance.storage.getEvents(runId, { afterId: after, limit: 5000 });
          for (const e of events) io.out(opts.json ? JSON.stringify(e) : formatEvent(e));
          if (events.length > 0) after = events[events.length - 1]!.id;
          if (!opts.follow) break;
          if (events.length === 0) {
            const current = await instance.storage.getRun(runId);
            if (current && FINISHED_RUN_STATUSES.includes(current.status)) {
              const rest = await instance.storage.getEvents(runId, { afterId: after });
              for (const e of rest) io.out(opts.json ? JSON.stringify(e) : formatEvent(e));
              break;
            }
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      });
    });

  program
    .command('execute-run [runId]')
    .description('execute a stored run in this process (used by `dag dev` run processes and workers)')
    .option('--json', 'print one JSON result and nothing else')
    .option('-q, --quiet', 'do not print log lines')
    .option(
      '--config-stdin',
      "read the run's config, secrets included, as JSON from stdin (the stored one has them redacted)",
    )
    .option(
      '--from-launcher',
      'load the definitions and open the instance, then wait for the launcher to name the run (over IPC)',
    )
    .action(
      async (
        givenId: string | undefined,
        opts: { json?: boolean; quiet?: boolean; configStdin?: boolean; fromLauncher?: boolean },
      ) => {
        // Started by a worker: dies with it, so a run never goes on behind its retry's back.
        exitWithParent();
        if (!givenId && !opts.fromLauncher) throw new UsageError('execute-run needs a run id.');
        let runConfig = opts.configStdin && givenId ? await readConfigFromStdin(givenId) : undefined;
        const workspace = await loadWorkspace(globals());
        await withInstance(async (instance) => {
          // From a launcher: run what it hands over; a reused process then waits for the next run.
          for (;;) {
            let runId = givenId ?? '';
            let reuse = false;
            let known: StoredRunPlan | undefined;
            if (opts.fromLauncher) {
              const handoff = await waitForRunHandoff();
              runId = handoff.runId;
              reuse = handoff.reuse ?? false;
              runConfig = handoff.runConfig as RunConfig | undefined;
              known = handoff.run?.runId === runId ? handoff.run : undefined;
            }
            // The launcher's copy, when it handed one over (a worker's assignment just read it).
            const run = known ?? (await instance.storage.getRun(runId));
            if (!run) throw new UsageError(`Unknown run '${runId}'. Run 'dag runs' to see run ids.`);
            // A single loaded location (e.g. -f) is used whatever the run recorded.
            const location = workspace.location(
              globals().location ??
                (workspace.locations.length === 1 ? undefined : (run.location ?? undefined)),
            );
            const controller = new AbortController();
            const onSignal = () => controller.abort();
            process.on('SIGINT', onSignal);
            process.on('SIGTERM', onSignal);
            try {
              const result = await executeStoredRun({
                instance,
                definitions: location.definitions,
                location: location.name,
                runId,
                ...(runConfig !== undefined ? { runConfig } : {}),
                run,
                signal: controller.signal,
                ...(opts.json ? {} : { onEvent: liveRenderer(io, { quiet: opts.quiet ?? false }) }),
              });
              if (opts.json) io.out(JSON.stringify(result, null, 2));
              else io.err(`\n${summary(result)}`);
              setExit(result.status === 'SUCCESS' ? EXIT_OK : EXIT_RUN_FAILED);
              if (reuse) await reportRunFinished(runId, result.status);
            } finally {
              process.off('SIGINT', onSignal);
              process.off('SIGTERM', onSignal);
            }
            if (!reuse) break;
          }
        });
      },
    );

  const runCmd = program.command('run').description('act on a stored run');
  runCmd
    .command('reexecute <runId>')
    .description(
      'run a finished run again in this process: all its steps, or only those that did not succeed',
    )
    .option('--from-failure', 'only the steps that failed, were skipped or were canceled')
    .option(
      '-c, --config <file>',
      "run config merged over the run's own (YAML or JSON): how secret values, never stored, are given again",
    )
    .option('--concurrency <n>', 'steps run at once (default: CPU count)')
    .option('-q, --quiet', 'do not print log lines')
    .option('--json', 'print one JSON result and nothing else')
    .action(
      async (
        runId: string,
        opts: {
          fromFailure?: boolean;
          config?: string;
          concurrency?: string;
          quiet?: boolean;
          json?: boolean;
        },
      ) => {
        const workspace = await loadWorkspace(globals());
        setExit(
          await runAndReport(
            io,
            // A single loaded location (e.g. -f) is used whatever the run recorded.
            (submit) =>
              workspace.location(
                globals().location ??
                  (workspace.locations.length === 1 ? undefined : (submit.location ?? undefined)),
              ),
            { ...opts, reexecute: { runId, fromFailure: opts.fromFailure ?? false } },
          ),
        );
      },
    );

  program
    .command('terminate <runId>')
    .description(
      'terminate a run: a queued one is canceled at once, a running one is stopped (its steps aborted, their child processes killed)',
    )
    .action(async (runId: string) => {
      await withInstance(async (instance) => {
        const result = await terminateRun(instance.storage, runId);
        if (result.outcome === 'unknown') {
          throw new UsageError(`Unknown run '${runId}'. Run 'dag runs' to see run ids.`);
        }
        if (result.outcome === 'finished') {
          throw new UsageError(
            `Run ${runId} is ${result.run.status}; only a queued or running run can be terminated.`,
          );
        }
        io.out(
          result.outcome === 'canceled'
            ? `Run ${runId} is CANCELED.`
            : `Requested termination of run ${runId} (CANCELING: its process stops it).`,
        );
      });
    });

  const inst = program.command('instance').description('the instance: where runs and events are stored');
  inst
    .command('info')
    .description('storage, schema version, sizes')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withInstance(async (instance) => {
        const info = await instance.info();
        if (opts.json) return io.out(JSON.stringify(info, null, 2));
        io.out(
          table(
            ['KEY', 'VALUE'],
            Object.entries(info).map(([k, v]) => [k, String(v)]),
          ),
        );
      });
    });
  inst
    .command('migrate')
    .description('apply pending schema migrations')
    .action(async () => {
      await withInstance(
        async (instance) => {
          const { applied, version } = await instance.storage.migrate();
          io.out(
            applied.length
              ? `Applied migrations ${applied.join(', ')}; schema version ${version}.`
              : `Schema is up to date (version ${version}).`,
          );
        },
        { migrate: false },
      );
    });
  inst
    .command('purge')
    .description(
      'delete event log entries older than N days (the latest materialization of each asset is kept)',
    )
    .requiredOption('--older-than <days>', 'age in days')
    .option('--include-asset-events', 'also delete old materialization and check events')
    .action(async (opts: { olderThan: string; includeAssetEvents?: boolean }) => {
      const days = Number(opts.olderThan);
      if (!Number.isFinite(days) || days < 0)
        throw new UsageError(`--older-than must be a number of days >= 0, got '${opts.olderThan}'.`);
      await withInstance(async (instance) => {
        const { deleted } = await instance.storage.purgeEvents({
          olderThanDays: days,
          includeAssetEvents: opts.includeAssetEvents ?? false,
        });
        io.out(
          `Deleted ${deleted} event${deleted === 1 ? '' : 's'} older than ${days} day${days === 1 ? '' : 's'}.`,
        );
      });
    });
  inst
    .command('stop')
    .description('stop the embedded PostgreSQL server of this instance folder')
    .action(async () => {
      const home = resolveHome();
      io.out(
        (await DagInstance.stopEmbedded(home))
          ? `Stopped the embedded PostgreSQL in ${home}.`
          : `No embedded PostgreSQL is running in ${home}.`,
      );
    });

  registerPostgresServer(inst, io.err);

  registerDev(program, { err: io.err });
  registerDaemonCommand(program, { loadWorkspace: () => loadWorkspace(globals()), err: io.err });
  registerWorkerCommand(program, {
    loadWorkspace: () => loadWorkspace(globals()),
    out: io.out,
    err: io.err,
    setExit,
  });
  job
    .command('launch')
    .description(
      'submit a run of a job to the run queue and print its id, without waiting (`dag worker` executes it)',
    )
    .requiredOption('-j, --job <name>', 'the job to launch')
    .option('-c, --config <file>', 'run config (YAML or JSON)')
    .option('-t, --tag <key=value...>', 'tags for the run (e.g. dag/max_retries=2)')
    .option('--json', 'print {"runId", "status"} as JSON')
    .action(async (opts: { job: string; config?: string; tag?: string[]; json?: boolean }) => {
      const workspace = await loadWorkspace(globals());
      const location = workspace.locationForJob(opts.job, globals().location);
      const runConfig = await readRunConfig(opts.config);
      await withInstance(async (instance) => {
        const run = await submitRun(instance, location.definitions, {
          location: location.name,
          job: opts.job,
          ...(runConfig !== undefined ? { runConfig } : {}),
          tags: parseTags(opts.tag),
          status: 'QUEUED',
        });
        io.out(opts.json ? JSON.stringify({ runId: run.runId, status: run.status }) : run.runId);
      });
    });
  registerAutomationCommands(program, {
    loadWorkspace: () => loadWorkspace(globals()),
    withInstance,
    out: io.out,
    setExit,
  });
  registerPartitionCommands(program, {
    loadWorkspace: () => loadWorkspace(globals()),
    location: () => globals().location,
    withInstance,
    out: io.out,
    readRunConfig,
  });
  registerSqlCommands(program, {
    loadWorkspace: () => loadWorkspace(globals()),
    location: () => globals().location,
    out: io.out,
  });
  registerPoolCommands(program, { withInstance, out: io.out });

  return program;
}

/**
 * With `--json`, stdout carries the command's JSON and nothing else: every other write to
 * process.stdout (a `console.log` in a definitions file, an asset or a sensor) goes to stderr
 * until the returned function restores it.
 */
function reserveStdout(): () => void {
  const original = process.stdout.write;
  const toStdout = original.bind(process.stdout);
  writeOut = (text) => toStdout(text);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
    writeOut = (text) => process.stdout.write(text);
  };
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const restoreStdout = io === defaultIo && argv.includes('--json') ? reserveStdout() : undefined;
  try {
    return await runMain(argv, io);
  } finally {
    restoreStdout?.();
  }
}

async function runMain(argv: string[], io: Io): Promise<number> {
  let exit = EXIT_OK;
  try {
    loadDotEnv();
  } catch (error) {
    io.err(`${pc.red('Error:')} ${describeError(error)}`);
    return EXIT_USAGE;
  }
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  program.configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  try {
    await program.parseAsync(argv);
    return exit;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof DagError) {
      io.err(`${pc.red(`${error.name}:`)} ${describeError(error)}`);
      return error.kind === 'user-code' ? EXIT_RUN_FAILED : EXIT_USAGE;
    }
    io.err(`${pc.red('Error:')} ${describeError(error)}`);
    if (process.env.DAG_DEBUG && error instanceof Error && error.stack) io.err(error.stack);
    return EXIT_USAGE;
  }
}
