import type { AssetPartitionsResponse, CompactPartitionsResponse, PartitionStatus } from '../api/types.ts';
import { formatNumber } from './format.ts';

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

/** A box of the strip: a segment, or (many partitions per box) a range of several statuses. */
export interface StripBox extends StatusSegment {
  /** How many partitions of each status the box covers, when more than one status. */
  mixed?: Record<PartitionStatus, number>;
}

/** Most boxes a strip draws: more would be thinner than a pixel or two on a wide screen. */
export const STRIP_MAX_BOXES = 240;

/** Which status a box of several shows: the one that needs attention first. */
const SEVERITY: readonly PartitionStatus[] = ['FAILED', 'IN_PROGRESS', 'MISSING', 'MATERIALIZED'];

/**
 * The boxes of a strip: the segments when there are at most `max` of them; else the partitions
 * cut into `max` equal ranges, each shown by its most severe status (a failure among 40
 * partitions stays visible), consecutive ranges of one status merged. Ten thousand partitions
 * of alternating statuses are a few hundred boxes, not thousands of elements to lay out.
 */
export function stripBoxes(statuses: readonly PartitionStatus[], max = STRIP_MAX_BOXES): StripBox[] {
  const segments = statusSegments(statuses);
  if (segments.length <= max) return segments;
  const out: StripBox[] = [];
  const n = statuses.length;
  for (let b = 0; b < max; b++) {
    const start = Math.floor((b * n) / max);
    const end = Math.floor(((b + 1) * n) / max);
    if (end <= start) continue;
    const counts: Record<PartitionStatus, number> = {
      MATERIALIZED: 0,
      FAILED: 0,
      IN_PROGRESS: 0,
      MISSING: 0,
    };
    for (let i = start; i < end; i++) counts[statuses[i]!]++;
    const status = SEVERITY.find((s) => counts[s] > 0)!;
    const last = out[out.length - 1];
    if (last && last.status === status) {
      const merged = last.mixed ?? { MATERIALIZED: 0, FAILED: 0, IN_PROGRESS: 0, MISSING: 0 };
      if (!last.mixed) merged[last.status] = last.count;
      for (const s of SEVERITY) merged[s] += counts[s];
      last.count += end - start;
      if (SEVERITY.filter((s) => merged[s] > 0).length > 1) last.mixed = merged;
    } else {
      const box: StripBox = { status, start, count: end - start };
      if (SEVERITY.filter((s) => counts[s] > 0).length > 1) box.mixed = counts;
      out.push(box);
    }
  }
  return out;
}

/** What a strip box covers, for its tooltip: a segment's label, or the counts of a mixed box. */
export function stripBoxLabel(keys: readonly string[], box: StripBox): string {
  if (!box.mixed) return segmentLabel(keys, box);
  const counts = PARTITION_STATUSES.filter((s) => box.mixed![s] > 0)
    .map((s) => `${formatNumber(box.mixed![s])} ${partitionStatusLabel(s)}`)
    .join(', ');
  return `${keys[box.start]}...${keys[box.start + box.count - 1]}: ${counts}`;
}

/** The statuses in the order the UI lists them. */
export const PARTITION_STATUSES: readonly PartitionStatus[] = [
  'MATERIALIZED',
  'FAILED',
  'IN_PROGRESS',
  'MISSING',
];

/** The colour of each status (strip, grid, legend). */
export const PARTITION_COLORS: Readonly<Record<PartitionStatus, string>> = {
  MATERIALIZED: 'var(--ok, #2e9b5f)',
  FAILED: 'var(--fail, #d0453a)',
  IN_PROGRESS: 'var(--warn, #d39a16)',
  MISSING: '#d7dbe0',
};

/** 'in progress' for IN_PROGRESS. */
export function partitionStatusLabel(status: PartitionStatus): string {
  return status.toLowerCase().replace('_', ' ');
}

/** Indexes (into keys) of the partitions shown: all, or those whose status is in `filter`. */
export function shownPartitions(
  statuses: readonly PartitionStatus[],
  filter: ReadonlySet<PartitionStatus>,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < statuses.length; i++) if (filter.size === 0 || filter.has(statuses[i]!)) out.push(i);
  return out;
}

