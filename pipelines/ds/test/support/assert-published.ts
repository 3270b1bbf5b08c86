import assert from 'node:assert/strict';
import path from 'node:path';
import type { RunResult } from '@dag/core';
import type { NaverReplica } from '@dag/replica-naver-shopping-live';
import { type DsFixture, intOf, keysOf, TARGET } from './ds-fixture.ts';
import { COMPANY_DDL } from './replica-env.ts';

export type SeededCompany = { id: string; channel: string };

/**
 * Creates the `company` table and a company for three in four of the replica's brands with a
 * logo: by channel id, or by name only (spelled differently: case and spaces); every fourth
 * brand has none (its logo is published but unmatched). Plus a few companies no crawl matches.
 */
export async function seedCompanies(f: DsFixture, replica: NaverReplica): Promise<SeededCompany[]> {
  await f.pool.query(COMPANY_DDL);
  const seeded: SeededCompany[] = [];
  for (const [i, brand] of replica.brands.filter((b) => b.hasLogo).entries()) {
    if (i % 4 === 3) continue;
    const byChannel = i % 2 === 0;
    const name = byChannel ? brand.name : `  ${brand.name.toUpperCase().replace(/ /g, '  ')} `;
    const { rows } = await f.pool.query<{ id: string }>(
      'INSERT INTO company (name, naver_channel_id) VALUES ($1, $2) RETURNING id::text AS id',
      [name, byChannel ? String(brand.channelId) : null],
    );
    seeded.push({ id: rows[0]!.id, channel: String(brand.channelId) });
  }
  await f.pool.query(
    `INSERT INTO company (name, naver_channel_id) VALUES ('Nobody Co', '999999999'), ('없는 회사', NULL), ('Ghost Lab', NULL)`,
  );
  return seeded;
}

/**
 * What a crawl job (node or docker) must leave behind after `saved` logos were crawled:
 * every logo downloaded, converted and published (PNG + WebP), each seeded company whose
 * channel was crawled pointing at its logo and no other, and one history row per logo.
 * Returns the source bucket's keys.
 */
export async function assertPublishedAsCrawled(
  f: DsFixture,
  result: RunResult,
  seeded: readonly SeededCompany[],
  saved: number,
): Promise<string[]> {
  const sourceKeys = await keysOf(f.source);
  assert.equal(sourceKeys.length, saved);
  assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), saved);
  assert.equal(intOf(result, 'ds_png2webp', 'WebP files converted'), saved);
  assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), saved);
  const targetKeys = await keysOf(f.target);
  assert.deepEqual(
    targetKeys,
    [...sourceKeys, ...sourceKeys.map((k) => k.replace(/\.png$/, '.webp'))].sort(),
  );

  // Every seeded company whose channel was crawled points at its logo; the others stay empty.
  const crawled = new Set(sourceKeys.map((k) => k.replace(/\.png$/, '')));
  const { rows } = await f.pool.query<{ id: string; thumbnail: string | null }>(
    'SELECT id::text AS id, thumbnail FROM company',
  );
  const thumbnails = new Map(rows.map((r) => [r.id, r.thumbnail]));
  const base = new URL(`file://${path.join(f.bucketsDir, TARGET)}/`).href;
  let expectedUpdates = 0;
  for (const company of seeded) {
    if (crawled.has(company.channel)) {
      expectedUpdates += 1;
      assert.equal(thumbnails.get(company.id), `${base}${company.channel}.png`);
    } else assert.equal(thumbnails.get(company.id), null);
  }
  assert.ok(expectedUpdates >= 5, `only ${expectedUpdates} seeded companies were crawled`);
  assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), expectedUpdates);
  const strangers = await f.pool.query(
    `SELECT 1 FROM company WHERE name IN ('Nobody Co', '없는 회사', 'Ghost Lab') AND thumbnail IS NOT NULL`,
  );
  assert.equal(strangers.rowCount, 0);

  const history = await f.history();
  assert.equal(history.length, saved);
  assert.equal(history.filter((r) => r.status === 'updated').length, expectedUpdates);
  assert.equal(history.filter((r) => r.status === 'unmatched').length, saved - expectedUpdates);
  assert.ok(history.every((r) => r.run_id === result.runId));
  assert.equal(intOf(result, 'ds_img_finalize', 'failed items'), saved - expectedUpdates);
  return sourceKeys;
}
