import { DefinitionError } from '../errors.ts';
import {
  formatKey,
  joinMultiKey,
  nextWindowStart,
  type PartitionKeyContext,
  type PartitionsDefinition,
  partitionKeys,
  previousWindowStart,
  samePartitions,
  splitMultiKey,
  type TimeWindow,
  type TimeWindowPartitions,
  timeWindowOf,
  windowStartsBetween,
} from './partitions.ts';

/**
 * Which partitions of an upstream asset a partition of a downstream asset reads. Set per
 * upstream asset in `asset({ partitionMappings: { <upstream key>: mapping } })`; the default is
 * identity between equal definitions, the overlapping time windows between time definitions of
 * different cadence, and all partitions from an unpartitioned downstream asset.
 */
export type PartitionMapping =
  | { readonly kind: 'partition_mapping'; readonly type: 'identity' }
  | { readonly kind: 'partition_mapping'; readonly type: 'all' }
  | {
      readonly kind: 'partition_mapping';
      readonly type: 'time_window';
      /** Shift of the first and last upstream window, in upstream windows (-1: the one before). */
      readonly startOffset: number;
      readonly endOffset: number;
    }
  | {
      readonly kind: 'partition_mapping';
      readonly type: 'static';
      /** Upstream key -> the downstream keys that read it. */
      readonly map: Readonly<Record<string, readonly string[]>>;
    }
  | {
      readonly kind: 'partition_mapping';
      readonly type: 'dimension';
      /** A multi-partitioned upstream read through one of its dimensions. */
      readonly dimension: string;
    };

/** Each downstream partition reads the upstream partition with the same key. */
export function identityPartitionMapping(): PartitionMapping {
  return { kind: 'partition_mapping', type: 'identity' };
}

/** Each downstream partition reads every partition of the upstream asset. */
export function allPartitionsMapping(): PartitionMapping {
  return { kind: 'partition_mapping', type: 'all' };
}

/**
 * Each downstream window reads the upstream windows that overlap it, shifted by the offsets
 * (in upstream windows): a daily asset reading 24 hourly partitions, or an hourly one reading
 * its day. `{ startOffset: -1, endOffset: -1 }` is the window before (see previousPartitionMapping).
 */
export function timeWindowPartitionMapping(
  options: { startOffset?: number; endOffset?: number } = {},
): PartitionMapping {
  const startOffset = options.startOffset ?? 0;
  const endOffset = options.endOffset ?? 0;
  if (!Number.isInteger(startOffset) || !Number.isInteger(endOffset)) {
    throw new DefinitionError('timeWindowPartitionMapping: startOffset and endOffset must be integers.');
  }
  return { kind: 'partition_mapping', type: 'time_window', startOffset, endOffset };
}

/**
 * The partition before: for an asset that depends on itself (a running total reads yesterday's).
 * Backfills run the partitions of such an asset in order, one after the other.
 */
export function previousPartitionMapping(): PartitionMapping {
  return timeWindowPartitionMapping({ startOffset: -1, endOffset: -1 });
}

/** Static keys to static keys: `{ <upstream key>: <downstream key or keys> }`. */
export function staticPartitionMapping(map: Record<string, string | readonly string[]>): PartitionMapping {
  const out: Record<string, readonly string[]> = {};
  for (const [up, down] of Object.entries(map ?? {})) out[up] = typeof down === 'string' ? [down] : [...down];
  return { kind: 'partition_mapping', type: 'static', map: out };
}

/** A multi-partitioned upstream read through one dimension that matches the downstream's partitions. */
export function dimensionPartitionMapping(dimension: string): PartitionMapping {
  return { kind: 'partition_mapping', type: 'dimension', dimension };
}

export function assertPartitionMapping(value: unknown, owner: string): asserts value is PartitionMapping {
  if ((value as { kind?: unknown } | null)?.kind !== 'partition_mapping') {
    throw new DefinitionError(
      `${owner}: a partition mapping must be built with identityPartitionMapping, allPartitionsMapping, timeWindowPartitionMapping, previousPartitionMapping, staticPartitionMapping or dimensionPartitionMapping.`,
    );
  }
}

