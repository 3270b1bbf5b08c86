import { randomUUID } from 'node:crypto';
import type { Definitions } from '../definitions/definitions.ts';
import type { RunConfig } from '../definitions/job.ts';
import { UsageError } from '../errors.ts';
import { planRun } from '../execution/plan.ts';
import { terminateRun } from '../execution/run-lifecycle.ts';
import type {
  BackfillRecord,
  BackfillStatus,
  InstanceStorage,
  NewRun,
  PartitionStatusRecord,
} from '../instance/storage.ts';
import { IN_PROGRESS_RUN_STATUSES, type RunStatus } from '../types.ts';
import { partitionKeys, resolvePartitionSelection, samePartitions } from './partitions.ts';
import { BACKFILL_TAG, loadPartitionContext, partitionTags } from './run-partitions.ts';

export interface LaunchBackfillOptions {
  storage: InstanceStorage;
  definitions: Definitions;
  /** The code location whose definitions these are (the daemon runs them from it). */
  location?: string | null;
  /** An asset job to run, or `selection` for an ad-hoc selection of assets. */
  job?: string;
  selection?: string;
  /** Which partitions: a range 'A...B', a key, or keys separated by commas. Default: all. */
  partitions?: string;
  /** Only partitions that are FAILED or MISSING for some selected asset. */
  fromFailure?: boolean;
  /** One run over the whole range (ctx.partitionKeyRange) instead of one run per partition. */
  singleRun?: boolean;
  runConfig?: RunConfig;
  tags?: Record<string, string>;
  now?: Date;
}

/**
 * Records a backfill: validates the selection, the partitions and the run config now (so a
 * mistake fails here, not in 10,000 runs), then stores it REQUESTED; the daemon submits its
 * runs (see BackfillSubmitter).
 */
export async function launchBackfill(options: LaunchBackfillOptions): Promise<BackfillRecord> {
  const { storage, definitions } = options;
  if (!options.job && !options.selection)
    throw new UsageError('A backfill needs a job or an asset selection.');
  const plan = planRun(definitions, {
    ...(options.job ? { job: options.job } : {}),
    ...(options.selection ? { selection: options.selection } : {}),
    ...(options.runConfig ? { runConfig: options.runConfig } : {}),
  });
  const assets = plan.steps.flatMap((s) => (s.asset?.partitions ? [s.asset] : []));
  const first = assets[0];
  if (!first) {
    throw new UsageError(
      `None of the assets selected (${(plan.assetSelection ?? []).join(', ') || 'none'}) is partitioned: run them with 'dag materialize' instead of a backfill.`,
    );
  }
  const other = assets.find((a) => !samePartitions(a.partitions!, first.partitions!));
  if (other) {
    throw new UsageError(
      `A backfill runs assets that share their partitions: '${first.key}' has ${first.partitions!.description}, '${other.key}' has ${other.partitions!.description}. Backfill them separately.`,
    );
  }
  const ctx = await loadPartitionContext(storage, [first.partitions], options.now);
  const all = partitionKeys(first.partitions!, ctx);
  let keys =
    options.partitions === undefined
      ? all
      : resolvePartitionSelection(all, options.partitions, `asset '${first.key}'`);
  if (keys.length === 0) throw new UsageError(`Asset '${first.key}' has no partitions yet.`);
  if (options.fromFailure) {
    const done = new Set(keys);
    const statuses = await Promise.all(assets.map((a) => storage.getPartitionStatuses(a.key)));
    // A partition is redone when some asset has it failed or missing (never in progress).
    const ok = (records: PartitionStatusRecord[]) =>
      new Set(
        records
          .filter((r) => r.status === 'MATERIALIZED' || r.status === 'IN_PROGRESS')
          .map((r) => r.partitionKey),
      );
    const okSets = statuses.map(ok);
    keys = keys.filter((k) => done.has(k) && okSets.some((set) => !set.has(k)));
    if (keys.length === 0) {
      throw new UsageError(
        `Nothing to backfill from failure: every selected partition of ${assets.map((a) => `'${a.key}'`).join(', ')} is materialized or in progress.`,
      );
    }
  }
  return await storage.createBackfill({
    backfillId: randomUUID().slice(0, 8),
    location: options.location ?? null,
    jobName: options.job ?? null,
    selection: options.selection ?? null,
    partitionKeys: keys,
    singleRun: options.singleRun ?? false,
    fromFailure: options.fromFailure ?? false,
    runConfig: (plan.runConfig ?? {}) as Record<string, unknown>,
    tags: options.tags ?? {},
  });
}

