import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import {
  convertLogo,
  DEFAULT_CATEGORIES,
  decideImageUrl,
  detectImageFormat,
  findRepoRoot,
  LogoDecodeError,
  loadCrawlerConfig,
  parseGatheringPage,
} from '../src/index.ts';
import { PolitenessGate, parseRetryAfter } from '../src/politeness-gate.ts';

const REPLICA = 'http://127.0.0.1:4000';

describe('logo URL policy', () => {
  it('accepts Naver image hosts on standard ports, against the real API', () => {
    for (const url of [
      'http://shop1.phinf.naver.net/20250316_172/1742119611775t9gyt_PNG/5108680906497267_2035121987.png',
      'http://shop2.phinf.naver.net/20200101_1/x_JPEG/a.jpg',
      'https://shop-phinf.pstatic.net/20241021_160/abc_JPEG/a.jpg',
      'https://ldb-phinf.pstatic.net/20240101_1/a.png',
      'https://naverbooking-phinf.pstatic.net/20240101_1/a.png',
      'https://g-selected.pstatic.net/a.png',
      '//shop1.phinf.naver.net/a.png',
    ]) {
      const decision = decideImageUrl(url, undefined);
      assert.ok(decision.ok, url);
    }
  });

  it('refuses every other host, port, scheme and credential trick', () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:4000/shop1.phinf.naver.net/a.png',
      'http://localhost/a.png',
      'http://evil.example.com/shop1.phinf.naver.net/a.png',
      'http://shop1.phinf.naver.net.evil.example.com/a.png',
      'http://evilphinf.naver.net/a.png',
      'http://shop1.phinf.naver.net:8080/a.png',
      'http://user:pw@shop1.phinf.naver.net/a.png',
      'file:///etc/passwd',
      'ftp://shop1.phinf.naver.net/a.png',
      'https://pstatic.net.example.org/a.png',
    ]) {
      const decision = decideImageUrl(url, undefined);
      assert.equal(decision.ok, false, url);
      if (!decision.ok) assert.equal(decision.reason, 'refused-host');
    }
    const garbage = decideImageUrl('not a url', undefined);
    assert.equal(garbage.ok, false);
    if (!garbage.ok) assert.equal(garbage.reason, 'invalid-logo-url');
  });

  it('allows the overridden API origin only for paths under a Naver image host', () => {
    const ok = decideImageUrl(`${REPLICA}/shop1.phinf.naver.net/20250316_172/x_PNG/a.png`, REPLICA);
    assert.ok(ok.ok);
    if (ok.ok) {
      assert.equal(ok.naverHost, 'shop1.phinf.naver.net');
      assert.equal(ok.naverPath, '/20250316_172/x_PNG/a.png');
    }
    for (const url of [
      `${REPLICA}/internal/admin/a.png`,
      `${REPLICA}/a.png`,
      'http://127.0.0.1:4001/shop1.phinf.naver.net/a.png',
    ]) {
      assert.equal(decideImageUrl(url, REPLICA).ok, false, url);
    }
  });

  it('unwraps dthumb resizing URLs, and recognises the shared default image behind them', () => {
    const original =
      'http://shop1.phinf.naver.net/20250316_172/1742119611775t9gyt_PNG/5108680906497267_2035121987.png';
    const wrapped = `https://phinf.pstatic.net/dthumb/?src=%22${encodeURIComponent(original)}%22&service=selective&type=f240_240_q90`;
    const decision = decideImageUrl(wrapped, undefined);
    assert.ok(decision.ok);
    if (decision.ok) assert.equal(decision.url.href, original);

    const defaultImage = 'https://shop-phinf.pstatic.net/20241021_160/1729515956246bEynj_JPEG/6f8a5992.jpg';
    const plain = decideImageUrl(defaultImage, undefined);
    assert.ok(plain.ok && plain.isDefaultImage);
    const viaDthumb = decideImageUrl(
      `https://phinf.pstatic.net/dthumb/?src=%22${encodeURIComponent(defaultImage)}%22&type=w240`,
      undefined,
    );
    assert.ok(viaDthumb.ok && viaDthumb.isDefaultImage);

    const replicaWrapped = `${REPLICA}/phinf.pstatic.net/dthumb/?src=%22${encodeURIComponent(`${REPLICA}/shop1.phinf.naver.net/a.png`)}%22`;
    const unwrapped = decideImageUrl(replicaWrapped, REPLICA);
    assert.ok(unwrapped.ok);
    if (unwrapped.ok) assert.equal(unwrapped.url.href, `${REPLICA}/shop1.phinf.naver.net/a.png`);

    const smuggled = `https://phinf.pstatic.net/dthumb/?src=%22${encodeURIComponent('http://169.254.169.254/')}%22`;
    assert.equal(decideImageUrl(smuggled, undefined).ok, false, 'a wrapped foreign URL is still refused');
  });
});