/** The default mapping between two definitions. */
export function defaultMapping(
  upstream: PartitionsDefinition,
  downstream: PartitionsDefinition | undefined,
): PartitionMapping {
  if (!downstream) return allPartitionsMapping();
  if (samePartitions(upstream, downstream)) return identityPartitionMapping();
  if (upstream.type === 'time' && downstream.type === 'time') return timeWindowPartitionMapping();
  if (upstream.type === 'multi' && downstream.type !== 'multi') {
    const dim = upstream.dimensions.find((d) => samePartitions(d.partitions, downstream));
    if (dim) return dimensionPartitionMapping(dim.name);
  }
  return identityPartitionMapping();
}

/** Whether the mapping makes a partition depend on the one before it (a self-dependency). */
export function isPreviousMapping(mapping: PartitionMapping): boolean {
  return mapping.type === 'time_window' && mapping.endOffset < 0;
}

function timeDef(def: PartitionsDefinition): TimeWindowPartitions | undefined {
  if (def.type === 'time') return def;
  if (def.type === 'multi')
    return def.dimensions.find((d) => d.partitions.type === 'time')?.partitions as
      | TimeWindowPartitions
      | undefined;
  return undefined;
}

/** Upstream windows overlapping [window), shifted by whole upstream windows. */
function overlappingKeys(
  up: TimeWindowPartitions,
  window: TimeWindow,
  startOffset: number,
  endOffset: number,
): string[] {
  let starts = windowStartsBetween(up, window.start, window.end);
  if (starts.length === 0) return [];
  let first = starts[0]!;
  let last = starts[starts.length - 1]!;
  for (let i = 0; i > startOffset; i--) first = previousWindowStart(up, first);
  for (let i = 0; i < startOffset; i++) first = nextWindowStart(up, first);
  for (let i = 0; i > endOffset; i--) last = previousWindowStart(up, last);
  for (let i = 0; i < endOffset; i++) last = nextWindowStart(up, last);
  starts = [];
  for (let s = first; s.getTime() <= last.getTime(); s = nextWindowStart(up, s)) starts.push(s);
  return starts.map((s) => formatKey(up, s));
}

/**
 * The upstream partition keys that the downstream partitions `keys` read, in upstream order,
 * limited to keys that exist upstream now (the window before the first partition does not).
 * Throws a DefinitionError naming both assets when the mapping cannot apply.
 */
export function mapPartitions(options: {
  mapping: PartitionMapping;
  upstream: PartitionsDefinition;
  upstreamKey: string;
  downstream: PartitionsDefinition | undefined;
  downstreamKey: string;
  keys: readonly string[];
  ctx: PartitionKeyContext;
}): string[] {
  const { mapping, upstream, downstream, keys, ctx } = options;
  const what = `Asset '${options.downstreamKey}' reading '${options.upstreamKey}'`;
  const existing = partitionKeys(upstream, ctx);
  const order = new Map(existing.map((k, i) => [k, i]));
  const wanted = new Set<string>();
  switch (mapping.type) {
    case 'all':
      return existing;
    case 'identity':
      for (const k of keys) wanted.add(k);
      break;
    case 'static':
      for (const [up, downs] of Object.entries(mapping.map))
        if (downs.some((d) => keys.includes(d))) wanted.add(up);
      break;
    case 'dimension': {
      if (upstream.type !== 'multi' || !upstream.dimensions.some((d) => d.name === mapping.dimension)) {
        throw new DefinitionError(
          `${what}: dimensionPartitionMapping('${mapping.dimension}') needs a multi-partitioned upstream with that dimension.`,
        );
      }
      const down = new Set(keys);
      for (const k of existing) if (down.has(splitMultiKey(upstream, k)![mapping.dimension]!)) wanted.add(k);
      break;
    }
    case 'time_window': {
      const up = timeDef(upstream);
      if (!up || !downstream) {
        throw new DefinitionError(
          `${what}: a time window mapping needs time-partitioned assets on both sides.`,
        );
      }
      for (const key of keys) {
        const window = timeWindowOf(downstream, key);
        if (!window) continue;
        const found = overlappingKeys(up, window, mapping.startOffset, mapping.endOffset);
        if (upstream.type === 'multi' && downstream.type === 'multi') {
          // The other dimensions keep the downstream's keys.
          const parts = splitMultiKey(downstream, key)!;
          const timeName = upstream.dimensions.find((d) => d.partitions.type === 'time')!.name;
          for (const f of found) wanted.add(joinMultiKey(upstream, { ...parts, [timeName]: f }));
        } else {
          for (const f of found) wanted.add(f);
        }
      }
      break;
    }
  }
  return [...wanted].filter((k) => order.has(k)).sort((a, b) => order.get(a)! - order.get(b)!);
}
