import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import type { AutomationCondition } from '../automation/condition.ts';
import { DefinitionError } from '../errors.ts';
import { assertPartitionMapping, isPreviousMapping, type PartitionMapping } from '../partitions/mappings.ts';
import { assertPartitionsDefinition, type PartitionsDefinition } from '../partitions/partitions.ts';
import type { AssetContext, CheckContext, CheckResult, RetryPolicy } from '../types.ts';
import type { MetadataInput } from './metadata.ts';
import type { ResourceDefinition, ResourceValues } from './resource.ts';
import { assertKnownOptions, assertValidAssetKey, assertValidName } from './validation.ts';

/** A dependency given as the upstream asset itself or its key. */
export type AssetRef = AssetDefinition | string;

export interface FreshnessPolicy {
  /** The asset is stale when its latest materialization is older than this. */
  maximumLagMinutes: number;
}

export interface AssetOptions<
  S extends z.ZodType | undefined,
  R extends Record<string, ResourceDefinition>,
  I extends Record<string, AssetRef>,
> {
  /** The asset key: a name, or a path of names joined by '/' (`dim/dim_customer`). */
  name: string;
  group?: string;
  description?: string;
  /**
   * An external asset: data produced outside this code location (a source table). It is shown
   * in the graph and other assets depend on it, but it is never materialized; its function is
   * not called.
   */
  external?: boolean;
  /** Upstream assets this one runs after, without loading their values. */
  deps?: AssetRef[];
  /** Upstream assets whose values are loaded through the IO manager and passed as `inputs`. */
  ins?: I;
  tags?: Record<string, string>;
  /** What the asset is made of or stored in: 'postgres', 's3', 'duckdb', 'webp'... */
  kinds?: string[];
  owners?: string[];
  metadata?: Record<string, MetadataInput>;
  /** A zod schema; the run config's `ops.<name>.config` is validated against it. */
  config?: S;
  /** Resources this asset uses, by the name it reads them under: `ctx.resources.db`. */
  resources?: R;
  retry?: RetryPolicy;
  /**
   * A concurrency pool: at most the pool's limit (`dag pool set <pool> <limit>`) of the steps
   * naming it run at once, across every run and process of the instance.
   */
  pool?: string;
  freshness?: FreshnessPolicy;
  /** Checks declared inline; same as listing them in `Definitions({ assetChecks })`. */
  checks?: AssetCheckDefinition[];
  /** Set to false when the function returns a value that must not be stored (default: stored). */
  io?: boolean;
  /**
   * The version of the code that computes the asset. When it differs from the version recorded
   * by the latest materialization, the asset is stale ('code version changed').
   */
  codeVersion?: string;
  /**
   * Files or folders, outside the modules it is imported from, that this asset's definition is
   * built from when its module loads (SQL models, YAML, templates): absolute paths or `file:`
   * URLs. `dag dev` reloads the code location when one of them changes, as it does for an edit
   * of a module. A folder covers every file under it.
   */
  watchPaths?: readonly (string | URL)[];
  /** When the daemon materializes the asset on its own: `eager()`, `onCron(...)`, `missing()`... */
  automationCondition?: AutomationCondition;
  /** Slices materialized on their own: `dailyPartitions({ start: '2026-11-01', timezone: 'Asia/Seoul' })`... */
  partitions?: PartitionsDefinition;
  /**
   * Which partitions of an upstream asset each partition reads, by upstream key (default:
   * identity, overlapping time windows, or all). The asset's own key with
   * `previousPartitionMapping()` makes it read its previous partition (a self-dependency).
   */
  partitionMappings?: Record<string, PartitionMapping>;
}

/**
 * Return this from an asset to attach metadata and, optionally, a value for downstream assets.
 * Returning a plain value stores it through the IO manager with no extra metadata.
 */