describe('image bytes', () => {
  const picture = () => sharp({ create: { width: 40, height: 30, channels: 3, background: '#03c75a' } });

  it('detects formats by magic bytes only', async () => {
    assert.equal(detectImageFormat(await picture().png().toBuffer()), 'png');
    assert.equal(detectImageFormat(await picture().jpeg().toBuffer()), 'jpeg');
    assert.equal(detectImageFormat(await picture().gif().toBuffer()), 'gif');
    assert.equal(detectImageFormat(await picture().webp().toBuffer()), 'webp');
    assert.equal(detectImageFormat(Buffer.from('<!DOCTYPE html><html></html>')), undefined);
    assert.equal(detectImageFormat(Buffer.alloc(0)), undefined);
  });

  it('converts JPEG, GIF (first frame) and WebP to PNG and hashes the result', async () => {
    const frames = await Promise.all(
      ['#ff0000', '#0000ff'].map((background) =>
        sharp({ create: { width: 20, height: 10, channels: 3, background } })
          .png()
          .toBuffer(),
      ),
    );
    const animated = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer();
    for (const [input, format] of [
      [await picture().jpeg().toBuffer(), 'jpeg'],
      [animated, 'gif'],
      [await picture().webp().toBuffer(), 'webp'],
      [await picture().png().toBuffer(), 'png'],
    ] as const) {
      const logo = await convertLogo(input);
      assert.equal(logo.sourceFormat, format);
      assert.equal(detectImageFormat(logo.png), 'png');
      const meta = await sharp(logo.png).metadata();
      assert.equal(meta.pages ?? 1, 1, 'a single frame');
      assert.equal(logo.sha256.length, 64);
    }
    const first = await convertLogo(animated);
    const { data } = await sharp(first.png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([...data.subarray(0, 3)], [255, 0, 0], 'the first frame is kept');
  });

  it('rejects truncated, corrupt and non-image bytes', async () => {
    const png = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#123456' } })
      .png()
      .toBuffer();
    await assert.rejects(convertLogo(png.subarray(0, Math.floor(png.length / 2))), LogoDecodeError);
    const corrupt = Buffer.from(png);
    corrupt.fill(7, 16);
    await assert.rejects(convertLogo(corrupt), LogoDecodeError);
    await assert.rejects(convertLogo(Buffer.from('<html>보안 확인</html>')), /not a PNG, JPEG, GIF or WebP/);
  });
});

describe('category page parsing', () => {
  it('reads owners from broadcasts and channels from shortclips, skipping malformed items', () => {
    const page = parseGatheringPage({
      list: [
        {
          broadcast: {
            broadcast: { id: 1 },
            owner: { id: 101, name: '라온뷰티', profileImageUrl: 'http://a/1.png' },
          },
        },
        {
          shortclip: {
            id: 2,
            channel: { id: 102, name: ' Haru Kitchen ', profileImageUrl: 'http://a/2.png' },
          },
        },
        { broadcast: { owner: { id: '103', name: 'no logo' } } },
        { broadcast: { owner: { id: '../../etc', name: 'bad id' } } },
        { somethingElse: true },
        null,
      ],
      next: 'abc',
    });
    assert.equal(page.itemCount, 6);
    assert.equal(page.next, 'abc');
    assert.deepEqual(page.channels, [
      { id: '101', name: '라온뷰티', logoUrl: 'http://a/1.png' },
      { id: '102', name: 'Haru Kitchen', logoUrl: 'http://a/2.png' },
      { id: '103', name: 'no logo', logoUrl: undefined },
    ]);
    assert.equal(parseGatheringPage({ list: [], next: null }).next, null);
    assert.throws(() => parseGatheringPage({ items: [] }), /no "list" array/);
  });
});

describe('politeness', () => {
  it('reads Retry-After as seconds or as a date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  it('makes every caller wait out a host cool-down, and backs off exponentially', async () => {
    const gate = new PolitenessGate(() => 1);
    gate.coolDown('api', 150);
    const started = Date.now();
    await Promise.all([gate.wait('api', { min: 0, max: 0 }), gate.wait('api', { min: 0, max: 0 })]);
    assert.ok(Date.now() - started >= 140);
    const quick = Date.now();
    await gate.wait('images', { min: 0, max: 0 });
    assert.ok(Date.now() - quick < 50, 'other hosts are not held up');
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((n) => gate.backoffMs(n, 100, 1000)),
      [100, 200, 400, 800, 1000],
    );
  });
});

