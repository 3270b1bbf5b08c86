import type { z } from 'zod';
import { DefinitionError } from '../errors.ts';
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
  freshness?: FreshnessPolicy;
  /** Checks declared inline; same as listing them in `Definitions({ assetChecks })`. */
  checks?: AssetCheckDefinition[];
  /** Set to false when the function returns a value that must not be stored (default: stored). */
  io?: boolean;
}

/**
 * Return this from an asset to attach metadata and, optionally, a value for downstream assets.
 * Returning a plain value stores it through the IO manager with no extra metadata.
 */
export class MaterializeResult<T = unknown> {
  readonly value: T | undefined;
  readonly metadata: Record<string, MetadataInput>;
  constructor(options: { value?: T; metadata?: Record<string, MetadataInput> } = {}) {
    this.value = options.value;
    this.metadata = options.metadata ?? {};
  }
}

type InputValues<I> = { [K in keyof I]: unknown };
type ConfigOf<S> = S extends z.ZodType ? z.output<S> : undefined;

export type AssetFn<S, R, I> = (
  ctx: AssetContext<ConfigOf<S>, ResourceValues<R>>,
  inputs: InputValues<I>,
) => unknown;

export interface AssetDefinition {
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
  readonly freshness: FreshnessPolicy | undefined;
  readonly checks: readonly AssetCheckDefinition[];
  readonly storeOutput: boolean;
  /** Produced outside this code location: shown and depended on, never materialized. */
  readonly external: boolean;
  readonly fn: (
    ctx: AssetContext<unknown, Record<string, unknown>>,
    inputs: Record<string, unknown>,
  ) => unknown;
}

export const DEFAULT_GROUP = 'default';

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
  freshness: true,
  checks: true,
  io: true,
  external: true,
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
>(options: AssetOptions<S, R, I>, fn: AssetFn<S, R, I>): AssetDefinition {
  assertValidAssetKey(options?.name);
  assertKnownOptions(options, ASSET_OPTIONS, `Asset '${options.name}'`);
  if (typeof fn !== 'function') {
    throw new DefinitionError(`Asset '${options.name}' needs a function as its second argument.`);
  }
  if (options.group !== undefined) assertValidName(options.group, `group of asset '${options.name}'`);
  const deps = (options.deps ?? []).map((d) => refKey(d, options.name, 'deps'));
  const ins: Record<string, string> = {};
  for (const [inputName, ref] of Object.entries(options.ins ?? {}))
    ins[inputName] = refKey(ref, options.name, 'ins');
  const allDeps = [...new Set([...deps, ...Object.values(ins)])];
  if (allDeps.includes(options.name)) {
    throw new DefinitionError(`Asset '${options.name}' depends on itself; remove it from its own deps.`);
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
    freshness: options.freshness,
    checks: [...(options.checks ?? [])],
    storeOutput: options.external ? false : (options.io ?? true),
    external: options.external ?? false,
    fn: fn as AssetDefinition['fn'],
  };
}

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
