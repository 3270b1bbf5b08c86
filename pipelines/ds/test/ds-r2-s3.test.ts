import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CheckContext, describeError, materialize } from '@dag/core';
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY_ID,
  startS3rver,
} from '../../../packages/object-store/test/start-s3rver.ts';
import { dsR2SrcCheck, dsR2TgtCheck } from '../src/checks/ds-r2-bucket-check.ts';
import definitions from '../src/definitions.ts';
import type { DsBucket } from '../src/resources/ds-r2-bucket.ts';
import { dsR2Source } from '../src/resources/ds-r2-source.ts';
import { dsR2Target } from '../src/resources/ds-r2-target.ts';
import {
  type DsFixture,
  dsFixture,
  intOf,
  keysOf,
  logoPng,
  putLogo,
  stepOf,
  tableOf,
} from './support/ds-fixture.ts';
import { startHostileListingProxy } from './support/hostile-listing-proxy.ts';

const SECRET = 'ds-test-secret-never-printed-4b1d';
const HOSTILE = ['../escape.png', 'logos/../../escape.png', '/etc/escape.png'];

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

async function bucketFrom(env: Record<string, string>, which: 'source' | 'target'): Promise<DsBucket> {
  const def = which === 'source' ? dsR2Source : dsR2Target;
  return await def.create(def.resolveConfig({}, env), { home: '/nonexistent', runId: 'test' });
}

async function runCheck(check: typeof dsR2SrcCheck, bucket: DsBucket) {
  return await check.fn({ resources: { bucket } } as unknown as CheckContext<Record<string, unknown>>);
}

