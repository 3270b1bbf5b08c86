import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { corruptPng, hugePngHeader, jpegBytes, truncatedPng } from './support/bad-images.ts';
import {
  type DsFixture,
  dsFixture,
  intOf,
  keysOf,
  logoPng,
  putLogo,
  SOURCE,
  stepOf,
  TARGET,
  tableOf,
} from './support/ds-fixture.ts';
import { COMPANY_DDL } from './support/replica-env.ts';

describe('ds_r2_download → ds_png2webp → ds_img_finalize with bad input files', () => {
  let f: DsFixture;
  const good = '로고 파일 #1.png';

  before(async () => {
    f = await dsFixture();
    const valid = await logoPng(1, 96);
    await putLogo(f.source, good, valid, { channelId: '9001', brand: '하늘 농원' });
    await putLogo(f.source, 'logos/aurora lab.png', await logoPng(2), {
      channelId: '9002',
      brand: '  Aurora   LAB ',
    });
    await putLogo(f.source, 'logos/corrupt.png', corruptPng(await logoPng(3, 128)), { channelId: '9003' });
    await putLogo(f.source, 'logos/truncated.png', truncatedPng(await logoPng(4, 128)), {
      channelId: '9004',
    });
    await putLogo(f.source, 'logos/photo.png', await jpegBytes(), { channelId: '9005' });
    await putLogo(f.source, 'logos/empty.png', Buffer.alloc(0), { channelId: '9006' });
    await putLogo(f.source, 'logos/bomb.png', hugePngHeader(), { channelId: '9007' });
    await f.source.put('notes/readme.txt', Buffer.from('not a logo'));
    await f.pool.query(COMPANY_DDL);
    await f.pool.query(
      `INSERT INTO company (name, naver_channel_id) VALUES ('Sky Farm', '9001'), ('aurora lab', NULL), ('Other', '1')`,
    );
  });

  after(async () => {
    await f.cleanup();
  });

  it('converts the good files, turns each bad one into a named failed item, and loses nothing else', async () => {
    const result = await f.run('ds_r2_download+');
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs in bucket'), 7);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 7);
    assert.equal(intOf(result, 'ds_png2webp', 'WebP files converted'), 2);
    const failed = new Map(
      tableOf(result, 'ds_png2webp', 'failed items (table)').map((r) => [r.file, String(r.error)]),
    );
    assert.equal(failed.size, 5);
    assert.match(failed.get('logos/empty.png') ?? '', /empty \(0 bytes\)/);
    assert.match(failed.get('logos/photo.png') ?? '', /not a PNG: the bytes are JPEG/);
    assert.match(failed.get('logos/bomb.png') ?? '', /too large: 20000 × 20000 = 400,000,000 pixels/);
    assert.match(failed.get('logos/corrupt.png') ?? '', /corrupt PNG, decoding failed/);
    assert.match(
      failed.get('logos/truncated.png') ?? '',
      /truncated PNG: the file \(\d+ bytes\) ends before/,
    );
    const preview = stepOf(result, 'ds_png2webp').metadata.preview;
    assert.equal(preview?.type, 'images');
    // Inline WebP thumbnails of the two good logos, named after their files.
    const images = preview?.type === 'images' ? preview.images : [];
    assert.equal(images.length, 2);
    for (const image of images) assert.match(image.src, /^data:image\/webp;base64,[A-Za-z0-9+/]+=*$/);

    // Finalize published both good logos and matched them: by channel id, and by normalised name.
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), 2);
    assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), 2);
    assert.equal(intOf(result, 'ds_img_finalize', 'matched by channel id'), 1);
    assert.equal(intOf(result, 'ds_img_finalize', 'matched by name'), 1);
    const companies = await f.pool.query<{ name: string; thumbnail: string | null }>(
      'SELECT name, thumbnail FROM company ORDER BY id',
    );
    const [sky, aurora, other] = companies.rows;
    const base = new URL(`file://${path.join(f.bucketsDir, TARGET)}/`).href;
    assert.equal(sky?.thumbnail, `${base}${encodeURIComponent(good)}`);
    assert.equal(aurora?.thumbnail, `${base}logos/aurora%20lab.png`);
    assert.equal(other?.thumbnail, null);

    assert.deepEqual(await keysOf(f.target), [
      'logos/aurora lab.png',
      'logos/aurora lab.webp',
      '로고 파일 #1.png',
      '로고 파일 #1.webp',
    ]);
    const png = await f.target.head(good);
    const webp = await f.target.head('로고 파일 #1.webp');
    assert.equal(png?.contentType, 'image/png');
    assert.equal(webp?.contentType, 'image/webp');
    assert.match(png?.cacheControl ?? '', /max-age/);
    assert.equal(decodeURIComponent(webp?.metadata['brand-name'] ?? ''), '하늘 농원');
    assert.equal((await sharp(await f.target.get('로고 파일 #1.webp')).metadata()).format, 'webp');

    // Final folder: both pairs; working folders: only the bad PNGs, no WebP, no temp files.
    const finalDir = path.join(f.dataDir, 'final');
    assert.ok((await stat(path.join(finalDir, good))).size > 0);
    assert.ok((await stat(path.join(finalDir, 'logos', 'aurora lab.webp'))).size > 0);
    assert.deepEqual((await readdir(path.join(f.dataDir, SOURCE, 'logos'))).sort(), [
      'bomb.png',
      'corrupt.png',
      'empty.png',
      'photo.png',
      'truncated.png',
    ]);
    assert.deepEqual(await readdir(path.join(f.dataDir, TARGET, 'logos')).catch(() => []), []);

    // DuckDB: one row per file, the errors per file.
    const rows = await f.history();
    const byFile = new Map(rows.map((r) => [r.file, r]));
    assert.equal(rows.length, 7);
    assert.equal(byFile.get(good)?.status, 'updated');
    assert.equal(byFile.get(good)?.brand, '하늘 농원');
    assert.equal(byFile.get(good)?.channel_id, '9001');
    assert.equal(byFile.get('logos/aurora lab.png')?.status, 'updated');
    for (const bad of ['bomb', 'corrupt', 'empty', 'photo', 'truncated']) {
      const row = byFile.get(`logos/${bad}.png`);
      assert.equal(row?.status, 'convert_failed', bad);
      assert.equal(row?.error, failed.get(`logos/${bad}.png`));
    }
  });

  it('re-runs idempotently: nothing re-downloaded, converted or rewritten, no new history rows', async () => {
    const before = await f.pool.query('SELECT id, thumbnail, updated_at FROM company ORDER BY id');
    const historyBefore = await f.history();
    const result = await f.run('ds_r2_download+');
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 0);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs unchanged (skipped)'), 7);
    assert.equal(intOf(result, 'ds_png2webp', 'WebP files converted'), 0);
    assert.equal(intOf(result, 'ds_png2webp', 'failed items'), 5);
    assert.equal(intOf(result, 'ds_img_finalize', 'files processed'), 0);
    assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), 0);
    const after = await f.pool.query('SELECT id, thumbnail, updated_at FROM company ORDER BY id');
    assert.deepEqual(after.rows, before.rows);
    assert.deepEqual(await f.history(), historyBefore);
  });
});
