import { apiPost } from '../api/client.ts';
import type { BackfillSummary } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { Empty, ErrorBox, Loading, TimeAgo } from '../components/common.tsx';
import { href } from '../router.ts';

function Progress({ b }: { b: BackfillSummary }) {
  const c = b.partitionCounts;
  const part = (n: number, color: string, what: string) =>
    n > 0 ? (
      <span
        title={`${n} ${what}`}
        data-part={what}
        style={{ flexGrow: n, flexBasis: 0, background: color }}
      />
    ) : null;
  const notSubmitted = Math.max(0, c.total - c.succeeded - c.failed - c.inProgress - c.queued);
  return (
    <div className="stack" style={{ gap: 2, minWidth: 180 }}>
      <div
        style={{ display: 'flex', height: 10, borderRadius: 3, overflow: 'hidden', background: '#eef0f3' }}
      >
        {part(c.succeeded, '#2e9b5f', 'succeeded')}
        {part(c.failed, '#d0453a', 'failed')}
        {part(c.inProgress, '#d39a16', 'in progress')}
        {part(c.queued, '#7a8ca3', 'queued')}
        {part(notSubmitted, '#d7dbe0', 'not submitted')}
      </div>
      <span className="small muted" data-progress>
        {c.succeeded}/{c.total} succeeded · {c.failed} failed · {c.inProgress} running · {c.queued} queued
      </span>
    </div>
  );
}

/** Backfills, newest first, with their progress; one backfill with a cancel button. */
export function BackfillsPage({ id }: { id: string | undefined }) {
  const { data, error, loading, reload } = useApi<{ backfills: BackfillSummary[] }>('/api/backfills', 2_000);
  const list = (data?.backfills ?? []).filter((b) => !id || b.backfillId === id);
  const cancel = async (backfillId: string) => {
    await apiPost(`/api/backfills/${encodeURIComponent(backfillId)}/cancel`);
    reload();
  };
  return (
    <div className="page">
      <div className="page-header">
        <h1>{id ? `Backfill ${id}` : 'Backfills'}</h1>
      </div>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="backfills" />}
      {data && list.length === 0 && (
        <Empty>{id ? `No backfill ${id}.` : 'No backfills yet: launch one from a partitioned asset.'}</Empty>
      )}
      {list.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th>Backfill</th>
              <th>Status</th>
              <th>Assets</th>
              <th>Partitions</th>
              <th>Progress</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr key={b.backfillId} data-backfill={b.backfillId}>
                <td className="mono">
                  <a href={href('backfills', b.backfillId)}>{b.backfillId}</a>
                </td>
                <td data-status={b.status}>{b.status}</td>
                <td className="mono">{b.jobName ? `job ${b.jobName}` : b.selection}</td>
                <td className="mono small">
                  {b.partitionCount} ({b.firstPartition}...{b.lastPartition}){b.singleRun ? ', one run' : ''}
                </td>
                <td>
                  <Progress b={b} />
                  {b.error && <div className="small error">{b.error}</div>}
                </td>
                <td>
                  <TimeAgo iso={b.createdAt} />
                </td>
                <td>
                  <a className="small" href={href('runs', { tag: `dag/backfill=${b.backfillId}` })}>
                    runs
                  </a>{' '}
                  {b.status === 'REQUESTED' && (
                    <button type="button" onClick={() => void cancel(b.backfillId)}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