export class MaterializeResult<T = unknown> {
  readonly value: T | undefined;
  readonly metadata: Record<string, MetadataInput>;
  /**
   * The version of the data produced (a row count, a file's ETag, a cursor). Default: a hash
   * of the stored value, or a fresh id when no value is stored.
   */
  readonly dataVersion: string | undefined;
  constructor(options: { value?: T; metadata?: Record<string, MetadataInput>; dataVersion?: string } = {}) {
    this.value = options.value;
    this.metadata = options.metadata ?? {};
    this.dataVersion = options.dataVersion;
  }
}

/** The value an asset function's return stores: the value of a MaterializeResult, or itself. */
export type StoredValue<R> = Awaited<R> extends MaterializeResult<infer V> ? V : Awaited<R>;

/** What `inputs` holds: each input typed by what its upstream asset's function returns. */
export type InputValues<I> = {
  [K in keyof I]: I[K] extends AssetDefinition<infer T> ? T : unknown;
};
type ConfigOf<S> = S extends z.ZodType ? z.output<S> : undefined;

export type AssetFn<S, R, I, Out = unknown> = (
  ctx: AssetContext<ConfigOf<S>, ResourceValues<R>>,
  inputs: InputValues<I>,
) => Out;

/** The shared function of a multi-asset, and which outputs it has. */
export interface MultiAssetNode {
  /** The multi-asset's name (its outputs are assets of their own). */
  readonly name: string;
  /** The asset keys of all its outputs, in declaration order. */
  readonly outputs: readonly string[];
  /** Asset key -> output name (the key of the function's returned object). */
  readonly outputNames: Readonly<Record<string, string>>;
  /** Whether it can materialize only some of its outputs (`ctx.selectedOutputs`). */
  readonly canSubset: boolean;
  readonly fn: (
    ctx: AssetContext<unknown, Record<string, unknown>>,
    inputs: Record<string, unknown>,
  ) => unknown;
}

/**
 * A software-defined asset. `T` is the type of the value its function stores, so that a
 * downstream asset's `ins` receive it typed.
 */
export interface AssetDefinition<T = unknown> {
  /** Type-level only: the stored value's type. Never set. */
  readonly __output?: T;
  readonly kind: 'asset';
  readonly key: string;
  readonly group: string;
  readonly description: string | undefined;
  readonly deps: readonly string[];
  /** input name -> upstream asset key */
  readonly ins: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly kinds: readonly string[];
  readonly owners: readonly string[];
  readonly metadata: Readonly<Record<string, MetadataInput>>;
  readonly configSchema: z.ZodType | undefined;
  readonly resources: Readonly<Record<string, ResourceDefinition>>;
  readonly retry: RetryPolicy | undefined;
  /** The concurrency pool its step takes a slot of, if any. */
  readonly pool: string | undefined;
  readonly freshness: FreshnessPolicy | undefined;
  readonly checks: readonly AssetCheckDefinition[];
  readonly storeOutput: boolean;
  /** Produced outside this code location: shown and depended on, never materialized. */
  readonly external: boolean;
  readonly codeVersion: string | undefined;
  /** Absolute paths of the files and folders its definition is built from (see `watchPaths`). */
  readonly watchPaths: readonly string[];
  readonly automationCondition: AutomationCondition | undefined;
  readonly partitions: PartitionsDefinition | undefined;
  /** Upstream key -> mapping, as declared (defaults apply to the others). */
  readonly partitionMappings: Readonly<Record<string, PartitionMapping>>;
  /** Reads its own previous partition(s): set when a dep or input names the asset itself. */
  readonly selfDependency: { mapping: PartitionMapping; inputName: string | undefined } | undefined;
  /** Set when the asset is one output of a multi-asset: the function is shared. */
  readonly multi: MultiAssetNode | undefined;
  /** Set for an observable source asset: records a data version without materializing. */
  readonly observe: ObserveFn | undefined;
  readonly fn: (
    ctx: AssetContext<unknown, Record<string, unknown>>,
    inputs: Record<string, unknown>,
  ) => unknown;
}

