/**
 * The compact form of `GET /api/graph` (packages/server/src/api/graph-payload.ts) decoded by the
 * page (src/graph/compact-graph.ts): the same graph as the object form, and the layout the
 * layout code gives (pure: no browser needed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateGraph, indexedGraph } from '../../../bench/ui/graph-data.ts';
import {
  type CompactGraphJson,
  compactGraphJson,
  graphJson,
  type IndexedGraph,
} from '../../server/src/api/graph-payload.ts';
import type { CompactGraphResponse } from '../src/api/types.ts';
import { decodeGraph } from '../src/graph/compact-graph.ts';
import { layoutGraph, DEFAULT_LAYOUT_OPTIONS as O } from '../src/graph/layout.ts';

/** Through JSON text, as the browser receives it. */
const wire = (c: CompactGraphJson) => JSON.parse(JSON.stringify(c)) as CompactGraphResponse;

describe('compact graph payload', () => {
  it('decodes to the object form and to the layout of the whole graph (5,000 assets)', () => {
    const generated = generateGraph(5000, 10000, 50);
    const indexed = indexedGraph(generated);
    const objects = graphJson(indexed);
    const compact = compactGraphJson(indexed);
    const decoded = decodeGraph(wire(compact));
    assert.deepEqual(decoded.graph, JSON.parse(JSON.stringify(objects)));
    assert.equal(decoded.structure, compact.structure);

    // The server's positions are the layout code's, in whole pixels.
    const layout = layoutGraph(
      objects.nodes.map((n) => ({ id: n.key, group: `${n.location}/${n.group}` })),
      objects.edges,
    );
    assert.equal(decoded.layout.positions.size, 5000);
    for (const [key, p] of layout.positions) {
      const q = decoded.layout.positions.get(key)!;
      assert.ok(Math.abs(p.x - q.x) <= 0.5 && Math.abs(p.y - q.y) <= 0.5, `${key} at ${q.x},${q.y}`);
    }
    assert.deepEqual(
      decoded.layout.groups.map((g) => [g.id, g.count]),
      layout.groups.map((g) => [g.id, g.count]),
    );
    for (const [i, g] of layout.groups.entries()) {
      const d = decoded.layout.groups[i]!;
      assert.ok(Math.abs(g.x - d.x) <= 0.5 && Math.abs(g.width - d.width) <= 0.5, g.id);
    }
    assert.ok(Math.abs(decoded.layout.width - layout.width) <= 0.5);
    // Every asset inside its group's box.
    const boxOf = new Map(decoded.layout.groups.map((g) => [g.id, g]));
    for (const n of decoded.graph.nodes) {
      const p = decoded.layout.positions.get(n.key)!;
      const box = boxOf.get(`${n.location}/${n.group}`)!;
      assert.ok(p.x >= box.x && p.x + O.nodeWidth <= box.x + box.width + 1, n.key);
      assert.ok(p.y >= box.y && p.y + O.nodeHeight <= box.y + box.height + 1, n.key);
    }

    // Smaller than the object form by far.
    const ratio = JSON.stringify(compact).length / JSON.stringify(objects).length;
    assert.ok(ratio < 0.5, `compact/objects bytes: ${ratio.toFixed(2)}`);
  });

  it('keeps assets of the same key in two code locations apart, and their edges', () => {
    const graph: IndexedGraph = {
      nodes: [
        { key: 'raw', location: 'a', group: 'g', kinds: [], status: 'materialized' },
        { key: 'clean', location: 'a', group: 'g', kinds: ['duckdb'], status: 'never' },
        { key: 'raw', location: 'b', group: 'g', kinds: [], status: 'failed' },
        { key: 'report', location: 'b', group: 'h', kinds: ['duckdb'], status: 'stale' },
      ],
      edges: [
        [0, 1],
        [2, 3],
      ],
      groups: [
        { location: 'a', group: 'g', count: 2 },
        { location: 'b', group: 'g', count: 1 },
        { location: 'b', group: 'h', count: 1 },
      ],
    };
    const compact = compactGraphJson(graph);
    assert.deepEqual(compact.edges, [0, 1, 2, 3]);
    assert.deepEqual(compact.group, [0, 0, 1, 2]);
    assert.deepEqual(compact.kinds, [[], ['duckdb']]);
    const decoded = decodeGraph(wire(compact));
    assert.deepEqual(decoded.graph, JSON.parse(JSON.stringify(graphJson(graph))));
    assert.deepEqual(
      decoded.layout.groups.map((g) => g.id),
      ['a/g', 'b/g', 'b/h'],
    );
    // Both `raw` nodes were laid out (one per location), each in its own box.
    const [, boxB] = decoded.layout.groups;
    assert.ok(compact.layout.x[2]! >= boxB!.x && compact.layout.x[2]! < boxB!.x + boxB!.width);
  });

  it('an empty graph', () => {
    const decoded = decodeGraph(wire(compactGraphJson({ nodes: [], edges: [], groups: [] })));
    assert.deepEqual(decoded.graph, { nodes: [], edges: [], groups: [] });
    assert.equal(decoded.layout.positions.size, 0);
  });

  it('the structure hash ignores statuses and follows keys and edges', () => {
    const base = indexedGraph(generateGraph(300, 600, 5));
    const hash = (g: IndexedGraph) => compactGraphJson(g).structure;
    const statuses = { ...base, nodes: base.nodes.map((n) => ({ ...n, status: 'running' })) };
    assert.equal(hash(statuses), hash(base));
    const moreEdges = { ...base, edges: [...base.edges, [0, 299] as const] };
    assert.notEqual(hash(moreEdges), hash(base));
    const renamed = { ...base, nodes: base.nodes.map((n, i) => (i === 7 ? { ...n, key: 'renamed' } : n)) };
    assert.notEqual(hash(renamed), hash(base));
  });

  it('refuses a payload it cannot read, saying what is wrong', () => {
    const good = wire(compactGraphJson(indexedGraph(generateGraph(50, 80, 2))));
    assert.throws(() => decodeGraph({ ...good, format: 'compact/9' as 'compact/1' }), /format 'compact\/9'/);
    assert.throws(() => decodeGraph({ ...good, status: good.status.slice(1) }), /differ in length/);
    assert.throws(
      () => decodeGraph({ ...good, edges: [...good.edges.slice(2), 0, 999] }),
      /edge \d+ points outside/,
    );
    assert.throws(
      () => decodeGraph({ ...good, kind: good.kind.map(() => 99) }),
      /node 0 \(\w+\) points outside/,
    );
  });
});
