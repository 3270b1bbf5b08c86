import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { apiPath, apiPost, enc, graphPath } from '../api/client.ts';
import type { AssetDetailResponse, NodeStatus } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { AssetStatusBadge, ErrorBox, Kinds, Loading, TimeAgo } from '../components/common.tsx';
import { MetadataView } from '../components/metadata-view.tsx';
import type { DecodedGraph } from '../graph/compact-graph.ts';
import { GraphView, STATUS_COLOR } from '../graph/graph-view.tsx';
import type { LayoutResult } from '../graph/layout.ts';
import { loadGraph } from '../graph/load-graph.ts';
import { selectionOfKeys } from '../lib/asset-status.ts';
import { formatNumber, shortId } from '../lib/format.ts';
import { href, navigate } from '../router.ts';

function AssetSummaryPanel({
  assetKey,
  location,
  status,
  onClose,
}: {
  assetKey: string;
  location: string | null;
  status: NodeStatus | undefined;
  onClose: () => void;
}) {
  const { data, error } = useApi<AssetDetailResponse>(apiPath(`/api/assets/${enc(assetKey)}`, { location }));
  return (
    <aside className="graph-side" aria-label="Asset" data-side-key={assetKey}>
      <div className="row">
        <h2 className="mono" style={{ margin: 0, flex: 1, overflowWrap: 'anywhere' }}>
          {assetKey}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      <div className="row">
        {status && <AssetStatusBadge status={status} />}
        <a className="button primary" href={href('assets', assetKey, { location })}>
          Open asset
        </a>
      </div>
      <ErrorBox error={error} />
      {!data && !error && <Loading />}
      {data && (
        <>
          {data.asset.description && <p className="desc">{data.asset.description}</p>}
          <dl className="props small">
            <dt>Group</dt>
            <dd>{data.asset.group}</dd>
            <dt>Upstream</dt>
            <dd>
              {data.asset.deps.length ? data.asset.deps.join(', ') : <span className="muted">none</span>}
            </dd>
            <dt>Kinds</dt>
            <dd>
              <Kinds kinds={data.asset.kinds} />
            </dd>
            <dt>Checks</dt>
            <dd>{data.asset.checks.length ? data.asset.checks.map((c) => c.name).join(', ') : '-'}</dd>
            <dt>Latest</dt>
            <dd>
              {data.latest ? (
                <>
                  <TimeAgo iso={data.latest.materializedAt} /> · run{' '}
                  <a href={href('runs', data.latest.runId)}>{shortId(data.latest.runId)}</a>
                </>
              ) : (
                <span className="muted">never</span>
              )}
            </dd>
          </dl>
          {data.latest?.metadata && <MetadataView metadata={data.latest.metadata} />}
          <div className="row">
            <a className="button" href={href('graph', { selection: `+${selectionOfKeys([assetKey])}+` })}>
              Lineage of this asset
            </a>
          </div>
        </>
      )}
    </aside>
  );
}

