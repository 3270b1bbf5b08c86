/**
 * A layered ("Sugiyama-style") layout of the asset graph, left to right, with group boxes.
 *
 * dagre took 8.7 s for 500 assets / 1,000 edges and 67 s for 2,000 / 4,000 on this machine,
 * so this is our own, linear-ish algorithm:
 *
 * 1. Two levels: the assets of each group are laid out inside their group's box, then the boxes
 *    are laid out as nodes of the group graph (an edge between two groups when any asset edge
 *    crosses them). Boxes never overlap and a group reads as one block, as in Dagster.
 * 2. Per level: cycles are broken by a DFS (back edges are ignored for layering), layers come
 *    from the longest path from the sources, then every node with successors is pulled right
 *    next to its nearest successor (short edges), the order within each layer comes from a few
 *    barycenter sweeps (no dummy nodes: a long edge counts its far end's position), and the
 *    vertical coordinates are the least-squares fit to the neighbours' centres under the
 *    no-overlap constraint (pool-adjacent-violators, O(n) per layer).
 *
 * Pure: no DOM, no React, no Node APIs (the UI bundles it too); 5,000 assets and 10,000 edges
 * lay out in tens of milliseconds. The server sends its result with the compact graph
 * (graph-payload.ts), computed once per graph structure.
 */

export interface LayoutNode {
  id: string;
  /** Group box the node belongs to (e.g. `location/group`). */
  group: string;
}

export interface LayoutEdge {
  from: string;
  to: string;
}

export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  /** Horizontal gap between layers. */
  rankGap: number;
  /** Vertical gap between nodes of a layer. */
  nodeGap: number;
  /** Padding inside a group box. */
  groupPadding: number;
  /** Height of a group box's title bar. */
  groupHeader: number;
  /** Horizontal gap between layers of group boxes. */
  groupRankGap: number;
  /** Vertical gap between group boxes of a layer. */
  groupGap: number;
  /** Barycenter sweeps (each is one pass down and one up). */
  sweeps: number;
}

export const DEFAULT_LAYOUT_OPTIONS: LayoutOptions = {
  nodeWidth: 220,
  nodeHeight: 56,
  rankGap: 70,
  nodeGap: 16,
  groupPadding: 20,
  groupHeader: 34,
  groupRankGap: 90,
  groupGap: 40,
  sweeps: 3,
};

export interface Point {
  x: number;
  y: number;
}

export interface GroupBox {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  count: number;
}

export interface LayoutResult {
  /** Top-left corner of every node, absolute. */
  positions: Map<string, Point>;
  groups: GroupBox[];
  width: number;
  height: number;
}

/** A graph over 0..n-1 in compressed adjacency form (both directions). */
interface IndexGraph {
  n: number;
  outStart: Int32Array;
  outList: Int32Array;
  inStart: Int32Array;
  inList: Int32Array;
}

function buildIndexGraph(n: number, from: number[], to: number[]): IndexGraph {
  const outStart = new Int32Array(n + 1);
  const inStart = new Int32Array(n + 1);
  for (let e = 0; e < from.length; e++) {
    outStart[from[e]! + 1]! += 1;
    inStart[to[e]! + 1]! += 1;
  }
  for (let i = 0; i < n; i++) {
    outStart[i + 1]! += outStart[i]!;
    inStart[i + 1]! += inStart[i]!;
  }
  const outList = new Int32Array(from.length);
  const inList = new Int32Array(from.length);
  const outFill = outStart.slice(0, n);
  const inFill = inStart.slice(0, n);
  for (let e = 0; e < from.length; e++) {
    const f = from[e]!;
    const t = to[e]!;
    outList[outFill[f]!++] = t;
    inList[inFill[t]!++] = f;
  }
  return { n, outStart, outList, inStart, inList };
}

/**
 * Layers of an arbitrary directed graph (cycles allowed): 0 for sources, increasing along
 * edges, with back edges of a DFS ignored. Exported for tests.
 */
