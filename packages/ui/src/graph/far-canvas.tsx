/**
 * Large graphs zoomed far out: every asset as a coloured rectangle and every edge as a line on
 * one <canvas>, redrawn on each viewport change (a few milliseconds for 5,000 assets and
 * 10,000 edges), instead of thousands of DOM nodes and SVG paths. Rendered inside <ReactFlow>
 * (it reads the viewport from React Flow's store); clicks go through to the pane.
 */
import { useStore } from '@xyflow/react';
import { useEffect, useRef } from 'react';
import type { GraphResponse, NodeStatus } from '../api/types.ts';
import type { Point } from './layout.ts';

const FILL: Record<NodeStatus, string> = {
  materialized: '#16a34a',
  never: '#8b95a3',
  failed: '#dc2626',
  running: '#2563eb',
  stale: '#d97706',
};

export interface FarCanvasProps {
  graph: GraphResponse;
  positions: Map<string, Point>;
  nodeWidth: number;
  nodeHeight: number;
  selected: ReadonlySet<string>;
  /** Group boxes and their titles, drawn at a readable size whatever the zoom. */
  groups: { x: number; y: number; width: number; label: string }[];
}

export function FarCanvas({ graph, positions, nodeWidth, nodeHeight, selected, groups }: FarCanvasProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const transform = useStore((s) => s.transform);
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  const frame = useRef(0);

  useEffect(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const el = canvas.current;
      if (!el) return;
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(width * dpr));
      const h = Math.max(1, Math.round(height * dpr));
      if (el.width !== w || el.height !== h) {
        el.width = w;
        el.height = h;
      }
      const ctx = el.getContext('2d');
      if (!ctx) return;
      const [tx, ty, zoom] = transform;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, width, height);
      const nw = nodeWidth * zoom;
      const nh = nodeHeight * zoom;
      const visible = (x: number, y: number) => x + nw >= 0 && x <= width && y + nh >= 0 && y <= height;

      // Edges: one path, source's right middle to target's left middle.
      ctx.beginPath();
      for (const e of graph.edges) {
        const a = positions.get(e.from);
        const b = positions.get(e.to);
        if (!a || !b) continue;
        const x1 = a.x * zoom + tx + nw;
        const y1 = a.y * zoom + ty + nh / 2;
        const x2 = b.x * zoom + tx;
        const y2 = b.y * zoom + ty + nh / 2;
        if (
          (x1 < 0 && x2 < 0) ||
          (x1 > width && x2 > width) ||
          (y1 < 0 && y2 < 0) ||
          (y1 > height && y2 > height)
        )
          continue;
        ctx.moveTo(x1, y1);
        ctx.lineTo(x2, y2);
      }
      ctx.strokeStyle = 'rgba(110, 120, 135, 0.28)';
      ctx.lineWidth = 1;
      ctx.stroke();

      // Nodes, batched by colour.
      const byStatus = new Map<NodeStatus, [number, number][]>();
      const chosen: [number, number][] = [];
      for (const n of graph.nodes) {
        const p = positions.get(n.key);
        if (!p) continue;
        const x = p.x * zoom + tx;
        const y = p.y * zoom + ty;
        if (!visible(x, y)) continue;
        let list = byStatus.get(n.status);
        if (!list) {
          list = [];
          byStatus.set(n.status, list);
        }
        list.push([x, y]);
        if (selected.has(n.key)) chosen.push([x, y]);
      }
      for (const [status, list] of byStatus) {
        ctx.fillStyle = FILL[status] ?? FILL.never;
        ctx.beginPath();
        for (const [x, y] of list) ctx.rect(x, y, Math.max(1, nw), Math.max(1, nh));
        ctx.fill();
      }
      // Group titles above their boxes, when the box is wide enough on screen.
      ctx.font = '600 11px system-ui, "Noto Sans CJK KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif';
      ctx.textBaseline = 'bottom';
      ctx.lineWidth = 3;
      ctx.strokeStyle = 'rgba(246, 247, 249, 0.9)';
      ctx.fillStyle = '#3c4757';
      for (const g of groups) {
        const gx = g.x * zoom + tx;
        const gy = g.y * zoom + ty;
        const gw = g.width * zoom;
        if (gw < 40 || gx + gw < 0 || gx > width || gy < 0 || gy > height + 12) continue;
        let label = g.label;
        while (label.length > 3 && ctx.measureText(label).width > gw) label = `${label.slice(0, -2)}…`;
        ctx.strokeText(label, gx + 2, gy - 1);
        ctx.fillText(label, gx + 2, gy - 1);
      }
      let drawn = 0;
      for (const list of byStatus.values()) drawn += list.length;
      el.dataset.drawn = String(drawn);
      if (chosen.length) {
        ctx.strokeStyle = '#4f46e5';
        ctx.lineWidth = 2;
        ctx.beginPath();
        for (const [x, y] of chosen) ctx.rect(x - 2, y - 2, Math.max(1, nw) + 4, Math.max(1, nh) + 4);
        ctx.stroke();
      }
    });
    return () => cancelAnimationFrame(frame.current);
  }, [graph, positions, nodeWidth, nodeHeight, selected, groups, transform, width, height]);

  return (
    <canvas
      ref={canvas}
      className="far-canvas"
      style={{
        position: 'absolute',
        inset: 0,
        width: '100%',
        height: '100%',
        pointerEvents: 'none',
        zIndex: 4,
      }}
    />
  );
}

/** The asset under a point in flow coordinates, or null. */
export function assetAt(
  positions: Map<string, Point>,
  point: Point,
  nodeWidth: number,
  nodeHeight: number,
): string | null {
  for (const [key, p] of positions) {
    if (point.x >= p.x && point.x <= p.x + nodeWidth && point.y >= p.y && point.y <= p.y + nodeHeight)
      return key;
  }
  return null;
}
