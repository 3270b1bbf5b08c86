/**
 * Whether an asset is stale, and why: the rule shared by `dag list --status`, the `stale()`
 * selection, the API and the UI. Pure and free of Node imports (browser-safe).
 */

/** What a materialization recorded about what it was computed from. */
export interface MaterializationVersion {
  /** The version of the data it produced. */
  data: string;
  /** The asset's code version when it ran (null: none declared). */
  code: string | null;
  /** The version of the config it ran with (null: the asset has no config). */
  config: string | null;
  /** Each upstream asset's data version when it ran (null: that upstream had none yet). */
  inputs: Record<string, string | null>;
}

export type StaleCause = 'code' | 'upstream' | 'config' | 'dependencies';

export interface StaleReason {
  cause: StaleCause;
  /** The upstream asset concerned, for 'upstream' and 'dependencies'. */
  assetKey?: string;
  message: string;
}

export interface StalenessInput {
  key: string;
  codeVersion: string | null | undefined;
  /** The version of the config the asset runs with now by default (null: none). */
  configVersion: string | null;
  /** The asset's upstream keys now. */
  deps: readonly string[];
  /** What its latest materialization recorded; null when never materialized or recorded before versions. */
  recorded: MaterializationVersion | null;
  /** Each upstream's current data version (latest materialization or observation); null if none. */
  upstreamVersions: Readonly<Record<string, string | null | undefined>>;
}

/** The reasons an asset is stale; empty when it is up to date (or was never materialized). */
export function staleReasons(input: StalenessInput): StaleReason[] {
  const { recorded } = input;
  if (!recorded) return [];
  const reasons: StaleReason[] = [];
  const code = input.codeVersion ?? null;
  if (code !== recorded.code) {
    reasons.push({
      cause: 'code',
      message: `code version changed: ${recorded.code ?? '(none)'} -> ${code ?? '(none)'}`,
    });
  }
  if (input.configVersion !== recorded.config) {
    reasons.push({
      cause: 'config',
      message: 'config changed: materialized with a config other than the one it runs with now',
    });
  }
  const before = Object.keys(recorded.inputs);
  const added = input.deps.filter((d) => !before.includes(d));
  const removed = before.filter((d) => !input.deps.includes(d));
  for (const key of added) {
    reasons.push({ cause: 'dependencies', assetKey: key, message: `new dependency '${key}'` });
  }
  for (const key of removed) {
    reasons.push({ cause: 'dependencies', assetKey: key, message: `dependency '${key}' removed` });
  }
  for (const key of input.deps) {
    if (added.includes(key)) continue;
    const now = input.upstreamVersions[key] ?? null;
    if (now !== null && now !== recorded.inputs[key]) {
      reasons.push({
        cause: 'upstream',
        assetKey: key,
        message: `upstream '${key}' has a newer data version`,
      });
    }
  }
  return reasons;
}
