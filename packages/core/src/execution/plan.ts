import { randomUUID } from 'node:crypto';
import type { AssetCheckDefinition, AssetDefinition } from '../definitions/asset.ts';
import type { Definitions } from '../definitions/definitions.ts';
import type { RunConfig } from '../definitions/job.ts';
import type { GraphNode } from '../definitions/op.ts';
import type { ResourceDefinition } from '../definitions/resource.ts';
import { formatZodIssues, unknownConfigKeys } from '../definitions/validation.ts';
import { ConfigError, SelectionError, UsageError } from '../errors.ts';
import { partitionSelectionTags } from '../partitions/run-partitions.ts';
import type { RetryPolicy, StepKind } from '../types.ts';
import { didYouMean } from '../util/suggest.ts';

/** The job name of ad-hoc asset runs (`dag materialize`), as in Dagster. */
export const ASSET_JOB_NAME = '__ASSET_JOB';

export interface PlanStep {
  key: string;
  kind: StepKind;
  /** Steps of this plan that must succeed first. */
  deps: string[];
  asset?: AssetDefinition;
  node?: GraphNode;
  checks: readonly AssetCheckDefinition[];
  config: unknown;
  resources: Readonly<Record<string, ResourceDefinition>>;
  retry: RetryPolicy | undefined;
  /** The concurrency pool the step takes a slot of while it runs. */
  pool: string | undefined;
}

export interface ExecutionPlan {
  runId: string;
  jobName: string;
  tags: Record<string, string>;
  runConfig: RunConfig;
  /** Asset keys of an asset run; null for an op job. */
  assetSelection: string[] | null;
  steps: PlanStep[];
  /** Resource name -> validated config. */
  resourceConfig: Map<string, unknown>;
  /** What the plan changed from what was asked, said at the start of the run. */
  notes: string[];
}

export interface PlanOptions {
  /** A job name; or leave unset and give `selection` for an ad-hoc asset run. */
  job?: string;
  selection?: string;
  runConfig?: RunConfig;
  tags?: Record<string, string>;
  runId?: string;
  /** The partition to materialize, or a range 'A...B' (stored as the run's partition tags). */
  partition?: string;
  /** Restricts the plan to these step keys (re-execution). */
  stepKeys?: string[];
  env?: NodeJS.ProcessEnv;
}

/** `override` over `base`: per step its config object, per resource each config field. */
export function mergeRunConfig(base: RunConfig, override: RunConfig): RunConfig {
  const ops: Record<string, { config?: unknown }> = { ...(base.ops ?? {}) };
  for (const [k, v] of Object.entries(override.ops ?? {})) ops[k] = { ...(ops[k] ?? {}), ...v };
  const resources: Record<string, { config?: Record<string, unknown> }> = { ...(base.resources ?? {}) };
  for (const [k, v] of Object.entries(override.resources ?? {})) {
    resources[k] = { config: { ...(resources[k]?.config ?? {}), ...(v.config ?? {}) } };
  }
  return { ops, resources };
}

function validateRunConfigShape(runConfig: unknown): RunConfig {
  if (runConfig === undefined || runConfig === null) return {};
  if (typeof runConfig !== 'object' || Array.isArray(runConfig)) {
    throw new ConfigError('Run config must be an object like { ops: { <asset>: { config: {...} } } }.');
  }
  const allowed = ['ops', 'assets', 'resources'];
  for (const key of Object.keys(runConfig)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(
        `Run config contains unsupported key '${key}'; supported keys are: ${allowed.join(', ')}.`,
      );
    }
  }
  const rc = runConfig as RunConfig & { assets?: RunConfig['ops'] };
  // `assets:` is accepted as an alias of `ops:`, since for asset jobs that is what they are.
  const ops = { ...(rc.ops ?? {}), ...(rc.assets ?? {}) };
  for (const [name, entry] of Object.entries(ops)) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new ConfigError(`Run config ops.${name} must be an object like { config: {...} }.`);
    }
    for (const k of Object.keys(entry)) {
      if (k !== 'config') {
        throw new ConfigError(
          `Run config ops.${name} contains unsupported key '${k}'; supported keys are: config.`,
        );
      }
    }
  }
  return { ops, resources: rc.resources ?? {} };
}

/**
 * Builds and validates the plan of a run without writing anything: unknown job or selection,
 * invalid run config and invalid resource config all throw here, before a run record exists.
 */