export const DEFAULT_GROUP = 'default';

/** `watchPaths` as absolute paths; a relative path is an error (relative to what would be a guess). */
export function absoluteWatchPaths(paths: readonly (string | URL)[] | undefined, owner: string): string[] {
  return (paths ?? []).map((p) => {
    if (p instanceof URL) {
      if (p.protocol !== 'file:')
        throw new DefinitionError(`${owner}: watchPaths takes file: URLs, got ${p.href}.`);
      return fileURLToPath(p);
    }
    if (typeof p === 'string' && p.startsWith('file:')) return fileURLToPath(p);
    if (typeof p !== 'string' || !path.isAbsolute(p)) {
      throw new DefinitionError(
        `${owner}: watchPaths entry ${JSON.stringify(p)} is not an absolute path; use new URL('./file', import.meta.url) or path.resolve(...).`,
      );
    }
    return path.normalize(p);
  });
}

type AnyAssetOptions = AssetOptions<undefined, Record<string, never>, Record<string, never>>;
const ASSET_OPTIONS = {
  name: true,
  group: true,
  description: true,
  deps: true,
  ins: true,
  tags: true,
  kinds: true,
  owners: true,
  metadata: true,
  config: true,
  resources: true,
  retry: true,
  pool: true,
  freshness: true,
  checks: true,
  io: true,
  external: true,
  codeVersion: true,
  watchPaths: true,
  automationCondition: true,
  partitions: true,
  partitionMappings: true,
} as const satisfies Record<keyof AnyAssetOptions, true>;

function refKey(ref: AssetRef, owner: string, field: string): string {
  if (typeof ref === 'string') return ref;
  if (ref && typeof ref === 'object' && ref.kind === 'asset') return ref.key;
  throw new DefinitionError(
    `Asset '${owner}': every entry of '${field}' must be an asset definition or an asset key string, got ${typeof ref}.`,
  );
}

/**
 * Defines a software-defined asset.
 *
 * @example
 * export const raw = asset({ name: 'raw', group: 'demo' }, async (ctx) => {
 *   ctx.log.info('loading');
 *   return new MaterializeResult({ metadata: { rows: 42 } });
 * });
 */
export function asset<
  S extends z.ZodType | undefined = undefined,
  R extends Record<string, ResourceDefinition> = Record<string, never>,
  I extends Record<string, AssetRef> = Record<string, never>,
  Out = unknown,
>(options: AssetOptions<S, R, I>, fn: AssetFn<S, R, I, Out>): AssetDefinition<StoredValue<Out>> {
  assertValidAssetKey(options?.name);
  assertKnownOptions(options, ASSET_OPTIONS, `Asset '${options.name}'`);
  if (typeof fn !== 'function') {
    throw new DefinitionError(`Asset '${options.name}' needs a function as its second argument.`);
  }
  return buildAsset(options, fn as AssetDefinition['fn']) as AssetDefinition<StoredValue<Out>>;
}

