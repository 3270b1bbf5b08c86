import type { Definitions } from '../definitions/definitions.ts';
import type { RunConfig } from '../definitions/job.ts';
import { describeError, UsageError } from '../errors.ts';
import type { DagInstance } from '../instance/dag-instance.ts';
import type { RunRecord } from '../instance/storage.ts';
import type { RunResult, RunStatus } from '../types.ts';
import { REDACTED } from '../util/secrets.ts';
import { RUN_CHANNELS } from '../workers/worker-env.ts';
import { type ExecuteOptions, executeRun, notStartedResult } from './executor.ts';
import { ASSET_JOB_NAME, mergeRunConfig, planRun } from './plan.ts';
import { failBeforeStart } from './run-lifecycle.ts';

export interface SubmitOptions {
  location?: string | null;
  job?: string;
  selection?: string;
  runConfig?: RunConfig;
  tags?: Record<string, string>;
  parentRunId?: string;
  rootRunId?: string;
  /** Run only these steps (re-execution). */
  stepKeys?: string[];
  /** Default NOT_STARTED; QUEUED when a queue decides when it starts. */
  status?: Extract<RunStatus, 'NOT_STARTED' | 'QUEUED'>;
}

/**
 * Validates a run (job, selection, run config, resource config) and stores it without
 * executing it, for another process to execute with `executeStoredRun` (a run process of
 * `dag dev`, a worker, the daemon's queue). Invalid input throws here and stores nothing.
 */
export async function submitRun(
  instance: DagInstance,
  definitions: Definitions,
  options: SubmitOptions,
): Promise<RunRecord> {
  const plan = planRun(definitions, {
    ...(options.job !== undefined ? { job: options.job } : {}),
    ...(options.selection !== undefined ? { selection: options.selection } : {}),
    ...(options.runConfig !== undefined ? { runConfig: options.runConfig } : {}),
    ...(options.tags !== undefined ? { tags: options.tags } : {}),
    ...(options.stepKeys !== undefined ? { stepKeys: options.stepKeys } : {}),
  });
  const run = await instance.storage.createRun({
    runId: plan.runId,
    jobName: plan.jobName,
    location: options.location ?? null,
    status: options.status ?? 'NOT_STARTED',
    assetSelection: plan.assetSelection,
    selection: options.selection ?? null,
    stepKeys: options.stepKeys ?? null,
    runConfig: plan.runConfig as Record<string, unknown>,
    tags: plan.tags,
    parentRunId: options.parentRunId ?? null,
    rootRunId: options.rootRunId ?? options.parentRunId ?? null,
  });
  // The daemon's queue (on any machine) looks at it at once rather than at its next tick.
  if (run.status === 'QUEUED') await instance.storage.notify(RUN_CHANNELS.queue, run.runId).catch(() => {});
  return run;
}

/** What executing a stored run needs of its record (what a launcher hands a run process with it). */
export type StoredRunPlan = Pick<
  RunRecord,
  | 'runId'
  | 'status'
  | 'jobName'
  | 'location'
  | 'selection'
  | 'assetSelection'
  | 'stepKeys'
  | 'runConfig'
  | 'tags'
>;

/** The part of a run record a launcher hands its run process (plain JSON, sent over IPC). */
export function storedRunPlan(run: RunRecord): StoredRunPlan {
  const { runId, status, jobName, location, selection, assetSelection, stepKeys, runConfig, tags } = run;
  return { runId, status, jobName, location, selection, assetSelection, stepKeys, runConfig, tags };
}

/**
 * Executes a run stored by `submitRun`, in this process. A run whose plan no longer
 * validates (the definitions changed since it was submitted) is marked FAILURE with the reason.
 */
