import type { WorkersResponse } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { ErrorBox, Loading, TimeAgo } from '../components/common.tsx';
import { href } from '../router.ts';

/** `dag worker` processes of the instance: id, host, last heartbeat, the runs they execute. */
export function WorkersPage() {
  const { data, error, loading } = useApi<WorkersResponse>('/api/workers', 3000);
  return (
    <div className="page">
      <div className="page-header">
        <h1>Workers</h1>
      </div>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="workers" />}
      {data && data.workers.length === 0 && (
        <p className="muted">
          No workers. Start one with <code>dag worker</code> on any machine pointing at this instance, or{' '}
          <code>dag dev --workers 2</code>.
        </p>
      )}
      {data && data.workers.length > 0 && (
        <div className="panel flush">
          <table className="data">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Host</th>
                <th>State</th>
                <th>Last heartbeat</th>
                <th>Runs</th>
              </tr>
            </thead>
            <tbody>
              {data.workers.map((w) => (
                <tr key={w.workerId}>
                  <td className="mono">{w.workerId}</td>
                  <td>
                    {w.hostname} <span className="muted">pid {w.pid}</span>
                  </td>
                  <td>{w.alive ? w.state : <strong>lost</strong>}</td>
                  <td>
                    <TimeAgo iso={w.lastHeartbeat} />
                  </td>
                  <td>
                    {w.runs.length}/{w.concurrency}{' '}
                    {w.runs.map((id) => (
                      <a key={id} className="mono" href={href('runs', id)} style={{ marginLeft: 6 }}>
                        {id.slice(0, 8)}
                      </a>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted" style={{ padding: '8px 10px' }}>
            A worker silent for {data.timeoutSeconds} s is lost: its runs are failed and retried per{' '}
            <code>dag/max_retries</code>.
          </p>
        </div>
      )}
    </div>
  );
}