/** A backfill with where its runs stand: counts by run status, and the derived progress. */
export interface BackfillProgress extends BackfillRecord {
  runCounts: Partial<Record<RunStatus, number>>;
  /** Partitions (or, for a single run, the range's partitions) whose runs succeeded, failed... */
  partitionCounts: {
    total: number;
    submitted: number;
    succeeded: number;
    failed: number;
    inProgress: number;
    queued: number;
  };
}

export function backfillProgress(
  backfill: BackfillRecord,
  runCounts: Partial<Record<RunStatus, number>>,
): BackfillProgress {
  const n = (s: RunStatus) => runCounts[s] ?? 0;
  const per = backfill.singleRun ? backfill.partitionKeys.length : 1;
  return {
    ...backfill,
    runCounts,
    partitionCounts: {
      total: backfill.partitionKeys.length,
      submitted: backfill.submitted,
      succeeded: n('SUCCESS') * per,
      failed: (n('FAILURE') + n('CANCELED')) * per,
      inProgress: (n('NOT_STARTED') + n('STARTING') + n('STARTED') + n('CANCELING')) * per,
      queued: n('QUEUED') * per,
    },
  };
}

/** Backfills with their progress (newest first), or one by id. */
export async function listBackfillProgress(
  storage: InstanceStorage,
  options: { statuses?: BackfillStatus[]; limit?: number } = {},
): Promise<BackfillProgress[]> {
  const backfills = await storage.listBackfills(options);
  const counts = await storage.getBackfillRunCounts(backfills.map((b) => b.backfillId));
  return backfills.map((b) => backfillProgress(b, counts.get(b.backfillId) ?? {}));
}

export async function getBackfillProgress(
  storage: InstanceStorage,
  backfillId: string,
): Promise<BackfillProgress> {
  const backfill = await storage.getBackfill(backfillId);
  if (!backfill) {
    const recent = (await storage.listBackfills({ limit: 5 })).map((b) => b.backfillId);
    throw new UsageError(
      `Unknown backfill '${backfillId}'.${recent.length ? ` Recent backfills: ${recent.join(', ')}.` : ' No backfill has been launched.'} See 'dag backfill list'.`,
    );
  }
  const counts = await storage.getBackfillRunCounts([backfillId]);
  return backfillProgress(backfill, counts.get(backfillId) ?? {});
}

/** Stops a run: `terminateRun`, or a launcher's terminate that also kills a process that does not stop. */
export type TerminateRunFn = (runId: string) => Promise<unknown>;

/**
 * Cancels a backfill: no more runs are submitted, its queued runs are CANCELED and its
 * running ones terminated (they end CANCELED once their owners have stopped them). The
 * backfill is CANCELING until then; the daemon makes it CANCELED.
 */
export async function cancelBackfill(
  storage: InstanceStorage,
  backfillId: string,
  options: { terminate?: TerminateRunFn } = {},
): Promise<BackfillProgress> {
  const backfill = await getBackfillProgress(storage, backfillId);
  if (!(await storage.setBackfillStatus(backfillId, ['REQUESTED'], 'CANCELING'))) {
    throw new UsageError(
      `Backfill ${backfillId} is ${backfill.status}; only a REQUESTED backfill can be canceled.`,
    );
  }
  await stopBackfillRuns(storage, backfillId, options.terminate);
  return await getBackfillProgress(storage, backfillId);
}

/** The statuses of a backfill's runs that a cancel terminates (QUEUED ones are canceled in bulk). */
const TERMINATED_ON_CANCEL: RunStatus[] = ['NOT_STARTED', 'STARTING', 'STARTED', 'CANCELING'];

