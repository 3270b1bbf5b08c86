import {
  type AssetDefinition,
  type AssetFreshness,
  type AssetStatus,
  assetFreshness,
  assetStatus,
  type DagInstance,
  IN_PROGRESS_RUN_STATUSES,
  latestAttemptFailed,
  type MetadataRecord,
  PostgresStorage,
  type RunRecord,
  type RunStatus,
} from '@dag/core';

export interface LatestMaterialization {
  materializedAt: Date;
  runId: string;
  metadata: MetadataRecord;
}

/** What the instance knows about one asset: its latest materialization and latest attempt. */
export interface AssetState {
  latest: LatestMaterialization | null;
  /** Id of the latest materialization event (for ordering against failures). */
  latestId: number;
  /** The status of the run that last touched the asset (running, materialized it or failed it). */
  lastRunStatus: RunStatus | null;
  /** The asset's latest attempt failed (after its latest materialization). */
  failed: boolean;
  /** An active run (queued or running) includes the asset and has not finished its step yet. */
  running: boolean;
}

interface StateRow {
  key: string;
  last_materialization_id: string | null;
  last_run_id: string | null;
  last_materialized_at: Date | null;
  last_metadata: MetadataRecord | null;
  mat_run_status: RunStatus | null;
  failure_id: string | null;
  failure_run_id: string | null;
  failure_canceled: boolean | null;
  failure_run_status: RunStatus | null;
}

/**
 * One query for every asset: the latest materialization (asset_keys), the status of the run
 * that made it, and the latest step failure (one index probe per asset on
 * event_logs (asset_key, event_type, id)). Replaces a storage call per asset.
 */
const STATE_SQL = `
SELECT k.key,
       a.last_materialization_id, a.last_run_id, a.last_materialized_at, a.last_metadata,
       mr.status AS mat_run_status,
       f.id AS failure_id, f.run_id AS failure_run_id, f.canceled AS failure_canceled,
       fr.status AS failure_run_status
FROM unnest($1::text[]) AS k(key)
LEFT JOIN asset_keys a ON a.asset_key = k.key
LEFT JOIN runs mr ON mr.run_id = a.last_run_id
LEFT JOIN LATERAL (
  SELECT e.id, e.run_id, coalesce((e.data->>'canceled') = 'true', false) AS canceled
  FROM event_logs e
  WHERE e.asset_key = k.key AND e.event_type = 'STEP_FAILURE'
  ORDER BY e.id DESC LIMIT 1
) f ON true
LEFT JOIN runs fr ON fr.run_id = f.run_id`;

function includes(run: RunRecord, key: string): boolean {
  return (run.assetSelection ?? []).includes(key) && (run.stepKeys === null || run.stepKeys.includes(key));
}

/** The state of each asset key, from two queries whatever the number of assets. */
export async function loadAssetStates(
  instance: DagInstance,
  keys: string[],
): Promise<Map<string, AssetState>> {
  const storage = instance.storage;
  const active = (await storage.listRuns({ statuses: [...IN_PROGRESS_RUN_STATUSES], limit: 1000 })).runs;
  const states = new Map<string, AssetState>();
  if (keys.length === 0) return states;

  let rows: StateRow[];
  if (storage instanceof PostgresStorage) {
    rows = (await storage.pool.query<StateRow>(STATE_SQL, [keys])).rows;
  } else {
    // Another storage implementation: latest materializations only, no failure information.
    const records = new Map((await storage.getAssetRecords(keys)).map((r) => [r.assetKey, r]));
    rows = keys.map((key) => {
      const r = records.get(key);
      return {
        key,
        last_materialization_id: r?.lastMaterializationId == null ? null : String(r.lastMaterializationId),
        last_run_id: r?.lastRunId ?? null,
        last_materialized_at: r?.lastMaterializedAt ?? null,
        last_metadata: r?.lastMetadata ?? null,
        mat_run_status: null,
        failure_id: null,
        failure_run_id: null,
        failure_canceled: null,
        failure_run_status: null,
      };
    });
  }

  for (const row of rows) {
    const latestId = Number(row.last_materialization_id ?? 0);
    const failureId = Number(row.failure_id ?? 0);
    const failed = latestAttemptFailed(
      latestId,
      row.failure_id === null ? null : { id: failureId, canceled: row.failure_canceled === true },
    );
    const activeRun = active.find(
      (run) => includes(run, row.key) && run.runId !== row.last_run_id && run.runId !== row.failure_run_id,
    );
    let lastRunStatus: RunStatus | null = null;
    if (activeRun) lastRunStatus = activeRun.status;
    else if (failureId > latestId) lastRunStatus = row.failure_run_status;
    else if (latestId > 0) lastRunStatus = row.mat_run_status;
    states.set(row.key, {
      latest:
        row.last_materialized_at && row.last_run_id
          ? {
              materializedAt: row.last_materialized_at,
              runId: row.last_run_id,
              metadata: row.last_metadata ?? {},
            }
          : null,
      latestId,
      lastRunStatus,
      failed,
      running: activeRun !== undefined,
    });
  }
  return states;
}

/** The asset's freshness (the core's rule), null when it has no policy. */
export function freshnessOf(
  asset: AssetDefinition,
  state: AssetState | undefined,
  now = Date.now(),
): AssetFreshness | null {
  return assetFreshness(asset.freshness, state?.latest?.materializedAt, now);
}

/** The asset's status for the catalog and the graph (the core's rule, on the instance's state). */
export function statusOf(
  asset: AssetDefinition,
  states: Map<string, AssetState>,
  now = Date.now(),
): AssetStatus {
  const state = states.get(asset.key);
  return assetStatus({
    running: state?.running ?? false,
    failed: state?.failed ?? false,
    lastMaterializedAt: state?.latest?.materializedAt,
    freshness: freshnessOf(asset, state, now),
    upstreamMaterializedAt: asset.deps.map((dep) => states.get(dep)?.latest?.materializedAt),
  });
}
