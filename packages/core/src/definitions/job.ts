import { DefinitionError } from '../errors.ts';
import { assertPartitionsDefinition, type PartitionsDefinition } from '../partitions/partitions.ts';
import { composeGraph, type GraphNode } from './op.ts';
import { assertKnownOptions, assertValidName } from './validation.ts';

/** Run config: `{ ops: { <asset or op name>: { config: {...} } }, resources: { <name>: { config } } }`. */
export interface RunConfig {
  ops?: Record<string, { config?: unknown }>;
  resources?: Record<string, { config?: Record<string, unknown> }>;
}

export interface JobOptionsBase {
  name: string;
  description?: string;
  tags?: Record<string, string>;
  /** Default run config, merged under the config given at launch. */
  config?: RunConfig;
}

export interface AssetJobDefinition {
  readonly kind: 'job';
  readonly type: 'assets';
  readonly name: string;
  readonly description: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly config: RunConfig;
  /** A selection in the selection syntax, e.g. `ds_img_r2_node+` or `group:DS and not tag:destructive`. */
  readonly selection: string;
  /** The partitions of its partitioned assets (they must all have these): a job run is one partition or a range. */
  readonly partitions: PartitionsDefinition | undefined;
}

export interface GraphJobDefinition {
  readonly kind: 'job';
  readonly type: 'graph';
  readonly name: string;
  readonly description: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly config: RunConfig;
  readonly nodes: readonly GraphNode[];
}

export type JobDefinition = AssetJobDefinition | GraphJobDefinition;

const GRAPH_JOB_OPTIONS = {
  name: true,
  description: true,
  tags: true,
  config: true,
} as const satisfies Record<keyof JobOptionsBase, true>;
const ASSET_JOB_OPTIONS = { ...GRAPH_JOB_OPTIONS, selection: true, partitions: true } as const;

function validateBase(options: JobOptionsBase, known: Readonly<Record<string, true>>): void {
  assertValidName(options?.name, 'job');
  assertKnownOptions(options, known, `Job '${options.name}'`);
  for (const [k, v] of Object.entries(options.tags ?? {})) {
    if (typeof v !== 'string')
      throw new DefinitionError(`Job '${options.name}': tag '${k}' must be a string.`);
  }
}

/**
 * A job that materializes a selection of assets.
 *
 * @example
 * defineAssetJob({ name: 'ds_node_job', selection: 'ds_img_r2_node+' });
 */
export function defineAssetJob(
  options: JobOptionsBase & { selection: string | string[]; partitions?: PartitionsDefinition },
): AssetJobDefinition {
  validateBase(options, ASSET_JOB_OPTIONS);
  if (options.partitions !== undefined)
    assertPartitionsDefinition(options.partitions, `Job '${options.name}'`);
  const selection = Array.isArray(options.selection) ? options.selection.join(' or ') : options.selection;
  if (typeof selection !== 'string' || selection.trim() === '') {
    throw new DefinitionError(`Job '${options.name}' needs a non-empty selection, e.g. 'group:DS'.`);
  }
  return {
    kind: 'job',
    type: 'assets',
    name: options.name,
    description: options.description,
    tags: { ...(options.tags ?? {}) },
    config: options.config ?? {},
    selection,
    partitions: options.partitions,
  };
}

/**
 * A job made of ops wired by a compose function.
 *
 * @example
 * graphJob({ name: 'etl' }, () => load(transform(extract())));
 */
export function graphJob(options: JobOptionsBase, compose: () => unknown): GraphJobDefinition {
  validateBase(options, GRAPH_JOB_OPTIONS);
  return {
    kind: 'job',
    type: 'graph',
    name: options.name,
    description: options.description,
    tags: { ...(options.tags ?? {}) },
    config: options.config ?? {},
    nodes: composeGraph(options.name, compose),
  };
}
