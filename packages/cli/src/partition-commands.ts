import {
  assetPartitionStatus,
  type BackfillProgress,
  cancelBackfill,
  type DagInstance,
  getBackfillProgress,
  launchBackfill,
  listBackfillProgress,
  type RunConfig,
  UsageError,
  type Workspace,
} from '@dag/core';
import type { Command } from 'commander';
import pc from 'picocolors';
import { table } from './format.ts';

export interface PartitionCommandsContext {
  loadWorkspace: () => Promise<Workspace>;
  location: () => string | undefined;
  withInstance: <T>(fn: (instance: DagInstance) => Promise<T>) => Promise<T>;
  out: (text: string) => void;
  /** Reads a run config file (YAML or JSON), as `dag materialize -c` does. */
  readRunConfig: (file: string | undefined) => Promise<RunConfig | undefined>;
}

/** The names of the dynamic partitions definitions the workspace's assets use. */
function dynamicNamesIn(workspace: Workspace): Set<string> {
  const names = new Set<string>();
  for (const location of workspace.locations) {
    for (const a of location.definitions.assets) {
      const p = a.partitions;
      if (p?.type === 'dynamic') names.add(p.name);
      if (p?.type === 'multi')
        for (const d of p.dimensions) if (d.partitions.type === 'dynamic') names.add(d.partitions.name);
    }
  }
  return names;
}

async function knownDynamicName(ctx: PartitionCommandsContext, name: string): Promise<void> {
  const names = dynamicNamesIn(await ctx.loadWorkspace());
  if (!names.has(name)) {
    throw new UsageError(
      `No asset uses dynamic partitions '${name}'. Dynamic partitions in this workspace: ${[...names].join(', ') || '(none)'}.`,
    );
  }
}

function progressLine(b: BackfillProgress): string {
  const c = b.partitionCounts;
  return `${c.succeeded} succeeded, ${c.failed} failed, ${c.inProgress} in progress, ${c.queued} queued, ${c.total - c.submitted * (b.singleRun ? c.total : 1)} not submitted`;
}

function statusColor(status: string): string {
  if (status === 'COMPLETED' || status === 'MATERIALIZED') return pc.green(status);
  if (status === 'FAILED' || status === 'CANCELED') return pc.red(status);
  return pc.yellow(status);
}

