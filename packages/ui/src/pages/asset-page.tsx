import { useEffect, useState } from 'react';
import { apiGet, apiPath, apiPost, enc } from '../api/client.ts';
import type { AssetDetailResponse, CheckExecution, GraphResponse, StoredEvent } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { AssetInsights } from '../components/asset-insights.tsx';
import {
  AssetStatusBadge,
  Empty,
  ErrorBox,
  Kinds,
  Loading,
  RunStatusBadge,
  Tags,
  TimeAgo,
} from '../components/common.tsx';
import { MarkdownView } from '../components/markdown-view.tsx';
import { MetadataView } from '../components/metadata-view.tsx';
import { PartitionsPanel } from '../components/partitions-panel.tsx';
import { selectionOfKeys } from '../lib/asset-status.ts';
import { formatDateTime, shortId } from '../lib/format.ts';
import { formatMetadataInline, metadataEntries } from '../lib/metadata.ts';
import { href, navigate } from '../router.ts';

const PAGE = 20;

function metadataOf(event: StoredEvent): unknown {
  return (event.data as { metadata?: unknown } | null)?.metadata ?? null;
}

function MaterializationHistory({ assetKey }: { assetKey: string }) {
  const [events, setEvents] = useState<StoredEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [open, setOpen] = useState<Set<number>>(new Set());

  const load = async (before?: number) => {
    setLoading(true);
    try {
      const res = await apiGet<{ materializations: StoredEvent[] }>(
        apiPath(`/api/assets/${enc(assetKey)}/materializations`, { limit: PAGE, before }),
      );
      setEvents((prev) => (before === undefined ? res.materializations : [...prev, ...res.materializations]));
      setDone(res.materializations.length < PAGE);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: load once per asset
  useEffect(() => {
    void load();
  }, [assetKey]);

  const toggle = (id: number) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };

  return (
    <div className="panel">
      <h2>Materializations</h2>
      <ErrorBox error={error} />
      {!loading && events.length === 0 && !error && <Empty>Never materialized.</Empty>}
      <div className="stack" style={{ gap: 0 }}>
        {events.map((event) => {
          const entries = metadataEntries(metadataOf(event));
          const isOpen = open.has(event.id);
          return (
            <div key={event.id} style={{ borderTop: '1px solid var(--border)', padding: '8px 0' }}>
              <div className="row">
                <button
                  type="button"
                  className="link"
                  onClick={() => toggle(event.id)}
                  aria-expanded={isOpen}
                >
                  {isOpen ? '▾' : '▸'} {formatDateTime(event.ts)}
                </button>
                <span className="muted small">
                  run <a href={href('runs', event.runId)}>{shortId(event.runId)}</a>
                </span>
                {!isOpen && (
                  <span className="muted small" style={{ overflowWrap: 'anywhere' }}>
                    {entries
                      .slice(0, 3)
                      .map(([k, v]) => `${k}: ${formatMetadataInline(v)}`)
                      .join(' · ')}
                  </span>
                )}
              </div>
              {isOpen && (
                <div style={{ padding: '8px 0 4px 18px' }}>
                  <MetadataView metadata={metadataOf(event)} />
                </div>
              )}
            </div>
          );
        })}
      </div>
      {loading && <Loading />}
      {!done && events.length > 0 && !loading && (
        <button type="button" onClick={() => void load(events[events.length - 1]!.id)}>
          Load older
        </button>
      )}
    </div>
  );
}

function CheckHistory({ assetKey }: { assetKey: string }) {
  const { data, error } = useApi<{ executions: CheckExecution[] }>(
    apiPath(`/api/assets/${enc(assetKey)}/checks`, { limit: 100 }),
  );
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading what="check results" />;
  if (data.executions.length === 0) return <span className="muted">No check results yet.</span>;
  const byName = new Map<string, CheckExecution[]>();
  for (const e of data.executions) byName.set(e.checkName, [...(byName.get(e.checkName) ?? []), e]);
  return (
    <div className="stack">
      {[...byName.entries()].map(([name, executions]) => {
        const ordered = [...executions].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
        const latest = ordered[ordered.length - 1]!;
        return (
          <div key={name} className="stack" style={{ gap: 4 }}>
            <div className="row">
              <strong className="mono">{name}</strong>
              <span
                className={`badge ${latest.passed ? 'ok' : latest.severity === 'ERROR' ? 'fail' : 'warn'}`}
              >
                {latest.passed ? 'passed' : `failed (${latest.severity})`}
              </span>
              <span className="muted small">
                {ordered.filter((e) => e.passed).length} of {ordered.length} passed
              </span>
            </div>
            <div className="row" style={{ gap: 2 }} title={`${name} over time (oldest first)`}>
              {ordered.map((e) => (
                <a
                  key={e.id}
                  href={href('runs', e.runId)}
                  title={`${formatDateTime(e.createdAt)}: ${e.passed ? 'passed' : 'failed'}`}
                  style={{
                    width: 12,
                    height: 18,
                    borderRadius: 2,
                    background: e.passed
                      ? 'var(--ok)'
                      : e.severity === 'ERROR'
                        ? 'var(--fail)'
                        : 'var(--warn)',
                  }}
                >
                  <span className="sr-only">{e.passed ? 'passed' : 'failed'}</span>
                </a>
              ))}
            </div>
          </div>
        );
      })}
      <details>
        <summary className="small">All results</summary>
        <div className="table-wrap">
          <table className="data compact">
            <thead>
              <tr>
                <th>When</th>
                <th>Check</th>
                <th>Result</th>
                <th>Run</th>
                <th>Metadata</th>
              </tr>
            </thead>
            <tbody>
              {data.executions.map((e) => (
                <tr key={e.id}>
                  <td>{formatDateTime(e.createdAt)}</td>
                  <td className="mono">{e.checkName}</td>
                  <td>
                    <span className={`badge ${e.passed ? 'ok' : e.severity === 'ERROR' ? 'fail' : 'warn'}`}>
                      {e.passed ? 'passed' : `failed ${e.severity}`}
                    </span>
                  </td>
                  <td>
                    <a href={href('runs', e.runId)}>{shortId(e.runId)}</a>
                  </td>
                  <td>
                    {e.metadata ? <MetadataView metadata={e.metadata} /> : <span className="muted">-</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}

export function AssetPage({ assetKey, location }: { assetKey: string; location: string | null }) {
  const { data, error, loading } = useApi<AssetDetailResponse>(
    apiPath(`/api/assets/${enc(assetKey)}`, { location }),
    20_000,
  );
  // Older servers have no `dependents`: ask the graph for one level downstream then.
  const needGraph = data !== undefined && data.asset.dependents === undefined;
  const downstream = useApi<GraphResponse>(
    needGraph ? apiPath('/api/graph', { selection: `${selectionOfKeys([assetKey])}+1`, location }) : null,
  );

  const [launchError, setLaunchError] = useState<unknown>(null);
  const [launching, setLaunching] = useState(false);
  const asset = data?.asset;
  const loc = location ?? asset?.location ?? null;

  const materialize = async () => {
    setLaunching(true);
    setLaunchError(null);
    try {
      const res = await apiPost<{ runId: string }>('/api/runs', {
        selection: selectionOfKeys([assetKey]),
        ...(loc ? { location: loc } : {}),
      });
      navigate(href('runs', res.runId));
    } catch (e) {
      setLaunchError(e);
    } finally {
      setLaunching(false);
    }
  };

  const children =
    asset?.dependents ?? (downstream.data?.edges ?? []).filter((e) => e.from === assetKey).map((e) => e.to);

  return (
    <div className="page">
      <div className="breadcrumb">
        <a href={href('assets')}>Assets</a>
        {asset && (
          <>
            {' / '}
            {asset.group}
          </>
        )}
      </div>
      <div className="page-header">
        <h1 className="mono">{assetKey}</h1>
        {asset?.status && <AssetStatusBadge status={asset.status} />}
        {asset?.lastRunStatus && (
          <span className="small muted row" style={{ gap: 4 }}>
            last run <RunStatusBadge status={asset.lastRunStatus} />
          </span>
        )}
        <span className="spacer" />
        <a className="button" href={href('graph', { selection: `+${selectionOfKeys([assetKey])}+` })}>
          Lineage
        </a>
        <a
          className="button"
          href={href('launch', { selection: selectionOfKeys([assetKey]), location: loc })}
        >
          Launch with config…
        </a>
        <button type="button" className="primary" onClick={() => void materialize()} disabled={launching}>
          {launching ? 'Launching…' : 'Materialize'}
        </button>
      </div>
      <ErrorBox error={launchError} title="Could not launch" />
      <ErrorBox error={error} />
      {loading && !data && <Loading what="asset" />}
      {asset?.partitions && <PartitionsPanel assetKey={assetKey} location={loc} />}
      {asset && (
        <div className="asset-grid">
          <div className="panel">
            <h2>Definition</h2>
            <dl className="props">
              <dt>Group</dt>
              <dd>
                <a href={href('graph', { selection: `group:${asset.group}` })}>{asset.group}</a>
              </dd>
              {loc && (
                <>
                  <dt>Location</dt>
                  <dd>{loc}</dd>
                </>
              )}
              <dt>Description</dt>
              <dd>
                {asset.description ? (
                  <MarkdownView source={asset.description} />
                ) : (
                  <span className="muted">-</span>
                )}
              </dd>
              <dt>Upstream</dt>
              <dd>
                {asset.deps.length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  <span className="row" style={{ gap: 6 }}>
                    {asset.deps.map((d) => (
                      <a key={d} className="mono" href={href('assets', d)}>
                        {d}
                      </a>
                    ))}
                  </span>
                )}
              </dd>
              <dt>Downstream</dt>
              <dd>
                {children.length === 0 ? (
                  <span className="muted">{asset.dependents || downstream.data ? 'none' : '…'}</span>
                ) : (
                  <span className="row" style={{ gap: 6 }}>
                    {children.map((d) => (
                      <a key={d} className="mono" href={href('assets', d)}>
                        {d}
                      </a>
                    ))}
                  </span>
                )}
              </dd>
              <dt>Kinds</dt>
              <dd>
                <Kinds kinds={asset.kinds} />
              </dd>
              <dt>Tags</dt>
              <dd>
                <Tags tags={asset.tags} />
              </dd>
              {asset.owners && asset.owners.length > 0 && (
                <>
                  <dt>Owners</dt>
                  <dd>{asset.owners.join(', ')}</dd>
                </>
              )}
              <dt>Freshness</dt>
              <dd>
                {asset.freshness ? (
                  `materialized at least every ${asset.freshness.maximumLagMinutes} min`
                ) : (
                  <span className="muted">no policy</span>
                )}
              </dd>
              <dt>Config</dt>
              <dd>{asset.hasConfig ? 'takes run config' : <span className="muted">none</span>}</dd>
            </dl>
            {asset.checks.length > 0 && (
              <>
                <h3 style={{ marginTop: 14 }}>Checks</h3>
                <div className="table-wrap">
                  <table className="data compact">
                    <thead>
                      <tr>
                        <th>Check</th>
                        <th>Severity</th>
                        <th>Blocking</th>
                        <th>Description</th>
                      </tr>
                    </thead>
                    <tbody>
                      {asset.checks.map((c) => (
                        <tr key={c.name}>
                          <td className="mono">{c.name}</td>
                          <td>
                            <span className={`badge ${c.severity === 'ERROR' ? 'fail' : 'warn'}`}>
                              {c.severity}
                            </span>
                          </td>
                          <td>{c.blocking ? 'yes' : 'no'}</td>
                          <td>{c.description ?? <span className="muted">-</span>}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </div>
          {asset.definitionMetadata && Object.keys(asset.definitionMetadata).length > 0 && (
            <div className="panel" data-testid="definition-metadata">
              <h2>{asset.external ? 'External asset' : 'Definition'}</h2>
              <MetadataView metadata={asset.definitionMetadata} />
            </div>
          )}
          <div className="panel">
            <h2>Latest materialization</h2>
            {data?.latest ? (
              <div className="stack">
                <div className="row small">
                  <TimeAgo iso={data.latest.materializedAt} />
                  <span className="muted">({formatDateTime(data.latest.materializedAt)})</span>
                  <span className="muted">
                    run <a href={href('runs', data.latest.runId)}>{shortId(data.latest.runId)}</a>
                  </span>
                </div>
                <MetadataView metadata={data.latest.metadata} />
              </div>
            ) : (
              <Empty>Never materialized.</Empty>
            )}
          </div>
        </div>
      )}
      {asset && asset.checks.length > 0 && (
        <div className="panel">
          <h2>Check results over time</h2>
          <CheckHistory assetKey={assetKey} />
        </div>
      )}
      {asset && <AssetInsights assetKey={assetKey} />}
      {asset && <MaterializationHistory assetKey={assetKey} />}
    </div>
  );
}
