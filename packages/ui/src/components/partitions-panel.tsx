import { useMemo, useState } from 'react';
import { apiPath, apiPost, enc } from '../api/client.ts';
import type { AssetPartitionsResponse } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { segmentLabel, statusSegments } from '../lib/partitions.ts';
import { href, navigate } from '../router.ts';
import { ErrorBox, Loading } from './common.tsx';

const COLORS: Record<string, string> = {
  MATERIALIZED: 'var(--ok, #2e9b5f)',
  FAILED: 'var(--error, #d0453a)',
  IN_PROGRESS: 'var(--warn, #d39a16)',
  MISSING: 'var(--muted-bg, #d7dbe0)',
};

/**
 * The asset's partitions as a strip (one box per run of equal statuses, so ten thousand
 * partitions draw as fast as ten), counts by status, and launching one partition or a
 * backfill of a range.
 */
export function PartitionsPanel({ assetKey, location }: { assetKey: string; location: string | null }) {
  const { data, error, loading } = useApi<AssetPartitionsResponse>(
    apiPath(`/api/assets/${enc(assetKey)}/partitions`, { location }),
    5_000,
  );
  const segments = useMemo(() => statusSegments(data?.statuses ?? []), [data]);
  const keys = data?.keys ?? [];
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [fromFailure, setFromFailure] = useState(false);
  const [busy, setBusy] = useState(false);
  const [launchError, setLaunchError] = useState<unknown>(null);
  const first = from || keys[0] || '';
  const last = to || keys[keys.length - 1] || '';

  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    setLaunchError(null);
    try {
      await fn();
    } catch (e) {
      setLaunchError(e);
    } finally {
      setBusy(false);
    }
  };
  const selection = `key:"${assetKey}"`;
  const runOne = () =>
    act(async () => {
      const res = await apiPost<{ runId: string }>('/api/runs', {
        selection,
        partition: last,
        ...(location ? { location } : {}),
      });
      navigate(href('runs', res.runId));
    });
  const backfill = () =>
    act(async () => {
      const res = await apiPost<{ backfill: { backfillId: string } }>('/api/backfills', {
        selection,
        partitions: `${first}...${last}`,
        fromFailure,
        ...(location ? { location } : {}),
      });
      navigate(href('backfills', res.backfill.backfillId));
    });

  return (
    <div className="panel" data-testid="partitions">
      <h2>Partitions</h2>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="partitions" />}
      {data && (
        <>
          <p className="small muted">
            {data.partitions.description}: {keys.length.toLocaleString()} partitions ·{' '}
            <span data-count="MATERIALIZED">{data.counts.MATERIALIZED.toLocaleString()} materialized</span> ·{' '}
            <span data-count="FAILED">{data.counts.FAILED.toLocaleString()} failed</span> ·{' '}
            <span data-count="IN_PROGRESS">{data.counts.IN_PROGRESS.toLocaleString()} in progress</span> ·{' '}
            <span data-count="MISSING">{data.counts.MISSING.toLocaleString()} missing</span>
          </p>
          <div
            className="partition-strip"
            role="img"
            aria-label={`Partition status of ${assetKey}`}
            style={{ display: 'flex', height: 22, borderRadius: 4, overflow: 'hidden', gap: 0 }}
          >
            {segments.map((s) => (
              <button
                type="button"
                key={s.start}
                data-status={s.status}
                title={segmentLabel(keys, s)}
                onClick={() => {
                  setFrom(keys[s.start]!);
                  setTo(keys[s.start + s.count - 1]!);
                }}
                style={{
                  flexGrow: s.count,
                  flexBasis: 0,
                  minWidth: 2,
                  border: 0,
                  padding: 0,
                  background: COLORS[s.status],
                  cursor: 'pointer',
                }}
              />
            ))}
          </div>
          {keys.length > 0 && (
            <div className="row" style={{ gap: 8, marginTop: 8, flexWrap: 'wrap' }}>
              <label className="small">
                from{' '}
                <input
                  className="mono"
                  value={first}
                  onChange={(e) => setFrom(e.target.value)}
                  size={16}
                  aria-label="first partition"
                />
              </label>
              <label className="small">
                to{' '}
                <input
                  className="mono"
                  value={last}
                  onChange={(e) => setTo(e.target.value)}
                  size={16}
                  aria-label="last partition"
                />
              </label>
              <label className="small">
                <input
                  type="checkbox"
                  checked={fromFailure}
                  onChange={(e) => setFromFailure(e.target.checked)}
                />{' '}
                only failed or missing
              </label>
              <button type="button" disabled={busy} onClick={() => void runOne()}>
                Materialize {last}
              </button>
              <button type="button" className="primary" disabled={busy} onClick={() => void backfill()}>
                Backfill {first}...{last}
              </button>
            </div>
          )}
          <ErrorBox error={launchError} title="Could not launch" />
        </>
      )}
    </div>
  );
}
