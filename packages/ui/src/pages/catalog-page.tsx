import { useDeferredValue, useMemo, useState } from 'react';
import type { AssetSummary, AssetsResponse } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import {
  AssetStatusBadge,
  Empty,
  ErrorBox,
  Kinds,
  Loading,
  RunStatusBadge,
  TimeAgo,
} from '../components/common.tsx';
import { matchesQuery, searchText } from '../lib/asset-status.ts';
import { href } from '../router.ts';

interface Group {
  location: string;
  group: string;
  assets: AssetSummary[];
}

function groupAssets(assets: AssetSummary[]): Group[] {
  const map = new Map<string, Group>();
  for (const asset of assets) {
    const id = `${asset.location}\u0000${asset.group}`;
    let g = map.get(id);
    if (!g) {
      g = { location: asset.location, group: asset.group, assets: [] };
      map.set(id, g);
    }
    g.assets.push(asset);
  }
  const groups = [...map.values()];
  groups.sort((a, b) => a.location.localeCompare(b.location) || a.group.localeCompare(b.group));
  for (const g of groups) g.assets.sort((a, b) => a.key.localeCompare(b.key));
  return groups;
}

function AssetRow({ asset }: { asset: AssetSummary }) {
  return (
    <tr data-asset={asset.key}>
      <td data-label="Asset">
        <div className="stack" style={{ gap: 2 }}>
          <a className="asset-key" href={href('assets', asset.key, { location: asset.location })}>
            {asset.key}
          </a>
          {asset.description && <span className="desc">{asset.description}</span>}
        </div>
      </td>
      <td data-label="Status">
        <AssetStatusBadge status={asset.status} />
      </td>
      <td data-label="Materialized">
        {asset.latest ? (
          <a href={href('runs', asset.latest.runId)}>
            <TimeAgo iso={asset.latest.materializedAt} />
          </a>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td data-label="Last run">
        <RunStatusBadge status={asset.lastRunStatus} />
      </td>
      <td data-label="Freshness">
        {asset.freshness ? (
          asset.freshness.stale ? (
            <span className="badge stale" title={`older than ${asset.freshness.maximumLagMinutes} min`}>
              Stale
            </span>
          ) : (
            <span className="badge ok" title={`within ${asset.freshness.maximumLagMinutes} min`}>
              Fresh
            </span>
          )
        ) : (
          <span className="muted">-</span>
        )}
      </td>
      <td data-label="Kinds">
        <Kinds kinds={asset.kinds} />
      </td>
      <td data-label="Checks" className="num">
        {asset.checks?.length ? asset.checks.length : <span className="muted">-</span>}
      </td>
    </tr>
  );
}

export function CatalogPage() {
  const { data, error, loading } = useApi<AssetsResponse>('/api/assets', 15_000);
  const [query, setQuery] = useState('');
  const [staleOnly, setStaleOnly] = useState(false);
  const deferred = useDeferredValue(query);
  const indexed = useMemo(
    () =>
      (data?.assets ?? []).map((a) => ({
        asset: a,
        text: searchText(
          a.key,
          a.group,
          a.location,
          a.description,
          ...(a.kinds ?? []),
          ...Object.entries(a.tags ?? {}).map(([k, v]) => `${k}=${v}`),
        ),
      })),
    [data],
  );
  const groups = useMemo(() => {
    const shown = indexed
      .filter((i) => matchesQuery(i.text, deferred))
      .filter((i) => !staleOnly || i.asset.freshness?.stale || i.asset.status === 'failed')
      .map((i) => i.asset);
    return groupAssets(shown);
  }, [indexed, deferred, staleOnly]);
  const total = data?.assets.length ?? 0;
  const shownCount = groups.reduce((n, g) => n + g.assets.length, 0);

  return (
    <div className="page">
      <div className="page-header">
        <h1>Assets</h1>
        <span className="muted">
          {shownCount === total ? total : `${shownCount} of ${total}`} asset{total === 1 ? '' : 's'}
        </span>
        <span className="spacer" />
        <a className="button" href={href('graph')}>
          View lineage
        </a>
      </div>
      <div className="filters">
        <input
          type="search"
          placeholder="Search assets, groups, kinds, tags…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          style={{ flex: '1 1 260px' }}
          aria-label="Search assets"
        />
        <label className="row small">
          <input type="checkbox" checked={staleOnly} onChange={(e) => setStaleOnly(e.target.checked)} />
          Stale or failed only
        </label>
      </div>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="assets" />}
      {data && groups.length === 0 && <Empty>No asset matches.</Empty>}
      {groups.map((g) => (
        <details open className="panel flush catalog-group" key={`${g.location}/${g.group}`}>
          <summary>
            <span>{g.group}</span>
            <span className="muted small">{g.location}</span>
            <span className="muted small">· {g.assets.length}</span>
            <span style={{ flex: 1 }} />
            <a
              className="small"
              href={href('graph', { selection: `group:${g.group}` })}
              onClick={(e) => e.stopPropagation()}
            >
              lineage
            </a>
          </summary>
          <div className="table-wrap">
            <table className="data responsive">
              <thead>
                <tr>
                  <th>Asset</th>
                  <th>Status</th>
                  <th>Materialized</th>
                  <th>Last run</th>
                  <th>Freshness</th>
                  <th>Kinds</th>
                  <th className="num">Checks</th>
                </tr>
              </thead>
              <tbody>
                {g.assets.map((a) => (
                  <AssetRow asset={a} key={a.key} />
                ))}
              </tbody>
            </table>
          </div>
        </details>
      ))}
    </div>
  );
}
