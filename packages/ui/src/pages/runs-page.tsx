import { useMemo } from 'react';
import { apiPath } from '../api/client.ts';
import {
  ALL_RUN_STATUSES,
  type DefinitionsResponse,
  type RunRecord,
  type RunsResponse,
} from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { Empty, ErrorBox, Loading, RunStatusBadge, Tags, TimeAgo } from '../components/common.tsx';
import { isRunInProgress } from '../lib/asset-status.ts';
import { elapsedMs, formatDuration, shortId } from '../lib/format.ts';
import { href, navigate } from '../router.ts';

const LIMIT = 25;

function RunRow({ run }: { run: RunRecord }) {
  const ms = elapsedMs(run.startedAt ?? run.createdAt, run.endedAt);
  const assets = run.assetSelection ?? [];
  return (
    <tr data-run={run.runId}>
      <td data-label="Run">
        <a className="mono" href={href('runs', run.runId)}>
          {shortId(run.runId)}
        </a>
      </td>
      <td data-label="Status">
        <RunStatusBadge status={run.status} />
      </td>
      <td data-label="Job">
        <div className="stack" style={{ gap: 2 }}>
          <span className="mono">{run.jobName}</span>
          {assets.length > 0 && (
            <span className="desc" title={assets.join(', ')}>
              {assets.slice(0, 4).join(', ')}
              {assets.length > 4 ? ` +${assets.length - 4}` : ''}
            </span>
          )}
        </div>
      </td>
      <td data-label="Created">
        <TimeAgo iso={run.createdAt} />
      </td>
      <td data-label="Duration" className="num">
        {ms === null ? '-' : formatDuration(ms)}
        {isRunInProgress(run.status) && ' …'}
      </td>
      <td data-label="Tags">
        <Tags tags={run.tags} />
      </td>
    </tr>
  );
}

/** Runs, newest first, filtered by status and job, paged with the API's cursor (kept in the URL). */
export function RunsPage({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const job = query.get('job') ?? '';
  const cursor = query.get('cursor') ?? '';
  const back = query.getAll('back');
  // `tag=k=v`: only runs with that tag (the runs of a backfill link here).
  const tag = query.get('tag') ?? '';
  const { data, error, loading } = useApi<RunsResponse>(
    apiPath('/api/runs', { status, job, limit: LIMIT, cursor, tag }),
    cursor ? undefined : 5_000,
  );
  const defs = useApi<DefinitionsResponse>('/api/definitions');
  const jobs = useMemo(() => {
    const names = new Set<string>();
    for (const l of defs.data?.locations ?? []) for (const j of l.jobs) names.add(j.name);
    if (job) names.add(job);
    return [...names].sort();
  }, [defs.data, job]);

  const go = (next: { status?: string; job?: string; cursor?: string; back?: string[] }) => {
    const params = new URLSearchParams();
    const s = next.status ?? status;
    const j = next.job ?? job;
    if (s) params.set('status', s);
    if (j) params.set('job', j);
    if (tag) params.set('tag', tag);
    if (next.cursor) params.set('cursor', next.cursor);
    for (const b of next.back ?? []) params.append('back', b);
    const qs = params.toString();
    navigate(`#/runs${qs ? `?${qs}` : ''}`);
  };

  return (
    <div className="page">
      <div className="page-header">
        <h1>Runs</h1>
        <span className="spacer" />
        <a className="button primary" href={href('launch')}>
          Launch a run
        </a>
      </div>
      <div className="filters">
        <label className="row small">
          Status
          <select
            value={status}
            onChange={(e) => go({ status: e.target.value, cursor: '', back: [] })}
            aria-label="Status"
          >
            <option value="">any</option>
            {ALL_RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="row small">
          Job
          <select
            value={job}
            onChange={(e) => go({ job: e.target.value, cursor: '', back: [] })}
            aria-label="Job"
          >
            <option value="">any</option>
            {jobs.map((j) => (
              <option key={j} value={j}>
                {j}
              </option>
            ))}
          </select>
        </label>
        {(status || job) && (
          <button type="button" onClick={() => navigate('#/runs')}>
            Clear filters
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      <div className="panel flush">
        {loading && !data && <Loading what="runs" />}
        {data && data.runs.length === 0 && (
          <Empty>No runs{status || job ? ' match these filters' : ' yet'}.</Empty>
        )}
        {data && data.runs.length > 0 && (
          <div className="table-wrap">
            <table className="data responsive">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Status</th>
                  <th>Job</th>
                  <th>Created</th>
                  <th className="num">Duration</th>
                  <th>Tags</th>
                </tr>
              </thead>
              <tbody>
                {data.runs.map((r) => (
                  <RunRow run={r} key={r.runId} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      <div className="row">
        <button
          type="button"
          disabled={!cursor}
          onClick={() => go({ cursor: back[back.length - 1] ?? '', back: back.slice(0, -1) })}
        >
          ← Newer
        </button>
        <button
          type="button"
          disabled={!data?.nextCursor}
          onClick={() => data?.nextCursor && go({ cursor: data.nextCursor, back: [...back, cursor] })}
        >
          Older →
        </button>
      </div>
    </div>
  );
}