export function assignLayers(g: IndexGraph): Int32Array {
  const { n, outStart, outList } = g;
  // 1. Iterative DFS marks back edges (edges into a node still on the stack).
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const back = new Uint8Array(outList.length);
  const stack = new Int32Array(n);
  const cursor = new Int32Array(n);
  const topo: number[] = []; // reverse post-order = a topological order of the forward edges
  for (let root = 0; root < n; root++) {
    if (state[root] !== 0) continue;
    let top = 0;
    stack[0] = root;
    state[root] = 1;
    cursor[root] = outStart[root]!;
    while (top >= 0) {
      const v = stack[top]!;
      if (cursor[v]! < outStart[v + 1]!) {
        const e = cursor[v]!;
        cursor[v] = e + 1;
        const w = outList[e]!;
        if (state[w] === 1) back[e] = 1;
        else if (state[w] === 0) {
          state[w] = 1;
          cursor[w] = outStart[w]!;
          stack[++top] = w;
        }
      } else {
        state[v] = 2;
        topo.push(v);
        top -= 1;
      }
    }
  }
  topo.reverse();
  // 2. Longest path from the sources.
  const layer = new Int32Array(n);
  for (const v of topo) {
    for (let e = outStart[v]!; e < outStart[v + 1]!; e++) {
      if (back[e]) continue;
      const w = outList[e]!;
      if (layer[w]! < layer[v]! + 1) layer[w] = layer[v]! + 1;
    }
  }
  // 3. Pull each node with successors right, next to its nearest successor.
  for (let i = topo.length - 1; i >= 0; i--) {
    const v = topo[i]!;
    let nearest = Number.POSITIVE_INFINITY;
    for (let e = outStart[v]!; e < outStart[v + 1]!; e++) {
      if (back[e]) continue;
      const l = layer[outList[e]!]!;
      if (l < nearest) nearest = l;
    }
    if (nearest !== Number.POSITIVE_INFINITY && nearest - 1 > layer[v]!) layer[v] = nearest - 1;
  }
  return layer;
}

/**
 * Least-squares positions for items in a fixed order: minimises Σ (c_i - desired_i)² subject to
 * c_i - c_{i-1} >= sep_i (sep_0 ignored). Pool-adjacent-violators on c_i - Σ sep. Exported for tests.
 */
export function packInOrder(desired: ArrayLike<number>, sep: ArrayLike<number>): Float64Array {
  const n = desired.length;
  const offset = new Float64Array(n);
  for (let i = 1; i < n; i++) offset[i] = offset[i - 1]! + sep[i]!;
  // Blocks of pooled values: mean and size; each item belongs to the block on the stack.
  const mean = new Float64Array(n);
  const size = new Int32Array(n);
  let blocks = 0;
  for (let i = 0; i < n; i++) {
    mean[blocks] = desired[i]! - offset[i]!;
    size[blocks] = 1;
    blocks += 1;
    while (blocks > 1 && mean[blocks - 2]! > mean[blocks - 1]!) {
      const a = size[blocks - 2]!;
      const b = size[blocks - 1]!;
      mean[blocks - 2] = (mean[blocks - 2]! * a + mean[blocks - 1]! * b) / (a + b);
      size[blocks - 2] = a + b;
      blocks -= 1;
    }
  }
  const out = new Float64Array(n);
  let i = 0;
  for (let b = 0; b < blocks; b++) {
    for (let k = 0; k < size[b]!; k++, i++) out[i] = mean[b]! + offset[i]!;
  }
  return out;
}

interface LevelLayout {
  /** Top-left of every node. */
  x: Float64Array;
  y: Float64Array;
  width: number;
  height: number;
}

