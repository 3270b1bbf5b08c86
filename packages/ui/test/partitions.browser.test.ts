/**
 * The partition strip of an asset page and the Backfills page, in Chromium against the real
 * server: statuses as stored by real runs, a backfill launched from the strip, its progress.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { materialize, Workspace } from '@dag/core';
import { startServer } from '@dag/server';
import type { Browser, Page } from 'playwright-core';
import { freshInstance, type TestInstance } from '../../core/test/support.ts';
import { buildUiInto } from './support/build-ui.ts';
import { launchChromium, newContext } from './support/chromium.ts';

const DEFS = path.join(import.meta.dirname, 'fixtures/partition-defs.ts');

describe('partitions in the web UI', { timeout: 300_000 }, () => {
  let t: TestInstance;
  let uiDir: string;
  let browser: Browser;
  let page: Page;
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    uiDir = await buildUiInto();
    t = await freshInstance();
    const workspace = await Workspace.load({ file: DEFS });
    const definitions = workspace.locations[0]!.definitions;
    for (const partition of ['2026-11-01', '2026-11-02', '2026-11-05']) {
      await materialize({ instance: t.instance, definitions, selection: 'ui_events', partition });
    }
    const running = await startServer({ workspace, instance: t.instance, host: '127.0.0.1', port: 0, uiDir });
    url = running.url.replace(/\/$/, '/');
    close = () => running.close();
    browser = await launchChromium();
    page = await (await newContext(browser, { viewport: { width: 1280, height: 900 } })).newPage();
  });
  after(async () => {
    await browser?.close();
    await close?.();
    await t?.cleanup();
    if (uiDir) await rm(uiDir, { recursive: true, force: true });
  });

  it('the asset page shows the status of every partition as a strip, and launches a backfill of a range', async () => {
    await page.goto(`${url}#/assets/ui_events`);
    await page.waitForSelector('[data-testid="partitions"] .partition-strip button');
    const segments = await page.$$eval('.partition-strip button', (els) =>
      els.map((e) => [e.getAttribute('data-status'), e.getAttribute('title')]),
    );
    assert.deepEqual(segments, [
      ['MATERIALIZED', '2026-11-01...2026-11-02: materialized (2)'],
      ['MISSING', '2026-11-03...2026-11-04: missing (2)'],
      ['FAILED', '2026-11-05: failed'],
      ['MISSING', '2026-11-06...2026-11-10: missing (5)'],
    ]);
    assert.equal(await page.textContent('[data-count="FAILED"]'), '1 failed');
    // Clicking the failed box selects its range; the backfill of it opens the Backfills page.
    await page.click('.partition-strip button[data-status="FAILED"]');
    await page.click('button:has-text("Backfill 2026-11-05...2026-11-05")');
    await page.waitForSelector('tr[data-backfill]');
    assert.match(page.url(), /#\/backfills\/[0-9a-f]{8}$/);
    const row = await page.textContent('tr[data-backfill]');
    assert.match(row ?? '', /REQUESTED/);
    assert.match(row ?? '', /1 \(2026-11-05\.\.\.2026-11-05\)/);
    assert.match((await page.textContent('[data-progress]')) ?? '', /0\/1 succeeded/);
    // The Backfills page lists it; cancel is offered while it is requested.
    await page.goto(`${url}#/backfills`);
    await page.click('tr[data-backfill] button:has-text("Cancel")');
    await page.waitForSelector('tr[data-backfill] td[data-status="CANCELING"]');
  });
});
