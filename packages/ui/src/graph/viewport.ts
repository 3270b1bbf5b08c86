/**
 * Viewport arithmetic for the lineage graph (pure): the first view, "fit everything", and the
 * culling that hands React Flow only what is near the screen on large graphs.
 */
import type { LayoutResult, Point } from './layout.ts';

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

const PAD = 24;

/** The whole graph centred in a w×h screen, at most at `maxZoom`. */
export function fitViewport(
  layout: Pick<LayoutResult, 'width' | 'height'>,
  width: number,
  height: number,
  maxZoom = 1,
  minZoom = 0.02,
): Viewport {
  const fitZoom = Math.min(
    (width - 2 * PAD) / Math.max(1, layout.width),
    (height - 2 * PAD) / Math.max(1, layout.height),
  );
  const zoom = Math.max(minZoom, Math.min(maxZoom, fitZoom));
  return { x: (width - layout.width * zoom) / 2, y: (height - layout.height * zoom) / 2, zoom };
}

/** The first view: everything when it is readable (zoom ≥ 0.4), else the top-left group at 0.75. */
export function initialViewport(layout: LayoutResult, width: number, height: number): Viewport {
  const fit = fitViewport(layout, width, height);
  if (fit.zoom >= 0.4) return fit;
  let first = layout.groups[0];
  for (const g of layout.groups)
    if (first && (g.x < first.x || (g.x === first.x && g.y < first.y))) first = g;
  const zoom = 0.75;
  return { x: PAD - (first?.x ?? 0) * zoom, y: PAD - (first?.y ?? 0) * zoom, zoom };
}

/** The part of the flow a w×h screen shows. */
export function visibleRect(viewport: Viewport, width: number, height: number): Rect {
  return {
    x: -viewport.x / viewport.zoom,
    y: -viewport.y / viewport.zoom,
    width: width / viewport.zoom,
    height: height / viewport.zoom,
  };
}

/** A rectangle grown by `factor` of its size on every side. */
export function expandRect(r: Rect, factor: number): Rect {
  const dx = r.width * factor;
  const dy = r.height * factor;
  return { x: r.x - dx, y: r.y - dy, width: r.width + 2 * dx, height: r.height + 2 * dy };
}

export function containsRect(outer: Rect, inner: Rect): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

export interface Culled {
  /** Nodes to hand to React Flow: those in the region, and both ends of every edge kept. */
  nodes: Set<string>;
  /** Indices into the edge list of edges whose bounding box meets the region. */
  edges: number[];
}

/** What is near the region: O(nodes + edges) arithmetic, no allocation per element. */
export function cullGraph(
  nodeKeys: readonly string[],
  edges: readonly { from: string; to: string }[],
  positions: Map<string, Point>,
  region: Rect,
  nodeWidth: number,
  nodeHeight: number,
): Culled {
  const x1 = region.x;
  const y1 = region.y;
  const x2 = region.x + region.width;
  const y2 = region.y + region.height;
  const nodes = new Set<string>();
  for (const key of nodeKeys) {
    const p = positions.get(key);
    if (p && p.x + nodeWidth >= x1 && p.x <= x2 && p.y + nodeHeight >= y1 && p.y <= y2) nodes.add(key);
  }
  const kept: number[] = [];
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i]!;
    const a = positions.get(e.from);
    const b = positions.get(e.to);
    if (!a || !b) continue;
    const minX = Math.min(a.x + nodeWidth, b.x);
    const maxX = Math.max(a.x + nodeWidth, b.x);
    const minY = Math.min(a.y, b.y);
    const maxY = Math.max(a.y, b.y) + nodeHeight;
    if (maxX < x1 || minX > x2 || maxY < y1 || minY > y2) continue;
    kept.push(i);
    nodes.add(e.from);
    nodes.add(e.to);
  }
  return { nodes, edges: kept };
}