/**
 * The partitions argument of a backfill for the chosen indexes (ascending): 'A...B' when they
 * are consecutive partitions, one key when there is one, else the keys separated by commas.
 */
export function partitionsArgument(keys: readonly string[], indexes: readonly number[]): string {
  if (indexes.length === 0) return '';
  const first = indexes[0]!;
  const last = indexes[indexes.length - 1]!;
  if (first === last) return keys[first]!;
  if (last - first + 1 === indexes.length) return `${keys[first]}...${keys[last]}`;
  return indexes.map((i) => keys[i]).join(',');
}

/** Keys typed into the editor: separated by commas, spaces or new lines; each once, in order. */
export function parseKeyList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((k) => k.trim())
        .filter(Boolean),
    ),
  ];
}

/** The rows of a virtualised grid to draw for a scroll position (with `overscan` rows around). */
export function visibleRows(options: {
  count: number;
  columns: number;
  rowHeight: number;
  scrollTop: number;
  height: number;
  overscan?: number;
}): { first: number; last: number; rows: number } {
  const { count, rowHeight, scrollTop, height } = options;
  const columns = Math.max(1, options.columns);
  const overscan = options.overscan ?? 4;
  const rows = Math.ceil(count / columns);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(rows - 1, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { first, last, rows };
}

/** Multi-partitions as a matrix: a row per value of one dimension, a column per value of the others. */
export interface PartitionMatrix {
  /** Which part of a key ('a|b') the rows are: the dimension with the most values. */
  rowPart: number;
  rows: string[];
  columns: string[];
  /** The index (into keys) of the partition at row r, column c: cells[r * columns.length + c], or -1. */
  cells: Int32Array;
}

/** The shown partitions of a multi-partitioned asset laid out as a matrix (keys split on '|'). */
export function partitionMatrix(keys: readonly string[], shown: readonly number[]): PartitionMatrix {
  const parts = shown.map((i) => keys[i]!.split('|'));
  const width = parts[0]?.length ?? 0;
  let rowPart = 0;
  let most = -1;
  for (let p = 0; p < width; p++) {
    const distinct = new Set(parts.map((k) => k[p])).size;
    if (distinct > most) {
      most = distinct;
      rowPart = p;
    }
  }
  const rowIndex = new Map<string, number>();
  const columnIndex = new Map<string, number>();
  const place: [number, number, number][] = [];
  parts.forEach((k, n) => {
    const row = k[rowPart] ?? '';
    const column = k.filter((_, p) => p !== rowPart).join('|');
    if (!rowIndex.has(row)) rowIndex.set(row, rowIndex.size);
    if (!columnIndex.has(column)) columnIndex.set(column, columnIndex.size);
    place.push([rowIndex.get(row)!, columnIndex.get(column)!, shown[n]!]);
  });
  const columns = [...columnIndex.keys()];
  const cells = new Int32Array(rowIndex.size * columns.length).fill(-1);
  for (const [r, c, i] of place) cells[r * columns.length + c] = i;
  return { rowPart, rows: [...rowIndex.keys()], columns, cells };
}

/** The compact form of an asset's partition status decoded: keys and statuses in full. */
export function decodePartitionStatus(compact: CompactPartitionsResponse): AssetPartitionsResponse {
  const n = compact.keys.length;
  if (compact.format !== 'compact/1' || compact.statuses.length !== n) {
    throw new Error(
      `The partition status of '${compact.assetKey}' came in an unknown form (${compact.format}, ${n} keys, ${compact.statuses.length} statuses): reload the page.`,
    );
  }
  const keys = new Array<string>(n);
  const statuses = new Array<PartitionStatus>(n);
  let previous = '';
  for (let i = 0; i < n; i++) {
    const entry = compact.keys[i]!;
    previous = previous.slice(0, Number.parseInt(entry[0]!, 36)) + entry.slice(1);
    keys[i] = previous;
    statuses[i] = compact.statusNames[compact.statuses.charCodeAt(i) - 48]!;
  }
  return {
    assetKey: compact.assetKey,
    partitions: compact.partitions,
    keys,
    statuses,
    counts: compact.counts,
  };
}
