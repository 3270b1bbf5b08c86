/**
 * The lineage graph's edges: one SVG in React Flow's viewport (its ViewportPortal, so it pans
 * and zooms with the nodes), a plain path per edge. React Flow would give each edge a
 * component of its own with several store subscriptions, measured and re-rendered on every
 * change; our edges are not interactive (no edge is clicked, selected or reconnected), so a
 * path each is all they need. The curve and the arrow are React Flow's default ones
 * (getBezierPath from handle to handle, an ArrowClosed marker), so the graph looks the same.
 *
 * The layer sits under the asset nodes and over the group boxes (styles.css `.edge-layer`).
 */
import { getBezierPath, Position, ViewportPortal } from '@xyflow/react';
import { memo, useMemo } from 'react';
import type { Point } from './layout.ts';

export interface EdgeLayerProps {
  edges: readonly { from: string; to: string }[];
  /** Indices into `edges` to draw; all of them when null. */
  only: Iterable<number> | null;
  positions: ReadonlyMap<string, Point>;
  selected: ReadonlySet<string>;
  nodeWidth: number;
  nodeHeight: number;
}

const ARROW = 'dag-edge-arrow';
const ARROW_HL = 'dag-edge-arrow-hl';
const EDGE_COLOR = '#9aa3b1';
const EDGE_COLOR_HL = '#4f46e5';

/**
 * Each edge's path (by index), computed once per layout: positions change only with the graph's
 * structure, and a layout's paths go with it.
 */
const PATHS = new WeakMap<ReadonlyMap<string, Point>, Map<number, string | null>>();

function Arrow({ id, color }: { id: string; color: string }) {
  // React Flow's MarkerType.ArrowClosed, 16 × 16.
  return (
    <marker
      id={id}
      markerWidth="16"
      markerHeight="16"
      viewBox="-10 -10 20 20"
      markerUnits="strokeWidth"
      orient="auto-start-reverse"
      refX="0"
      refY="0"
    >
      <polyline
        stroke={color}
        fill={color}
        strokeWidth={1}
        strokeLinecap="round"
        strokeLinejoin="round"
        points="-5,-4 0,0 -5,4 -5,-4"
      />
    </marker>
  );
}

export const EdgeLayer = memo(function EdgeLayer({
  edges,
  only,
  positions,
  selected,
  nodeWidth,
  nodeHeight,
}: EdgeLayerProps) {
  const drawn = useMemo(() => {
    const cache = PATHS.get(positions) ?? new Map<number, string | null>();
    PATHS.set(positions, cache);
    const normal: { i: number; d: string }[] = [];
    const highlighted: { i: number; d: string }[] = [];
    const indices = only ?? edges.keys();
    for (const i of indices) {
      const edge = edges[i];
      if (!edge) continue;
      let d = cache.get(i);
      if (d === undefined) {
        const from = positions.get(edge.from);
        const to = positions.get(edge.to);
        d =
          from && to
            ? getBezierPath({
                sourceX: from.x + nodeWidth,
                sourceY: from.y + nodeHeight / 2,
                sourcePosition: Position.Right,
                targetX: to.x,
                targetY: to.y + nodeHeight / 2,
                targetPosition: Position.Left,
              })[0]
            : null;
        cache.set(i, d);
      }
      if (d === null) continue;
      (selected.has(edge.from) || selected.has(edge.to) ? highlighted : normal).push({ i, d });
    }
    return { normal, highlighted };
  }, [edges, only, positions, selected, nodeWidth, nodeHeight]);

  return (
    <ViewportPortal>
      <svg
        className="edge-layer"
        aria-hidden="true"
        data-edges={drawn.normal.length + drawn.highlighted.length}
      >
        <defs>
          <Arrow id={ARROW} color={EDGE_COLOR} />
          <Arrow id={ARROW_HL} color={EDGE_COLOR_HL} />
        </defs>
        {drawn.normal.map(({ i, d }) => (
          <path key={i} className="graph-edge" d={d} markerEnd={`url(#${ARROW})`} />
        ))}
        {drawn.highlighted.map(({ i, d }) => (
          <path key={i} className="graph-edge hl" d={d} markerEnd={`url(#${ARROW_HL})`} />
        ))}
      </svg>
    </ViewportPortal>
  );
});
