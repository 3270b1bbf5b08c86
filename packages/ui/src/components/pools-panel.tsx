import type { PoolsResponse } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { href } from '../router.ts';
import { ErrorBox } from './common.tsx';

/** The instance's concurrency pools: limit, slots in use and the steps holding them. */
export function PoolsPanel() {
  const { data, error } = useApi<PoolsResponse>('/api/pools', 10_000);
  return (
    <div className="panel">
      <h2>Concurrency pools</h2>
      <ErrorBox error={error} />
      {data && data.pools.length === 0 && (
        <span className="muted">
          No pools. Set a limit with <span className="mono">dag pool set &lt;name&gt; &lt;limit&gt;</span>.
        </span>
      )}
      {data && data.pools.length > 0 && (
        <div className="table-wrap">
          <table className="data compact">
            <thead>
              <tr>
                <th>Pool</th>
                <th>Limit</th>
                <th>In use</th>
                <th>Held by</th>
              </tr>
            </thead>
            <tbody>
              {data.pools.map((p) => (
                <tr key={p.name}>
                  <td className="mono">{p.name}</td>
                  <td>{p.limit === null ? 'unlimited' : p.limit}</td>
                  <td>{p.inUse}</td>
                  <td className="mono small">
                    {p.holders.map((h) => (
                      <div key={`${h.runId}:${h.slotKey}`}>
                        <a href={href('runs', h.runId)}>{h.runId.slice(0, 8)}</a> {h.slotKey}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