describe('configuration', () => {
  it('defaults to Naver, nine categories and a local bucket under the repository', () => {
    const config = loadCrawlerConfig({});
    assert.equal(config.apiBase, 'https://apis.naver.com');
    assert.equal(config.apiOverridden, false);
    assert.deepEqual(config.categories, DEFAULT_CATEGORIES);
    const root = findRepoRoot();
    assert.ok(root);
    assert.deepEqual(config.bucket, {
      kind: 'local',
      bucket: 'ds-logos-src',
      root: join(root, 'data', 'buckets'),
    });
    assert.deepEqual(config.apiDelay, { min: 500, max: 1500 });
  });

  it('reads the DS_* variables and explains bad values', () => {
    const config = loadCrawlerConfig({
      DS_NAVER_API_URL: 'http://127.0.0.1:9999/',
      DS_CATEGORIES: 'dc:2, dc:5,dc:2',
      DS_MAX_PAGES: '3',
      DS_R2_ENDPOINT: 'http://127.0.0.1:9000',
      DS_R2_ACCESS_KEY_ID: 'id',
      DS_R2_SECRET_ACCESS_KEY: 'secret',
      DS_R2_SOURCE_BUCKET: 'my-src',
      DS_REQUEST_DELAY_MS: '0',
    });
    assert.equal(config.apiBase, 'http://127.0.0.1:9999');
    assert.equal(config.apiOverridden, true);
    assert.deepEqual(config.categories, ['dc:2', 'dc:5']);
    assert.equal(config.maxPages, 3);
    assert.equal(config.bucket.kind, 's3');
    assert.equal(config.bucket.bucket, 'my-src');
    assert.deepEqual(config.apiDelay, { min: 0, max: 0 });
    assert.throws(() => loadCrawlerConfig({ DS_MAX_PAGES: 'ten' }), /DS_MAX_PAGES=ten is not valid/);
    assert.throws(() => loadCrawlerConfig({ DS_CATEGORIES: 'beauty' }), /DS_CATEGORIES contains "beauty"/);
    assert.throws(
      () => loadCrawlerConfig({ DS_R2_ENDPOINT: 'http://x' }),
      /DS_R2_SECRET_ACCESS_KEY is missing/,
    );
    assert.throws(() => loadCrawlerConfig({ DS_REQUEST_DELAY_MS: '9-1' }), /"<min>-<max>"/);
  });
});
