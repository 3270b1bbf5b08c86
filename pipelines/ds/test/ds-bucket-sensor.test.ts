import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Daemon, ManualClock } from '@dag/core';
import { createObjectStore } from '@dag/object-store';
import { freshInstance, type TestInstance } from '../../../packages/core/test/support.ts';
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY_ID,
  startS3rver,
} from '../../../packages/object-store/test/start-s3rver.ts';
import definitions from '../src/definitions.ts';
import { listingDigest } from '../src/ds-automation.ts';

const BUCKET = 'ds-sensor-src';
let s3: RunningS3rver;
let t: TestInstance;
const saved: Record<string, string | undefined> = {};

before(async () => {
  s3 = await startS3rver([BUCKET]);
  t = await freshInstance();
  // The sensor builds ds_r2_source from the environment, as it does under the daemon.
  const env = {
    DS_R2_ENDPOINT: s3.endpoint,
    DS_R2_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
    DS_R2_SECRET_ACCESS_KEY: 'sensor-test-secret',
    DS_R2_SOURCE_BUCKET: BUCKET,
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

after(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await t.cleanup();
  await s3.close();
});

test('listing digests depend on keys, sizes and ETags, not on order', () => {
  const a = { key: 'a.png', size: 1, etag: 'x' };
  const b = { key: 'b.png', size: 2, etag: 'y' };
  assert.equal(listingDigest([a, b]), listingDigest([b, a]));
  assert.notEqual(listingDigest([a, b]), listingDigest([a, { ...b, etag: 'z' }]));
  assert.notEqual(listingDigest([a]), listingDigest([a, b]));
});

test('the source bucket sensor requests exactly one run per change of PNGs, none without change', async () => {
  const store = createObjectStore({
    bucket: BUCKET,
    endpoint: s3.endpoint,
    accessKeyId: S3RVER_ACCESS_KEY_ID,
    secretAccessKey: 'sensor-test-secret',
  });
  const clock = new ManualClock('2026-11-22T00:00:00Z');
  const daemon = () =>
    new Daemon({
      instance: t.instance,
      locations: [{ name: 'ds', file: 'definitions.ts', definitions }],
      clock,
      launch: async () => {},
    });
  await t.instance.storage.setInstigatorStatus('sensor', 'ds_r2_src_sensor', 'RUNNING');
  const tickAndCount = async () => {
    clock.advance(61_000);
    await daemon().tick();
    return (await t.instance.storage.listRuns({ jobName: 'ds_publish_job' })).runs.length;
  };

  assert.equal(await tickAndCount(), 0, 'an empty bucket requests nothing');
  await store.put('1001.png', Buffer.from('png one'), { contentType: 'image/png' });
  await store.put('notes.txt', Buffer.from('not a logo'));
  assert.equal(await tickAndCount(), 1, 'one PNG added: one run');
  assert.equal(await tickAndCount(), 1, 'no change: no run');
  await store.put('notes.txt', Buffer.from('still not a logo, changed'));
  assert.equal(await tickAndCount(), 1, 'a non-PNG change is ignored');
  await store.put('1002.png', Buffer.from('png two'), { contentType: 'image/png' });
  assert.equal(await tickAndCount(), 2, 'another PNG added: exactly one more run');
  assert.equal(await tickAndCount(), 2);

  const [run] = (await t.instance.storage.listRuns({ jobName: 'ds_publish_job', limit: 1 })).runs;
  assert.equal(run?.status, 'STARTING', 'the daemon queue handed it to the launcher');
  assert.deepEqual(run?.assetSelection, ['ds_r2_download', 'ds_png2webp', 'ds_img_finalize']);
  assert.equal(run?.tags['ds/pngs'], '2');
  const ticks = await t.instance.storage.getTicks('sensor', 'ds_r2_src_sensor', 100);
  assert.ok(!JSON.stringify(ticks).includes('sensor-test-secret'));
});
