import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore, type ObjectStore } from '@dag/object-store';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY_ID,
  startS3rver,
} from '../../../packages/object-store/test/start-s3rver.ts';
import { type DsFixture, dsFixture, intOf, keysOf, logoPng, putLogo, stepOf } from './support/ds-fixture.ts';
import { COMPANY_DDL } from './support/replica-env.ts';

const SRC = 'ds-src-cv';
const TGT = 'ds-tgt-cv';
const TGT2 = 'ds-tgt-cv-new';
const LOGOS = 6;
const keyOf = (i: number) => `logos/${500 + i}.png`;
const webpOf = (key: string) => key.replace(/\.png$/, '.webp');
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

/**
 * The destination is the truth: whatever is missing or different in the target bucket,
 * company.thumbnail or ds_logo_updates is redone by the next run, from the local copies (or the
 * source bucket when those are gone too), and a run over an unchanged destination does nothing.
 */
describe('every run converges on the destination (s3rver on loopback)', () => {
  let s3: RunningS3rver;
  let f: DsFixture;
  let companyIds: string[] = [];
  let newTarget: ObjectStore;

  const run = async (envOverrides?: Record<string, string>) => {
    const logs: string[] = [];
    const result = await f.run(
      'ds_r2_download+',
      undefined,
      { onEvent: (e) => e.type === 'LOG' && e.stepKey === 'ds_img_finalize' && logs.push(e.message) },
      envOverrides,
    );
    assert.equal(result.status, 'SUCCESS', result.error);
    return { result, logs };
  };

  /** What the target bucket must hold: every logo's PNG (the source's bytes) and its WebP (final/'s bytes). */
  const assertTargetComplete = async (target: ObjectStore) => {
    const expected: string[] = [];
    for (let i = 0; i < LOGOS; i++) expected.push(keyOf(i), webpOf(keyOf(i)));
    assert.deepEqual(await keysOf(target), expected.sort());
    for (let i = 0; i < LOGOS; i++) {
      const key = keyOf(i);
      assert.equal((await target.head(key))?.etag, (await f.source.head(key))?.etag, key);
      const finalWebp = await readFile(path.join(f.dataDir, 'final', ...webpOf(key).split('/')));
      assert.equal((await target.head(webpOf(key)))?.etag, md5(finalWebp), webpOf(key));
    }
  };

  /** Every company thumbnail is the URL of an object that exists in `bucket`. */
  const assertThumbnailsExist = async (bucket: string, target: ObjectStore) => {
    const base = `${s3.endpoint}/${bucket}/`;
    const { rows } = await f.pool.query<{ id: string; thumbnail: string | null }>(
      'SELECT id::text AS id, thumbnail FROM company ORDER BY id',
    );
    assert.deepEqual(
      rows.map((r) => r.id),
      companyIds,
    );
    for (const row of rows) {
      const url = row.thumbnail ?? '';
      assert.ok(url.startsWith(base), `company ${row.id}: ${url} is not in ${bucket}`);
      const key = url.slice(base.length).split('/').map(decodeURIComponent).join('/');
      assert.ok(await target.head(key), `company ${row.id} points at ${row.thumbnail}, which does not exist`);
    }
  };

  const deleteHistoryRow = async (file: string) => {
    const instance = await DuckDBInstance.create(f.duckdbPath);
    const connection = await instance.connect();
    try {
      await connection.run(`DELETE FROM ds_logo_updates WHERE file = '${file}'`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  };

  before(async () => {
    s3 = await startS3rver([SRC, TGT, TGT2]);
    newTarget = createObjectStore({
      bucket: TGT2,
      endpoint: s3.endpoint,
      accessKeyId: S3RVER_ACCESS_KEY_ID,
      secretAccessKey: 'S3RVER',
    });
    // No DS_PUBLIC_URL: the public URLs name the bucket, so a new target bucket means new URLs.
    f = await dsFixture({
      DS_R2_ENDPOINT: s3.endpoint,
      DS_R2_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
      DS_R2_SECRET_ACCESS_KEY: 'S3RVER',
      DS_R2_SOURCE_BUCKET: SRC,
      DS_R2_TARGET_BUCKET: TGT,
    });
    await f.pool.query(COMPANY_DDL);
    for (let i = 0; i < LOGOS; i++) {
      const channelId = String(500 + i);
      await putLogo(f.source, keyOf(i), await logoPng(i), { channelId, brand: `Brand ${i}` });
      const { rows } = await f.pool.query<{ id: string }>(
        'INSERT INTO company (name, naver_channel_id) VALUES ($1, $2) RETURNING id::text AS id',
        [`Brand ${i}`, channelId],
      );
      companyIds.push(rows[0]!.id);
    }
    companyIds = companyIds.sort((a, b) => Number(a) - Number(b));
    const { result } = await run();
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), LOGOS);
    assert.equal(intOf(result, 'ds_img_finalize', 'objects republished'), 0);
    await assertTargetComplete(f.target);
  });

  after(async () => {
    await f?.cleanup();
    await s3?.close();
  });

  it('after the target bucket is cleared, the next run publishes every PNG and WebP again', async () => {
    const cleared = await f.run('ds_r2_clear_tgt', {
      ops: { ds_r2_clear_tgt: { config: { confirm: TGT } } },
    });
    assert.equal(cleared.status, 'SUCCESS', cleared.error);
    assert.deepEqual(await keysOf(f.target), []);

    const { result } = await run();
    // Nothing new in the source: nothing downloaded or converted, every object uploaded again from final/.
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 0);
    assert.equal(intOf(result, 'ds_png2webp', 'WebP files converted'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'objects republished'), 2 * LOGOS);
    assert.equal(intOf(result, 'ds_img_finalize', 'failed items'), 0);
    await assertTargetComplete(f.target);
    await assertThumbnailsExist(TGT, f.target);
    const png = await f.target.head(keyOf(0));
    assert.equal(png?.contentType, 'image/png');
    assert.equal(png?.metadata['channel-id'], '500');
    assert.equal((await f.target.head(webpOf(keyOf(0))))?.contentType, 'image/webp');
  });

  it('re-publishes exactly the deleted and the overwritten object, repairs a thumbnail and a history gap', async () => {
    const deleted = keyOf(1);
    const overwritten = webpOf(keyOf(2));
    await f.target.deleteMany([deleted]);
    await f.target.put(overwritten, Buffer.from('not the WebP that was published'), {
      contentType: 'image/webp',
    });
    await f.pool.query(
      `UPDATE company SET thumbnail = 'https://elsewhere.example/broken.png' WHERE id = $1`,
      [companyIds[3]],
    );
    const gap = keyOf(4);
    await deleteHistoryRow(gap);
    const historyBefore = await f.history();
    assert.equal(historyBefore.length, LOGOS - 1);

    const { result } = await run();
    assert.equal(intOf(result, 'ds_img_finalize', 'objects republished'), 2);
    assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), 1);
    assert.equal(intOf(result, 'ds_img_finalize', 'history rows repaired'), 1);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 0);
    await assertTargetComplete(f.target);
    await assertThumbnailsExist(TGT, f.target);
    const company = await f.pool.query('SELECT thumbnail FROM company WHERE id = $1', [companyIds[3]]);
    assert.equal(company.rows[0].thumbnail, `${s3.endpoint}/${TGT}/${keyOf(3)}`);

    // The history again holds one row per published logo; only the missing one was written.
    const history = await f.history();
    assert.equal(history.length, LOGOS);
    const repairedRow = history.find((r) => r.file === gap);
    assert.equal(repairedRow?.run_id, result.runId);
    assert.equal(repairedRow?.status, 'updated');
    assert.equal(repairedRow?.png_md5, (await f.source.head(gap))?.etag);
    assert.equal(repairedRow?.png_url, `${s3.endpoint}/${TGT}/${gap}`);
    assert.equal(repairedRow?.company_id, companyIds[4]);
    assert.deepEqual(
      history.filter((r) => r.file !== gap),
      historyBefore,
    );
  });

  it('a re-run with nothing changed publishes nothing, changes no row, and says so', async () => {
    const companies = async () =>
      (await f.pool.query('SELECT id, thumbnail, updated_at FROM company ORDER BY id')).rows;
    const companiesBefore = await companies();
    const historyBefore = await f.history();
    const { result, logs } = await run();
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 0);
    assert.equal(intOf(result, 'ds_png2webp', 'WebP files converted'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'objects republished'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'target objects checked'), 2 * LOGOS);
    assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'history rows repaired'), 0);
    assert.ok(
      logs.some((line) => /^Nothing to publish: .* already hold all 6 published logo\(s\)\.$/.test(line)),
      logs.join('\n'),
    );
    assert.deepEqual(await companies(), companiesBefore);
    assert.deepEqual(await f.history(), historyBefore);
  });

  it('downloads again a PNG deleted locally, and replaces a local PNG whose bytes differ from the source', async () => {
    const gone = keyOf(0);
    const changed = keyOf(5);
    const finalOf = (key: string) => path.join(f.dataDir, 'final', ...key.split('/'));
    await rm(finalOf(gone));
    // Other bytes of the same length: only the content tells them apart.
    const original = await readFile(finalOf(changed));
    const tampered = Buffer.from(original);
    tampered[tampered.length - 20] = (tampered[tampered.length - 20]! + 1) % 256;
    await writeFile(finalOf(changed), tampered);

    const { result } = await run();
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 2);
    assert.equal(intOf(result, 'ds_png2webp', 'WebP files converted'), 2);
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), 2);
    for (const key of [gone, changed]) {
      assert.deepEqual(await readFile(finalOf(key)), await f.source.get(key), key);
    }
    assert.equal((await stat(finalOf(changed))).size, original.length);
    await assertTargetComplete(f.target);
    await assertThumbnailsExist(TGT, f.target);
  });

  it('a new, empty target bucket gets everything, and thumbnails and history move to its URLs', async () => {
    assert.deepEqual(await keysOf(newTarget), []);
    const { result } = await run({ DS_R2_TARGET_BUCKET: TGT2 });
    assert.equal(intOf(result, 'ds_img_finalize', 'objects republished'), 2 * LOGOS);
    assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), LOGOS);
    assert.equal(intOf(result, 'ds_img_finalize', 'history rows repaired'), LOGOS);
    await assertTargetComplete(newTarget);
    await assertThumbnailsExist(TGT2, newTarget);
    const history = await f.history();
    const current = history.filter((r) => r.run_id === result.runId);
    assert.equal(current.length, LOGOS);
    assert.ok(current.every((r) => String(r.png_url).startsWith(`${s3.endpoint}/${TGT2}/`)));
  });

  it('a logo that cannot be published again is no one’s thumbnail', async () => {
    // Its object in the target, its WebP in final/ and its source object are all gone: nothing
    // to publish it from.
    const key = keyOf(2);
    await newTarget.deleteMany([key]);
    await f.source.deleteMany([key]);
    await rm(path.join(f.dataDir, 'final', ...webpOf(key).split('/')));
    const result = await f.run('ds_r2_download+', undefined, undefined, { DS_R2_TARGET_BUCKET: TGT2 });
    assert.equal(result.status, 'SUCCESS', result.error);
    const failed = stepOf(result, 'ds_img_finalize').metadata['failed items (table)'];
    assert.ok(
      failed?.type === 'table' && failed.rows.some((row) => row.includes(key)),
      JSON.stringify(failed),
    );
    const company = await f.pool.query('SELECT thumbnail FROM company WHERE id = $1', [companyIds[2]]);
    assert.equal(company.rows[0].thumbnail, null);
    const others = await f.pool.query(
      'SELECT count(*)::int AS n FROM company WHERE thumbnail IS NOT NULL AND id <> $1',
      [companyIds[2]],
    );
    assert.equal(others.rows[0].n, LOGOS - 1);
  });
});
