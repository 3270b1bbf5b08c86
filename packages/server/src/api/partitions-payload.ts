/**
 * The compact form of an asset's partition status (`GET /api/assets/:key/partitions?format=compact`),
 * what the Partitions page reads. The object form lists every key and every status name in
 * full (10,000 daily partitions: 268 KiB); the compact one is a fifth of that, as quick to
 * decode as to parse:
 *
 * - `statuses`: one character per partition, the index of its status in `statusNames`;
 * - `keys`: front-coded: each entry is one base-36 digit, how many leading characters it shares
 *   with the key before it (at most 35), then the rest of the key ('1999-01-02' after
 *   '1999-01-01' is '92'). Any key survives: the entries are JSON strings.
 *
 * The UI decodes it in packages/ui/src/lib/partitions.ts (decodePartitionStatus).
 */
import type { AssetPartitionStatus, PartitionStatus } from '@dag/core';

export const COMPACT_PARTITIONS_FORMAT = 'compact/1';

/** The order `statuses` indexes, sent with each response. */
export const PARTITION_STATUS_NAMES: readonly PartitionStatus[] = [
  'MATERIALIZED',
  'FAILED',
  'IN_PROGRESS',
  'MISSING',
];

export interface CompactPartitionStatus {
  format: typeof COMPACT_PARTITIONS_FORMAT;
  assetKey: string;
  partitions: AssetPartitionStatus['partitions'];
  counts: AssetPartitionStatus['counts'];
  statusNames: readonly PartitionStatus[];
  statuses: string;
  keys: string[];
}

/** Most leading characters an entry of `keys` shares with the key before it: one base-36 digit. */
const MAX_SHARED = 35;

/** Keys front-coded: a base-36 digit (characters shared with the previous key), then the rest. */
export function frontCode(keys: readonly string[]): string[] {
  const out = new Array<string>(keys.length);
  let previous = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const most = Math.min(MAX_SHARED, key.length, previous.length);
    let shared = 0;
    while (shared < most && key.charCodeAt(shared) === previous.charCodeAt(shared)) shared++;
    out[i] = shared.toString(36) + key.slice(shared);
    previous = key;
  }
  return out;
}

export function compactPartitionStatus(status: AssetPartitionStatus): CompactPartitionStatus {
  const code = new Map(PARTITION_STATUS_NAMES.map((s, i) => [s, String(i)]));
  let statuses = '';
  for (const s of status.statuses) statuses += code.get(s)!;
  return {
    format: COMPACT_PARTITIONS_FORMAT,
    assetKey: status.assetKey,
    partitions: status.partitions,
    counts: status.counts,
    statusNames: PARTITION_STATUS_NAMES,
    statuses,
    keys: frontCode(status.keys),
  };
}
