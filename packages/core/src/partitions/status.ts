import type { AssetDefinition } from '../definitions/asset.ts';
import type { InstanceStorage, PartitionStatus } from '../instance/storage.ts';
import { describePartitions, partitionKeys } from './partitions.ts';
import { loadPartitionContext } from './run-partitions.ts';

/** Where every partition of an asset stands, in key order (compact: parallel arrays). */
export interface AssetPartitionStatus {
  assetKey: string;
  /** 'daily', 'hourly', 'weekly', 'monthly', 'static', 'dynamic' or 'multi', and a description. */
  partitions: ReturnType<typeof describePartitions>;
  keys: string[];
  /** The status of keys[i]. */
  statuses: PartitionStatus[];
  counts: Record<PartitionStatus, number>;
}

/**
 * The status of each partition of a partitioned asset: its keys now, and one indexed read of
 * the statuses the instance keeps (a key with none is MISSING).
 */
export async function assetPartitionStatus(
  storage: InstanceStorage,
  asset: AssetDefinition,
  now: Date = new Date(),
): Promise<AssetPartitionStatus> {
  const def = asset.partitions!;
  const [ctx, byKey] = await Promise.all([
    loadPartitionContext(storage, [def], now),
    storage.getPartitionStatusMap(asset.key),
  ]);
  const keys = partitionKeys(def, ctx);
  const counts: Record<PartitionStatus, number> = { MATERIALIZED: 0, FAILED: 0, IN_PROGRESS: 0, MISSING: 0 };
  const statuses = keys.map((k) => {
    const status = byKey.get(k) ?? 'MISSING';
    counts[status]++;
    return status;
  });
  return { assetKey: asset.key, partitions: describePartitions(def), keys, statuses, counts };
}
