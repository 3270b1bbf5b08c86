/** The lineage graph's layout and viewport arithmetic (pure: no browser needed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assetsOf, generateGraph } from '../../../bench/ui/graph-data.ts';
import {
  assignLayers,
  indexGraphOf,
  layoutGraph,
  DEFAULT_LAYOUT_OPTIONS as O,
  packInOrder,
} from '../src/graph/layout.ts';
import {
  containsRect,
  cullGraph,
  expandRect,
  fitViewport,
  initialViewport,
  visibleRect,
} from '../src/graph/viewport.ts';

const overlaps = (
  a: { x: number; y: number; w: number; h: number },
  b: { x: number; y: number; w: number; h: number },
) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('assignLayers', () => {
  it('puts sources first and every edge left to right, next to the nearest consumer', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const g = indexGraphOf(ids, [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'a', to: 'c' },
      { from: 'e', to: 'c' }, // a source feeding only the last layer is pulled next to it
    ]);
    const layer = assignLayers(g);
    assert.deepEqual([...layer], [0, 1, 2, 0, 1]);
  });

  it('survives cycles (a back edge is ignored)', () => {
    const g = indexGraphOf(
      ['a', 'b', 'c'],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
      ],
    );
    const layer = assignLayers(g);
    assert.equal(new Set(layer).size, 3);
  });
});

describe('packInOrder', () => {
  it('keeps desired positions that already respect the separation', () => {
    assert.deepEqual([...packInOrder([0, 100, 300], [0, 50, 50])], [0, 100, 300]);
  });

  it('spreads colliding items around their mean (least squares)', () => {
    const out = [...packInOrder([100, 100, 100], [0, 50, 50])];
    assert.deepEqual(out, [50, 100, 150]);
  });

  it('never lets items overlap whatever they want', () => {
    const desired = [500, 10, 300, 300, -40, 900];
    const sep = [0, 60, 60, 60, 60, 60];
    const out = packInOrder(desired, sep);
    for (let i = 1; i < out.length; i++) assert.ok(out[i]! - out[i - 1]! >= 60 - 1e-9);
  });
});

describe('layoutGraph', () => {
  it('lays out a small DAG left to right inside non-overlapping group boxes', () => {
    const nodes = [
      { id: 'src_a', group: 'ds/raw' },
      { id: 'src_b', group: 'ds/raw' },
      { id: 'clean', group: 'ds/silver' },
      { id: 'report', group: 'ds/gold' },
      { id: 'lonely', group: 'ds/gold' },
    ];
    const edges = [
      { from: 'src_a', to: 'clean' },
      { from: 'src_b', to: 'clean' },
      { from: 'clean', to: 'report' },
      { from: 'clean', to: 'nowhere' }, // unknown node: ignored
      { from: 'report', to: 'report' }, // self loop: ignored
    ];
    const result = layoutGraph(nodes, edges);
    assert.equal(result.positions.size, 5);
    const p = (k: string) => result.positions.get(k)!;
    assert.ok(p('src_a').x < p('clean').x && p('clean').x < p('report').x, 'edges point right');
    assert.equal(result.groups.length, 3);
    // Each node lies inside its group's box.
    for (const n of nodes) {
      const box = result.groups.find((g) => g.id === n.group)!;
      const pos = p(n.id);
      assert.ok(pos.x >= box.x && pos.x + O.nodeWidth <= box.x + box.width, `${n.id} inside ${box.id} (x)`);
      assert.ok(pos.y >= box.y && pos.y + O.nodeHeight <= box.y + box.height, `${n.id} inside ${box.id} (y)`);
    }
    for (const a of result.groups)
      for (const b of result.groups)
        if (a !== b)
          assert.ok(!overlaps({ ...a, w: a.width, h: a.height }, { ...b, w: b.width, h: b.height }));
    assert.deepEqual(
      result.groups.map((g) => [g.id, g.count]),
      [
        ['ds/raw', 2],
        ['ds/silver', 1],
        ['ds/gold', 2],
      ],
    );
  });

  it('lays out 5,000 assets and 10,000 edges fast, with no two assets overlapping', () => {
    const graph = generateGraph(5000, 10000, 50);
    assert.equal(graph.nodes.length, 5000);
    assert.equal(graph.edges.length, 10000);
    const nodes = graph.nodes.map((n) => ({ id: n.key, group: `${n.location}/${n.group}` }));
    layoutGraph(nodes, graph.edges); // warm up the JIT
    const started = performance.now();
    const result = layoutGraph(nodes, graph.edges);
    const ms = performance.now() - started;
    assert.ok(ms < 1000, `layout took ${ms.toFixed(0)} ms`);
    assert.equal(result.positions.size, 5000);
    // No overlaps: sort by x then sweep.
    const boxes = [...result.positions.values()].sort((a, b) => a.x - b.x || a.y - b.y);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length && boxes[j]!.x < boxes[i]!.x + O.nodeWidth; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        assert.ok(
          !overlaps(
            { x: a.x, y: a.y, w: O.nodeWidth, h: O.nodeHeight },
            { x: b.x, y: b.y, w: O.nodeWidth, h: O.nodeHeight },
          ),
          `assets overlap at ${a.x},${a.y}`,
        );
      }
    }
    // Edges inside a group point right (cross-group edges follow the group boxes' order).
    const group = new Map(nodes.map((n) => [n.id, n.group]));
    for (const e of graph.edges) {
      if (group.get(e.from) === group.get(e.to))
        assert.ok(result.positions.get(e.from)!.x < result.positions.get(e.to)!.x, `${e.from} -> ${e.to}`);
    }
    assert.equal(assetsOf(graph).length, 5000);
  });
});

describe('viewport', () => {
  const layout = { width: 2000, height: 1000 };

  it('fits the whole graph centred', () => {
    const v = fitViewport(layout, 1048, 548);
    assert.equal(v.zoom, 0.5);
    assert.equal(v.x, (1048 - 1000) / 2);
    assert.equal(v.y, (548 - 500) / 2);
  });

  it('starts readable: the whole graph when it fits at zoom ≥ 0.4, else the top-left group at 0.75', () => {
    const small = layoutGraph([{ id: 'a', group: 'g' }], []);
    assert.equal(initialViewport(small, 1200, 800).zoom, 1);
    const big = layoutGraph(
      generateGraph(600, 1200, 6).nodes.map((n) => ({ id: n.key, group: n.group })),
      generateGraph(600, 1200, 6).edges,
    );
    const v = initialViewport(big, 1200, 800);
    assert.equal(v.zoom, 0.75);
  });

  it('culls to what is near the screen, keeping both ends of every edge that crosses it', () => {
    const positions = new Map([
      ['in', { x: 10, y: 10 }],
      ['far', { x: 5000, y: 5000 }],
      ['left', { x: -3000, y: 20 }],
      ['right', { x: 3000, y: 20 }],
    ]);
    const region = { x: 0, y: 0, width: 500, height: 500 };
    const culled = cullGraph(
      ['in', 'far', 'left', 'right'],
      [
        { from: 'left', to: 'right' }, // passes through the region
        { from: 'far', to: 'in' },
        { from: 'right', to: 'far' }, // nowhere near
      ],
      positions,
      region,
      200,
      50,
    );
    assert.deepEqual([...culled.nodes].sort(), ['far', 'in', 'left', 'right']);
    assert.deepEqual(culled.edges, [0, 1]);
    const onlyInside = cullGraph(['in', 'far'], [], positions, region, 200, 50);
    assert.deepEqual([...onlyInside.nodes], ['in']);
  });

  it('knows what the screen shows and when a region still covers it', () => {
    const view = visibleRect({ x: -100, y: -50, zoom: 0.5 }, 800, 600);
    assert.deepEqual(view, { x: 200, y: 100, width: 1600, height: 1200 });
    const region = expandRect(view, 0.5);
    assert.deepEqual(region, { x: -600, y: -500, width: 3200, height: 2400 });
    assert.ok(containsRect(region, view));
    assert.ok(!containsRect(view, region));
  });
});
