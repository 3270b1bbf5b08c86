/**
 * "Reload definitions" and the load-error banner, in Chromium against the real server: a code
 * location in a temporary package is broken on disk and reloaded from the button (the page
 * names the file and line, and the last good assets stay listed), then mended with a new
 * asset and reloaded again (the banner goes, the new asset is listed). The server here does
 * not watch files, so only the button reloads. Screenshots go to test-output/ui/.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Workspace } from '@dag/core';
import { startServer } from '@dag/server';
import type { Browser, Page } from 'playwright-core';
import { freshInstance, type TestInstance } from '../../core/test/support.ts';
import { buildUiInto } from './support/build-ui.ts';
import { launchChromium, newContext } from './support/chromium.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/reload-defs.ts');
const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(REPO_ROOT, 'test-output/ui');
/** A reload imports and compiles the file afresh: generous on a loaded machine. */
const RELOAD_MS = 30_000;
const DEFAULT_EXPORT = 'export default new Definitions({ assets: [orders, report] });';

describe('reloading definitions from the web UI', { timeout: 300_000 }, () => {
  let t: TestInstance;
  let uiDir: string;
  let pkg: string;
  let file: string;
  let fixture: string;
  let location: string;
  let browser: Browser;
  let page: Page;
  let url: string;
  let close: () => Promise<void>;
  const pageErrors: string[] = [];
  const reloadButton = () => page.getByRole('button', { name: 'Reload definitions' });

  before(async () => {
    uiDir = await buildUiInto();
    t = await freshInstance();
    // A package of its own, resolving @dag/core through the repository's node_modules.
    pkg = await mkdtemp(path.join(tmpdir(), 'dag-ui-reload-'));
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    await writeFile(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'reload-ui-fixture', type: 'module' }),
    );
    fixture = await readFile(FIXTURE, 'utf8');
    assert.ok(fixture.includes(DEFAULT_EXPORT), 'the fixture ends with the export this test rewrites');
    file = path.join(pkg, 'shop.ts');
    await writeFile(file, fixture);
    const workspace = await Workspace.load({ file, reloadable: true });
    location = workspace.locations[0]!.name;
    await mkdir(SHOTS, { recursive: true });
    const running = await startServer({ workspace, instance: t.instance, host: '127.0.0.1', port: 0, uiDir });
    url = running.url.replace(/\/$/, '/');
    close = () => running.close();
    browser = await launchChromium();
    page = await (await newContext(browser, { viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await close?.();
    await t?.cleanup();
    if (uiDir) await rm(uiDir, { recursive: true, force: true });
    if (pkg) await rm(pkg, { recursive: true, force: true });
  });

  it('shows the load error of a broken file and keeps listing the last good assets', async () => {
    await page.goto(`${url}#/assets`);
    await page.waitForSelector('tr[data-asset="reload_report"]');
    assert.equal(await page.locator('[data-testid="load-error"]').count(), 0);

    // A syntax error on a known line, just before the default export.
    const lines = fixture.split('\n');
    const at = lines.indexOf(DEFAULT_EXPORT);
    lines.splice(at, 0, 'export const broken = ;');
    await writeFile(file, lines.join('\n'));
    await reloadButton().click();

    const banner = await page.waitForSelector('[data-testid="load-error"]', { timeout: RELOAD_MS });
    const text = (await banner.textContent()) ?? '';
    assert.ok(
      text.includes(`Code location ${location} failed to load at ${file}:${at + 1}`),
      `the banner names the location, file and line: ${text}`,
    );
    assert.match(text, /threw while loading: .*Unexpected ";"/s);
    // The catalog on screen still lists the last good assets...
    assert.equal(await page.locator('tr[data-asset="reload_orders"]').count(), 1);
    assert.equal(await page.locator('tr[data-asset="reload_report"]').count(), 1);

    // ...and so does the graph, fetched afresh, under the same banner.
    await page.goto(`${url}#/graph`);
    await page.waitForSelector('[data-graph-ready="true"] .react-flow__node-asset[data-id="reload_report"]');
    await page.waitForSelector('.react-flow__node-asset[data-id="reload_orders"]');
    await page.waitForSelector('[data-testid="load-error"]');
    // The graph shares the window with the banner: its zoom controls stay on screen.
    const controls = await page.locator('.react-flow__controls').boundingBox();
    const height = page.viewportSize()?.height ?? 0;
    assert.ok(controls && controls.y + controls.height <= height, `controls at ${JSON.stringify(controls)}`);
    await page.screenshot({ path: path.join(SHOTS, 'reload-error.png') });
  });

  it('reloading the mended file clears the error and lists the new asset', async () => {
    const audit =
      "export const audit = asset({ name: 'reload_audit', group: 'reload', deps: [report] }, async () => 'ok');";
    await writeFile(
      file,
      fixture.replace(
        DEFAULT_EXPORT,
        `${audit}\n\n${DEFAULT_EXPORT.replace('[orders, report]', '[orders, report, audit]')}`,
      ),
    );
    // Still the broken version's banner and graph, until the button is clicked.
    await page.waitForSelector('[data-testid="load-error"]');
    assert.equal(await page.locator('.react-flow__node-asset[data-id="reload_audit"]').count(), 0);
    await reloadButton().click();

    // A new generation remounts the page: the graph is fetched again with the new asset.
    await page.waitForSelector('[data-graph-ready="true"] .react-flow__node-asset[data-id="reload_audit"]', {
      timeout: RELOAD_MS,
    });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="load-error"]') === null,
      undefined,
      {
        timeout: RELOAD_MS,
      },
    );
    await page.screenshot({ path: path.join(SHOTS, 'reload-fixed.png') });

    await page.goto(`${url}#/assets`);
    await page.waitForSelector('tr[data-asset="reload_audit"]');
    const listed = await page.$$eval('tr[data-asset]', (rows) =>
      rows.map((r) => r.getAttribute('data-asset')),
    );
    assert.deepEqual([...listed].sort(), ['reload_audit', 'reload_orders', 'reload_report']);
    assert.equal(await page.locator('[data-testid="load-error"]').count(), 0);
    assert.deepEqual(pageErrors, []);
  });
});