/** `dag partitions ...` (dynamic keys, status per partition) and `dag backfill ...`. */
export function registerPartitionCommands(program: Command, ctx: PartitionCommandsContext): void {
  const partitions = program
    .command('partitions')
    .description("partitions: the status of an asset's partitions, and the keys of dynamic partitions");
  partitions
    .command('status <asset>')
    .description('the status of each partition of an asset (materialized, failed, in progress, missing)')
    .option('--json', 'print { keys, statuses, counts } as JSON')
    .action(async (assetKey: string, opts: { json?: boolean }) => {
      const workspace = await ctx.loadWorkspace();
      const location = workspace.locationForSelection(`key:"${assetKey}"`, ctx.location());
      const asset = location.definitions.graph.get(assetKey);
      if (!asset.partitions) throw new UsageError(`Asset '${assetKey}' is not partitioned.`);
      const status = await ctx.withInstance((instance) => assetPartitionStatus(instance.storage, asset));
      if (opts.json) return ctx.out(JSON.stringify(status));
      const { counts } = status;
      ctx.out(`${assetKey}: ${status.partitions.description}, ${status.keys.length} partitions`);
      ctx.out(
        `${pc.green(`${counts.MATERIALIZED} materialized`)}, ${pc.red(`${counts.FAILED} failed`)}, ${pc.yellow(`${counts.IN_PROGRESS} in progress`)}, ${counts.MISSING} missing`,
      );
      const shown = status.keys.length > 60 ? 'last 60' : 'all';
      const from = Math.max(0, status.keys.length - 60);
      ctx.out(
        table(
          ['PARTITION', 'STATUS'],
          status.keys.slice(from).map((k, i) => [k, statusColor(status.statuses[from + i]!)]),
        ),
      );
      if (shown !== 'all') ctx.out(pc.dim(`(the last 60 of ${status.keys.length}; --json for all)`));
    });
  partitions
    .command('list <name>')
    .description('list the keys of dynamic partitions')
    .option('--json', 'print the keys as a JSON array')
    .action(async (name: string, opts: { json?: boolean }) => {
      await knownDynamicName(ctx, name);
      const keys = await ctx.withInstance((instance) => instance.storage.getDynamicPartitions(name));
      if (opts.json) ctx.out(JSON.stringify(keys));
      else ctx.out(keys.length ? keys.join('\n') : `Dynamic partitions '${name}' has no keys yet.`);
    });
  partitions
    .command('add <name> <keys...>')
    .description('add keys to dynamic partitions')
    .action(async (name: string, keys: string[]) => {
      await knownDynamicName(ctx, name);
      for (const key of keys) {
        if (!key || key.includes('|') || key.includes('...') || key.trim() !== key) {
          throw new UsageError(
            `Partition key ${JSON.stringify(key)} is invalid: no '|', '...' or surrounding spaces.`,
          );
        }
      }
      const added = await ctx.withInstance((instance) => instance.storage.addDynamicPartitions(name, keys));
      ctx.out(
        `Added ${added.length} key(s) to '${name}'${added.length < keys.length ? ` (${keys.length - added.length} already there)` : ''}.`,
      );
    });
  partitions
    .command('delete <name> <keys...>')
    .description('delete keys from dynamic partitions (their stored values and history stay)')
    .action(async (name: string, keys: string[]) => {
      await knownDynamicName(ctx, name);
      const deleted = await ctx.withInstance((instance) =>
        instance.storage.deleteDynamicPartitions(name, keys),
      );
      const unknown = keys.filter((k) => !deleted.includes(k));
      ctx.out(
        `Deleted ${deleted.length} key(s) from '${name}'.${unknown.length ? ` Not there: ${unknown.join(', ')}.` : ''}`,
      );
    });

  const backfill = program
    .command('backfill')
    .description('run many partitions: launch, list, show and cancel backfills');
  backfill
    .command('launch')
    .description('launch a backfill; the daemon (dag daemon or dag dev) queues its runs')
    .option('-s, --select <selection>', 'the partitioned assets to backfill')
    .option('-j, --job <name>', 'or: a partitioned asset job')
    .option('--partitions <keys>', "a range 'A...B', a key, or keys separated by commas (default: all)")
    .option('--from-failure', 'only partitions that failed or are missing')
    .option(
      '--single-run',
      'one run over the whole range (ctx.partitionKeyRange) instead of one per partition',
    )
    .option('-c, --config <file>', 'run config (YAML or JSON) for every run')
    .option('--json', 'print the backfill as JSON')
    .action(
      async (opts: {
        select?: string;
        job?: string;
        partitions?: string;
        fromFailure?: boolean;
        singleRun?: boolean;
        config?: string;
        json?: boolean;
      }) => {
        if (!opts.select === !opts.job)
          throw new UsageError('Give either --select <selection> or --job <name>.');
        const workspace = await ctx.loadWorkspace();
        const location = opts.job
          ? workspace.locationForJob(opts.job, ctx.location())
          : workspace.locationForSelection(opts.select!, ctx.location());
        const runConfig = await ctx.readRunConfig(opts.config);
        const record = await ctx.withInstance(async (instance) => {
          const created = await launchBackfill({
            storage: instance.storage,
            definitions: location.definitions,
            location: location.name,
            ...(opts.job ? { job: opts.job } : { selection: opts.select! }),
            ...(opts.partitions !== undefined ? { partitions: opts.partitions } : {}),
            fromFailure: opts.fromFailure ?? false,
            singleRun: opts.singleRun ?? false,
            ...(runConfig ? { runConfig } : {}),
          });
          return await getBackfillProgress(instance.storage, created.backfillId);
        });
        if (opts.json) return ctx.out(JSON.stringify(record));
        const keys = record.partitionKeys;
        ctx.out(
          `Backfill ${record.backfillId}: ${keys.length} partition(s) ${keys[0]}...${keys[keys.length - 1]}${record.singleRun ? ', in one run' : ''}. The daemon queues its runs (dag daemon or dag dev); follow it with 'dag backfill show ${record.backfillId}'.`,
        );
      },
    );
  backfill
    .command('list')
    .description('backfills, newest first, with their progress')
    .option('--json', 'print JSON')
    .option('-n, --limit <n>', 'how many', '20')
    .action(async (opts: { json?: boolean; limit: string }) => {
      const list = await ctx.withInstance((instance) =>
        listBackfillProgress(instance.storage, { limit: Number(opts.limit) || 20 }),
      );
      if (opts.json) return ctx.out(JSON.stringify(list.map(({ partitionKeys: _, ...b }) => b)));
      if (list.length === 0) return ctx.out('No backfills.');
      ctx.out(
        table(
          ['ID', 'STATUS', 'SELECTION', 'PARTITIONS', 'PROGRESS', 'CREATED'],
          list.map((b) => [
            b.backfillId,
            statusColor(b.status),
            b.jobName ? `job ${b.jobName}` : (b.selection ?? ''),
            `${b.partitionKeys.length} (${b.partitionKeys[0]}...${b.partitionKeys[b.partitionKeys.length - 1]})`,
            progressLine(b),
            b.createdAt.toISOString(),
          ]),
        ),
      );
    });
  backfill
    .command('show <id>')
    .description('one backfill: its partitions and where its runs stand')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const b = await ctx.withInstance((instance) => getBackfillProgress(instance.storage, id));
      if (opts.json) return ctx.out(JSON.stringify(b));
      ctx.out(`Backfill ${b.backfillId}: ${statusColor(b.status)}${b.error ? ` (${b.error})` : ''}`);
      ctx.out(
        `  ${b.jobName ? `job ${b.jobName}` : `selection ${b.selection}`}${b.location ? ` in ${b.location}` : ''}`,
      );
      ctx.out(
        `  ${b.partitionKeys.length} partition(s) ${b.partitionKeys[0]}...${b.partitionKeys[b.partitionKeys.length - 1]}${b.singleRun ? ', one run' : ''}${b.fromFailure ? ', from failure' : ''}`,
      );
      ctx.out(`  ${progressLine(b)}`);
      ctx.out(`  runs: dag runs --tag dag/backfill=${b.backfillId}`);
    });
  backfill
    .command('cancel <id>')
    .description(
      'stop a backfill: no more runs are submitted, queued ones are canceled, running ones terminated',
    )
    .action(async (id: string) => {
      await ctx.withInstance((instance) => cancelBackfill(instance.storage, id));
      ctx.out(
        `Backfill ${id} is canceling: no more runs are submitted, its queued runs are canceled and its running ones terminated.`,
      );
    });
}
