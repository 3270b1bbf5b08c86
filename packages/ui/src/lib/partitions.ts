import type { PartitionStatus } from '../api/types.ts';

/** A run of consecutive partitions with one status: the strip draws one box per segment. */
export interface StatusSegment {
  status: PartitionStatus;
  /** Index of the first partition, and how many. */
  start: number;
  count: number;
}

/** Consecutive equal statuses merged: 10,000 partitions are a handful of boxes, not 10,000. */
export function statusSegments(statuses: readonly PartitionStatus[]): StatusSegment[] {
  const out: StatusSegment[] = [];
  for (let i = 0; i < statuses.length; i++) {
    const last = out[out.length - 1];
    if (last && last.status === statuses[i]) last.count++;
    else out.push({ status: statuses[i]!, start: i, count: 1 });
  }
  return out;
}

/** What a segment covers, for its tooltip: "2026-11-01...2026-11-05: MATERIALIZED (5)". */
export function segmentLabel(keys: readonly string[], s: StatusSegment): string {
  const range = s.count === 1 ? keys[s.start] : `${keys[s.start]}...${keys[s.start + s.count - 1]}`;
  return `${range}: ${s.status.toLowerCase().replace('_', ' ')}${s.count > 1 ? ` (${s.count})` : ''}`;
}