export function GraphPage({ selection }: { selection: string }) {
  const [draft, setDraft] = useState(selection);
  useEffect(() => setDraft(selection), [selection]);
  const path = graphPath(selection);
  const { data: loaded, error, loading } = useApi<DecodedGraph>(path, 15_000, loadGraph);
  const graph = loaded?.graph;
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [focus, setFocus] = useState<string | null>(null);
  const [launchError, setLaunchError] = useState<unknown>(null);
  const [launching, setLaunching] = useState(false);
  const [selectMode, setSelectMode] = useState(false);

  // The server lays the graph out (once per structure): a status refresh keeps the same
  // layout object, so nothing is recomputed from it.
  const layoutRef = useRef<{ structure: string; layout: LayoutResult } | null>(null);
  const layoutInfo = useMemo(() => {
    if (!loaded) return null;
    if (layoutRef.current?.structure !== loaded.structure) {
      layoutRef.current = { structure: loaded.structure, layout: loaded.layout };
    }
    return layoutRef.current;
  }, [loaded]);

  const nodesByKey = useMemo(() => new Map((graph?.nodes ?? []).map((n) => [n.key, n])), [graph]);

  // Forget selected assets that left the graph.
  useEffect(() => {
    setSelected((current) => {
      const kept = [...current].filter((k) => nodesByKey.has(k));
      return kept.length === current.size ? current : new Set(kept);
    });
    setFocus((f) => (f && nodesByKey.has(f) ? f : null));
  }, [nodesByKey]);

  const onNodeClick = useCallback(
    (key: string, additive: boolean) => {
      if (additive || selectMode) {
        setSelected((current) => {
          const next = new Set(current);
          if (next.has(key)) next.delete(key);
          else next.add(key);
          return next;
        });
      } else setSelected(new Set([key]));
      setFocus(key);
    },
    [selectMode],
  );
  const onNodeDoubleClick = useCallback((key: string) => {
    navigate(href('assets', key, { location: nodesByKeyRef.current.get(key)?.location }));
  }, []);
  const nodesByKeyRef = useRef(nodesByKey);
  nodesByKeyRef.current = nodesByKey;
  const onPaneClick = useCallback(() => {
    setSelected(new Set());
    setFocus(null);
  }, []);

  const materializeSelected = async () => {
    const keys = [...selected];
    if (keys.length === 0) return;
    const locations = new Set(keys.map((k) => nodesByKey.get(k)?.location).filter(Boolean));
    setLaunching(true);
    setLaunchError(null);
    try {
      const res = await apiPost<{ runId: string }>('/api/runs', {
        selection: selectionOfKeys(keys),
        ...(locations.size === 1 ? { location: [...locations][0] } : {}),
      });
      navigate(href('runs', res.runId));
    } catch (e) {
      setLaunchError(e);
    } finally {
      setLaunching(false);
    }
  };

  const counts = useMemo(() => {
    const c: Record<NodeStatus, number> = { materialized: 0, never: 0, failed: 0, running: 0, stale: 0 };
    for (const n of graph?.nodes ?? []) c[n.status] = (c[n.status] ?? 0) + 1;
    return c;
  }, [graph]);

  const focusNode = focus ? nodesByKey.get(focus) : undefined;

  return (
    <div className="page fill">
      <div className="graph-page">
        <div className="graph-toolbar">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              navigate(href('graph', { selection: draft.trim() }));
            }}
          >
            <input
              type="text"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              placeholder="Selection: * · group:DS · +ds_png2webp · tag:tier=silver and not kind:s3"
              aria-label="Asset selection"
              spellCheck={false}
              autoCapitalize="off"
              autoCorrect="off"
            />
            <button type="submit">Show</button>
            {selection && (
              <button type="button" onClick={() => navigate(href('graph'))}>
                All
              </button>
            )}
          </form>
          <label className="row small" title="Clicks add to or remove from the selection">
            <input type="checkbox" checked={selectMode} onChange={(e) => setSelectMode(e.target.checked)} />
            Multi-select
          </label>
          <button
            type="button"
            onClick={() => setSelected(new Set(graph?.nodes.map((n) => n.key) ?? []))}
            disabled={!graph || graph.nodes.length === 0}
          >
            Select all
          </button>
          <button
            type="button"
            className="primary"
            disabled={selected.size === 0 || launching}
            onClick={() => void materializeSelected()}
            data-testid="materialize-selected"
          >
            {launching ? 'Launching…' : `Materialize selected${selected.size ? ` (${selected.size})` : ''}`}
          </button>
        </div>
        <div className="graph-toolbar" style={{ padding: '6px 14px' }}>
          <div className="legend">
            {(Object.keys(STATUS_COLOR) as NodeStatus[]).map((s) => (
              <span key={s}>
                <i className={`dot ${s}`} /> {s} {graph ? `(${counts[s]})` : ''}
              </span>
            ))}
            {graph && (
              <span>
                · {formatNumber(graph.nodes.length)} assets, {formatNumber(graph.edges.length)} edges
              </span>
            )}
            <span>· click: details · ctrl/⌘/shift-click: select several · double-click: open</span>
          </div>
        </div>
        {error || launchError ? (
          <div style={{ padding: '10px 14px' }}>
            <ErrorBox
              error={error}
              title={
                error?.name === 'ApiError' && (error as { status?: number }).status === 400
                  ? 'Invalid selection'
                  : undefined
              }
            />
            <ErrorBox error={launchError} title="Could not launch" />
          </div>
        ) : null}
        <div className="graph-body">
          {loading && !graph && !error && <Loading what="graph" />}
          {graph && layoutInfo && graph.nodes.length === 0 && (
            <div className="empty" style={{ flex: 1 }}>
              The selection matches no asset.
            </div>
          )}
          {graph && layoutInfo && graph.nodes.length > 0 && (
            <GraphView
              key={selection}
              graph={graph}
              layout={layoutInfo.layout}
              selected={selected}
              onNodeClick={onNodeClick}
              onNodeDoubleClick={onNodeDoubleClick}
              onPaneClick={onPaneClick}
            />
          )}
          {focus && (
            <AssetSummaryPanel
              key={focus}
              assetKey={focus}
              location={focusNode?.location ?? null}
              status={focusNode?.status}
              onClose={() => setFocus(null)}
            />
          )}
        </div>
      </div>
    </div>
  );
}
