/**
 * Loading an asset's partition status: the compact form (decodePartitionStatus), revalidated by
 * its ETag. The pages poll it; unchanged statuses are a 304 and the same decoded object comes
 * back, so nothing is decoded or rendered again.
 */
import { decodePartitionStatus } from '../lib/partitions.ts';
import { apiGetRevalidated, apiPath, enc } from './client.ts';
import type { AssetPartitionsResponse, CompactPartitionsResponse } from './types.ts';

/** The status route of an asset, in the compact form. */
export function partitionStatusPath(assetKey: string, location: string | null): string {
  return apiPath(`/api/assets/${enc(assetKey)}/partitions`, { location, format: 'compact' });
}

const decoded = new WeakMap<CompactPartitionsResponse, AssetPartitionsResponse>();

export async function loadPartitionStatus(
  path: string,
  signal: AbortSignal,
): Promise<AssetPartitionsResponse> {
  const compact = await apiGetRevalidated<CompactPartitionsResponse>(path, signal);
  let status = decoded.get(compact);
  if (!status) {
    status = decodePartitionStatus(compact);
    decoded.set(compact, status);
  }
  return status;
}
