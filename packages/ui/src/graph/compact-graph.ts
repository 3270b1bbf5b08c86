/** Decoding `GET /api/graph?format=compact` (docs/api.md) into the graph and layout the page draws. */
import type { CompactGraphResponse, GraphNodeJson, GraphResponse, NodeStatus } from '../api/types.ts';
import type { GroupBox, LayoutResult, Point } from './layout.ts';

export const COMPACT_GRAPH_FORMAT = 'compact/1';

export interface DecodedGraph {
  graph: GraphResponse;
  /** Laid out by the server. */
  layout: LayoutResult;
  /** A hash of everything but the statuses. */
  structure: string;
}

/** The group box id of a node's group (graph-view.tsx draws one box per id). */
export function groupIdOf(location: string, group: string): string {
  return `${location}/${group}`;
}

function inconsistent(what: string): Error {
  return new Error(`The graph API's compact answer is inconsistent: ${what}. Reload the page.`);
}

/**
 * The object form of a compact graph, and its layout. Nodes of one kind list share its array
 * (read-only). Throws on a payload that is not the compact form this UI reads, or whose indices
 * point outside their tables, rather than drawing half a graph.
 */
export function decodeGraph(c: CompactGraphResponse): DecodedGraph {
  if (c?.format !== COMPACT_GRAPH_FORMAT) {
    throw new Error(
      `The graph API answered format '${String(c?.format)}', not '${COMPACT_GRAPH_FORMAT}': reload the page (the server may be newer than this page).`,
    );
  }
  const n = c.keys.length;
  const { layout } = c;
  if (
    c.group.length !== n ||
    c.kind.length !== n ||
    c.status.length !== n ||
    layout?.x.length !== n ||
    layout.y.length !== n ||
    layout.boxes.length !== 4 * c.groups.length ||
    c.edges.length % 2 !== 0
  ) {
    throw inconsistent('its arrays differ in length');
  }
  const nodes = new Array<GraphNodeJson>(n);
  const positions = new Map<string, Point>();
  for (let i = 0; i < n; i++) {
    const group = c.groups[c.group[i]!];
    const kinds = c.kinds[c.kind[i]!];
    const status = c.statuses[c.status[i]!];
    const key = c.keys[i]!;
    if (!group || !kinds || status === undefined)
      throw inconsistent(`node ${i} (${key}) points outside its tables`);
    nodes[i] = { key, location: group.location, group: group.group, kinds, status: status as NodeStatus };
    positions.set(key, { x: layout.x[i]!, y: layout.y[i]! });
  }
  const m = c.edges.length / 2;
  const edges = new Array<{ from: string; to: string }>(m);
  for (let j = 0; j < m; j++) {
    const from = c.keys[c.edges[2 * j]!];
    const to = c.keys[c.edges[2 * j + 1]!];
    if (from === undefined || to === undefined) throw inconsistent(`edge ${j} points outside the node list`);
    edges[j] = { from, to };
  }
  const boxes: GroupBox[] = c.groups.map((g, i) => ({
    id: groupIdOf(g.location, g.group),
    x: layout.boxes[4 * i]!,
    y: layout.boxes[4 * i + 1]!,
    width: layout.boxes[4 * i + 2]!,
    height: layout.boxes[4 * i + 3]!,
    count: g.count,
  }));
  return {
    graph: { nodes, edges, groups: c.groups },
    layout: { positions, groups: boxes, width: layout.width, height: layout.height },
    structure: c.structure,
  };
}
