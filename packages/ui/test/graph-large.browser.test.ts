/**
 * The lineage graph with 5,000 assets and 10,000 edges in headless Chromium: the built UI
 * served with a generated graph (bench/ui/graph-data.ts) by a small Node server standing in
 * for the API's graph routes. Checks that only what is near the screen is in the DOM, that a
 * click opens the asset, that "fit" draws every asset on the canvas (and a click there finds
 * the asset), and that "Materialize selected" posts `key:a or key:b`.
 *
 *   node --import tsx --test packages/ui/test/graph-large.browser.test.ts
 */
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assetsOf, generateGraph, graphRoute } from '../../../bench/ui/graph-data.ts';
import { DEFAULT_LAYOUT_OPTIONS, layoutGraph } from '../src/graph/layout.ts';
import { fitViewport } from '../src/graph/viewport.ts';
import { buildUiInto } from './support/build-ui.ts';
import { launchChromium, newContext } from './support/chromium.ts';
import { type StaticServer, sendJson, serveDist } from './support/static-server.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(REPO_ROOT, 'test-output/ui');

describe('lineage graph with 5,000 assets', { timeout: 180_000 }, () => {
  const graph = generateGraph(5000, 10000, 50);
  const assets = assetsOf(graph);
  const posted: unknown[] = [];
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  let dist: string;

  before(async () => {
    dist = await buildUiInto();
    await mkdir(SHOTS, { recursive: true });
    const serveGraph = graphRoute(graph);
    const byKey = new Map(assets.map((a) => [a.key, a]));
    server = await serveDist(dist, async (req, res, url) => {
      if (serveGraph(req, res, url)) return true;
      const m = /^\/api\/assets\/([^/]+)$/.exec(url.pathname);
      if (m) {
        const a = byKey.get(decodeURIComponent(m[1]!));
        if (!a) return sendJson(res, 404, { error: { name: 'NotFound', message: 'no such asset' } });
        return sendJson(res, 200, {
          asset: { ...a, owners: [], hasConfig: false, freshness: null },
          latest: a.latest,
        });
      }
      if (url.pathname === '/api/runs' && req.method === 'POST') {
        let body = '';
        for await (const chunk of req) body += chunk;
        posted.push(JSON.parse(body));
        return sendJson(res, 201, { runId: 'run-from-graph' });
      }
      if (url.pathname.startsWith('/api/runs/run-from-graph')) {
        return sendJson(res, 404, { error: { name: 'NotFound', message: 'not in this test' } });
      }
      return false;
    });
    browser = await launchChromium();
    const context = await newContext(browser, { viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dist) await rm(dist, { recursive: true, force: true });
  });

  it('renders only what is near the screen, and a click opens the asset', async () => {
    await page.goto(`${server.url}/#/graph`);
    await page.waitForSelector('[data-graph-ready="true"] .react-flow__node-asset');
    const counts = await page.evaluate(() => ({
      nodes: document.querySelectorAll('.react-flow__node-asset').length,
      edges: document.querySelectorAll('.edge-layer .graph-edge').length,
      groups: document.querySelectorAll('.react-flow__node-groupBox').length,
    }));
    assert.ok(counts.nodes > 10 && counts.nodes < 500, `asset nodes in the DOM: ${counts.nodes}`);
    assert.ok(counts.edges > 10 && counts.edges < 2000, `edges in the DOM: ${counts.edges}`);
    assert.ok(counts.groups >= 1);
    const key = await page.locator('.react-flow__node-asset').first().getAttribute('data-id');
    assert.ok(key);
    await page.click(`.react-flow__node-asset[data-id="${key}"]`);
    await page.waitForSelector(`[data-side-key="${key}"]`);
    await page.screenshot({ path: path.join(SHOTS, 'graph-large.png') });
  });

  it('fits all 5,000 assets on a canvas, where a click still finds the asset', async () => {
    await page.click('.react-flow__controls-fitview');
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLCanvasElement>('.far-canvas')?.dataset.drawn) >= 5000,
    );
    assert.equal(
      await page.locator('.react-flow__node-asset').count(),
      0,
      'no asset DOM nodes when zoomed out',
    );
    await page.screenshot({ path: path.join(SHOTS, 'graph-large-fit.png') });

    // Where the page put an asset: the same layout and fit computed here.
    const layout = layoutGraph(
      graph.nodes.map((n) => ({ id: n.key, group: `${n.location}/${n.group}` })),
      graph.edges,
    );
    const box = await page.locator('.graph-canvas').boundingBox();
    assert.ok(box);
    const view = fitViewport(layout, box.width, box.height);
    const target = graph.nodes[2500]!.key;
    const p = layout.positions.get(target)!;
    const x = box.x + view.x + (p.x + DEFAULT_LAYOUT_OPTIONS.nodeWidth / 2) * view.zoom;
    const y = box.y + view.y + (p.y + DEFAULT_LAYOUT_OPTIONS.nodeHeight / 2) * view.zoom;
    await page.mouse.click(x, y);
    await page.waitForSelector(`[data-side-key="${target}"]`);

    // Zooming back in brings the DOM nodes back.
    await page.locator('[aria-label="Close"]').click();
    for (let i = 0; i < 12; i++) await page.click('.react-flow__controls-zoomin');
    await page.waitForSelector('.react-flow__node-asset');
    assert.ok((await page.locator('.react-flow__node-asset').count()) < 800);
  });

  it('materializes the selected assets with one selection', async () => {
    await page.goto('about:blank');
    await page.goto(`${server.url}/#/graph`);
    await page.waitForSelector('[data-graph-ready="true"] .react-flow__node-asset');
    const keys = await page
      .locator('.react-flow__node-asset')
      .evaluateAll((nodes) => nodes.slice(0, 2).map((n) => (n as HTMLElement).dataset.id!));
    await page.click(`.react-flow__node-asset[data-id="${keys[0]}"]`);
    await page.click(`.react-flow__node-asset[data-id="${keys[1]}"]`, { modifiers: ['Control'] });
    await page.locator('[data-testid="materialize-selected"]', { hasText: '(2)' }).click();
    await page.waitForURL(/#\/runs\/run-from-graph$/);
    const body = posted.at(-1) as { selection: string; location?: string };
    assert.equal(body.selection, `key:${keys[0]} or key:${keys[1]}`);
  });
});
