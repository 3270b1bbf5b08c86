import type { AssetDefinition } from '../definitions/asset.ts';
import { UsageError } from '../errors.ts';
import type { InstanceStorage } from '../instance/storage.ts';
import {
  dynamicNames,
  type PartitionKeyContext,
  type PartitionKeyRange,
  type PartitionsDefinition,
  partitionKeys,
  resolvePartitionSelection,
} from './partitions.ts';

/** Run tags that say which partitions a run materializes (Dagster's names). */
export const PARTITION_TAG = 'dag/partition';
export const PARTITION_RANGE_START_TAG = 'dag/partition_range_start';
export const PARTITION_RANGE_END_TAG = 'dag/partition_range_end';
/** The backfill a run belongs to. */
export const BACKFILL_TAG = 'dag/backfill';

/** The tags of a run over one partition, or over a range (first...last). */
export function partitionTags(keys: readonly string[]): Record<string, string> {
  if (keys.length === 0) return {};
  if (keys.length === 1) return { [PARTITION_TAG]: keys[0]! };
  return { [PARTITION_RANGE_START_TAG]: keys[0]!, [PARTITION_RANGE_END_TAG]: keys[keys.length - 1]! };
}

/** The tags of a partition selection given at launch: one key, or a range 'A...B'. */
export function partitionSelectionTags(selection: string): Record<string, string> {
  const range = selection.split('...');
  if (range.length === 2) return partitionTags([range[0]!.trim(), range[1]!.trim()]);
  if (range.length > 2 || selection.includes(',')) {
    throw new UsageError(`Partition selection '${selection}' must be one key or a range 'A...B'.`);
  }
  return partitionTags([selection.trim()]);
}

/** The partition selection a run's tags give: one key, a range 'A...B', or none. */
export function partitionSelectionOf(tags: Readonly<Record<string, string>>): string | undefined {
  const single = tags[PARTITION_TAG];
  const start = tags[PARTITION_RANGE_START_TAG];
  const end = tags[PARTITION_RANGE_END_TAG];
  if (single !== undefined && (start !== undefined || end !== undefined)) {
    throw new UsageError(`A run has either the tag ${PARTITION_TAG} or a partition range, not both.`);
  }
  if (single !== undefined) return single;
  if (start === undefined && end === undefined) return undefined;
  if (start === undefined || end === undefined) {
    throw new UsageError(
      `A partition range needs both tags ${PARTITION_RANGE_START_TAG} and ${PARTITION_RANGE_END_TAG}.`,
    );
  }
  return `${start}...${end}`;
}

/** A key context with the dynamic keys the definitions need, read from the instance once. */
export async function loadPartitionContext(
  storage: Pick<InstanceStorage, 'getDynamicPartitions'>,
  defs: readonly (PartitionsDefinition | undefined)[],
  now: Date = new Date(),
): Promise<PartitionKeyContext> {
  const names = [...new Set(defs.flatMap((d) => (d ? dynamicNames(d) : [])))];
  const dynamic = new Map<string, string[]>();
  await Promise.all(names.map(async (n) => dynamic.set(n, await storage.getDynamicPartitions(n))));
  return { now, dynamicKeys: (name) => dynamic.get(name) ?? [] };
}

/** Which partitions of each partitioned asset a run materializes. */
export interface RunPartitions {
  /** Asset key -> its partition keys in this run (in order). */
  keysByAsset: Map<string, string[]>;
  range: PartitionKeyRange;
  ctx: PartitionKeyContext;
}

/**
 * Resolves a run's partition selection against the partitioned assets it materializes. Every
 * partitioned asset needs a selection, and every key of it must exist; errors name the asset
 * and its valid keys.
 */
export function resolveRunPartitions(
  assets: readonly AssetDefinition[],
  selection: string | undefined,
  ctx: PartitionKeyContext,
): RunPartitions | undefined {
  const partitioned = assets.filter((a) => a.partitions);
  if (selection === undefined) {
    const first = partitioned[0];
    if (first) {
      const keys = partitionKeys(first.partitions!, ctx);
      throw new UsageError(
        `Asset '${first.key}' is partitioned (${first.partitions!.description}): give a partition, e.g. --partition ${keys[keys.length - 1] ?? '<key>'}, or a range with 'dag backfill launch'.`,
      );
    }
    return undefined;
  }
  if (partitioned.length === 0) {
    throw new UsageError(
      `A partition (${selection}) was given, but none of the assets of the run (${assets.map((a) => a.key).join(', ') || 'none'}) is partitioned.`,
    );
  }
  const keysByAsset = new Map<string, string[]>();
  for (const asset of partitioned) {
    const keys = partitionKeys(asset.partitions!, ctx);
    const chosen = resolvePartitionSelection(keys, selection, `asset '${asset.key}'`);
    keysByAsset.set(asset.key, chosen);
  }
  const any = [...keysByAsset.values()][0]!;
  return { keysByAsset, range: { start: any[0]!, end: any[any.length - 1]! }, ctx };
}
