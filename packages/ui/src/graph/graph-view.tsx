/**
 * The lineage graph on React Flow. Built for thousands of assets:
 * - the layout (layout.ts) runs once per graph structure, not on status refreshes;
 * - nodes carry their size and handle positions, so nothing waits for DOM measurement;
 * - node objects are cached and only rebuilt when their status or selection changes;
 * - the edges are ours, one path each in one SVG (edge-layer.tsx), not React Flow edges;
 * - above 1,200 assets React Flow is only handed what lies near the screen (the visible area
 *   grown by 75% on each side, recomputed when the view leaves it: viewport.ts; on the first
 *   frame only the visible area), so its per-update work is over a few hundred nodes, not
 *   5,000, and the edge layer draws only the edges near the screen; and
 *   zoomed out below 0.4 the assets and edges are drawn on one canvas (far-canvas.tsx) with
 *   only the group boxes left as React Flow nodes;
 * - `onlyRenderVisibleElements`, no dragging, no React Flow selection bookkeeping (selection is
 *   ours), no minimap for large graphs, and labels dropped when zoomed out (CSS classes).
 */
import {
  Background,
  ControlButton,
  Controls,
  type Edge,
  MiniMap,
  type Node,
  type NodeProps,
  type NodeTypes,
  Position,
  ReactFlow,
  type ReactFlowInstance,
  type Viewport,
} from '@xyflow/react';
import '@xyflow/react/dist/base.css';
import {
  type MouseEvent,
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import type { GraphResponse, NodeStatus } from '../api/types.ts';
import { EdgeLayer } from './edge-layer.tsx';
import { assetAt, FarCanvas } from './far-canvas.tsx';
import { DEFAULT_LAYOUT_OPTIONS, type LayoutResult } from './layout.ts';
import {
  containsRect,
  cullGraph,
  expandRect,
  fitViewport,
  initialViewport,
  type Rect,
  visibleRect,
} from './viewport.ts';

const W = DEFAULT_LAYOUT_OPTIONS.nodeWidth;
const H = DEFAULT_LAYOUT_OPTIONS.nodeHeight;
/** Above this many assets: culling, canvas when zoomed out, no minimap. */
const LARGE = 1200;
const FAR_ZOOM_IN = 0.38;
const FAR_ZOOM_OUT = 0.42;
const CULL_MARGIN = 0.75;
/** The first frame hands React Flow only what is on screen (plus a little); the margin follows. */
const FIRST_CULL_MARGIN = 0.1;
const GROW_AFTER_MS = 1000;
const MIN_ZOOM = 0.02;
const NO_EDGES: Edge[] = [];

export interface AssetNodeData extends Record<string, unknown> {
  key: string;
  status: NodeStatus;
  kinds: string[];
  group: string;
  location: string;
}

export interface GroupNodeData extends Record<string, unknown> {
  label: string;
  count: number;
}

type AssetNodeType = Node<AssetNodeData, 'asset'>;
type GroupNodeType = Node<GroupNodeData, 'groupBox'>;
type FlowNode = AssetNodeType | GroupNodeType;

const STATUS_TEXT: Record<NodeStatus, string> = {
  materialized: 'materialized',
  never: 'never materialized',
  failed: 'failed',
  running: 'running',
  stale: 'stale',
};

export const STATUS_COLOR: Record<NodeStatus, string> = {
  materialized: '#16a34a',
  never: '#8b95a3',
  failed: '#dc2626',
  running: '#2563eb',
  stale: '#d97706',
};

const AssetNode = memo(function AssetNode({ data }: NodeProps<AssetNodeType>) {
  return (
    <div
      className={`asset-node ${data.status}`}
      title={`${data.key} (${STATUS_TEXT[data.status]})`}
      data-key={data.key}
    >
      <div
        className="react-flow__handle react-flow__handle-left target"
        data-handlepos="left"
        style={{ opacity: 0 }}
      />
      <div className="key">{data.key}</div>
      <div className="sub">
        {STATUS_TEXT[data.status]}
        {data.kinds.length ? ` · ${data.kinds.join(', ')}` : ''}
      </div>
      <div
        className="react-flow__handle react-flow__handle-right source"
        data-handlepos="right"
        style={{ opacity: 0 }}
      />
    </div>
  );
});

const GroupBoxNode = memo(function GroupBoxNode({ data }: NodeProps<GroupNodeType>) {
  return (
    <div className="group-box">
      <div className="title">
        {data.label} <span className="muted small">({data.count})</span>
      </div>
    </div>
  );
});

const NODE_TYPES: NodeTypes = { asset: AssetNode, groupBox: GroupBoxNode };

const STATIC_HANDLES = [
  { type: 'target' as const, position: Position.Left, x: 0, y: H / 2 - 0.5, width: 1, height: 1 },
  { type: 'source' as const, position: Position.Right, x: W - 1, y: H / 2 - 0.5, width: 1, height: 1 },
];
const SIZE = { width: W, height: H };

export function groupLabel(id: string, multipleLocations: boolean): string {
  const slash = id.indexOf('/');
  if (slash === -1) return id;
  return multipleLocations ? `${id.slice(slash + 1)} · ${id.slice(0, slash)}` : id.slice(slash + 1);
}

function lodOf(zoom: number): '' | 'lod-far' | 'lod-tiny' {
  return zoom < 0.2 ? 'lod-tiny' : zoom < 0.45 ? 'lod-far' : '';
}

export interface GraphViewProps {
  graph: GraphResponse;
  layout: LayoutResult;
  selected: ReadonlySet<string>;
  onNodeClick: (key: string, additive: boolean) => void;
  onNodeDoubleClick: (key: string) => void;
  onPaneClick: () => void;
}

/** Measures the container, then renders the flow with its first viewport already set. */
export function GraphView(props: GraphViewProps) {
  const wrapper = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  useLayoutEffect(() => {
    const el = wrapper.current;
    if (!el) return;
    setSize({ width: el.clientWidth, height: el.clientHeight });
    const observer = new ResizeObserver(() => setSize({ width: el.clientWidth, height: el.clientHeight }));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return (
    <div
      ref={wrapper}
      className="graph-canvas"
      data-node-count={props.graph.nodes.length}
      data-edge-count={props.graph.edges.length}
    >
      {size && size.width > 0 && size.height > 0 && <Flow {...props} size={size} />}
    </div>
  );
}

function Flow({
  graph,
  layout,
  selected,
  onNodeClick,
  onNodeDoubleClick,
  onPaneClick,
  size,
}: GraphViewProps & { size: { width: number; height: number } }) {
  const large = graph.nodes.length > LARGE;
  // The first view, computed once for this graph (the parent remounts us per selection).
  const [start] = useState(() => initialViewport(layout, size.width, size.height));
  const [lod, setLod] = useState(() => lodOf(start.zoom));
  const [far, setFar] = useState(() => large && start.zoom < FAR_ZOOM_IN);
  const [region, setRegion] = useState<Rect | null>(() =>
    large ? expandRect(visibleRect(start, size.width, size.height), FIRST_CULL_MARGIN) : null,
  );
  const [ready, setReady] = useState(false);
  const instanceRef = useRef<ReactFlowInstance<FlowNode, Edge> | null>(null);
  const sizeRef = useRef(size);
  sizeRef.current = size;
  const multipleLocations = useMemo(() => new Set(graph.nodes.map((n) => n.location)).size > 1, [graph]);

  const groupNodes = useMemo<GroupNodeType[]>(
    () =>
      layout.groups.length > 1 || multipleLocations
        ? layout.groups.map((g) => ({
            id: `group:${g.id}`,
            type: 'groupBox',
            position: { x: g.x, y: g.y },
            width: g.width,
            height: g.height,
            measured: { width: g.width, height: g.height },
            data: { label: groupLabel(g.id, multipleLocations), count: g.count },
            draggable: false,
            selectable: false,
            focusable: false,
            connectable: false,
            zIndex: -1,
          }))
        : [],
    [layout, multipleLocations],
  );

  const groupLabels = useMemo(
    () =>
      layout.groups.map((g) => ({
        x: g.x,
        y: g.y,
        width: g.width,
        label: groupLabel(g.id, multipleLocations),
      })),
    [layout, multipleLocations],
  );

  const nodeKeys = useMemo(() => graph.nodes.map((n) => n.key), [graph]);
  const culled = useMemo(
    () => (region ? cullGraph(nodeKeys, graph.edges, layout.positions, region, W, H) : null),
    [region, nodeKeys, graph, layout],
  );

  // Asset nodes: cached per key; a new object only when status, kinds or selection change.
  const nodeCache = useRef(new Map<string, AssetNodeType>());
  const assetNodes = useMemo<AssetNodeType[]>(() => {
    const cache = nodeCache.current;
    const out: AssetNodeType[] = [];
    const seen = new Set<string>();
    for (const n of graph.nodes) {
      if (seen.has(n.key) || (culled && !culled.nodes.has(n.key))) continue;
      const position = layout.positions.get(n.key);
      if (!position) continue;
      seen.add(n.key);
      const isSelected = selected.has(n.key);
      let node = cache.get(n.key);
      if (
        !node ||
        node.position !== position ||
        node.data.status !== n.status ||
        node.selected !== isSelected ||
        node.data.kinds.join() !== n.kinds.join()
      ) {
        node = {
          id: n.key,
          type: 'asset',
          position,
          width: W,
          height: H,
          // Known size and handles: React Flow needs no DOM measurement for layout, fitting or edges.
          measured: SIZE,
          handles: STATIC_HANDLES,
          data: { key: n.key, status: n.status, kinds: n.kinds, group: n.group, location: n.location },
          selected: isSelected,
          draggable: false,
          connectable: false,
        };
        cache.set(n.key, node);
      }
      out.push(node);
    }
    return out;
  }, [graph, layout, selected, culled]);

  const nodes = useMemo<FlowNode[]>(() => [...groupNodes, ...assetNodes], [groupNodes, assetNodes]);

  const onInit = useCallback((instance: ReactFlowInstance<FlowNode, Edge>) => {
    instanceRef.current = instance;
    setReady(true);
  }, []);

  // A performance mark for benchmarks: the first frame after the graph is drawn. Then the assets
  // around the screen too, so that the first pans find them drawn: not at once (a first click
  // on what is shown would wait for that render), but a second later, when the browser is idle.
  // A pan before then grows the region itself (onMove).
  useEffect(() => {
    if (!ready) return;
    if (!performance.getEntriesByName('graph-drawn').length)
      requestAnimationFrame(() => performance.mark('graph-drawn'));
    if (!large) return;
    const grow = () =>
      setRegion((current) => {
        const viewport = instanceRef.current?.getViewport() ?? start;
        const view = visibleRect(viewport, sizeRef.current.width, sizeRef.current.height);
        const wanted = expandRect(view, CULL_MARGIN);
        return current && containsRect(current, wanted) ? current : wanted;
      });
    let idle: number | undefined;
    const timer = window.setTimeout(() => {
      if (window.requestIdleCallback) idle = window.requestIdleCallback(grow, { timeout: 1000 });
      else grow();
    }, GROW_AFTER_MS);
    return () => {
      window.clearTimeout(timer);
      if (idle !== undefined) window.cancelIdleCallback(idle);
    };
  }, [ready, large, start]);

  const onMove = useCallback(
    (_: unknown, viewport: Viewport) => {
      const next = lodOf(viewport.zoom);
      setLod((current) => (current === next ? current : next));
      if (!large) return;
      setFar((current) => (current ? viewport.zoom < FAR_ZOOM_OUT : viewport.zoom < FAR_ZOOM_IN));
      const view = visibleRect(viewport, sizeRef.current.width, sizeRef.current.height);
      setRegion((current) =>
        current && containsRect(current, view) && current.width <= view.width * 4
          ? current
          : expandRect(view, CULL_MARGIN),
      );
    },
    [large],
  );

  // Zooming out goes as far as "fit" needs: a tall 20,000-asset graph fits only below 0.02.
  const minZoom = Math.min(MIN_ZOOM, fitViewport(layout, size.width, size.height, 1, 0).zoom);
  const fitAll = useCallback(() => {
    const instance = instanceRef.current;
    if (!instance) return;
    void instance.setViewport(fitViewport(layout, sizeRef.current.width, sizeRef.current.height, 1, 0));
  }, [layout]);

  // A click on the pane or on a group box: on the canvas it may be a click on an asset.
  const clickBackground = useCallback(
    (event: MouseEvent) => {
      const instance = instanceRef.current;
      if (far && instance) {
        const point = instance.screenToFlowPosition({ x: event.clientX, y: event.clientY });
        const key = assetAt(layout.positions, point, W, H);
        if (key) {
          onNodeClick(key, event.metaKey || event.ctrlKey || event.shiftKey);
          return;
        }
      }
      onPaneClick();
    },
    [far, layout, onNodeClick, onPaneClick],
  );

  const handleNodeClick = useCallback(
    (event: MouseEvent, node: FlowNode) => {
      if (node.type !== 'asset') clickBackground(event);
      else onNodeClick(node.id, event.metaKey || event.ctrlKey || event.shiftKey);
    },
    [onNodeClick, clickBackground],
  );
  const handleNodeDoubleClick = useCallback(
    (_: MouseEvent, node: FlowNode) => {
      if (node.type === 'asset') onNodeDoubleClick(node.id);
    },
    [onNodeDoubleClick],
  );
  return (
    <div
      className={`graph-flow ${lod}${far ? ' far' : ''}`}
      data-graph-ready={ready ? 'true' : 'false'}
      style={{ width: '100%', height: '100%' }}
    >
      <ReactFlow<FlowNode, Edge>
        nodes={far ? groupNodes : nodes}
        edges={NO_EDGES}
        nodeTypes={NODE_TYPES}
        defaultViewport={start}
        onInit={onInit}
        onMove={onMove}
        onNodeClick={handleNodeClick}
        onNodeDoubleClick={handleNodeDoubleClick}
        onPaneClick={clickBackground}
        onlyRenderVisibleElements
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        zoomOnDoubleClick={false}
        selectNodesOnDrag={false}
        minZoom={minZoom}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} size={1} color="#e3e7ee" />
        {!far && (
          <EdgeLayer
            edges={graph.edges}
            only={culled?.edges ?? null}
            positions={layout.positions}
            selected={selected}
            nodeWidth={W}
            nodeHeight={H}
          />
        )}
        {far && (
          <FarCanvas
            graph={graph}
            positions={layout.positions}
            nodeWidth={W}
            nodeHeight={H}
            selected={selected}
            groups={groupLabels}
          />
        )}
        <Controls showInteractive={false} showFitView={false}>
          <ControlButton
            onClick={fitAll}
            className="react-flow__controls-fitview"
            title="Fit the whole graph"
            aria-label="Fit the whole graph"
          >
            <svg viewBox="0 0 32 30" aria-hidden="true">
              <path d="M3.692 4.63c0-.53.4-.938.939-.938h5.215V0H4.708C2.13 0 0 2.054 0 4.63v5.216h3.692V4.631zM27.354 0h-5.2v3.692h5.17c.53 0 .984.4.984.939v5.215H32V4.631A4.624 4.624 0 0027.354 0zm.954 24.83c0 .532-.4.94-.939.94h-5.215v3.768h5.215c2.577 0 4.631-2.13 4.631-4.707v-5.139h-3.692v5.139zm-23.677.94c-.531 0-.939-.4-.939-.94v-5.138H0v5.139c0 2.577 2.13 4.707 4.708 4.707h5.138V25.77H4.631z" />
            </svg>
          </ControlButton>
        </Controls>
        {!large && (
          <MiniMap<FlowNode>
            pannable
            zoomable
            nodeColor={(n) =>
              n.type === 'groupBox'
                ? 'rgba(200,208,220,0.5)'
                : (STATUS_COLOR[(n.data as AssetNodeData).status] ?? '#8b95a3')
            }
            nodeStrokeWidth={0}
          />
        )}
      </ReactFlow>
    </div>
  );
}
