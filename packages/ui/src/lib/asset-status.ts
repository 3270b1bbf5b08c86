/** Pure helpers of asset lists: search and selections. Statuses are the core's (`@dag/core/events`). */
export { isRunInProgress } from '@dag/core/events';

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