describe('DS assets against an S3-protocol server (s3rver on loopback)', () => {
  let s3: RunningS3rver;
  let f: DsFixture;
  let env: Record<string, string>;
  let proxy: { endpoint: string; close(): Promise<void> };

  before(async () => {
    s3 = await startS3rver(['ds-src-s3', 'ds-tgt-s3']);
    env = {
      DS_R2_ENDPOINT: s3.endpoint,
      DS_R2_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
      DS_R2_SECRET_ACCESS_KEY: SECRET,
      DS_R2_SOURCE_BUCKET: 'ds-src-s3',
      DS_R2_TARGET_BUCKET: 'ds-tgt-s3',
      DS_PUBLIC_URL: 'https://img.example.com/logos/',
    };
    f = await dsFixture(env);
    proxy = await startHostileListingProxy(s3.endpoint, 'ds-src-s3', HOSTILE);
  });

  after(async () => {
    await proxy?.close();
    await f?.cleanup();
    await s3?.close();
  });

  it('resources: S3 mode, public URLs from DS_PUBLIC_URL, the crawler gets the same bucket, secrets hidden', async () => {
    const target = await bucketFrom(f.env, 'target');
    assert.equal(target.mode, 's3');
    assert.equal(target.localDir, undefined);
    assert.equal(
      target.publicUrl('a b/로고.png'),
      'https://img.example.com/logos/a%20b/%EB%A1%9C%EA%B3%A0.png',
    );
    const source = await bucketFrom(f.env, 'source');
    assert.deepEqual(source.crawlerEnv(), {
      DS_R2_SOURCE_BUCKET: 'ds-src-s3',
      DS_R2_ENDPOINT: s3.endpoint,
      DS_R2_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
      DS_R2_SECRET_ACCESS_KEY: SECRET,
    });
    assert.ok(!source.location.includes(SECRET));
    const described = JSON.stringify(dsR2Source.describe(f.env));
    assert.ok(!described.includes(SECRET), described);
    assert.match(described, /"secret":true/);
  });

  it('downloads from S3, converts, and publishes to S3 with public URLs, matching by name without a channel column', async () => {
    for (let i = 0; i < 5; i++)
      await putLogo(f.source, `logos/${100 + i}.png`, await logoPng(i), {
        channelId: String(100 + i),
        brand: `브랜드 ${i}`,
      });
    await f.pool.query(`CREATE TABLE company (id serial PRIMARY KEY, name text NOT NULL, thumbnail text)`);
    await f.pool.query(`INSERT INTO company (name) VALUES ('브랜드 1'), ('BRAND X')`);

    const result = await f.run('ds_r2_download+');
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs in bucket'), 5);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs downloaded'), 5);
    assert.ok(stepOf(result, 'ds_r2_download').checks.some((c) => c.name === 'ds_r2_src_check' && c.passed));
    assert.ok(stepOf(result, 'ds_img_finalize').checks.some((c) => c.name === 'ds_r2_tgt_check' && c.passed));

    // No naver_channel_id column: matched by normalised name; published with public URLs.
    assert.equal(intOf(result, 'ds_img_finalize', 'companies updated'), 1);
    const { rows } = await f.pool.query<{ name: string; thumbnail: string | null }>(
      'SELECT name, thumbnail FROM company ORDER BY id',
    );
    assert.deepEqual(rows, [
      { name: '브랜드 1', thumbnail: 'https://img.example.com/logos/logos/101.png' },
      { name: 'BRAND X', thumbnail: null },
    ]);
    assert.equal((await keysOf(f.target)).length, 10);
    assert.equal((await f.target.head('logos/101.webp'))?.contentType, 'image/webp');
    const history = await f.history();
    assert.equal(history.filter((r) => r.status === 'updated').length, 1);
    assert.equal(history.filter((r) => r.status === 'unmatched').length, 4);
  });

  it('turns object keys with ../ or an absolute path into failed items and writes nothing outside the folder', async () => {
    const hostileEnv = { ...f.env, DS_R2_ENDPOINT: proxy.endpoint };
    const result = await materialize({
      instance: f.instance,
      definitions,
      selection: 'ds_r2_download',
      env: hostileEnv,
    });
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs in bucket'), 5 + HOSTILE.length);
    assert.equal(intOf(result, 'ds_r2_download', 'PNGs unchanged (skipped)'), 5);
    const failed = new Map(
      tableOf(result, 'ds_r2_download', 'failed items (table)').map((r) => [r.file, String(r.error)]),
    );
    assert.deepEqual([...failed.keys()].sort(), [...HOSTILE].sort());
    assert.match(
      failed.get('../escape.png') ?? '',
      /unsafe object key "\.\.\/escape\.png": .*"\.\." segment/,
    );
    assert.match(failed.get('/etc/escape.png') ?? '', /unsafe object key .*absolute/);
    assert.deepEqual((await readdir(f.root)).sort(), ['buckets', 'data', 'ds.duckdb']);
    assert.deepEqual((await readdir(f.dataDir)).sort(), ['.state', 'ds-src-s3', 'ds-tgt-s3', 'final']);
    const everywhere = await readdir(path.dirname(f.root), { recursive: true }).catch(() => [] as string[]);
    assert.ok(!everywhere.some((p) => p.endsWith('escape.png')), 'no escape.png written anywhere');
    const history = await f.history();
    for (const key of HOSTILE) {
      const row = history.find((r) => r.file === key);
      assert.equal(row?.status, 'download_failed', key);
      assert.equal(row?.error, failed.get(key));
    }
  });

  it('the clear utilities refuse without the bucket name as confirm, then delete only PNG and WebP', async () => {
    await f.target.put('keep/readme.txt', Buffer.from('keep me'));
    const refused = await f.run('ds_r2_clear_tgt');
    assert.equal(refused.status, 'FAILURE');
    assert.match(stepOf(refused, 'ds_r2_clear_tgt').error ?? '', /refuses to run.*confirm to 'ds-tgt-s3'/s);
    assert.equal(stepOf(refused, 'ds_r2_clear_tgt').attempts, 1);
    const wrong = await f.run('ds_r2_clear_tgt', {
      ops: { ds_r2_clear_tgt: { config: { confirm: 'ds-src-s3' } } },
    });
    assert.equal(wrong.status, 'FAILURE');
    assert.match(stepOf(wrong, 'ds_r2_clear_tgt').error ?? '', /got 'ds-src-s3'/);
    assert.equal((await keysOf(f.target)).length, 11);

    const cleared = await f.run('ds_r2_clear_tgt', {
      ops: { ds_r2_clear_tgt: { config: { confirm: 'ds-tgt-s3' } } },
    });
    assert.equal(cleared.status, 'SUCCESS', cleared.error);
    assert.equal(intOf(cleared, 'ds_r2_clear_tgt', 'objects deleted'), 10);
    assert.deepEqual(await keysOf(f.target), ['keep/readme.txt']);
    assert.ok((await keysOf(f.source)).length > 0, 'the source bucket is untouched');
  });

  it('the bucket checks tell wrong credentials, a missing bucket and an unreachable endpoint apart', async () => {
    const ok = await runCheck(dsR2SrcCheck, await bucketFrom(f.env, 'source'));
    assert.equal(ok.passed, true);

    const badKey = await runCheck(
      dsR2SrcCheck,
      await bucketFrom({ ...f.env, DS_R2_ACCESS_KEY_ID: 'WRONGKEY' }, 'source'),
    );
    assert.equal(badKey.passed, false);
    assert.match(badKey.description ?? '', /wrong credentials/);
    assert.equal((badKey.metadata as Record<string, unknown>).reason, 'credentials');

    const missing = await runCheck(
      dsR2TgtCheck,
      await bucketFrom({ ...f.env, DS_R2_TARGET_BUCKET: 'no-such-bucket' }, 'target'),
    );
    assert.equal(missing.passed, false);
    assert.match(missing.description ?? '', /the bucket does not exist/);

    const port = await closedPort();
    const down = await runCheck(
      dsR2SrcCheck,
      await bucketFrom({ ...f.env, DS_R2_ENDPOINT: `http://127.0.0.1:${port}` }, 'source'),
    );
    assert.equal(down.passed, false);
    assert.match(down.description ?? '', /the endpoint is unreachable/);
    for (const result of [badKey, missing, down])
      assert.ok(!describeError(result.description).includes(SECRET));
  });
});
