/**
 * The lineage-graph benchmark's input: a deterministic asset graph shaped like a real warehouse
 * (the API's `/api/graph` and `/api/assets` shapes), default 5,000 assets and 10,000 edges in
 * 50 groups of 100 over two code locations. Each group is 8 layers deep; edges go from a layer
 * to the next one or two inside a group, and from the last layers of earlier groups into the
 * first layers of groups in later tiers (about a fifth of them), so the graph is a DAG with
 * group structure: 5 tiers of 10 groups.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  compactGraphJson,
  etagOf,
  graphJson,
  type IndexedGraph,
  matchesEtag,
} from '../../packages/server/src/api/graph-payload.ts';

export interface GeneratedGraph {
  nodes: { key: string; location: string; group: string; kinds: string[]; status: string }[];
  edges: { from: string; to: string }[];
  groups: { location: string; group: string; count: number }[];
}

/** A seeded generator (mulberry32), so a generated graph or input can be reproduced. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = [['postgres'], ['bigquery'], ['s3'], ['duckdb'], ['python'], [], ['dbt', 'bigquery'], ['webp']];
const GROUP_WORDS = ['src', 'stg', 'dim', 'fct', 'mart', 'ds', '브랜드', 'crm', 'ops', 'fin'];

export function generateGraph(assets = 5000, edgeCount = 10000, groupCount = 50, seed = 42): GeneratedGraph {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const perGroup = Math.ceil(assets / groupCount);
  const depth = 8;
  const nodes: GeneratedGraph['nodes'] = [];
  const groups: GeneratedGraph['groups'] = [];
  /** layers[g][d] = node indices. */
  const layers: number[][][] = [];
  for (let g = 0; g < groupCount; g++) {
    const location = g < groupCount * 0.8 ? 'warehouse' : 'ds';
    const group = `${GROUP_WORDS[g % GROUP_WORDS.length]}_${String(g).padStart(2, '0')}`;
    const count = Math.min(perGroup, assets - g * perGroup);
    if (count <= 0) break;
    groups.push({ location, group, count });
    const gl: number[][] = Array.from({ length: depth }, () => []);
    for (let i = 0; i < count; i++) {
      const d = Math.min(depth - 1, Math.floor((i / count) * depth));
      const r = random();
      const status =
        r < 0.7 ? 'materialized' : r < 0.8 ? 'never' : r < 0.88 ? 'failed' : r < 0.9 ? 'running' : 'stale';
      gl[d]!.push(nodes.length);
      nodes.push({
        key: `${group.replace(/[^\w]/g, 'x')}_asset_${String(i).padStart(3, '0')}`,
        location,
        group,
        kinds: pick(KINDS),
        status,
      });
    }
    layers.push(gl);
  }
  const edges: GeneratedGraph['edges'] = [];
  const seen = new Set<number>();
  const add = (a: number, b: number): boolean => {
    if (a === b) return false;
    const id = a * nodes.length + b;
    if (seen.has(id)) return false;
    seen.add(id);
    edges.push({ from: nodes[a]!.key, to: nodes[b]!.key });
    return true;
  };
  const intra = () => {
    const g = Math.floor(random() * layers.length);
    const d = 1 + Math.floor(random() * (depth - 1));
    const up = Math.max(0, d - (random() < 0.8 ? 1 : 2));
    const to = layers[g]![d]!;
    const from = layers[g]![up]!;
    if (to.length && from.length) add(pick(from), pick(to));
  };
  // Groups come in 5 tiers (sources, staging, dimensions/facts, marts, reports): cross-group
  // edges go from a tier to a later one, mostly the next.
  const tiers = 5;
  const tierOf = (g: number) => Math.floor((g * tiers) / layers.length);
  const cross = () => {
    const g = Math.floor(random() * layers.length);
    const t = tierOf(g);
    if (t === 0) return;
    const fromTier = random() < 0.8 ? t - 1 : Math.floor(random() * t);
    const candidates = layers.map((_, i) => i).filter((i) => tierOf(i) === fromTier);
    if (candidates.length === 0) return;
    const back = pick(candidates);
    const from = layers[back]![depth - 1 - Math.floor(random() * 2)]!;
    const to = layers[g]![Math.floor(random() * 2)]!;
    if (to.length && from.length) add(pick(from), pick(to));
  };
  // Every non-source asset gets one parent first, so there are few isolated nodes.
  for (const gl of layers)
    for (let d = 1; d < depth; d++) for (const v of gl[d]!) if (gl[d - 1]!.length) add(pick(gl[d - 1]!), v);
  let guard = 0;
  while (edges.length < edgeCount && guard++ < edgeCount * 50) {
    if (random() < 0.2 && layers.length > 1) cross();
    else intra();
  }
  return { nodes, edges, groups };
}

/** `/api/assets` entries for the generated nodes. */
export function assetsOf(graph: GeneratedGraph, now = Date.now()) {
  const deps = new Map<string, string[]>();
  for (const e of graph.edges) deps.set(e.to, [...(deps.get(e.to) ?? []), e.from]);
  return graph.nodes.map((n, i) => ({
    key: n.key,
    location: n.location,
    group: n.group,
    deps: deps.get(n.key) ?? [],
    kinds: n.kinds,
    tags: { tier: i % 3 === 0 ? 'bronze' : 'silver' },
    description: i % 7 === 0 ? `브랜드 로고 자산 ${i} (generated)` : `Generated asset ${i}.`,
    checks: [],
    latest:
      n.status === 'never'
        ? null
        : {
            materializedAt: new Date(now - (i % 600) * 60_000).toISOString(),
            runId: `run-${i % 97}`,
            metadata: { rows: { type: 'int', value: i * 13 } },
          },
    lastRunStatus:
      n.status === 'failed'
        ? 'FAILURE'
        : n.status === 'running'
          ? 'STARTED'
          : n.status === 'never'
            ? null
            : 'SUCCESS',
    freshness: n.status === 'stale' ? { maximumLagMinutes: 60, stale: true } : null,
  }));
}

/** The generated graph as the API route builds it (edges as node indices). */
export function indexedGraph(graph: GeneratedGraph): IndexedGraph {
  const index = new Map(graph.nodes.map((n, i) => [n.key, i]));
  return {
    nodes: graph.nodes,
    edges: graph.edges.map((e) => [index.get(e.from)!, index.get(e.to)!] as const),
    groups: graph.groups,
  };
}

/**
 * Answers `GET /api/graph` for a generated graph as the real route does (docs/api.md): the
 * object form, or `?format=compact`, with an ETag and 304 on If-None-Match. Bodies are
 * encoded once. Returns false for other paths.
 */
export function graphRoute(
  graph: GeneratedGraph,
): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  const indexed = indexedGraph(graph);
  const bodies = new Map<string, { text: string; etag: string }>();
  const bodyOf = (format: string) => {
    let body = bodies.get(format);
    if (!body) {
      const text = JSON.stringify(format === 'compact' ? compactGraphJson(indexed) : graphJson(indexed));
      body = { text, etag: etagOf(text) };
      bodies.set(format, body);
    }
    return body;
  };
  return (req, res, url) => {
    if (url.pathname !== '/api/graph') return false;
    const { text, etag } = bodyOf(url.searchParams.get('format') === 'compact' ? 'compact' : 'objects');
    const headers = { etag, 'cache-control': 'no-cache' };
    if (matchesEtag(req.headers['if-none-match'], etag)) res.writeHead(304, headers).end();
    else res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(text);
    return true;
  };
}
