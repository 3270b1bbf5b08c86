import { useMemo, useState } from 'react';
import { apiPost } from '../api/client.ts';
import { loadPartitionStatus, partitionStatusPath } from '../api/partitions.ts';
import type { PartitionStatus } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { formatNumber } from '../lib/format.ts';
import { PARTITION_COLORS, stripBoxes, stripBoxLabel } from '../lib/partitions.ts';
import { href, navigate } from '../router.ts';
import { ErrorBox, Loading } from './common.tsx';

/**
 * The status of every partition as a strip: one box per run of equal statuses, or, when that
 * would be more boxes than the strip has room for, one per range of partitions (stripBoxes), so
 * ten thousand partitions draw as fast as ten. Clicking a box selects its range.
 */
export function PartitionStrip({
  assetKey,
  keys,
  statuses,
  onSelect,
}: {
  assetKey: string;
  keys: readonly string[];
  statuses: readonly PartitionStatus[];
  onSelect: (first: number, last: number) => void;
}) {
  const boxes = useMemo(() => stripBoxes(statuses), [statuses]);
  return (
    <div className="partition-strip" role="img" aria-label={`Partition status of ${assetKey}`}>
      {boxes.map((s) => (
        <button
          type="button"
          key={s.start}
          data-status={s.status}
          data-mixed={s.mixed ? '' : undefined}
          title={stripBoxLabel(keys, s)}
          onClick={() => onSelect(s.start, s.start + s.count - 1)}
          style={{ flexGrow: s.count, background: PARTITION_COLORS[s.status] }}
        />
      ))}
    </div>
  );
}

/** The first and last partition of a selection, typed (or filled in by clicks elsewhere). */
export function PartitionRangeInputs({
  from,
  to,
  onFrom,
  onTo,
  placeholders = ['', ''],
}: {
  from: string;
  to: string;
  onFrom: (key: string) => void;
  onTo: (key: string) => void;
  placeholders?: [string, string];
}) {
  const input = (label: string, value: string, set: (key: string) => void, placeholder: string) => (
    <label className="small">
      {label}{' '}
      <input
        className="mono"
        value={value}
        placeholder={placeholder}
        onChange={(e) => set(e.target.value.trim())}
        size={18}
        aria-label={`${label === 'from' ? 'first' : 'last'} partition`}
      />
    </label>
  );
  return (
    <>
      {input('from', from, onFrom, placeholders[0])}
      {input('to', to, onTo, placeholders[1])}
    </>
  );
}

/**
 * Launching partitions of one asset: a run of one partition (or a range 'A...B') opens the
 * run; a backfill opens the Backfills page. `error` is the last launch's failure.
 */
export function usePartitionLaunch(assetKey: string, location: string | null) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const selection = `key:"${assetKey}"`;
  const where = location ? { location } : {};
  return {
    busy,
    error,
    materialize: (partition: string) =>
      act(async () => {
        const res = await apiPost<{ runId: string }>('/api/runs', { selection, partition, ...where });
        navigate(href('runs', res.runId));
      }),
    backfill: (partitions: string, options: { fromFailure?: boolean; singleRun?: boolean } = {}) =>
      act(async () => {
        const res = await apiPost<{ backfill: { backfillId: string } }>('/api/backfills', {
          selection,
          partitions,
          ...(options.fromFailure ? { fromFailure: true } : {}),
          ...(options.singleRun ? { singleRun: true } : {}),
          ...where,
        });
        navigate(href('backfills', res.backfill.backfillId));
      }),
  };
}

/**
 * The asset's partitions on its page: the strip, counts by status, and launching one
 * partition or a backfill of a range. The Partitions page has the full view.
 */
export function PartitionsPanel({ assetKey, location }: { assetKey: string; location: string | null }) {
  const { data, error, loading } = useApi(
    partitionStatusPath(assetKey, location),
    5_000,
    loadPartitionStatus,
  );
  const keys = data?.keys ?? [];
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [fromFailure, setFromFailure] = useState(false);
  const launch = usePartitionLaunch(assetKey, location);
  const first = from || keys[0] || '';
  const last = to || keys[keys.length - 1] || '';

  return (
    <div className="panel" data-testid="partitions">
      <h2>
        Partitions{' '}
        <a className="small" href={href('partitions', assetKey, { location })}>
          open the partitions page
        </a>
      </h2>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="partitions" />}
      {data && (
        <>
          <p className="small muted">
            {data.partitions.description}: {formatNumber(keys.length)} partitions ·{' '}
            <span data-count="MATERIALIZED">{formatNumber(data.counts.MATERIALIZED)} materialized</span> ·{' '}
            <span data-count="FAILED">{formatNumber(data.counts.FAILED)} failed</span> ·{' '}
            <span data-count="IN_PROGRESS">{formatNumber(data.counts.IN_PROGRESS)} in progress</span> ·{' '}
            <span data-count="MISSING">{formatNumber(data.counts.MISSING)} missing</span>
          </p>
          <PartitionStrip
            assetKey={assetKey}
            keys={keys}
            statuses={data.statuses}
            onSelect={(a, b) => {
              setFrom(keys[a]!);
              setTo(keys[b]!);
            }}
          />
          {keys.length > 0 && (
            <div className="row" style={{ gap: 8, marginTop: 8, flexWrap: 'wrap' }}>
              <PartitionRangeInputs from={first} to={last} onFrom={setFrom} onTo={setTo} />
              <label className="small">
                <input
                  type="checkbox"
                  checked={fromFailure}
                  onChange={(e) => setFromFailure(e.target.checked)}
                />{' '}
                only failed or missing
              </label>
              <button type="button" disabled={launch.busy} onClick={() => void launch.materialize(last)}>
                Materialize {last}
              </button>
              <button
                type="button"
                className="primary"
                disabled={launch.busy}
                onClick={() => void launch.backfill(`${first}...${last}`, { fromFailure })}
              >
                Backfill {first}...{last}
              </button>
            </div>
          )}
          <ErrorBox error={launch.error} title="Could not launch" />
        </>
      )}
    </div>
  );
}