/** Layered layout of one level (the assets of a group, or the groups). */
function layoutLevel(
  g: IndexGraph,
  widths: ArrayLike<number>,
  heights: ArrayLike<number>,
  rankGap: number,
  gap: number,
  sweeps: number,
): LevelLayout {
  const { n, outStart, outList, inStart, inList } = g;
  if (n === 0) return { x: new Float64Array(0), y: new Float64Array(0), width: 0, height: 0 };
  const layer = assignLayers(g);
  let layerCount = 0;
  for (let i = 0; i < n; i++) if (layer[i]! + 1 > layerCount) layerCount = layer[i]! + 1;
  const layers: number[][] = Array.from({ length: layerCount }, () => []);
  for (let i = 0; i < n; i++) layers[layer[i]!]!.push(i);

  // Order: barycenter sweeps on centred indices.
  const pos = new Float64Array(n);
  const setPositions = (nodes: number[]) => {
    const half = (nodes.length - 1) / 2;
    for (let k = 0; k < nodes.length; k++) pos[nodes[k]!] = k - half;
  };
  for (const nodes of layers) setPositions(nodes);
  const bary = new Float64Array(n);
  const sortLayer = (nodes: number[], start: Int32Array, list: Int32Array) => {
    for (const v of nodes) {
      const s = start[v]!;
      const e = start[v + 1]!;
      if (e === s) {
        bary[v] = pos[v]!;
        continue;
      }
      let sum = 0;
      for (let k = s; k < e; k++) sum += pos[list[k]!]!;
      bary[v] = sum / (e - s);
    }
    nodes.sort((a, b) => bary[a]! - bary[b]! || pos[a]! - pos[b]!);
    setPositions(nodes);
  };
  for (let s = 0; s < sweeps; s++) {
    for (let l = 1; l < layerCount; l++) sortLayer(layers[l]!, inStart, inList);
    for (let l = layerCount - 2; l >= 0; l--) sortLayer(layers[l]!, outStart, outList);
  }

  // Coordinates: columns left to right; centres fitted to neighbours without overlaps.
  const x = new Float64Array(n);
  const cy = new Float64Array(n);
  let columnX = 0;
  for (const nodes of layers) {
    let columnWidth = 0;
    for (const v of nodes) columnWidth = Math.max(columnWidth, widths[v]!);
    for (const v of nodes) x[v] = columnX;
    columnX += columnWidth + rankGap;
  }
  const placeLayer = (nodes: number[], useIn: boolean, useOut: boolean, blend: boolean) => {
    const desired = new Float64Array(nodes.length);
    const sep = new Float64Array(nodes.length);
    let previous = Number.NaN;
    for (let k = 0; k < nodes.length; k++) {
      const v = nodes[k]!;
      let sum = 0;
      let count = 0;
      if (useIn)
        for (let e = inStart[v]!; e < inStart[v + 1]!; e++) {
          sum += cy[inList[e]!]!;
          count += 1;
        }
      if (useOut)
        for (let e = outStart[v]!; e < outStart[v + 1]!; e++) {
          sum += cy[outList[e]!]!;
          count += 1;
        }
      let d: number;
      if (count > 0) d = blend ? (sum / count + cy[v]!) / 2 : sum / count;
      else if (blend) d = cy[v]!;
      else d = Number.isNaN(previous) ? 0 : previous + (heights[nodes[k - 1]!]! + heights[v]!) / 2 + gap;
      desired[k] = d;
      previous = d;
      if (k > 0) sep[k] = (heights[nodes[k - 1]!]! + heights[v]!) / 2 + gap;
    }
    const packed = packInOrder(desired, sep);
    for (let k = 0; k < nodes.length; k++) cy[nodes[k]!] = packed[k]!;
  };
  // First pass: left to right from predecessors (already placed).
  for (const nodes of layers) placeLayer(nodes, true, false, false);
  // Then right to left, and left to right again, blending in both neighbours.
  for (let l = layerCount - 2; l >= 0; l--) placeLayer(layers[l]!, false, true, true);
  for (let l = 1; l < layerCount; l++) placeLayer(layers[l]!, true, true, true);

  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    minY = Math.min(minY, cy[i]! - heights[i]! / 2);
    maxY = Math.max(maxY, cy[i]! + heights[i]! / 2);
  }
  const y = new Float64Array(n);
  let width = 0;
  for (let i = 0; i < n; i++) {
    y[i] = cy[i]! - heights[i]! / 2 - minY;
    width = Math.max(width, x[i]! + widths[i]!);
  }
  return { x, y, width, height: maxY - minY };
}

