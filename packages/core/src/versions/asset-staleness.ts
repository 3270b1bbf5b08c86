import type { Definitions } from '../definitions/definitions.ts';
import type { InstanceStorage } from '../instance/storage.ts';
import { type SelectionContext, selectionOfKeys, selectionUses } from '../selection/asset-selection.ts';
import { currentDataVersion, defaultConfigVersion } from './data-version.ts';
import { type StaleReason, staleReasons } from './staleness.ts';

/**
 * The stale reasons of every asset of a code location (empty: up to date, or never
 * materialized). One query for the whole graph.
 */
export async function assetStaleness(
  storage: InstanceStorage,
  definitions: Definitions,
): Promise<Map<string, StaleReason[]>> {
  const records = new Map((await storage.getAssetVersions()).map((r) => [r.assetKey, r]));
  const out = new Map<string, StaleReason[]>();
  for (const asset of definitions.assets) {
    if (asset.external) {
      out.set(asset.key, []);
      continue;
    }
    const upstreamVersions: Record<string, string | null> = {};
    for (const dep of asset.deps) upstreamVersions[dep] = currentDataVersion(records.get(dep));
    out.set(
      asset.key,
      staleReasons({
        key: asset.key,
        codeVersion: asset.codeVersion,
        configVersion: defaultConfigVersion(asset.configSchema),
        deps: asset.deps,
        recorded: records.get(asset.key)?.version ?? null,
        upstreamVersions,
      }),
    );
  }
  return out;
}

/**
 * A selection that uses `stale()` resolved against the instance: the context to resolve it
 * with (empty when it does not use it, so no query is made).
 */
export async function selectionContextFor(
  storage: InstanceStorage,
  definitions: Definitions,
  selection: string,
): Promise<SelectionContext> {
  if (!selectionUses(selection, 'stale')) return {};
  const staleness = await assetStaleness(storage, definitions);
  return { stale: new Set([...staleness].filter(([, reasons]) => reasons.length > 0).map(([k]) => k)) };
}

/**
 * A selection with its instance-dependent functions replaced by the asset keys they match
 * now, for a run that another process plans again (`stale()` must mean what it meant at launch).
 * Null when it matches nothing now.
 */
export async function resolveSelectionNow(
  storage: InstanceStorage,
  definitions: Definitions,
  selection: string,
): Promise<string | null> {
  const context = await selectionContextFor(storage, definitions, selection);
  if (Object.keys(context).length === 0) return selection;
  const keys = definitions.select(selection, context);
  return keys.length ? selectionOfKeys(keys) : null;
}
