import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore, type ObjectStore } from '@dag/object-store';
import { type NaverReplica, type ReplicaChannel, startNaverReplica } from '@dag/replica-naver-shopping-live';
import sharp from 'sharp';
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY_ID,
  startS3rver,
} from '../../../packages/object-store/test/start-s3rver.ts';
import { CRAWLER_DIR, type CrawlerRun, FAST_ENV, runCrawlerProcess } from './run-crawler-process.ts';

const SECRET = 'crawler-test-secret-0b7e1f4a9c';

/** What the crawler must do with each channel's logo, from the replica's ground truth. */
function expectedOutcome(channel: ReplicaChannel): { saved: true } | { saved: false; reason: string } {
  const { logo } = channel;
  if (logo.kind === 'default') return { saved: false, reason: 'default-image' };
  switch (logo.fault) {
    case undefined:
    case 'wrong-content-type':
      return { saved: true };
    case 'corrupt':
    case 'truncated':
      return { saved: false, reason: 'corrupt-image' };
    case 'not-an-image':
      return { saved: false, reason: 'not-an-image' };
    case 'redirect-foreign':
      return { saved: false, reason: 'refused-redirect' };
    case 'foreign-host':
    case 'foreign-path':
      return { saved: false, reason: 'refused-host' };
  }
}

async function listKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of store.list()) keys.push(item.key);
  return keys;
}

function assertCompleteStats(run: CrawlerRun): void {
  assert.ok(run.stats, `DS_STATS printed:\n${run.stdout}\n${run.stderr}`);
  assert.deepEqual(Object.keys(run.stats), [
    'requestsTotal',
    'requestsFinished',
    'requestsFailed',
    'saved',
    'unchanged',
    'skipped',
  ]);
  assert.equal(run.stats.requestsTotal, (run.stats.requestsFinished ?? 0) + (run.stats.requestsFailed ?? 0));
  assert.equal(run.stats.saved, run.of('DS_SAVED').length);
  assert.equal(run.stats.unchanged, run.of('DS_UNCHANGED').length);
  assert.equal(run.stats.skipped, run.of('DS_SKIPPED').length);
  assert.equal(run.of('DS_STATS').length, 1);
}

