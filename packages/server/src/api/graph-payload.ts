/**
 * The two shapes of `GET /api/graph` (docs/api.md), built from one graph whose edges are node
 * indices:
 * - the object form (default): `{ nodes: [{ key, location, group, kinds, status }], edges:
 *   [{ from, to }], groups }`, kept for scripts that read it;
 * - the compact form (`?format=compact`), what the UI reads: parallel arrays of indices instead
 *   of one object per node and edge, so a 5,000-asset graph is about a quarter of the bytes and
 *   the browser parses a handful of arrays instead of 15,000 objects. It carries the layout
 *   (graph-layout.ts), computed here once per `structure` (a hash of everything but the
 *   statuses) and cached, so the page draws at once and status changes cost no layout.
 */
import { createHash } from 'node:crypto';
import { type LayoutResult, layoutGraph } from './graph-layout.ts';

export interface GraphGroup {
  location: string;
  group: string;
  count: number;
}

export interface GraphNode {
  key: string;
  location: string;
  group: string;
  kinds: readonly string[];
  status: string;
}

/** The graph as the route builds it: edges are [from, to] indices into `nodes`. */
export interface IndexedGraph {
  nodes: readonly GraphNode[];
  edges: readonly (readonly [number, number])[];
  groups: readonly GraphGroup[];
}

export interface GraphJson {
  nodes: { key: string; location: string; group: string; kinds: string[]; status: string }[];
  edges: { from: string; to: string }[];
  groups: GraphGroup[];
}

export const COMPACT_GRAPH_FORMAT = 'compact/1';

export interface CompactGraphJson {
  format: typeof COMPACT_GRAPH_FORMAT;
  /** A hash of keys, groups, kinds and edges (not statuses). */
  structure: string;
  groups: GraphGroup[];
  /** Distinct status names and kind lists, referenced by index. */
  statuses: string[];
  kinds: string[][];
  /** Per node i: its key, and indices into `groups`, `kinds` and `statuses`. */
  keys: string[];
  group: number[];
  kind: number[];
  status: number[];
  /** Flat pairs of node indices: edges[2j] → edges[2j + 1]. */
  edges: number[];
  layout: CompactLayout;
}

/** Where graph-layout.ts puts things, in whole pixels. */
export interface CompactLayout {
  width: number;
  height: number;
  /** Top-left corner of node i. */
  x: number[];
  y: number[];
  /** Per group g: x, y, width, height at [4g … 4g + 3]. */
  boxes: number[];
}

export function graphJson(graph: IndexedGraph): GraphJson {
  const { nodes } = graph;
  return {
    nodes: nodes.map((n) => ({
      key: n.key,
      location: n.location,
      group: n.group,
      kinds: [...n.kinds],
      status: n.status,
    })),
    edges: graph.edges.map(([a, b]) => ({ from: nodes[a]!.key, to: nodes[b]!.key })),
    groups: graph.groups.map((g) => ({ ...g })),
  };
}

/** Index of `value` in `list`, appending it when new (`index` remembers by a string id). */
function intern<T>(index: Map<string, number>, list: T[], id: string, value: T): number {
  let i = index.get(id);
  if (i === undefined) {
    i = list.length;
    list.push(value);
    index.set(id, i);
  }
  return i;
}

export function compactGraphJson(graph: IndexedGraph): CompactGraphJson {
  const groups = graph.groups.map((g) => ({ ...g }));
  const groupIndex = new Map<string, number>();
  for (const [i, g] of groups.entries()) groupIndex.set(`${g.location}\u0000${g.group}`, i);
  const statuses: string[] = [];
  const statusIndex = new Map<string, number>();
  const kinds: string[][] = [];
  const kindIndex = new Map<string, number>();
  const n = graph.nodes.length;
  const keys = new Array<string>(n);
  const group = new Array<number>(n);
  const kind = new Array<number>(n);
  const status = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const node = graph.nodes[i]!;
    const groupId = `${node.location}\u0000${node.group}`;
    let g = groupIndex.get(groupId);
    if (g === undefined) {
      // A node whose group the caller did not list: list it, so the payload stays whole.
      g = groups.length;
      groups.push({ location: node.location, group: node.group, count: 0 });
      groupIndex.set(groupId, g);
    }
    keys[i] = node.key;
    group[i] = g;
    kind[i] = intern(kindIndex, kinds, node.kinds.join('\u0000'), [...node.kinds]);
    status[i] = intern(statusIndex, statuses, node.status, node.status);
  }
  const edges = new Array<number>(graph.edges.length * 2);
  for (let j = 0; j < graph.edges.length; j++) {
    const [a, b] = graph.edges[j]!;
    edges[2 * j] = a;
    edges[2 * j + 1] = b;
  }
  const hash = createHash('sha1');
  hash.update(JSON.stringify([groups, kinds, keys, group, kind]));
  hash.update(new Uint32Array(edges));
  const structure = hash.digest('base64url');
  return {
    format: COMPACT_GRAPH_FORMAT,
    structure,
    groups,
    statuses,
    kinds,
    keys,
    group,
    kind,
    status,
    edges,
    layout: cachedLayout(structure, group, edges, groups.length),
  };
}

/** Layouts of the last few graph structures (a UI polls the same graph; selections vary). */
const layouts = new Map<string, CompactLayout>();
const LAYOUTS_KEPT = 8;

function cachedLayout(
  structure: string,
  group: number[],
  edges: number[],
  groupCount: number,
): CompactLayout {
  let layout = layouts.get(structure);
  if (layout) {
    layouts.delete(structure); // most recently used last
  } else {
    layout = compactLayout(group, edges, groupCount);
    if (layouts.size >= LAYOUTS_KEPT) layouts.delete(layouts.keys().next().value!);
  }
  layouts.set(structure, layout);
  return layout;
}

/** Lays out nodes by index (keys may repeat across code locations), groups by index. */
export function compactLayout(
  group: readonly number[],
  edges: readonly number[],
  groupCount: number,
): CompactLayout {
  const n = group.length;
  const nodes = new Array<{ id: string; group: string }>(n);
  for (let i = 0; i < n; i++) nodes[i] = { id: String(i), group: String(group[i]) };
  const layoutEdges = new Array<{ from: string; to: string }>(edges.length / 2);
  for (let j = 0; j < layoutEdges.length; j++)
    layoutEdges[j] = { from: String(edges[2 * j]), to: String(edges[2 * j + 1]) };
  const result: LayoutResult = layoutGraph(nodes, layoutEdges);
  const x = new Array<number>(n);
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const p = result.positions.get(String(i))!;
    x[i] = Math.round(p.x);
    y[i] = Math.round(p.y);
  }
  const boxes = new Array<number>(groupCount * 4).fill(0);
  for (const box of result.groups) {
    const g = Number(box.id);
    boxes[4 * g] = Math.round(box.x);
    boxes[4 * g + 1] = Math.round(box.y);
    boxes[4 * g + 2] = Math.round(box.width);
    boxes[4 * g + 3] = Math.round(box.height);
  }
  return { width: Math.round(result.width), height: Math.round(result.height), x, y, boxes };
}

/** A strong ETag for a response body. */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** True when an If-None-Match header names this ETag (or `*`). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === etag || t === '*');
}