export function planRun(definitions: Definitions, options: PlanOptions): ExecutionPlan {
  const runConfigIn = validateRunConfigShape(options.runConfig);
  const runId = options.runId ?? randomUUID();
  let jobName: string;
  let tags: Record<string, string> = {};
  let runConfig: RunConfig;
  let steps: PlanStep[];
  let assetSelection: string[] | null;
  const notes: string[] = [];

  const job = options.job !== undefined ? definitions.getJob(options.job) : undefined;
  if (job) {
    jobName = job.name;
    tags = { ...job.tags };
    runConfig = mergeRunConfig(job.config, runConfigIn);
  } else {
    if (!options.selection) throw new UsageError('Give a job name or an asset selection to run.');
    jobName = ASSET_JOB_NAME;
    runConfig = runConfigIn;
  }
  Object.assign(tags, options.tags ?? {});
  if (options.partition !== undefined) Object.assign(tags, partitionSelectionTags(options.partition));

  if (job?.type === 'graph') {
    assetSelection = null;
    steps = job.nodes.map((node) => ({
      key: node.key,
      kind: 'op' as const,
      deps: [...new Set(node.inputs)],
      node,
      checks: [],
      config: undefined,
      resources: node.op.resources,
      retry: node.op.retry,
      pool: node.op.pool,
    }));
  } else {
    const selection = job?.type === 'assets' ? job.selection : options.selection!;
    let keys = definitions.select(
      job?.type === 'assets' && options.selection ? `(${selection}) and (${options.selection})` : selection,
    );
    if (options.stepKeys) {
      const only = new Set(options.stepKeys);
      keys = keys.filter((k) => only.has(k));
    }
    // External assets (sources produced elsewhere) are part of the graph, never of a run.
    // An observable source is observed by the run (its observation records a data version).
    const isExternal = (k: string) => definitions.graph.get(k).external && !definitions.graph.get(k).observe;
    const external = keys.filter(isExternal);
    keys = keys.filter((k) => !isExternal(k));
    if (keys.length === 0 && external.length > 0) {
      throw new SelectionError(
        `Selection '${selection}' matches only external assets (${external.join(', ')}), which are produced outside this code location and cannot be materialized. Select the assets that read them instead (e.g. '${external[0]}+').`,
      );
    }
    if (keys.length === 0) {
      throw new SelectionError(
        `Selection '${selection}' matches no assets. Run 'dag list' to see asset keys.`,
      );
    }
    const expanded = expandMultiAssets(definitions, keys);
    keys = expanded.keys;
    notes.push(...expanded.notes);
    assetSelection = keys;
    const selected = new Set(keys);
    steps = keys.map((key) => {
      const asset = definitions.graph.get(key);
      return {
        key,
        kind: 'asset' as const,
        deps: asset.deps.filter((d) => selected.has(d)),
        asset,
        checks: definitions.checksFor(key),
        config: undefined,
        resources: asset.resources,
        retry: asset.retry,
        pool: asset.pool,
      };
    });
  }
  if (options.stepKeys && job?.type === 'graph') {
    const wanted = new Set(options.stepKeys);
    steps = steps
      .filter((s) => wanted.has(s.key))
      .map((s) => ({ ...s, deps: s.deps.filter((d) => wanted.has(d)) }));
  }

  // Step config: every ops.<name> entry must name a step of this run, and validate.
  const stepKeys = new Set(steps.map((s) => s.key));
  for (const name of Object.keys(runConfig.ops ?? {})) {
    if (!stepKeys.has(name)) {
      throw new ConfigError(
        `Run config has config for '${name}', which is not a step of this run.${didYouMean(name, stepKeys)} Steps: ${[...stepKeys].join(', ')}.`,
      );
    }
  }
  for (const step of steps) {
    const schema = step.asset?.configSchema ?? step.node?.op.configSchema;
    const given = runConfig.ops?.[step.key]?.config;
    if (!schema) {
      if (given !== undefined) {
        throw new ConfigError(
          `${step.kind === 'asset' ? 'Asset' : 'Op'} '${step.key}' takes no config, but the run config gives ops.${step.key}.config.`,
        );
      }
      continue;
    }
    const unknown = unknownConfigKeys(schema, given ?? {});
    if (unknown.length > 0) {
      throw new ConfigError(
        `Invalid config for ${step.kind} '${step.key}': ${unknown.map((u) => `unknown field '${u.path}'.${u.suggestion}`).join(' ')} Fix it in the run config under ops.${step.key}.config.`,
      );
    }
    const parsed = schema.safeParse(given ?? {});
    if (!parsed.success) {
      throw new ConfigError(
        `Invalid config for ${step.kind} '${step.key}': ${formatZodIssues(parsed.error)}. Set it in the run config under ops.${step.key}.config.`,
      );
    }
    step.config = parsed.data;
  }

  // Resource config: resolve and validate every resource the plan uses, before anything runs.
  const resourceConfig = new Map<string, unknown>();
  const used = new Map<string, ResourceDefinition>();
  for (const step of steps) {
    for (const r of Object.values(step.resources)) used.set(r.name, r);
    for (const check of step.checks) for (const r of Object.values(check.resources)) used.set(r.name, r);
  }
  for (const name of Object.keys(runConfig.resources ?? {})) {
    if (!used.has(name)) {
      throw new ConfigError(
        `Run config has config for resource '${name}', which no step of this run uses.${didYouMean(name, used.keys())}`,
      );
    }
  }
  for (const [name, r] of used) {
    resourceConfig.set(name, r.resolveConfig(runConfig.resources?.[name]?.config ?? {}, options.env));
  }

  return { runId, jobName, tags, runConfig, assetSelection, steps, resourceConfig, notes };
}

/**
 * A multi-asset that cannot subset runs whole: selecting one of its outputs selects them all,
 * as in Dagster. Returns the keys (upstream first) and a note per multi-asset that grew.
 */
export function expandMultiAssets(
  definitions: Definitions,
  keys: readonly string[],
): { keys: string[]; notes: string[] } {
  const out = new Set(keys);
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    const multi = definitions.graph.get(key).multi;
    if (!multi || multi.canSubset || seen.has(multi.name)) continue;
    seen.add(multi.name);
    const added = multi.outputs.filter((k) => !out.has(k));
    if (added.length === 0) continue;
    for (const k of added) out.add(k);
    notes.push(
      `Multi-asset '${multi.name}' cannot materialize a subset of its outputs (canSubset is false), so the run also materializes ${added.map((k) => `'${k}'`).join(', ')}.`,
    );
  }
  return { keys: notes.length ? definitions.graph.sort(out) : [...keys], notes };
}