/** Checks every saved object against the replica's ground truth: a clean PNG with the documented metadata. */
async function assertStoredLogos(store: ObjectStore, replica: NaverReplica, run: CrawlerRun): Promise<void> {
  const byId = new Map(replica.channels.map((c) => [String(c.id), c]));
  for (const line of run.of('DS_SAVED')) {
    const { file = '', channel: id = '', bytes, brand } = line.fields;
    const channel = byId.get(id);
    assert.ok(channel, `DS_SAVED names a real channel: ${line.raw}`);
    assert.equal(file, `${id}.png`);
    assert.equal(brand, encodeURIComponent(channel.name));
    const body = await store.get(file);
    assert.equal(body.length, Number(bytes));
    const meta = await sharp(body).metadata();
    assert.equal(meta.format, 'png', `${file} is a PNG whatever the source (${channel.logo.format})`);
    assert.equal(meta.pages ?? 1, 1);
    // dthumb wrappers are unwrapped, so the original size is stored, not the 240 px thumbnail.
    assert.equal(meta.width, channel.logo.width);
    assert.equal(meta.height, channel.logo.height);
    const head = await store.head(file);
    assert.equal(head?.contentType, 'image/png');
    assert.equal(head?.metadata['channel-id'], id);
    assert.equal(decodeURIComponent(head?.metadata['brand-name'] ?? ''), channel.name);
    assert.equal(head?.metadata['content-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(head?.metadata['source-format'], channel.logo.format);
    assert.ok(
      head?.metadata['source-url']?.includes(channel.logo.path),
      'source-url is the unwrapped original',
    );
  }
}

describe('ds-naver-crawler against the replica, local-directory bucket', () => {
  let replica: NaverReplica;
  let buckets: string;
  let childTmp: string;
  let first: CrawlerRun;

  before(async () => {
    replica = await startNaverReplica({
      seed: 21,
      channelCount: 45,
      logoFaults: {
        corrupt: 0.03,
        truncated: 0.03,
        'wrong-content-type': 0.08,
        'not-an-image': 0.02,
        'redirect-foreign': 0.02,
        'foreign-host': 0.02,
        'foreign-path': 0.02,
      },
    });
    buckets = await mkdtemp(join(tmpdir(), 'ds-crawler-buckets-'));
    childTmp = await mkdtemp(join(tmpdir(), 'ds-crawler-tmp-'));
    first = await runCrawlerProcess({
      ...FAST_ENV,
      DS_NAVER_API_URL: replica.url,
      DS_LOCAL_BUCKETS_DIR: buckets,
      DS_MAX_PAGES: '100',
      TMPDIR: childTmp,
    });
  });

  after(async () => {
    await replica.close();
    await rm(buckets, { recursive: true, force: true });
    await rm(childTmp, { recursive: true, force: true });
  });

  it('saves every real logo once as <channelId>.png and skips the rest with the right reason', async () => {
    assert.equal(first.code, 0, first.stderr);
    assertCompleteStats(first);
    const saved = new Set(first.of('DS_SAVED').map((l) => l.fields.channel));
    const skipped = new Map(first.of('DS_SKIPPED').map((l) => [l.fields.channel, l.fields.reason]));
    assert.equal(saved.size, first.of('DS_SAVED').length, 'one DS_SAVED per channel');
    for (const channel of replica.channels) {
      const expected = expectedOutcome(channel);
      const id = String(channel.id);
      if (expected.saved)
        assert.ok(saved.has(id), `channel ${id} (${channel.logo.format}, ${channel.logo.fault}) saved`);
      else
        assert.equal(
          skipped.get(id),
          expected.reason,
          `channel ${id} (${channel.logo.kind}, ${channel.logo.fault})`,
        );
    }
    const formats = new Set(
      replica.channels.filter((c) => saved.has(String(c.id))).map((c) => c.logo.format),
    );
    assert.deepEqual([...formats].sort(), ['gif', 'jpeg', 'png'], 'JPEG and GIF sources were converted');
    assert.ok(
      replica.channels.some((c) => c.logo.fault === 'wrong-content-type' && saved.has(String(c.id))),
      'logos served under a wrong Content-Type were saved from their bytes',
    );
  });

  it('stores clean PNGs with the documented metadata', async () => {
    const store = createObjectStore({ bucket: 'ds-logos-src', localRoot: buckets });
    assert.deepEqual(
      (await listKeys(store)).sort(),
      first
        .of('DS_SAVED')
        .map((l) => l.fields.file)
        .sort(),
    );
    await assertStoredLogos(store, replica, first);
  });

  it('fetches each logo once, never touches refused URLs, and leaves no Crawlee storage behind', () => {
    const logoPaths = new Set(
      replica.channels.filter((c) => c.logo.kind === 'image').map((c) => `/${c.logo.host}${c.logo.path}`),
    );
    const fetched = replica.stats.log.filter((r) => logoPaths.has(r.path.split('?')[0] ?? ''));
    const counts = new Map<string, number>();
    for (const record of fetched) counts.set(record.path, (counts.get(record.path) ?? 0) + 1);
    assert.ok(counts.size > 0);
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      'no logo fetched twice',
    );
    assert.equal(
      replica.stats.log.filter((r) => r.path.startsWith('/internal')).length,
      0,
      'foreign-path never fetched',
    );
    const apiPages = replica.stats.log.filter((r) => r.path.startsWith('/selectiveweb/')).length;
    const pagesExpected = [...replica.catalog.itemsByCategory.values()].reduce(
      (n, items) => n + Math.ceil(items.length / 10),
      0,
    );
    assert.equal(apiPages, pagesExpected, 'every page of every category, once');
    assert.equal(
      first.stats?.requestsTotal,
      replica.stats.requests,
      'one replica request per crawler request',
    );
    assert.ok(!existsSync(join(CRAWLER_DIR, 'storage')), 'no ./storage folder');
  });

  it('leaves its temporary Crawlee directory empty', async () => {
    assert.deepEqual(
      (await readdir(childTmp)).filter((f) => f.startsWith('ds-naver-crawler-')),
      [],
    );
  });

  it('does not upload unchanged logos again on a second run', async () => {
    const store = createObjectStore({ bucket: 'ds-logos-src', localRoot: buckets });
    const before = new Map<string, number>();
    for await (const item of store.list()) before.set(item.key, item.lastModified.getTime());
    const second = await runCrawlerProcess({
      ...FAST_ENV,
      DS_NAVER_API_URL: replica.url,
      DS_LOCAL_BUCKETS_DIR: buckets,
      DS_MAX_PAGES: '100',
      TMPDIR: childTmp,
    });
    assert.equal(second.code, 0, second.stderr);
    assertCompleteStats(second);
    assert.equal(second.of('DS_SAVED').length, 0);
    assert.deepEqual(
      second
        .of('DS_UNCHANGED')
        .map((l) => l.fields.file)
        .sort(),
      [...before.keys()].sort(),
    );
    for await (const item of store.list()) assert.equal(item.lastModified.getTime(), before.get(item.key));
  });
});

describe('ds-naver-crawler under request faults', () => {
  it('rides out 429 bursts (honouring Retry-After), 5xx errors and slow answers without losing a logo', async () => {
    const replica = await startNaverReplica({
      seed: 5,
      channelCount: 20,
      defaultImageRate: 0,
      faults: {
        rateLimit: { every: 6, burst: 2, retryAfterSeconds: 1, scope: 'all' },
        // Counted, not drawn: which request a random fault hits depends on arrival order,
        // and a run with no 5xx at all would not test the retries.
        errorEvery: 8,
        errorScope: 'all',
        slowMs: 150,
        slowEvery: 7,
      },
    });
    const buckets = await mkdtemp(join(tmpdir(), 'ds-crawler-faults-'));
    try {
      const run = await runCrawlerProcess({
        ...FAST_ENV,
        DS_NAVER_API_URL: replica.url,
        DS_LOCAL_BUCKETS_DIR: buckets,
        DS_CATEGORIES: 'dc:1,dc:2,dc:3',
        DS_MAX_PAGES: '100',
        DS_MAX_RETRIES: '8',
      });
      assert.equal(run.code, 0, run.stderr);
      assertCompleteStats(run);
      assert.equal(run.stats?.requestsFailed, 0, run.stdout);
      assert.ok(replica.stats.rateLimited >= 2, `429s were served (${replica.stats.rateLimited})`);
      assert.ok(replica.stats.serverErrors >= 1, `5xx were served (${replica.stats.serverErrors})`);
      assert.ok(replica.stats.slowed >= 1);
      const inCategories = replica.channels.filter((c) =>
        c.categories.some((id) => ['dc:1', 'dc:2', 'dc:3'].includes(id)),
      );
      assert.equal(run.of('DS_SAVED').length, inCategories.length, 'every logo saved despite the faults');

      // Retry-After: 1 — after each 429 the crawler sends nothing for about a second.
      const log = replica.stats.log;
      for (const limited of log.filter((r) => r.status === 429)) {
        const early = log.filter((r) => r.at > limited.at + 250 && r.at < limited.at + 850);
        assert.deepEqual(early, [], `requests arrived during the Retry-After pause after ${limited.path}`);
      }
    } finally {
      await replica.close();
      await rm(buckets, { recursive: true, force: true });
    }
  });

  it('stops gracefully at a block page and says so', async () => {
    const replica = await startNaverReplica({ seed: 8, channelCount: 60, faults: { blockAfter: 4 } });
    const buckets = await mkdtemp(join(tmpdir(), 'ds-crawler-block-'));
    try {
      const run = await runCrawlerProcess({
        ...FAST_ENV,
        DS_NAVER_API_URL: replica.url,
        DS_LOCAL_BUCKETS_DIR: buckets,
        DS_MAX_PAGES: '100',
        DS_MAX_CONCURRENCY: '1',
      });
      assert.equal(run.code, 0, 'pages were read before the block');
      assertCompleteStats(run);
      const [blockedLine, ...more] = run.of('DS_BLOCKED');
      assert.ok(blockedLine, run.stdout);
      assert.equal(more.length, 0, 'reported once');
      assert.equal(blockedLine.fields.status, '405');
      assert.match(run.stderr, /security check/);
      assert.equal(replica.stats.blocked, 1, 'no further API requests after the block page');
      const afterBlock = replica.stats.log.slice(replica.stats.log.findIndex((r) => r.status === 405) + 1);
      assert.ok(afterBlock.length <= 1, 'the crawl stopped (at most the request already in flight)');
      assert.ok((run.stats?.requestsTotal ?? 0) < 20);
    } finally {
      await replica.close();
      await rm(buckets, { recursive: true, force: true });
    }
  });

  it('fails with exit code 3 when blocked from the first request', async () => {
    const replica = await startNaverReplica({ seed: 8, channelCount: 20, faults: { blockAfter: 0 } });
    const buckets = await mkdtemp(join(tmpdir(), 'ds-crawler-block0-'));
    try {
      const run = await runCrawlerProcess({
        ...FAST_ENV,
        DS_NAVER_API_URL: replica.url,
        DS_LOCAL_BUCKETS_DIR: buckets,
        DS_CATEGORIES: 'dc:1,dc:2',
      });
      assert.equal(run.code, 3);
      assert.equal(run.of('DS_BLOCKED').length, 1);
      assert.match(run.stderr, /DS_FATAL reason=blocked/);
      assertCompleteStats(run);
    } finally {
      await replica.close();
      await rm(buckets, { recursive: true, force: true });
    }
  });

  it('fails with exit code 3 when the API is unreachable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const buckets = await mkdtemp(join(tmpdir(), 'ds-crawler-unreachable-'));
    try {
      const run = await runCrawlerProcess({
        ...FAST_ENV,
        DS_NAVER_API_URL: `http://127.0.0.1:${address.port}`,
        DS_LOCAL_BUCKETS_DIR: buckets,
        DS_CATEGORIES: 'dc:1,dc:2',
        DS_MAX_RETRIES: '1',
      });
      assert.equal(run.code, 3);
      assertCompleteStats(run);
      assert.equal(run.stats?.requestsFailed, 2);
      assert.deepEqual(
        run.of('DS_PAGE_FAILED').map((l) => l.fields.reason),
        ['fetch-failed', 'fetch-failed'],
      );
      assert.match(run.stderr, /DS_FATAL reason=api-unreachable/);
    } finally {
      await rm(buckets, { recursive: true, force: true });
    }
  });

  it('respects the page limit and the request cap', async () => {
    const replica = await startNaverReplica({ seed: 2, channelCount: 200 });
    const buckets = await mkdtemp(join(tmpdir(), 'ds-crawler-limits-'));
    try {
      const pages = await runCrawlerProcess({
        ...FAST_ENV,
        DS_NAVER_API_URL: replica.url,
        DS_LOCAL_BUCKETS_DIR: buckets,
        DS_CATEGORIES: 'dc:4',
        DS_MAX_PAGES: '2',
      });
      assert.equal(pages.code, 0, pages.stderr);
      assert.equal(replica.stats.apiRequests, 2);
      assert.ok(pages.of('DS_SAVED').length > 0);

      const capped = await runCrawlerProcess({
        ...FAST_ENV,
        DS_NAVER_API_URL: replica.url,
        DS_LOCAL_BUCKETS_DIR: buckets,
        DS_CATEGORIES: 'dc:5',
        DS_MAX_CONCURRENCY: '1',
        DS_MAX_REQUESTS: '6',
      });
      assert.equal(capped.code, 0, capped.stderr);
      assert.equal(capped.stats?.requestsTotal, 6);
    } finally {
      await replica.close();
      await rm(buckets, { recursive: true, force: true });
    }
  });

  it('refuses a half-configured R2 bucket with exit code 2', async () => {
    const run = await runCrawlerProcess({ DS_R2_ENDPOINT: 'http://127.0.0.1:9', DS_R2_ACCESS_KEY_ID: 'x' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /DS_FATAL reason=config .*DS_R2_SECRET_ACCESS_KEY/);
  });
});

describe('ds-naver-crawler with an S3 bucket (s3rver)', () => {
  let s3: RunningS3rver;
  let replica: NaverReplica;

  before(async () => {
    s3 = await startS3rver(['ds-src-test']);
    replica = await startNaverReplica({
      seed: 31,
      channelCount: 16,
      logoFaults: { 'wrong-content-type': 0.1 },
    });
  });

  after(async () => {
    await replica.close();
    await s3.close();
  });

  const s3Env = (bucket: string) => ({
    ...FAST_ENV,
    DS_NAVER_API_URL: replica.url,
    DS_R2_ENDPOINT: s3.endpoint,
    DS_R2_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
    DS_R2_SECRET_ACCESS_KEY: SECRET,
    DS_R2_SOURCE_BUCKET: bucket,
    DS_CATEGORIES: 'dc:1,dc:6',
    DS_MAX_PAGES: '100',
  });

  it('uploads logos with metadata, then reports them unchanged, never printing the secret', async () => {
    const store = createObjectStore({
      bucket: 'ds-src-test',
      endpoint: s3.endpoint,
      accessKeyId: S3RVER_ACCESS_KEY_ID,
      secretAccessKey: SECRET,
    });
    const first = await runCrawlerProcess(s3Env('ds-src-test'));
    assert.equal(first.code, 0, first.stderr);
    assertCompleteStats(first);
    assert.ok(first.of('DS_SAVED').length > 0);
    assert.deepEqual(
      (await listKeys(store)).sort(),
      first
        .of('DS_SAVED')
        .map((l) => l.fields.file)
        .sort(),
    );
    await assertStoredLogos(store, replica, first);
    assert.match(first.stderr, new RegExp(`s3://ds-src-test @ ${s3.endpoint.replace(/\./g, '\\.')}`));

    const second = await runCrawlerProcess(s3Env('ds-src-test'));
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.of('DS_SAVED').length, 0);
    assert.equal(second.of('DS_UNCHANGED').length, first.of('DS_SAVED').length);
    for (const run of [first, second]) assert.ok(!`${run.stdout}${run.stderr}`.includes(SECRET));
  });

  it('exits with code 2 and a clear reason when the bucket does not exist', async () => {
    const run = await runCrawlerProcess(s3Env('no-such-bucket'));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /DS_FATAL reason=bucket-missing-bucket .*"no-such-bucket" does not exist/);
    assert.ok(!`${run.stdout}${run.stderr}`.includes(SECRET));
    assert.equal(replica.stats.log.filter((r) => r.path.includes('no-such-bucket')).length, 0);
  });
});
