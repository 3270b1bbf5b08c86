import type {
  AssetDefinition,
  CodeLocation,
  Definitions,
  JobDefinition,
  ResourceDescription,
  ScheduleDefinition,
  SensorDefinition,
} from '@dag/core';
import { describePartitions } from '@dag/core';
import { z } from 'zod';

/** JSON Schema, as produced by zod's `z.toJSONSchema`. */
export type JsonSchema = Record<string, unknown>;

export interface CheckSummary {
  name: string;
  severity: 'WARN' | 'ERROR';
  blocking: boolean;
  description: string | null;
}

export interface AssetSummary {
  key: string;
  group: string;
  deps: string[];
  kinds: string[];
  tags: Record<string, string>;
  owners: string[];
  description: string | null;
  checks: CheckSummary[];
  hasConfig: boolean;
  freshness: { maximumLagMinutes: number } | null;
  /** The asset's partitions ('daily', 'static'...), or null when it has none. */
  partitions: { type: string; description: string } | null;
}

export interface JobSummary {
  name: string;
  type: 'assets' | 'graph';
  selection: string | null;
  steps: string[];
  description: string | null;
  tags: Record<string, string>;
  /** JSON Schema of the run config a launch of this job accepts. */
  configSchema: JsonSchema;
  /** The job's own default run config, merged under what a launch gives. */
  defaultRunConfig: unknown;
}

export interface ScheduleSummary {
  name: string;
  location: string;
  job: string;
  cron: string;
  timezone: string;
  description: string | null;
  defaultStatus: 'RUNNING' | 'STOPPED';
  catchUp: 'none' | 'one' | 'all';
  tags: Record<string, string>;
}

export interface SensorSummary {
  name: string;
  location: string;
  /** standard, run_status, asset or freshness. */
  type: string;
  /** The job it requests runs of; null for sensors that only alert. */
  job: string | null;
  description: string | null;
  minimumIntervalSeconds: number;
  defaultStatus: 'RUNNING' | 'STOPPED';
  /** Run-status sensors: the status they react to, and the jobs they watch (null: all). */
  runStatus: string | null;
  monitoredJobs: string[] | null;
  /** Asset sensors: the asset they watch. */
  assetKey: string | null;
}

export interface LocationSummary {
  name: string;
  file: string;
  assets: AssetSummary[];
  jobs: JobSummary[];
  schedules: ScheduleSummary[];
  sensors: SensorSummary[];
  resources: ResourceDescription[];
}

/**
 * The JSON Schema of one step's config (what the user types: defaults make fields optional).
 * A schema zod cannot express (a transform, a date) becomes `{}` for that part, never an error.
 */
export function configJsonSchema(schema: z.ZodType): JsonSchema {
  try {
    const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    delete out.$schema;
    return out;
  } catch {
    return {};
  }
}

/**
 * The JSON Schema of a run config for these steps:
 * `{ ops: { <step>: { config: <the step's schema> } } }`. Steps without config are left out,
 * and the run config may name no other step (planRun refuses it).
 */
export function runConfigSchema(steps: { key: string; schema: z.ZodType | undefined }[]): JsonSchema {
  const ops: Record<string, JsonSchema> = {};
  const requiredOps: string[] = [];
  for (const { key, schema } of steps) {
    if (!schema) continue;
    const config = configJsonSchema(schema);
    const needsConfig = Array.isArray(config.required) && config.required.length > 0;
    ops[key] = {
      type: 'object',
      properties: { config },
      additionalProperties: false,
      ...(needsConfig ? { required: ['config'] } : {}),
    };
    if (needsConfig) requiredOps.push(key);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      ops: {
        type: 'object',
        properties: ops,
        additionalProperties: false,
        ...(requiredOps.length ? { required: requiredOps } : {}),
      },
    },
    ...(requiredOps.length ? { required: ['ops'] } : {}),
  };
}

export function summarizeAsset(definitions: Definitions, asset: AssetDefinition): AssetSummary {
  return {
    key: asset.key,
    group: asset.group,
    deps: [...asset.deps],
    kinds: [...asset.kinds],
    tags: { ...asset.tags },
    owners: [...asset.owners],
    description: asset.description ?? null,
    checks: definitions.checksFor(asset.key).map((c) => ({
      name: c.name,
      severity: c.severity,
      blocking: c.blocking,
      description: c.description ?? null,
    })),
    hasConfig: asset.configSchema !== undefined,
    freshness: asset.freshness ? { maximumLagMinutes: asset.freshness.maximumLagMinutes } : null,
    partitions: asset.partitions ? describePartitions(asset.partitions) : null,
  };
}

export function jobSteps(definitions: Definitions, job: JobDefinition): string[] {
  return job.type === 'assets' ? definitions.select(job.selection) : job.nodes.map((n) => n.key);
}

export function summarizeJob(definitions: Definitions, job: JobDefinition): JobSummary {
  const steps = jobSteps(definitions, job);
  const schemas =
    job.type === 'assets'
      ? steps.map((key) => ({ key, schema: definitions.graph.get(key).configSchema }))
      : job.nodes.map((n) => ({ key: n.key, schema: n.op.configSchema }));
  return {
    name: job.name,
    type: job.type,
    selection: job.type === 'assets' ? job.selection : null,
    steps,
    description: job.description ?? null,
    tags: { ...job.tags },
    configSchema: runConfigSchema(schemas),
    defaultRunConfig: job.config,
  };
}

export function summarizeSchedule(location: string, s: ScheduleDefinition): ScheduleSummary {
  return {
    name: s.name,
    location,
    job: s.jobName,
    cron: s.cron,
    timezone: s.timezone,
    description: s.description ?? null,
    defaultStatus: s.defaultStatus,
    catchUp: s.catchUp,
    tags: { ...s.tags },
  };
}

export function summarizeSensor(location: string, s: SensorDefinition): SensorSummary {
  return {
    name: s.name,
    location,
    type: s.type ?? 'standard',
    job: s.jobName,
    description: s.description ?? null,
    minimumIntervalSeconds: s.minimumIntervalSeconds,
    defaultStatus: s.defaultStatus,
    runStatus: s.runStatus ?? null,
    monitoredJobs: s.monitoredJobs ? [...s.monitoredJobs] : null,
    assetKey: s.assetKey ?? null,
  };
}

/** Everything a code location defines, as the UI shows it. Resources go through `describe()`. */
export function describeLocation(location: CodeLocation): LocationSummary {
  const { definitions } = location;
  return {
    name: location.name,
    file: location.file,
    assets: definitions.graph.order.map((key) => summarizeAsset(definitions, definitions.graph.get(key))),
    jobs: [...definitions.jobs.values()].map((job) => summarizeJob(definitions, job)),
    schedules: [...definitions.schedules.values()].map((s) => summarizeSchedule(location.name, s)),
    sensors: [...definitions.sensors.values()].map((s) => summarizeSensor(location.name, s)),
    resources: [...definitions.resources.values()].map((r) => r.describe()),
  };
}