export async function executeStoredRun(
  options: Omit<
    ExecuteOptions,
    'job' | 'selection' | 'runConfig' | 'tags' | 'stepKeys' | 'runId' | 'existingRun'
  > & {
    runId: string;
    /**
     * The run's config with its secret values, handed over by whoever submitted it (a
     * launcher, over the run process's stdin). The stored config has secrets as `***`; without
     * this, a run whose stored config holds redacted values fails before it starts.
     */
    runConfig?: RunConfig;
    /** The run's record, when the caller just read it (else it is read here). */
    run?: StoredRunPlan;
  },
): Promise<RunResult> {
  const storage = options.instance.storage;
  const run = options.run?.runId === options.runId ? options.run : await storage.getRun(options.runId);
  if (!run) throw new UsageError(`Unknown run '${options.runId}'.`);
  // Terminated before it started, or taken by another process: nothing to execute here.
  if (!['NOT_STARTED', 'QUEUED', 'STARTING'].includes(run.status))
    return await notStartedResult(options.instance, run.runId);
  const isJob = run.jobName !== ASSET_JOB_NAME;
  const selection =
    run.selection ?? (isJob ? undefined : (run.assetSelection ?? []).map((k) => `key:"${k}"`).join(' or '));
  try {
    const runConfig = options.runConfig ?? (run.runConfig as RunConfig);
    if (options.runConfig === undefined) {
      const missing = redactedPaths(run.runConfig);
      if (missing.length > 0) {
        // Running with `***` as a password would only fail later, and less clearly.
        throw new UsageError(
          `Run ${run.runId}'s config holds secret values that are never stored (${missing.join(', ')}); the process that submitted it must hand the config over (execute-run --config-stdin).`,
        );
      }
    }
    const { run: _known, ...execute } = options;
    return await executeRun({
      ...execute,
      existingRun: true,
      ...(isJob ? { job: run.jobName } : {}),
      ...(selection ? { selection } : {}),
      ...(run.stepKeys ? { stepKeys: run.stepKeys } : {}),
      runConfig,
      tags: run.tags,
    });
  } catch (error) {
    // Only a run that never started: the guard leaves one that did to its own end.
    const message = `The run could not start: ${describeError(error)}`;
    await failBeforeStart(storage, run.runId, message);
    throw error;
  }
}

/** Paths of a stored run config whose value was a secret, stored as `***`: `resources.db.config.password`. */
export function redactedPaths(value: unknown, prefix = ''): string[] {
  if (value === REDACTED) return [prefix];
  if (Array.isArray(value)) return value.flatMap((v, i) => redactedPaths(v, `${prefix}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => redactedPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [];
}

/**
 * What a re-execution of a finished run needs: its job, selection and config, and (from
 * failure) only the steps that did not succeed.
 */
export async function reexecutionOptions(
  instance: DagInstance,
  parentRunId: string,
  options: {
    fromFailure?: boolean;
    /**
     * Merged over the parent's stored config (as a job's config is merged under a launch's):
     * how the secret values the parent's stored config lacks are given again.
     */
    runConfig?: RunConfig;
  } = {},
): Promise<SubmitOptions> {
  const parent = await instance.storage.getRun(parentRunId);
  if (!parent) throw new UsageError(`Unknown run '${parentRunId}'.`);
  if (!['SUCCESS', 'FAILURE', 'CANCELED'].includes(parent.status)) {
    throw new UsageError(`Run ${parentRunId} is ${parent.status}; re-execute a run once it has finished.`);
  }
  let stepKeys = parent.stepKeys ?? undefined;
  if (options.fromFailure) {
    if (parent.status === 'SUCCESS')
      throw new UsageError(`Run ${parentRunId} succeeded: there is no failure to re-execute from.`);
    const events = await instance.storage.getEvents(parentRunId, { types: ['RUN_START', 'STEP_SUCCESS'] });
    const planned = (events.find((e) => e.type === 'RUN_START')?.data?.steps as string[] | undefined) ?? [];
    const succeeded = new Set(events.filter((e) => e.type === 'STEP_SUCCESS').map((e) => e.stepKey));
    stepKeys = planned.filter((k) => !succeeded.has(k));
    if (stepKeys.length === 0) {
      throw new UsageError(`Run ${parentRunId} has no failed, skipped or canceled step to re-execute.`);
    }
  }
  const runConfig = options.runConfig
    ? mergeRunConfig(parent.runConfig as RunConfig, options.runConfig)
    : (parent.runConfig as RunConfig);
  const missing = redactedPaths(runConfig);
  if (missing.length > 0) {
    throw new UsageError(
      `Run ${parentRunId}'s config held secret values, which are never stored: ${missing.join(', ')}. Give ${missing.length === 1 ? 'it' : 'them'} again in the re-execution's run config (\`dag run reexecute ${parentRunId} --config <file>\`, or "runConfig" in the API request), e.g. ${JSON.stringify(exampleConfig(missing))}.`,
    );
  }
  const isJob = parent.jobName !== ASSET_JOB_NAME;
  const selection =
    parent.selection ??
    (isJob ? undefined : (parent.assetSelection ?? []).map((k) => `key:"${k}"`).join(' or '));
  return {
    location: parent.location,
    ...(isJob ? { job: parent.jobName } : {}),
    ...(selection ? { selection } : {}),
    runConfig,
    tags: parent.tags,
    parentRunId: parent.runId,
    rootRunId: parent.rootRunId ?? parent.runId,
    ...(stepKeys ? { stepKeys } : {}),
  };
}

/** `{ resources: { db: { config: { password: '...' } } } }` for the path `resources.db.config.password`. */
function exampleConfig(paths: string[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of paths) {
    const parts = path.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = '...';
  }
  return root;
}
