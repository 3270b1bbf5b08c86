/**
 * An asset's status and freshness: one rule for the daemon, the server's catalog and graph, the
 * CLI and the UI. Pure and free of Node imports (browser-safe).
 */

export const ASSET_STATUSES = ['materialized', 'never', 'failed', 'running', 'stale'] as const;
export type AssetStatus = (typeof ASSET_STATUSES)[number];

/** A moment as Node (Date), JSON (ISO string) or a clock (epoch ms) has it. */
export type Instant = Date | string | number;

function epochMs(at: Instant): number {
  return at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
}

export interface AssetFreshness {
  maximumLagMinutes: number;
  /** Minutes since the latest materialization; null when it was never materialized. */
  lagMinutes: number | null;
  /** Never materialized, or materialized longer ago than the policy allows. */
  stale: boolean;
}

/** Whether an asset with a freshness policy is overdue. Null when it has no policy. */
export function assetFreshness(
  policy: { maximumLagMinutes: number } | null | undefined,
  lastMaterializedAt: Instant | null | undefined,
  now: Instant,
): AssetFreshness | null {
  if (!policy) return null;
  const lagMinutes =
    lastMaterializedAt == null ? null : (epochMs(now) - epochMs(lastMaterializedAt)) / 60_000;
  return {
    maximumLagMinutes: policy.maximumLagMinutes,
    lagMinutes,
    stale: lagMinutes === null || lagMinutes > policy.maximumLagMinutes,
  };
}

/**
 * Whether an asset's latest attempt failed: its latest STEP_FAILURE came after its latest
 * materialization and was a failure of its own, not a step stopped by a terminate.
 */
export function latestAttemptFailed(
  latestMaterializationId: number | null | undefined,
  latestFailure: { id: number; canceled: boolean } | null | undefined,
): boolean {
  return (
    latestFailure != null && latestFailure.id > (latestMaterializationId ?? 0) && !latestFailure.canceled
  );
}

export interface AssetStatusInput {
  /** A queued or running run includes the asset and has not finished its step yet. */
  running: boolean;
  /** The asset's latest attempt failed (after its latest materialization; a cancel is no failure). */
  failed: boolean;
  lastMaterializedAt: Instant | null | undefined;
  /** From `assetFreshness`; null when the asset has no policy. */
  freshness: Pick<AssetFreshness, 'stale'> | null;
  /** Latest materialization of each upstream asset (null: never materialized). */
  upstreamMaterializedAt: readonly (Instant | null | undefined)[];
}

/**
 * One status for the catalog and the graph: running, then failed, then never materialized,
 * then stale (overdue by its freshness policy, or an upstream asset was materialized after it),
 * else materialized.
 */
export function assetStatus(input: AssetStatusInput): AssetStatus {
  if (input.running) return 'running';
  if (input.failed) return 'failed';
  if (input.lastMaterializedAt == null) return 'never';
  if (input.freshness?.stale) return 'stale';
  const at = epochMs(input.lastMaterializedAt);
  for (const upstream of input.upstreamMaterializedAt) {
    if (upstream != null && epochMs(upstream) > at) return 'stale';
  }
  return 'materialized';
}
