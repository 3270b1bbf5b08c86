/** An asset's status as the catalog and the graph colour it (pure). */
import type { AssetSummary, NodeStatus, RunStatus } from '../api/types.ts';

const IN_PROGRESS: readonly RunStatus[] = ['QUEUED', 'NOT_STARTED', 'STARTING', 'STARTED', 'CANCELING'];

export function assetStatus(asset: Pick<AssetSummary, 'latest' | 'lastRunStatus' | 'freshness'>): NodeStatus {
  if (asset.lastRunStatus && IN_PROGRESS.includes(asset.lastRunStatus)) return 'running';
  if (asset.lastRunStatus === 'FAILURE') return 'failed';
  if (!asset.latest) return 'never';
  if (asset.freshness?.stale) return 'stale';
  return 'materialized';
}

export function isRunInProgress(status: RunStatus | string | null | undefined): boolean {
  return Boolean(status) && IN_PROGRESS.includes(status as RunStatus);
}

/** Lower-cased, NFC-normalised text for searching (Korean brand names included). */
export function searchText(...parts: (string | null | undefined)[]): string {
  return parts.filter(Boolean).join(' ').normalize('NFC').toLowerCase();
}

/** Every whitespace-separated term of the query appears in the haystack. */
export function matchesQuery(haystack: string, query: string): boolean {
  const terms = query.normalize('NFC').toLowerCase().split(/\s+/).filter(Boolean);
  return terms.every((t) => haystack.includes(t));
}

/** A selection that names exactly these assets: `key:a or key:b` (keywords and odd keys quoted). */
export function selectionOfKeys(keys: readonly string[]): string {
  return keys
    .map((k) => (/^[A-Za-z0-9_\-./@=]+$/.test(k) && !/^(and|or|not)$/i.test(k) ? `key:${k}` : `key:"${k}"`))
    .join(' or ');
}
