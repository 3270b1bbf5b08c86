import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { materialize } from '@dag/core';
import definitions from '../src/definitions.ts';
import { localPathForKey } from '../src/lib/local-path-for-key.ts';
import {
  type DsFixture,
  dsFixture,
  intOf,
  logoPng,
  putLogo,
  SOURCE,
  stepOf,
  tableOf,
} from './support/ds-fixture.ts';

describe('object keys that could escape the download folder', () => {
  it('are refused with a reason, before any file is touched', () => {
    const cases: [string, RegExp][] = [
      ['../escape.png', /"\.\." segment/],
      ['logos/../../escape.png', /"\.\." segment/],
      ['/etc/escape.png', /absolute/],
      ['..\\escape.png', /backslash/],
      ['C:/escape.png', /drive-letter/],
      ['logos/.hidden.png', /starts with "\."/],
    ];
    for (const [key, reason] of cases) {
      const result = localPathForKey('/data/ds-logos-src', key);
      assert.ok(result instanceof Error, key);
      assert.match(result.message, /object key/);
      assert.match(result.message, reason, key);
    }
    assert.equal(localPathForKey('/data/src', 'a b/로고.png'), '/data/src/a b/로고.png');
  });
});

describe('ds_r2_download on a local-directory bucket', () => {
  let f: DsFixture;

  before(async () => {
    f = await dsFixture();
    for (let i = 0; i < 20; i++) {
      await putLogo(f.source, `logos/${1000 + i}.png`, await logoPng(i), {
        channelId: String(1000 + i),
        brand: `Brand ${i}`,
      });
    }
    await putLogo(f.source, '공백 있는 이름 (1).png', await logoPng(77), {
      channelId: '77',
      brand: '공백 브랜드',
    });
    // A hidden file: the pipeline keeps its own state in hidden files, so such a key is a failed item.
    await writeFile(path.join(f.bucketsDir, SOURCE, '.hidden.png'), await logoPng(6));
    await f.source.put('logos/readme.txt', Buffer.from('ignored'));
  });

  after(async () => {
    await f?.cleanup();
  });

  it('downloads every PNG with progress, records failed keys, and keeps the crawler metadata in the manifest', async () => {
    const logs: string[] = [];
    const progress: number[] = [];
    const run = await materialize({
      instance: f.instance,
      definitions,
      selection: 'ds_r2_download',
      env: f.env,
      runConfig: { ops: { ds_r2_download: { config: { concurrency: 4 } } } },
      onEvent: (e) => {
        if (e.type === 'LOG') logs.push(e.message);
        if (e.type === 'STEP_PROGRESS') progress.push(Number((e.data as { done?: number }).done));
      },
    });
    assert.equal(run.status, 'SUCCESS', stepOf(run, 'ds_r2_download').error);
    assert.equal(intOf(run, 'ds_r2_download', 'PNGs in bucket'), 22);
    assert.equal(intOf(run, 'ds_r2_download', 'PNGs downloaded'), 21);
    assert.equal(intOf(run, 'ds_r2_download', 'failed items'), 1);
    const failed = tableOf(run, 'ds_r2_download', 'failed items (table)');
    assert.deepEqual(
      failed.map((r) => r.file),
      ['.hidden.png'],
    );
    assert.match(
      String(failed[0]?.error),
      /unsupported object key "\.hidden\.png": a segment starts with "\."/,
    );
    const local = stepOf(run, 'ds_r2_download').metadata['local path'];
    assert.deepEqual(local, { type: 'path', value: path.join(f.dataDir, SOURCE) });
    assert.ok(
      logs.some((l) => /^downloaded 21\/21 PNGs \(100%\), [\d.]+\/s, done in/.test(l)),
      logs.join('\n'),
    );
    assert.ok(progress.includes(21));
    assert.deepEqual((await readdir(path.join(f.dataDir, SOURCE))).sort(), [
      'logos',
      '공백 있는 이름 (1).png',
    ]);
    assert.equal((await readdir(path.join(f.dataDir, SOURCE, 'logos'))).length, 20);
    const manifest = JSON.parse(
      await readFile(path.join(f.dataDir, '.state', `download-${SOURCE}.json`), 'utf8'),
    );
    assert.deepEqual(manifest.objects['공백 있는 이름 (1).png'].brand, '공백 브랜드');
    assert.deepEqual(manifest.objects['logos/1003.png'].channelId, '1003');
    const history = await f.history();
    assert.deepEqual(
      history.map((r) => [r.file, r.status, r.error]),
      [['.hidden.png', 'download_failed', failed[0]?.error]],
    );
  });

  it('skips unchanged objects and downloads a changed one again', async () => {
    await putLogo(f.source, 'logos/1003.png', await logoPng(333), {
      channelId: '1003',
      brand: 'Brand 3 (new logo)',
    });
    const run = await f.run('ds_r2_download');
    assert.equal(run.status, 'SUCCESS', stepOf(run, 'ds_r2_download').error);
    assert.equal(intOf(run, 'ds_r2_download', 'PNGs downloaded'), 1);
    assert.equal(intOf(run, 'ds_r2_download', 'PNGs unchanged (skipped)'), 20);
    const manifest = JSON.parse(
      await readFile(path.join(f.dataDir, '.state', `download-${SOURCE}.json`), 'utf8'),
    );
    assert.equal(manifest.objects['logos/1003.png'].brand, 'Brand 3 (new logo)');
    assert.deepEqual(
      await readFile(path.join(f.dataDir, SOURCE, 'logos', '1003.png')),
      await f.source.get('logos/1003.png'),
    );
  });
});
