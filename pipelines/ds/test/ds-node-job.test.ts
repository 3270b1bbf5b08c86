import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NaverReplica } from '@dag/replica-naver-shopping-live';
import { assertPublishedAsCrawled, type SeededCompany, seedCompanies } from './support/assert-published.ts';
import { type DsFixture, dsFixture, intOf, stepOf } from './support/ds-fixture.ts';
import { fastCrawlEnv, startReplica } from './support/replica-env.ts';

describe('ds_node_job end to end against the Naver replica (crawler as a real subprocess)', () => {
  let replica: NaverReplica;
  let f: DsFixture;
  let seeded: SeededCompany[] = [];

  before(async () => {
    replica = await startReplica(80, 11);
    f = await dsFixture(fastCrawlEnv(replica));
    seeded = await seedCompanies(f, replica);
  });

  after(async () => {
    await f?.cleanup();
    await replica?.close();
  });

  it('crawls, downloads, converts and publishes: buckets, company.thumbnail and DuckDB agree', async () => {
    const lines: string[] = [];
    const result = await f.job('ds_node_job', {
      onEvent: (e) => {
        if (e.type === 'LOG' && e.stepKey === 'ds_img_r2_node') lines.push(e.message);
      },
    });
    assert.equal(result.status, 'SUCCESS', `${result.error}\n${lines.slice(-20).join('\n')}`);
    assert.deepEqual(
      result.steps.map((s) => s.key),
      ['ds_img_r2_node', 'ds_r2_download', 'ds_png2webp', 'ds_img_finalize'],
    );
    const saved = intOf(result, 'ds_img_r2_node', 'PNGs saved');
    assert.ok(saved >= 10, `the crawl saved only ${saved} logos`);
    assert.ok(intOf(result, 'ds_img_r2_node', 'requests total') > 0);
    assert.equal(intOf(result, 'ds_img_r2_node', 'requests failed'), 0);
    assert.ok(
      lines.some((l) => l.startsWith('DS_SAVED ')),
      'the crawler log streams into the run',
    );
    const savedFiles = stepOf(result, 'ds_img_r2_node').metadata['saved files'];
    assert.equal(savedFiles?.type === 'table' ? savedFiles.rows.length : -1, saved);

    await assertPublishedAsCrawled(f, result, seeded, saved);
  });

  it('re-runs to the same state: crawl unchanged, nothing re-published, no new history rows', async () => {
    const companiesBefore = await f.pool.query('SELECT id, thumbnail, updated_at FROM company ORDER BY id');
    const historyBefore = await f.history();
    const result = await f.job('ds_node_job');
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(intOf(result, 'ds_img_r2_node', 'PNGs saved'), 0);
    assert.equal(intOf(result, 'ds_img_r2_node', 'logos unchanged'), historyBefore.length);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 0);
    assert.equal(intOf(result, 'ds_png2webp', 'WebP files converted'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), 0);
    assert.deepEqual(
      (await f.pool.query('SELECT id, thumbnail, updated_at FROM company ORDER BY id')).rows,
      companiesBefore.rows,
    );
    assert.deepEqual(await f.history(), historyBefore);
  });

  it('gives a company added later the logo published by an earlier run, without re-publishing', async () => {
    const unmatched = (await f.history()).find((r) => r.status === 'unmatched');
    assert.ok(unmatched, 'the crawl has logos no company matched');
    const { rows } = await f.pool.query<{ id: string }>(
      `INSERT INTO company (name, naver_channel_id) VALUES ('Late Arrival', $1) RETURNING id::text AS id`,
      [String(unmatched.channel_id)],
    );
    const result = await f.run('ds_img_finalize');
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), 1);
    assert.equal(intOf(result, 'ds_img_finalize', 'history rows repaired'), 1);
    const company = await f.pool.query('SELECT thumbnail FROM company WHERE id = $1', [rows[0]!.id]);
    assert.equal(company.rows[0].thumbnail, unmatched.png_url);
    const history = await f.history();
    const row = history.find((r) => r.file === unmatched.file);
    assert.equal(row?.status, 'updated');
    assert.equal(row?.company_id, rows[0]!.id);
    assert.equal(row?.run_id, result.runId);
    assert.equal(new Set(history.map((r) => r.file)).size, history.length, 'still one row per logo');
  });
});