/** Lays out nodes in group boxes. Edges naming unknown nodes and self-loops are ignored. */
export function layoutGraph(
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
  options: Partial<LayoutOptions> = {},
): LayoutResult {
  const o = { ...DEFAULT_LAYOUT_OPTIONS, ...options };
  // Index nodes by group.
  const groupIndex = new Map<string, number>();
  const groupIds: string[] = [];
  const members: number[][] = [];
  const nodeGroup = new Int32Array(nodes.length);
  const localIndex = new Int32Array(nodes.length);
  const indexOf = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (indexOf.has(node.id)) continue;
    indexOf.set(node.id, i);
    let g = groupIndex.get(node.group);
    if (g === undefined) {
      g = groupIds.length;
      groupIndex.set(node.group, g);
      groupIds.push(node.group);
      members.push([]);
    }
    nodeGroup[i] = g;
    localIndex[i] = members[g]!.length;
    members[g]!.push(i);
  }
  // Split edges into per-group edges and group-graph edges (deduplicated).
  const innerFrom: number[][] = members.map(() => []);
  const innerTo: number[][] = members.map(() => []);
  const groupFrom: number[] = [];
  const groupTo: number[] = [];
  const seenGroupEdges = new Set<number>();
  const groupCount = groupIds.length;
  for (const edge of edges) {
    const a = indexOf.get(edge.from);
    const b = indexOf.get(edge.to);
    if (a === undefined || b === undefined || a === b) continue;
    const ga = nodeGroup[a]!;
    const gb = nodeGroup[b]!;
    if (ga === gb) {
      innerFrom[ga]!.push(localIndex[a]!);
      innerTo[ga]!.push(localIndex[b]!);
    } else {
      const key = ga * groupCount + gb;
      if (seenGroupEdges.has(key)) continue;
      seenGroupEdges.add(key);
      groupFrom.push(ga);
      groupTo.push(gb);
    }
  }
  // Inner layouts.
  const inner: LevelLayout[] = [];
  const boxWidths = new Float64Array(groupCount);
  const boxHeights = new Float64Array(groupCount);
  for (let g = 0; g < groupCount; g++) {
    const count = members[g]!.length;
    const widths = new Float64Array(count).fill(o.nodeWidth);
    const heights = new Float64Array(count).fill(o.nodeHeight);
    const level = layoutLevel(
      buildIndexGraph(count, innerFrom[g]!, innerTo[g]!),
      widths,
      heights,
      o.rankGap,
      o.nodeGap,
      o.sweeps,
    );
    inner.push(level);
    boxWidths[g] = level.width + 2 * o.groupPadding;
    boxHeights[g] = level.height + 2 * o.groupPadding + o.groupHeader;
  }
  // Group boxes.
  const outer = layoutLevel(
    buildIndexGraph(groupCount, groupFrom, groupTo),
    boxWidths,
    boxHeights,
    o.groupRankGap,
    o.groupGap,
    o.sweeps,
  );
  const positions = new Map<string, Point>();
  const groups: GroupBox[] = [];
  for (let g = 0; g < groupCount; g++) {
    const gx = outer.x[g]!;
    const gy = outer.y[g]!;
    groups.push({
      id: groupIds[g]!,
      x: gx,
      y: gy,
      width: boxWidths[g]!,
      height: boxHeights[g]!,
      count: members[g]!.length,
    });
    const level = inner[g]!;
    const list = members[g]!;
    for (let k = 0; k < list.length; k++) {
      positions.set(nodes[list[k]!]!.id, {
        x: gx + o.groupPadding + level.x[k]!,
        y: gy + o.groupPadding + o.groupHeader + level.y[k]!,
      });
    }
  }
  return { positions, groups, width: outer.width, height: outer.height };
}

/** For tests: the index-graph builder over string ids. */
export function indexGraphOf(ids: string[], edges: LayoutEdge[]): IndexGraph {
  const index = new Map(ids.map((id, i) => [id, i]));
  const from: number[] = [];
  const to: number[] = [];
  for (const e of edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a !== undefined && b !== undefined && a !== b) {
      from.push(a);
      to.push(b);
    }
  }
  return buildIndexGraph(ids.length, from, to);
}
