/**
 * The web UI end to end: the real `dag dev` server (@dag/server, in-process on a free loopback
 * port) with a fixture workspace (the DS pipeline against the Naver Shopping Live replica, and
 * test/fixtures/ui-defs.ts), the built UI, and Debian's Chromium driven by playwright-core.
 *
 *   node --import tsx --test packages/ui/test/ui.browser.test.ts
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium). Uses the test PostgreSQL server of
 * `npm test` (DAG_TEST_PG_ADMIN_URL) or starts an embedded one of its own. Screenshots of every
 * page go to test-output/ui/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildUiInto } from './support/build-ui.ts';
import { launchChromium, newContext } from './support/chromium.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
const SERVER_ENTRY = path.join(REPO_ROOT, 'packages/server/src/index.ts');
const SHOTS = path.join(REPO_ROOT, 'test-output/ui');
const UI_DEFS = path.join(import.meta.dirname, 'fixtures/ui-defs.ts');
const DS_DEFS = path.join(REPO_ROOT, 'pipelines/ds/src/definitions.ts');
/** The ui_vault resource's token: it must never appear in a page. */
const SECRET = 'ui-secret-7f3a9c1e5b2d4680';
const TERMINAL = ['SUCCESS', 'FAILURE', 'CANCELED'];

interface World {
  url: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  pageErrors: string[];
  cleanup: (() => Promise<void>)[];
}

let world: World | undefined;

function w(): World {
  if (!world) throw new Error('the test world was not set up (see the first failure above)');
  return world;
}

/** Opens a hash route and waits for the page to settle. */
async function visit(page: Page, hash: string): Promise<void> {
  await page.goto(`${w().url}${hash}`);
  await page.waitForLoadState('domcontentloaded');
}

/** A screenshot under test-output/ui/, after checking the page shows no secret. */
async function shot(page: Page, name: string): Promise<void> {
  const html = await page.content();
  assert.ok(!html.includes(SECRET), `page ${name} shows the secret value`);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: name !== 'graph' });
}

async function runStatus(page: Page): Promise<string> {
  return (await page.locator('.page-header .badge').first().textContent()) ?? '';
}

async function waitForRunEnd(page: Page, timeoutMs: number): Promise<string> {
  await page.waitForFunction(
    (terminal) => terminal.includes(document.querySelector('.page-header .badge')?.textContent ?? ''),
    TERMINAL,
    { timeout: timeoutMs, polling: 250 },
  );
  return await runStatus(page);
}

function runIdOf(page: Page): string {
  const m = /#\/runs\/([^/?]+)/.exec(page.url());
  assert.ok(m, `not on a run page: ${page.url()}`);
  return decodeURIComponent(m[1]!);
}

