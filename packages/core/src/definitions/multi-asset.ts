import type { z } from 'zod';
import type { AutomationCondition } from '../automation/condition.ts';
import { DefinitionError } from '../errors.ts';
import type { AssetContext } from '../types.ts';
import {
  type AssetCheckDefinition,
  type AssetDefinition,
  type AssetOptions,
  type AssetRef,
  buildAsset,
  type InputValues,
  type MaterializeResult,
  type MultiAssetNode,
} from './asset.ts';
import type { MetadataInput } from './metadata.ts';
import type { ResourceDefinition, ResourceValues } from './resource.ts';
import { assertKnownOptions, assertValidAssetKey, assertValidName } from './validation.ts';

/** One output of a multi-asset: an asset of its own. */
export interface AssetOut {
  /** Its asset key; default the output's name. */
  key?: string;
  group?: string;
  description?: string;
  tags?: Record<string, string>;
  kinds?: string[];
  metadata?: Record<string, MetadataInput>;
  codeVersion?: string;
  automationCondition?: AutomationCondition;
  /** Checks on this output. */
  checks?: AssetCheckDefinition[];
  /** Set to false when this output's value must not be stored (default: stored). */
  io?: boolean;
}

const OUT_OPTIONS = {
  key: true,
  group: true,
  description: true,
  tags: true,
  kinds: true,
  metadata: true,
  codeVersion: true,
  automationCondition: true,
  checks: true,
  io: true,
} as const satisfies Record<keyof AssetOut, true>;

export interface MultiAssetOptions<
  O extends Record<string, AssetOut>,
  S extends z.ZodType | undefined,
  R extends Record<string, ResourceDefinition>,
  I extends Record<string, AssetRef>,
> extends Pick<
    AssetOptions<S, R, I>,
    | 'group'
    | 'description'
    | 'deps'
    | 'ins'
    | 'config'
    | 'resources'
    | 'retry'
    | 'codeVersion'
    | 'tags'
    | 'pool'
    | 'partitions'
    | 'partitionMappings'
  > {
  /** The multi-asset's name: the step that runs its function. Not an asset key itself. */
  name: string;
  outs: O;
  /**
   * When true, a run may select only some outputs: `ctx.selectedOutputs` says which, and the
   * function returns only those. When false (default), selecting one output runs them all.
   */
  canSubset?: boolean;
}

const MULTI_OPTIONS = {
  name: true,
  outs: true,
  canSubset: true,
  group: true,
  description: true,
  deps: true,
  ins: true,
  config: true,
  resources: true,
  retry: true,
  codeVersion: true,
  tags: true,
  pool: true,
  partitions: true,
  partitionMappings: true,
} as const satisfies Record<
  keyof MultiAssetOptions<Record<string, AssetOut>, undefined, Record<string, never>, Record<string, never>>,
  true
>;

/** What a multi-asset's function returns: a value (or MaterializeResult) per output name. */
export type MultiAssetReturn<O> = { [K in keyof O]?: unknown };

type StoredOf<V> = V extends MaterializeResult<infer T> ? T : V;

export interface MultiAssetDefinition<O = Record<string, unknown>> {
  readonly kind: 'multi_asset';
  readonly name: string;
  /** Each output as an asset definition, by output name: `split.outs.left` in `ins`. */
  readonly outs: { readonly [K in keyof O]: AssetDefinition<StoredOf<O[K]>> };
  /** Every output asset, in declaration order. */
  readonly assets: readonly AssetDefinition[];
}

/**
 * Defines one function that materializes several assets (Dagster's multi_asset). Each entry of
 * `outs` is an asset of its own in the graph, the selection, the CLI and the UI; the function
 * returns an object with a value per output name.
 *
 * @example
 * multiAsset({ name: 'split', outs: { left: {}, right: {} } }, async (ctx) => ({ left: 1, right: 2 }));
 */
export function multiAsset<
  O extends Record<string, AssetOut>,
  Ret extends MultiAssetReturn<O>,
  S extends z.ZodType | undefined = undefined,
  R extends Record<string, ResourceDefinition> = Record<string, never>,
  I extends Record<string, AssetRef> = Record<string, never>,
>(
  options: MultiAssetOptions<O, S, R, I>,
  fn: (
    ctx: AssetContext<S extends z.ZodType ? z.output<S> : undefined, ResourceValues<R>>,
    inputs: InputValues<I>,
  ) => Ret | Promise<Ret>,
): MultiAssetDefinition<{ [K in keyof O]: K extends keyof Ret ? Ret[K] : unknown }> {
  assertValidName(options?.name, 'multi-asset');
  assertKnownOptions(options, MULTI_OPTIONS, `Multi-asset '${options.name}'`);
  if (typeof fn !== 'function') {
    throw new DefinitionError(`Multi-asset '${options.name}' needs a function as its second argument.`);
  }
  const outNames = Object.keys(options.outs ?? {});
  if (outNames.length === 0) {
    throw new DefinitionError(
      `Multi-asset '${options.name}' has no outs; declare at least one, e.g. outs: { left: {}, right: {} }.`,
    );
  }
  const keys = outNames.map((out) => {
    const spec = options.outs[out]!;
    assertKnownOptions(spec, OUT_OPTIONS, `Multi-asset '${options.name}', output '${out}'`);
    const key = spec.key ?? out;
    assertValidAssetKey(key);
    return key;
  });
  if (new Set(keys).size !== keys.length) {
    throw new DefinitionError(`Multi-asset '${options.name}': two outputs have the same asset key.`);
  }
  const node: MultiAssetNode = {
    name: options.name,
    outputs: keys,
    outputNames: Object.fromEntries(keys.map((key, i) => [key, outNames[i]!])),
    canSubset: options.canSubset ?? false,
    fn: fn as MultiAssetNode['fn'],
  };
  const assets = outNames.map((out, i) => {
    const spec = options.outs[out]!;
    // Each output step picks its own value out of the shared call's result.
    const pick: AssetDefinition['fn'] = () => {
      throw new DefinitionError(
        `Output '${out}' of multi-asset '${options.name}' runs through its multi-asset.`,
      );
    };
    return buildAsset(
      {
        name: keys[i]!,
        group: spec.group ?? options.group,
        description: spec.description ?? options.description,
        deps: options.deps,
        ins: options.ins,
        tags: { ...(options.tags ?? {}), ...(spec.tags ?? {}) },
        kinds: spec.kinds,
        metadata: spec.metadata,
        config: options.config,
        resources: options.resources,
        retry: options.retry,
        pool: options.pool,
        checks: spec.checks,
        io: spec.io,
        codeVersion: spec.codeVersion ?? options.codeVersion,
        automationCondition: spec.automationCondition,
        // Every output has the multi-asset's partitions: one call materializes the same slice of each.
        partitions: options.partitions,
        partitionMappings: options.partitionMappings,
      },
      pick,
      { multi: node },
    );
  });
  const outs = Object.fromEntries(outNames.map((out, i) => [out, assets[i]!]));
  return {
    kind: 'multi_asset',
    name: options.name,
    outs: outs as MultiAssetDefinition<{ [K in keyof O]: unknown }>['outs'] as never,
    assets,
  };
}
