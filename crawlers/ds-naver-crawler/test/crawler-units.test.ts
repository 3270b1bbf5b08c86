import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ChannelLedger } from '../src/channel-ledger.ts';
import { decodeJsonBody, gatheringUrl } from '../src/gathering-page.ts';
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
import { uriEncodeWithin } from '../src/run-crawl.ts';

const REPLICA = 'http://127.0.0.1:4000';

/** A `ChannelOwner` exactly as the reference document lists its fields. */
const owner = (id: number, name: string, profileImageUrl: string) => ({
  id,
  broadcasterId: id + 7_000_000,
  accountNo: `ncp_1o${id}a`,
  name,
  profileImageUrl,
  broadcasterEndUrl: `https://shoppinglive.naver.com/channels/${id}`,
  grade: 'GRADE_2',
  description: null,
});

const LOGO =
  'http://shop1.phinf.naver.net/20250316_172/1742119611775t9gyt_PNG/5108680906497267_2035121987.png';
const DEFAULT_IMAGE = 'https://shop-phinf.pstatic.net/20241021_160/1729515956246bEynj_JPEG/6f8a5992.jpg';
const dthumb = (origin: string, original: string, type = 'f240_240_q90') =>
  `${origin}/dthumb/?src=%22${encodeURIComponent(original)}%22&service=selective&type=${type}`;

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

  it('takes the API server by another of its loopback names, fetching from the API origin', () => {
    for (const alias of ['http://localhost:4000', 'http://LOCALHOST:4000', 'http://[::1]:4000']) {
      const decision = decideImageUrl(
        `${alias}/shop2.phinf.naver.net/20250316_172/x_PNG/a.png?type=f100_100`,
        REPLICA,
      );
      assert.ok(decision.ok, alias);
      if (decision.ok)
        assert.equal(decision.url.href, `${REPLICA}/shop2.phinf.naver.net/20250316_172/x_PNG/a.png`);
    }
    // Another port, another scheme or a non-loopback name is another server: refused as before.
    for (const url of [
      'http://localhost:4001/shop1.phinf.naver.net/a.png',
      'https://localhost:4000/shop1.phinf.naver.net/a.png',
      'http://10.0.0.1:4000/shop1.phinf.naver.net/a.png',
    ]) {
      assert.equal(decideImageUrl(url, REPLICA).ok, false, url);
    }
    assert.equal(decideImageUrl('http://localhost:4000/shop1.phinf.naver.net/a.png', undefined).ok, false);
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

  it('fetches the original size: a type= size request is dropped, other query parameters kept', () => {
    const plain = decideImageUrl(`${LOGO}?type=f100_100`, undefined);
    assert.ok(plain.ok);
    if (plain.ok) assert.equal(plain.url.href, LOGO);
    const inner = decideImageUrl(dthumb('https://phinf.pstatic.net', `${LOGO}?type=w640&v=2`), undefined);
    assert.ok(inner.ok);
    if (inner.ok) assert.equal(inner.url.href, `${LOGO}?v=2`);
    const mirrored = decideImageUrl(
      `${REPLICA}/shop-phinf.pstatic.net/20240101_1/a_PNG/b.png?type=m80`,
      REPLICA,
    );
    assert.ok(mirrored.ok);
    if (mirrored.ok)
      assert.equal(mirrored.url.href, `${REPLICA}/shop-phinf.pstatic.net/20240101_1/a_PNG/b.png`);
    const sized = decideImageUrl(`${DEFAULT_IMAGE}?type=f100_100`, undefined);
    assert.ok(sized.ok && sized.isDefaultImage, 'the default image is recognised whatever size is asked');
  });

  it('resolves protocol-relative and root-relative URLs against the API they came from', () => {
    const httpReplica = decideImageUrl(
      '//127.0.0.1:4000/shop1.phinf.naver.net/20250316_172/a_PNG/b.png',
      REPLICA,
    );
    assert.ok(httpReplica.ok, 'an http replica keeps http');
    if (httpReplica.ok)
      assert.equal(httpReplica.url.href, `${REPLICA}/shop1.phinf.naver.net/20250316_172/a_PNG/b.png`);
    const rooted = decideImageUrl('/shop2.phinf.naver.net/20200101_1/x_JPEG/a.jpg', REPLICA);
    assert.ok(rooted.ok);
    if (rooted.ok) assert.equal(rooted.url.href, `${REPLICA}/shop2.phinf.naver.net/20200101_1/x_JPEG/a.jpg`);
    const naver = decideImageUrl('//shop-phinf.pstatic.net/20240101_1/a.png', undefined);
    assert.ok(naver.ok);
    if (naver.ok) assert.equal(naver.url.protocol, 'https:');
    assert.equal(
      decideImageUrl('/shop1.phinf.naver.net/a.png', undefined).ok,
      false,
      'never on the real API host',
    );
  });

  it('fetches a wrapped real Naver original from the mirror that served the wrapper', () => {
    // A replica that moved only the wrapper onto its origin, leaving the reference's src as it was.
    const wrapped = dthumb(`${REPLICA}/phinf.pstatic.net`, LOGO);
    const decision = decideImageUrl(wrapped, REPLICA);
    assert.ok(decision.ok);
    if (decision.ok) {
      assert.equal(decision.url.href, `${REPLICA}/shop1.phinf.naver.net${new URL(LOGO).pathname}`);
      assert.equal(decision.naverHost, 'shop1.phinf.naver.net');
    }
    const defaultImage = decideImageUrl(dthumb(`${REPLICA}/phinf.pstatic.net`, DEFAULT_IMAGE), REPLICA);
    assert.ok(defaultImage.ok && defaultImage.isDefaultImage);
    // Against Naver itself the original is fetched where it is.
    const real = decideImageUrl(dthumb('https://phinf.pstatic.net', LOGO), undefined);
    assert.ok(real.ok);
    if (real.ok) assert.equal(real.url.href, LOGO);
    // A foreign src behind a mirrored wrapper is still refused, not mirrored.
    assert.equal(
      decideImageUrl(dthumb(`${REPLICA}/phinf.pstatic.net`, 'http://evil.example.com/a.png'), REPLICA).ok,
      false,
    );
  });

  it('reads dthumb src values encoded twice, or given without quotes', () => {
    const twice = `https://phinf.pstatic.net/dthumb/?src=${encodeURIComponent(`%22${encodeURIComponent(LOGO)}%22`)}&type=f240_240`;
    const decision = decideImageUrl(twice, undefined);
    assert.ok(decision.ok);
    if (decision.ok) assert.equal(decision.url.href, LOGO);
    const bare = decideImageUrl(
      `https://phinf.pstatic.net/dthumb/?src=${encodeURIComponent(LOGO)}&type=w240`,
      undefined,
    );
    assert.ok(bare.ok);
    if (bare.ok) assert.equal(bare.url.href, LOGO);
    const garbage = decideImageUrl(
      'https://phinf.pstatic.net/dthumb/?src=%22not%2520a%2520url%22',
      undefined,
    );
    assert.equal(garbage.ok, false);
    if (!garbage.ok) assert.equal(garbage.reason, 'invalid-logo-url');
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

  it('reads an item carrying both a broadcast and a shortclip as two channels', () => {
    const page = parseGatheringPage({
      list: [
        {
          broadcast: {
            broadcast: { id: 1_700_001, title: '봄 신상', status: 'ONAIR' },
            owner: owner(500_101, '라온뷰티', LOGO),
            shoppingProducts: [],
          },
          shortclip: {
            id: 9_001,
            title: '짧은 영상',
            status: 'OPENED',
            createdAt: '2026-05-20T22:25:50.346',
            endUrl: 'https://shoppinglive.naver.com/shortclips/9001',
            channel: owner(500_102, '하루키친', DEFAULT_IMAGE),
          },
        },
      ],
      next: 'eyJvZmZzZXQiOjF9',
    });
    assert.deepEqual(
      page.channels.map((c) => [c.id, c.name, c.logoUrl]),
      [
        ['500101', '라온뷰티', LOGO],
        ['500102', '하루키친', DEFAULT_IMAGE],
      ],
    );
  });

  it('follows string or numeric cursors, and stops at null, a missing cursor or an empty page', () => {
    const item = { broadcast: { broadcast: { id: 1 }, owner: owner(1, 'a', LOGO), shoppingProducts: [] } };
    assert.equal(parseGatheringPage({ list: [item], next: 'MTA=' }).next, 'MTA=');
    assert.equal(parseGatheringPage({ list: [item], next: 10 }).next, '10');
    assert.equal(parseGatheringPage({ list: [item], next: null }).next, null);
    assert.equal(parseGatheringPage({ list: [item], next: '' }).next, null);
    assert.equal(parseGatheringPage({ list: [item] }).next, null);
    assert.equal(parseGatheringPage({ list: [], next: 'MjA=' }).next, null, 'an empty page is the last');
  });

  it('builds E1 URLs as the reference spells them: categoryId=dc:N&sort=LATEST&size=10&next=<cursor>', () => {
    const first = gatheringUrl('https://apis.naver.com', 'dc:1', 10);
    assert.equal(
      first,
      'https://apis.naver.com/selectiveweb/live_commerce_web/v1/category/gathering?categoryId=dc:1&sort=LATEST&size=10',
    );
    for (const cursor of ['eyJvZmZzZXQiOjEwfQ==', 'a+b/c=', '{"page":2}', '10']) {
      const url = gatheringUrl(REPLICA, 'dc:9', 10, cursor);
      assert.ok(
        url.startsWith(
          `${REPLICA}/selectiveweb/live_commerce_web/v1/category/gathering?categoryId=dc:9&sort=LATEST&size=10&next=`,
        ),
      );
      assert.equal(new URL(url).searchParams.get('next'), cursor, 'the cursor arrives as given');
    }
    assert.throws(() => gatheringUrl(REPLICA, 'dc:1&x=1', 10), /not a category id/);
  });

  it('reads JSON served with a charset or a byte order mark, and Korean or ill-formed names safely', () => {
    const body = JSON.stringify({
      list: [{ shortclip: { id: 3, channel: owner(42, '뷰티 😀 \ud800', LOGO) } }],
      next: null,
    });
    const page = parseGatheringPage(decodeJsonBody(Buffer.from(`\uFEFF${body}`, 'utf8')));
    const name = page.channels[0]?.name ?? '';
    assert.equal(name, '뷰티 😀 \uFFFD', 'a lone surrogate becomes U+FFFD, pairs are kept');
    assert.equal(decodeURIComponent(encodeURIComponent(name)), name);
    const long = '가'.repeat(400);
    const cut = uriEncodeWithin(long, 1024);
    assert.ok(cut.length <= 1024);
    assert.equal(decodeURIComponent(cut), '가'.repeat(113), 'cut between characters, never inside one');
    assert.equal(uriEncodeWithin('Haru Kitchen', 1024), 'Haru%20Kitchen');
  });
});

describe('channel ledger', () => {
  it('takes each channel once, whether its id comes as a number or a string', () => {
    const ledger = new ChannelLedger();
    const [fromBroadcast] = parseGatheringPage({
      list: [{ broadcast: { owner: owner(500_101, '라온뷰티', LOGO) } }],
    }).channels;
    const [fromShortclip] = parseGatheringPage({
      list: [{ shortclip: { channel: { ...owner(0, '라온뷰티', LOGO), id: '500101' } } }],
    }).channels;
    assert.ok(fromBroadcast && fromShortclip);
    assert.equal(ledger.take(fromBroadcast), true);
    assert.equal(ledger.take(fromShortclip), false, 'the same channel from another category');
    assert.deepEqual(ledger.withoutLogo(), []);
  });

  it('keeps a channel open until some appearance brings a logo URL', () => {
    const ledger = new ChannelLedger();
    const bare = parseGatheringPage({
      list: [
        { broadcast: { owner: { ...owner(7, '무로고', ''), profileImageUrl: null } } },
        { broadcast: { owner: owner(8, '빈 로고', ' ') } },
      ],
    }).channels;
    for (const channel of bare) assert.equal(ledger.take(channel), false);
    assert.deepEqual(ledger.withoutLogo(), ['7', '8']);
    assert.equal(
      ledger.take({ id: '7', name: '무로고', logoUrl: LOGO }),
      true,
      'a later appearance with a logo',
    );
    assert.equal(ledger.take({ id: '7', name: '무로고', logoUrl: LOGO }), false);
    assert.deepEqual(ledger.withoutLogo(), ['8']);
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