/**
 * The runs of a CANCELING backfill stopped: queued ones CANCELED (no more can be submitted:
 * submission needs a REQUESTED backfill), running ones terminated. Asking again is harmless:
 * a run whose owner died meanwhile is then finished CANCELED. Returns how many of each.
 */
export async function stopBackfillRuns(
  storage: InstanceStorage,
  backfillId: string,
  terminate: TerminateRunFn = (runId) => terminateRun(storage, runId),
): Promise<{ canceled: number; terminated: number }> {
  const canceled = await storage.cancelQueuedBackfillRuns(backfillId, `Backfill ${backfillId} was canceled.`);
  let terminated = 0;
  let cursor: string | undefined;
  do {
    const page = await storage.listRuns({
      tags: { [BACKFILL_TAG]: backfillId },
      statuses: TERMINATED_ON_CANCEL,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const run of page.runs) {
      await terminate(run.runId);
      terminated++;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { canceled, terminated };
}

const UNFINISHED: readonly RunStatus[] = IN_PROGRESS_RUN_STATUSES;

export interface BackfillSubmitterOptions {
  storage: InstanceStorage;
  /** Partitions submitted per transaction. Default 1,000. */
  chunkSize?: number;
  /** Transactions per call (per daemon tick); default unlimited. */
  chunksPerTick?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** How the runs of a canceled backfill are stopped; default `terminateRun`. */
  terminate?: TerminateRunFn;
}

/**
 * The daemon's part of backfills: submits each REQUESTED backfill's runs as QUEUED (the run
 * queue and its limits start them), stops the runs of CANCELING ones (CANCELED once none is
 * left running), and marks finished ones COMPLETED or FAILED.
 *
 * Invariants: the runs of the next partitions and the backfill's cursor move in one
 * transaction guarded by the cursor, so a daemon restarted at any point resumes where the
 * last commit left it and no partition gets two runs. A backfill of an asset that reads its
 * own previous partition submits one partition at a time, each once the one before has
 * succeeded (the daemon is woken when a run finishes, not at its next tick).
 */
export class BackfillSubmitter {
  constructor(private readonly options: BackfillSubmitterOptions) {}

  async tick(
    locations: ReadonlyMap<string, Definitions> | ((name: string | null) => Definitions | string),
  ): Promise<string[]> {
    const { storage } = this.options;
    const active = (
      await storage.listBackfills({ statuses: ['REQUESTED', 'CANCELING'], limit: 1000 })
    ).reverse();
    if (active.length === 0) return [];
    const counts = await storage.getBackfillRunCounts(active.map((b) => b.backfillId));
    const submitted: string[] = [];
    const resolve =
      typeof locations === 'function'
        ? locations
        : (name: string | null) =>
            (name ? locations.get(name) : [...locations.values()][0]) ??
            `Code location '${name}' is not loaded.`;
    for (const backfill of active) {
      const runCounts = counts.get(backfill.backfillId) ?? {};
      const unfinished = UNFINISHED.reduce((n, s) => n + (runCounts[s] ?? 0), 0);
      const failed = (runCounts.FAILURE ?? 0) + (runCounts.CANCELED ?? 0);
      if (backfill.status === 'CANCELING') {
        // Until every run has ended: queued ones canceled, running ones terminated (again, if
        // their owner has not stopped them yet; a run whose owner died is finished here).
        const stopped =
          unfinished > 0
            ? await stopBackfillRuns(storage, backfill.backfillId, this.options.terminate)
            : { canceled: 0, terminated: 0 };
        if (stopped.terminated > 0) {
          this.log(
            'info',
            `backfill ${backfill.backfillId} canceling: ${stopped.canceled} queued run(s) canceled, ${stopped.terminated} running run(s) terminated`,
          );
          continue;
        }
        await storage.setBackfillStatus(backfill.backfillId, ['CANCELING'], 'CANCELED');
        this.log(
          'info',
          `backfill ${backfill.backfillId} canceled (${stopped.canceled} queued run(s) canceled)`,
        );
        continue;
      }
      const total = backfill.singleRun ? 1 : backfill.partitionKeys.length;
      if (backfill.submitted >= total) {
        if (unfinished === 0) {
          await storage.setBackfillStatus(
            backfill.backfillId,
            ['REQUESTED'],
            failed > 0 ? 'FAILED' : 'COMPLETED',
          );
        }
        continue;
      }
      const definitions = resolve(backfill.location);
      if (typeof definitions === 'string') {
        this.log('warn', `backfill ${backfill.backfillId} waits: ${definitions}`);
        continue;
      }
      try {
        submitted.push(...(await this.submit(backfill, definitions, unfinished, failed)));
      } catch (error) {
        // A backfill whose definitions changed so that its runs no longer plan stops here.
        const message = `Backfill ${backfill.backfillId} could not submit its runs: ${(error as Error).message}`;
        this.log('error', message);
        await storage.setBackfillStatus(backfill.backfillId, ['REQUESTED'], 'FAILED', message);
      }
    }
    return submitted;
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.options.log?.(level, message);
  }

  private async submit(
    backfill: BackfillRecord,
    definitions: Definitions,
    unfinished: number,
    failed: number,
  ): Promise<string[]> {
    const { storage } = this.options;
    const keys = backfill.partitionKeys;
    const template = (partitionKeysOfRun: string[]): NewRun => {
      const plan = planRun(definitions, {
        ...(backfill.jobName ? { job: backfill.jobName } : { selection: backfill.selection! }),
        runConfig: backfill.runConfig as RunConfig,
        tags: { ...backfill.tags, [BACKFILL_TAG]: backfill.backfillId, ...partitionTags(partitionKeysOfRun) },
      });
      return {
        runId: plan.runId,
        jobName: plan.jobName,
        location: backfill.location,
        status: 'QUEUED',
        assetSelection: plan.assetSelection,
        selection: backfill.jobName ? null : backfill.selection,
        runConfig: plan.runConfig as Record<string, unknown>,
        tags: plan.tags,
      };
    };
    if (backfill.singleRun) {
      const run = template(keys);
      return (await storage.submitBackfillRuns(backfill.backfillId, 0, 1, [run])) ? [run.runId] : [];
    }
    const chain = planRun(definitions, {
      ...(backfill.jobName ? { job: backfill.jobName } : { selection: backfill.selection! }),
    }).steps.some((s) => s.asset?.selfDependency);
    if (chain) {
      // Partitions of a self-dependent asset run in order: the next once the previous succeeded.
      if (failed > 0) {
        const next = keys[backfill.submitted];
        await storage.setBackfillStatus(
          backfill.backfillId,
          ['REQUESTED'],
          'FAILED',
          `A run of the backfill failed; partitions from ${next} on were not run, as each reads the one before.`,
        );
        return [];
      }
      if (unfinished > 0) return [];
      const run = template([keys[backfill.submitted]!]);
      return (await storage.submitBackfillRuns(
        backfill.backfillId,
        backfill.submitted,
        backfill.submitted + 1,
        [run],
      ))
        ? [run.runId]
        : [];
    }
    // Planned once; each partition's run is the template with its own id and partition tag.
    const base = template([keys[0]!]);
    const chunkSize = this.options.chunkSize ?? 1000;
    const chunks = this.options.chunksPerTick ?? Number.POSITIVE_INFINITY;
    const out: string[] = [];
    let from = backfill.submitted;
    for (let i = 0; i < chunks && from < keys.length; i++) {
      const to = Math.min(keys.length, from + chunkSize);
      const runs = keys.slice(from, to).map((key) => ({
        ...base,
        runId: randomUUID(),
        tags: { ...base.tags, ...partitionTags([key]) },
      }));
      if (!(await storage.submitBackfillRuns(backfill.backfillId, from, to, runs))) {
        this.log(
          'warn',
          `backfill ${backfill.backfillId}: its cursor moved elsewhere (another daemon); stopping this pass`,
        );
        break;
      }
      out.push(...runs.map((r) => r.runId));
      from = to;
    }
    return out;
  }
}
