import type { DefinitionsResponse, InstanceResponse } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { ErrorBox, Loading, TimeAgo } from '../components/common.tsx';
import { PoolsPanel } from '../components/pools-panel.tsx';
import { formatBytes, formatDateTime, formatNumber } from '../lib/format.ts';

function display(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The daemon is considered down when its heartbeat is older than two minutes. */
export function daemonState(
  heartbeat: string | null | undefined,
  now = Date.now(),
): 'running' | 'late' | 'none' {
  if (!heartbeat) return 'none';
  const t = Date.parse(heartbeat);
  if (Number.isNaN(t)) return 'none';
  return now - t <= 120_000 ? 'running' : 'late';
}

export function InstancePage() {
  const { data, error, loading } = useApi<InstanceResponse>('/api/instance', 10_000);
  const defs = useApi<DefinitionsResponse>('/api/definitions');
  const info = data?.info;
  const state = daemonState(data?.daemon?.heartbeat);
  return (
    <div className="page">
      <div className="page-header">
        <h1>Instance</h1>
      </div>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="instance" />}
      {data && info && (
        <div className="grid-2">
          <div className="panel">
            <h2>Storage</h2>
            <dl className="props">
              <dt>Home</dt>
              <dd className="mono">{display(info.home)}</dd>
              <dt>Storage</dt>
              <dd>{display(info.storage)}</dd>
              <dt>Database</dt>
              <dd className="mono">{display(info.url)}</dd>
              <dt>Schema version</dt>
              <dd>{display(info.schemaVersion)}</dd>
              <dt>PostgreSQL</dt>
              <dd>{display(info.postgresVersion)}</dd>
              <dt>Size</dt>
              <dd>
                {typeof info.databaseSize === 'number'
                  ? formatBytes(info.databaseSize)
                  : display(info.databaseSize)}
              </dd>
              <dt>Runs</dt>
              <dd>{display(info.runs)}</dd>
              <dt>Events</dt>
              <dd>{display(info.events)}</dd>
              <dt>Assets</dt>
              <dd>{display(info.assets)}</dd>
            </dl>
          </div>
          <div className="stack">
            <div className="panel">
              <h2>Daemon</h2>
              {state === 'none' ? (
                <span className="muted">No daemon heartbeat: schedules and sensors are not evaluated.</span>
              ) : (
                <div className="row">
                  <span className={`badge ${state === 'running' ? 'ok' : 'warn'}`}>
                    {state === 'running' ? 'running' : 'no recent heartbeat'}
                  </span>
                  <span>
                    last heartbeat <TimeAgo iso={data.daemon?.heartbeat} /> (
                    {formatDateTime(data.daemon?.heartbeat)})
                  </span>
                </div>
              )}
            </div>
            <div className="panel">
              <h2>Versions</h2>
              <dl className="props">
                {Object.entries(data.versions ?? {}).map(([k, v]) => (
                  <div key={k} style={{ display: 'contents' }}>
                    <dt>{k}</dt>
                    <dd className="mono">{display(v)}</dd>
                  </div>
                ))}
              </dl>
            </div>
          </div>
        </div>
      )}
      <PoolsPanel />
      <ErrorBox error={defs.error} />
      {defs.data?.locations.map((l) => (
        <div className="panel stack" key={l.name}>
          <h2>
            Code location <span className="mono">{l.name}</span>
          </h2>
          <div className="small muted mono">{l.file}</div>
          {l.error && (
            <div className="error-box">
              <strong>Could not load</strong>
              <pre>{l.error}</pre>
            </div>
          )}
          <div className="small">
            {l.assets.length} assets · {l.jobs.length} jobs · {l.schedules.length} schedules ·{' '}
            {l.sensors.length} sensors · {l.resources.length} resources
          </div>
          {l.resources.length > 0 && (
            <div className="table-wrap">
              <table className="data compact">
                <thead>
                  <tr>
                    <th>Resource</th>
                    <th>Field</th>
                    <th>Value</th>
                    <th>Environment variable</th>
                  </tr>
                </thead>
                <tbody>
                  {l.resources.flatMap((r) => {
                    const fields = Object.entries(r.config ?? {});
                    if (fields.length === 0)
                      return [
                        <tr key={r.name}>
                          <td className="mono">{r.name}</td>
                          <td colSpan={3} className="muted">
                            {r.description ?? 'no config'}
                          </td>
                        </tr>,
                      ];
                    return fields.map(([name, f], i) => (
                      <tr key={`${r.name}.${name}`}>
                        <td className="mono">{i === 0 ? r.name : ''}</td>
                        <td className="mono">{name}</td>
                        <td className="mono">
                          {/* Only what the API returns: secrets arrive as *** and stay that way. */}
                          {f.set === false && (f.value === undefined || f.value === null) ? (
                            <span className="muted">not set</span>
                          ) : (
                            display(f.value)
                          )}
                          {f.secret && (
                            <span className="badge warn" style={{ marginLeft: 6 }}>
                              secret
                            </span>
                          )}
                        </td>
                        <td className="mono">
                          {f.env ?? <span className="muted">-</span>}
                          {f.env && f.set !== undefined && (
                            <span className="muted small"> ({f.set ? 'set' : 'unset'})</span>
                          )}
                        </td>
                      </tr>
                    ));
                  })}
                </tbody>
              </table>
            </div>
          )}
        </div>
      ))}
    </div>
  );
}