/** The parts of an asset definition every kind of asset shares, validated. */
export function buildAsset(
  options: AssetOptions<z.ZodType | undefined, Record<string, ResourceDefinition>, Record<string, AssetRef>>,
  fn: AssetDefinition['fn'],
  extra: { multi?: MultiAssetNode; observe?: ObserveFn } = {},
): AssetDefinition {
  if (
    options.codeVersion !== undefined &&
    (typeof options.codeVersion !== 'string' || !options.codeVersion)
  ) {
    throw new DefinitionError(
      `Asset '${options.name}': codeVersion must be a non-empty string, got ${JSON.stringify(options.codeVersion)}.`,
    );
  }
  if (
    options.automationCondition !== undefined &&
    (options.automationCondition as { kind?: unknown })?.kind !== 'automation_condition'
  ) {
    throw new DefinitionError(
      `Asset '${options.name}': automationCondition must be built with AutomationCondition (eager(), onCron(...), missing()...).`,
    );
  }
  if (options.group !== undefined) assertValidName(options.group, `group of asset '${options.name}'`);
  if (options.pool !== undefined) assertValidName(options.pool, `pool of asset '${options.name}'`);
  const deps = (options.deps ?? []).map((d) => refKey(d, options.name, 'deps'));
  const ins: Record<string, string> = {};
  for (const [inputName, ref] of Object.entries(options.ins ?? {}))
    ins[inputName] = refKey(ref, options.name, 'ins');
  if (options.partitions !== undefined)
    assertPartitionsDefinition(options.partitions, `Asset '${options.name}'`);
  const partitionMappings: Record<string, PartitionMapping> = {};
  for (const [upstream, mapping] of Object.entries(options.partitionMappings ?? {})) {
    assertPartitionMapping(mapping, `Asset '${options.name}', partitionMappings['${upstream}']`);
    partitionMappings[upstream] = mapping;
  }
  let allDeps = [...new Set([...deps, ...Object.values(ins)])];
  let selfDependency: AssetDefinition['selfDependency'];
  if (allDeps.includes(options.name)) {
    const mapping = partitionMappings[options.name];
    if (!options.partitions || !mapping || !isPreviousMapping(mapping)) {
      throw new DefinitionError(
        `Asset '${options.name}' depends on itself; remove it from its own deps, or (a partitioned asset reading its previous partition) set partitionMappings: { '${options.name}': previousPartitionMapping() }.`,
      );
    }
    selfDependency = {
      mapping,
      inputName: Object.entries(ins).find(([, key]) => key === options.name)?.[0],
    };
    allDeps = allDeps.filter((d) => d !== options.name);
  }
  for (const upstream of Object.keys(partitionMappings)) {
    if (upstream !== options.name && !allDeps.includes(upstream)) {
      throw new DefinitionError(
        `Asset '${options.name}': partitionMappings names '${upstream}', which is not one of its deps or ins.`,
      );
    }
  }
  for (const [k, v] of Object.entries(options.tags ?? {})) {
    if (typeof v !== 'string') {
      throw new DefinitionError(`Asset '${options.name}': tag '${k}' must be a string, got ${typeof v}.`);
    }
  }
  return {
    kind: 'asset',
    key: options.name,
    group: options.group ?? DEFAULT_GROUP,
    description: options.description,
    deps: allDeps,
    ins,
    tags: { ...(options.tags ?? {}) },
    kinds: [...(options.kinds ?? [])],
    owners: [...(options.owners ?? [])],
    metadata: { ...(options.metadata ?? {}) },
    configSchema: options.config,
    resources: { ...(options.resources ?? {}) },
    retry: options.retry,
    pool: options.pool,
    freshness: options.freshness,
    checks: [...(options.checks ?? [])],
    storeOutput: options.external ? false : (options.io ?? true),
    external: options.external ?? false,
    codeVersion: options.codeVersion,
    watchPaths: absoluteWatchPaths(options.watchPaths, `Asset '${options.name}'`),
    automationCondition: options.automationCondition,
    partitions: options.partitions,
    partitionMappings,
    selfDependency,
    multi: extra.multi,
    observe: extra.observe,
    fn,
  };
}

/** What an observation reports: the source's current data version (and metadata). */
export interface ObserveResult {
  dataVersion: string;
  metadata?: Record<string, MetadataInput>;
}
export type ObserveFn = (
  ctx: AssetContext<unknown, Record<string, unknown>>,
) => ObserveResult | Promise<ObserveResult>;

export interface AssetCheckOptions<R extends Record<string, ResourceDefinition>> {
  name: string;
  asset: AssetRef;
  description?: string;
  /** How bad a failure is. Default 'ERROR'. */
  severity?: 'WARN' | 'ERROR';
  /** When true, a failing ERROR check skips the asset's downstream steps in the same run. */
  blocking?: boolean;
  resources?: R;
}