describe('web UI against the dag dev server', { timeout: 600_000 }, () => {
  before(async () => {
    if (!existsSync(SERVER_ENTRY)) {
      throw new Error(
        `@dag/server is missing (${path.relative(REPO_ROOT, SERVER_ENTRY)} does not exist): this suite drives the UI against the real API server and cannot run without it.`,
      );
    }
    const cleanup: (() => Promise<void>)[] = [];
    try {
      await mkdir(SHOTS, { recursive: true });
      // The UI as `dag dev` serves it (built into a folder of this test's own).
      const uiDir = await buildUiInto();
      cleanup.push(() => rm(uiDir, { recursive: true, force: true }));

      const core = await import('@dag/core');
      // PostgreSQL: the one `npm test` started, or an embedded one of our own.
      if (!process.env.DAG_TEST_PG_ADMIN_URL) {
        const pgHome = await mkdtemp(path.join(tmpdir(), 'dag-ui-pg-'));
        await chmod(pgHome, 0o755);
        const pgServer = await core.ensureEmbeddedPostgres(pgHome);
        process.env.DAG_TEST_PG_ADMIN_URL = pgServer.url;
        cleanup.push(async () => {
          await core.stopEmbeddedPostgres(pgHome);
          await rm(pgHome, { recursive: true, force: true });
          delete process.env.DAG_TEST_PG_ADMIN_URL;
        });
      }
      const support = await import('../../core/test/support.ts');
      const test = await support.freshInstance();
      cleanup.push(test.cleanup);
      const dsDb = await support.freshDatabase();
      cleanup.push(dsDb.drop);

      // The Naver replica and companies for some of its brands.
      const { startNaverReplica } = await import('@dag/replica-naver-shopping-live');
      const replica = await startNaverReplica({ channelCount: 30, seed: 7, host: '127.0.0.1' });
      cleanup.push(() => replica.close());
      const pg = (await import('pg')).default;
      const pool = new pg.Pool({ connectionString: dsDb.url, max: 1 });
      await pool.query(`CREATE TABLE IF NOT EXISTS company (id bigserial PRIMARY KEY, name text NOT NULL,
        naver_channel_id text, thumbnail text, updated_at timestamptz NOT NULL DEFAULT now())`);
      for (const brand of replica.brands.filter((b) => b.hasLogo).slice(0, 12)) {
        await pool.query('INSERT INTO company (name, naver_channel_id) VALUES ($1, $2)', [
          brand.name,
          String(brand.channelId),
        ]);
      }
      await pool.end();

      // A workspace folder: workspace.yaml, the DS data, buckets and DuckDB (served by /api/files).
      const root = await mkdtemp(path.join(tmpdir(), 'dag-ui-e2e-'));
      await chmod(root, 0o755);
      cleanup.push(() => rm(root, { recursive: true, force: true }));
      const workspaceFile = path.join(root, 'workspace.yaml');
      await writeFile(
        workspaceFile,
        `load_from:\n  - name: ds\n    file: ${JSON.stringify(DS_DEFS)}\n  - name: ui\n    file: ${JSON.stringify(UI_DEFS)}\n`,
      );
      const env: Record<string, string> = {
        DS_NAVER_API_URL: replica.url,
        DS_CATEGORIES: 'dc:1,dc:2',
        DS_MAX_PAGES: '2',
        DS_REQUEST_DELAY_MS: '0',
        DS_IMAGE_DELAY_MS: '0',
        DS_MAX_CONCURRENCY: '4',
        DS_MAX_REQUESTS_PER_MINUTE: '100000',
        DS_BACKOFF_BASE_MS: '50',
        DS_DATA_DIR: path.join(root, 'data'),
        DS_LOCAL_BUCKETS_DIR: path.join(root, 'buckets'),
        DS_DUCKDB_PATH: path.join(root, 'ds.duckdb'),
        DS_POSTGRES_URL: dsDb.url,
        UI_TEST_VAULT_TOKEN: SECRET,
      };
      // The server reads secrets from its own environment (to redact them), runs get `env`.
      const saved = { ...process.env };
      Object.assign(process.env, env);
      cleanup.push(async () => {
        for (const key of Object.keys(env)) {
          if (saved[key] === undefined) delete process.env[key];
          else process.env[key] = saved[key];
        }
      });

      const { Workspace } = core;
      const workspace = await Workspace.load({ workspaceFile });
      const server = await import('@dag/server');
      const running = await server.startServer({
        workspace,
        instance: test.instance,
        host: '127.0.0.1',
        port: 0,
        uiDir,
        streamPollMs: 100,
        launcherOptions: { env: { ...process.env, ...env }, graceMs: 3000, cwd: root },
      });
      cleanup.push(() => running.close());

      const browser = await launchChromium();
      cleanup.push(() => browser.close());
      const context = await newContext(browser, { viewport: { width: 1360, height: 900 } });
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      world = { url: running.url.replace(/\/$/, '/'), browser, context, page, pageErrors, cleanup };
    } catch (error) {
      for (const fn of cleanup.reverse()) await fn().catch(() => {});
      throw error;
    }
  });

  after(async () => {
    if (!world) return;
    for (const fn of world.cleanup.reverse()) {
      await fn().catch((e: unknown) => console.error('cleanup:', e));
    }
  });

  it('shows the asset catalog, grouped and searchable', async () => {
    const { page } = w();
    await visit(page, '#/assets');
    await page.waitForSelector('tr[data-asset="ds_png2webp"]');
    await page.waitForSelector('tr[data-asset="ui_metadata_showcase"]');
    assert.ok(await page.locator('.catalog-group summary', { hasText: 'DS' }).count());
    await page.fill('input[type="search"]', '브랜드');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-asset]').length === 1);
    assert.equal(await page.locator('tr[data-asset="ui_metadata_showcase"]').count(), 1);
    await page.fill('input[type="search"]', '');
    await shot(page, 'catalog');
  });

  it('draws the lineage graph with group boxes, opens an asset on click, and shows selection errors inline', async () => {
    const { page } = w();
    await visit(page, '#/graph');
    await page.waitForSelector('[data-graph-ready="true"] .react-flow__node-asset');
    assert.ok((await page.locator('.react-flow__node-groupBox').count()) >= 2, 'group boxes are drawn');
    assert.ok((await page.locator('.edge-layer .graph-edge').count()) >= 4, 'edges are drawn');
    await page.click('.react-flow__node-asset[data-id="ds_r2_download"]');
    await page.waitForSelector('[data-side-key="ds_r2_download"]');
    // The clicked asset's edges (its upstream and downstream) are highlighted, the others not.
    const highlighted = await page.locator('.edge-layer .graph-edge.hl').count();
    assert.ok(highlighted >= 2, `highlighted edges: ${highlighted}`);
    assert.ok((await page.locator('.edge-layer .graph-edge:not(.hl)').count()) >= 2);
    await shot(page, 'graph');

    await page.fill('input[aria-label="Asset selection"]', 'group:DS and');
    await page.click('button[type="submit"]');
    const error = page.locator('.error-box pre');
    await error.waitFor();
    const message = (await error.textContent()) ?? '';
    assert.match(message, /position/);
    assert.match(message, /\n\s*\^/, 'the caret line is kept');
    await shot(page, 'graph-selection-error');

    await page.fill('input[aria-label="Asset selection"]', 'ds_img_r2_node+');
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node-asset').length === 4);
  });

  it('validates the launch form inline, then launches ds_node_job', async () => {
    const { page } = w();
    await visit(page, '#/launch?job=ds_node_job&location=ds');
    await page.waitForSelector('[data-field="ops.ds_png2webp.config.quality"]');
    const quality = page.locator('[data-field="ops.ds_png2webp.config.quality"] input');
    assert.equal(await quality.getAttribute('value'), '80', 'defaults come from the schema');
    await quality.fill('not a number');
    await page.locator('[data-field="ops.ds_png2webp.config.quality"] .field-error').waitFor();

    // Valid YAML the server refuses: its message appears on the page.
    await page.click('text=Reset to defaults');
    await page.fill('[data-testid="run-config"]', 'ops:\n  not_a_step:\n    config: {}\n');
    await page.click('[data-testid="launch"]');
    await page.locator('.error-box', { hasText: 'not_a_step' }).waitFor();
    await shot(page, 'launch-error');

    await page.click('text=Reset to defaults');
    await page.click('[data-testid="launch"]');
    await page.waitForURL(/#\/runs\/[^/]+$/);
  });

  it('streams the run: log lines arrive before it ends, then it succeeds', async () => {
    const { page } = w();
    // Log lines on screen while the run is still going (the SSE stream is open).
    const live = await page.waitForFunction(
      (terminal) => {
        const logs = document.querySelectorAll('.log-row[data-type="LOG"]').length;
        const status = document.querySelector('.page-header .badge')?.textContent ?? '';
        const phase = document.querySelector('[data-testid="stream-phase"]')?.textContent ?? '';
        if (terminal.includes(status)) return { logs, status, phase, tooLate: true };
        return logs >= 3 && phase.includes('live') ? { logs, status, phase, tooLate: false } : false;
      },
      TERMINAL,
      { timeout: 120_000, polling: 100 },
    );
    const seen = (await live.jsonValue()) as {
      logs: number;
      status: string;
      phase: string;
      tooLate: boolean;
    };
    assert.equal(seen.tooLate, false, `the run ended (${seen.status}) before log lines were seen live`);
    await shot(page, 'run-live');
    const status = await waitForRunEnd(page, 240_000);
    if (status !== 'SUCCESS') {
      await shot(page, 'run-failed');
      const error = await page.locator('.error-box pre').allTextContents();
      assert.fail(`ds_node_job ended ${status}: ${error.join('\n')}`);
    }
    // The badge follows the run record; the timeline follows the event log, which may still be
    // arriving. Read the timeline once the log is complete and no step is left open.
    const steps = await (
      await page.waitForFunction(
        () => {
          if ((document.querySelector('[data-testid="stream-phase"]')?.textContent ?? '') !== '')
            return false;
          const rows = Array.from(document.querySelectorAll<HTMLElement>('.timeline-row'));
          if (rows.some((r) => r.dataset.status === 'running' || r.dataset.status === 'pending'))
            return false;
          return rows.map((r) => `${r.dataset.step}:${r.dataset.status}`);
        },
        undefined,
        { timeout: 60_000, polling: 100 },
      )
    ).jsonValue();
    assert.deepEqual(steps, [
      'ds_img_r2_node:success',
      'ds_r2_download:success',
      'ds_png2webp:success',
      'ds_img_finalize:success',
    ]);
    await shot(page, 'run-success');
    await page.click('button[role="tab"]:has-text("Raw stdout/stderr")');
    await page.locator('[data-testid="raw-logs"]', { hasText: '[dag dev]' }).waitFor();
    await shot(page, 'run-raw-logs');
  });

  it('lists runs with filters', async () => {
    const { page } = w();
    await visit(page, '#/runs?status=SUCCESS');
    await page.waitForSelector('tr[data-run]');
    assert.ok(await page.locator('tr[data-run]', { hasText: 'ds_node_job' }).count());
    await shot(page, 'runs');
  });

  it('shows logo thumbnails on the DS assets', async () => {
    const { page } = w();
    await visit(page, '#/assets/ds_png2webp?location=ds');
    await page.waitForSelector('.panel .thumb img');
    // Inline thumbnails: they load even though ds_img_finalize moved the files since.
    await page.waitForFunction(
      () => {
        const images = Array.from(document.querySelectorAll<HTMLImageElement>('.thumb img'));
        return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
      },
      undefined,
      { timeout: 15_000 },
    );
    await shot(page, 'asset-ds_png2webp');

    await visit(page, '#/assets/ds_img_finalize?location=ds');
    await page.waitForSelector('.panel .thumb img');
    // The published logos load (served by /api/files from the workspace folder).
    await page.waitForFunction(
      () => {
        const images = Array.from(document.querySelectorAll<HTMLImageElement>('.thumb img'));
        return images.length > 0 && images.every((i) => i.complete) && images.some((i) => i.naturalWidth > 0);
      },
      undefined,
      { timeout: 15_000 },
    );
    const loaded = await page
      .locator('.thumb img')
      .evaluateAll((images) => images.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length);
    assert.ok(loaded >= 1, 'logo thumbnails load');
    await shot(page, 'asset-ds_img_finalize');
  });

  it('materializes selected assets from the graph, renders every metadata type safely, and re-executes', async () => {
    const { page } = w();
    await visit(page, '#/graph?selection=group:showcase');
    await page.waitForSelector('.react-flow__node-asset[data-id="ui_metadata_showcase"]');
    await page.click('.react-flow__node-asset[data-id="ui_metadata_showcase"]');
    await page.click('[data-testid="materialize-selected"]');
    await page.waitForURL(/#\/runs\/[^/]+$/);
    const runId = runIdOf(page);
    assert.equal(await waitForRunEnd(page, 120_000), 'SUCCESS');

    await visit(page, '#/assets/ui_metadata_showcase?location=ui');
    await page.waitForSelector('[data-md-type="table"] table');
    const text = (await page.locator('.asset-grid').textContent()) ?? '';
    for (const expected of [
      '1,234,567',
      '무신사 스탠다드',
      '요약 Summary',
      '1m24s',
      '올리브영',
      '"brand": "무신사"',
    ]) {
      assert.ok(text.includes(expected), `metadata shows ${expected}`);
    }
    assert.equal(await page.locator('[data-md-type="markdown"] table').count(), 1, 'markdown tables render');
    assert.equal(await page.locator('a[href^="javascript"]').count(), 0, 'no javascript: link');
    assert.equal(await page.locator('[data-md-type="markdown"] script').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned), undefined);
    await page.waitForFunction(() => {
      const images = Array.from(document.querySelectorAll<HTMLImageElement>('[data-md-type="images"] img'));
      return images.length === 2 && images.every((i) => i.complete && i.naturalWidth > 0);
    });
    await page.locator('text=showcase_is_perfect').first().waitFor();
    await shot(page, 'asset-showcase');

    await visit(page, `#/runs/${encodeURIComponent(runId)}`);
    await page.click('text=Re-execute all');
    await page.waitForURL((u) => /#\/runs\//.test(u.hash) && !u.hash.includes(runId));
    assert.equal(await waitForRunEnd(page, 120_000), 'SUCCESS');
    assert.ok(await page.locator('text=Re-execution of').count());
  });

  it('launches a job with config typed into the form, and terminates it', async () => {
    const { page } = w();
    await visit(page, '#/launch?job=ui_job&location=ui');
    await page.waitForSelector('[data-field="ops.ui_slow_logger.config.lines"]');
    await page.fill('[data-field="ops.ui_slow_logger.config.lines"] input', '400');
    await page.fill('[data-field="ops.ui_slow_logger.config.greeting"] input', '반갑습니다');
    await page.selectOption('[data-field="ops.ui_slow_logger.config.mode"] select', { label: 'fast' });
    const raw = await page.locator('[data-testid="run-config"]').inputValue();
    assert.match(raw, /lines: 400/);
    assert.match(raw, /greeting: 반갑습니다/);
    await shot(page, 'launch');
    await page.click('[data-testid="launch"]');
    await page.waitForURL(/#\/runs\/[^/]+$/);
    await page.locator('.log-row', { hasText: '반갑습니다 line 3 of 400' }).waitFor({ timeout: 60_000 });
    await page.click('button:has-text("Terminate")');
    assert.equal(await waitForRunEnd(page, 60_000), 'CANCELED');
    await shot(page, 'run-canceled');
  });

  it('shows schedules, sensors and the instance without secrets', async () => {
    const { page } = w();
    await visit(page, '#/schedules');
    await page.locator('td', { hasText: 'ui_nightly' }).first().waitFor();
    assert.ok(await page.locator('text=Asia/Seoul').count());
    await shot(page, 'schedules');
    await visit(page, '#/sensors');
    await page.locator('td', { hasText: 'ui_sensor' }).first().waitFor();
    await shot(page, 'sensors');
    await visit(page, '#/instance');
    await page.locator('td', { hasText: 'ui_vault' }).first().waitFor();
    const tokenRow = page.locator('tr', { hasText: 'UI_TEST_VAULT_TOKEN' });
    assert.match((await tokenRow.textContent()) ?? '', /\*\*\*/);
    await shot(page, 'instance');
  });

  it('works at a narrow width with a collapsible menu', async () => {
    const { browser } = w();
    const context = await newContext(browser, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    try {
      const page = await context.newPage();
      await visit(page, '#/assets');
      await page.waitForSelector('tr[data-asset="ds_png2webp"]');
      assert.equal(await page.locator('#main-nav').isVisible(), false, 'the menu starts closed');
      await shot(page, 'narrow-catalog');
      await page.click('button[aria-label="Menu"]');
      await page.locator('#main-nav').waitFor({ state: 'visible' });
      await shot(page, 'narrow-menu');
      await page.click('#main-nav a:has-text("Runs")');
      await page.waitForSelector('tr[data-run]');
      assert.equal(await page.locator('#main-nav').isVisible(), false, 'the menu closes on navigation');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `no horizontal overflow (${overflow}px)`);
      await shot(page, 'narrow-runs');
    } finally {
      await context.close();
    }
  });

  it('raised no page errors', () => {
    assert.deepEqual(w().pageErrors, []);
  });
});