const ASSET_CHECK_OPTIONS = {
  name: true,
  asset: true,
  description: true,
  severity: true,
  blocking: true,
  resources: true,
} as const satisfies Record<keyof AssetCheckOptions<Record<string, never>>, true>;

export interface AssetCheckDefinition {
  readonly kind: 'asset_check';
  readonly name: string;
  readonly assetKey: string;
  readonly description: string | undefined;
  readonly severity: 'WARN' | 'ERROR';
  readonly blocking: boolean;
  readonly resources: Readonly<Record<string, ResourceDefinition>>;
  readonly fn: (ctx: CheckContext<Record<string, unknown>>) => CheckResult | Promise<CheckResult>;
}

/**
 * Defines a check on an asset. It runs right after the asset materializes in the same run.
 *
 * @example
 * assetCheck({ name: 'clean_ok', asset: clean, severity: 'ERROR', blocking: true }, async () => ({ passed: true }));
 */
export function assetCheck<R extends Record<string, ResourceDefinition> = Record<string, never>>(
  options: AssetCheckOptions<R>,
  fn: (ctx: CheckContext<ResourceValues<R>>) => CheckResult | Promise<CheckResult>,
): AssetCheckDefinition {
  assertValidName(options?.name, 'asset check');
  assertKnownOptions(options, ASSET_CHECK_OPTIONS, `Asset check '${options.name}'`);
  const assetKey = refKey(options.asset, options.name, 'asset');
  const severity = options.severity ?? 'ERROR';
  if (severity !== 'WARN' && severity !== 'ERROR') {
    throw new DefinitionError(
      `Asset check '${options.name}': severity must be 'WARN' or 'ERROR', got ${JSON.stringify(severity)}.`,
    );
  }
  return {
    kind: 'asset_check',
    name: options.name,
    assetKey,
    description: options.description,
    severity,
    blocking: options.blocking ?? false,
    resources: { ...(options.resources ?? {}) },
    fn: fn as AssetCheckDefinition['fn'],
  };
}

export interface ObservableSourceAssetOptions
  extends Pick<
    AssetOptions<undefined, Record<string, ResourceDefinition>, Record<string, never>>,
    | 'name'
    | 'group'
    | 'description'
    | 'tags'
    | 'kinds'
    | 'owners'
    | 'metadata'
    | 'resources'
    | 'retry'
    | 'pool'
  > {}

const OBSERVABLE_OPTIONS = {
  name: true,
  group: true,
  description: true,
  tags: true,
  kinds: true,
  owners: true,
  metadata: true,
  resources: true,
  retry: true,
  pool: true,
} as const satisfies Record<keyof ObservableSourceAssetOptions, true>;

/**
 * A source asset produced outside this code location whose observation function reports its
 * current data version (a bucket's last-modified time, an API cursor) without materializing
 * anything. A run that selects it observes it (so a job and a schedule of observations is a job
 * of these assets); assets downstream become stale, and eager ones update, when the observed
 * version changes.
 *
 * @example
 * observableSourceAsset({ name: 'raw_bucket' }, async (ctx) => ({ dataVersion: await lastModified() }));
 */
export function observableSourceAsset(
  options: ObservableSourceAssetOptions,
  observe: ObserveFn,
): AssetDefinition<never> {
  assertValidAssetKey(options?.name);
  assertKnownOptions(options, OBSERVABLE_OPTIONS, `Observable source asset '${options.name}'`);
  if (typeof observe !== 'function') {
    throw new DefinitionError(
      `Observable source asset '${options.name}' needs an observation function as its second argument.`,
    );
  }
  const notMaterialized: AssetDefinition['fn'] = () => {
    throw new DefinitionError(`Asset '${options.name}' is observed, never materialized.`);
  };
  return buildAsset({ ...options, external: true }, notMaterialized, { observe }) as AssetDefinition<never>;
}
