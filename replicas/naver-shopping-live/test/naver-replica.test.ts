import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  BLOCK_PAGE_TEXT,
  CATEGORIES,
  type ChannelOwner,
  FOREIGN_HOST,
  GATHERING_PATH,
  type GatheringItem,
  type GatheringResponse,
  generateCatalog,
  NAVER_DEFAULT_IMAGE,
  type NaverReplica,
  type ReplicaChannel,
  startNaverReplica,
  TIMELINE_CURRENT_PATH,
  TIMELINE_NEXT_PATH,
  type TimelineCurrentResponse,
  type TimelineNextResponse,
  type ViewerBroadcast,
} from '../src/index.ts';

const gatheringUrl = (base: string, category: string, next?: string, size = 10) =>
  `${base}${GATHERING_PATH}?categoryId=${category}&sort=LATEST&size=${size}${next ? `&next=${encodeURIComponent(next)}` : ''}`;

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `${url} answered ${response.status}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return (await response.json()) as T;
}

async function walkCategory(base: string, category: string, size = 10): Promise<GatheringItem[]> {
  const items: GatheringItem[] = [];
  let next: string | undefined;
  for (let page = 0; page < 1000; page += 1) {
    const body = await json<GatheringResponse>(gatheringUrl(base, category, next, size));
    assert.ok(Array.isArray(body.list));
    assert.ok(body.list.length <= size);
    items.push(...body.list);
    if (body.next === null) return items;
    assert.equal(typeof body.next, 'string');
    next = body.next;
  }
  throw new Error('pagination did not end');
}

function ownerOf(item: GatheringItem): ChannelOwner {
  const owner = item.broadcast?.owner ?? item.shortclip?.channel;
  assert.ok(owner, 'each item has a broadcast owner or a shortclip channel');
  return owner;
}

function assertOwnerShape(owner: ChannelOwner): void {
  assert.equal(typeof owner.id, 'number');
  assert.equal(typeof owner.broadcasterId, 'number');
  assert.notEqual(owner.broadcasterId, owner.id);
  assert.equal(typeof owner.accountNo, 'string');
  assert.equal(typeof owner.name, 'string');
  assert.ok(owner.name.length > 0);
  assert.equal(typeof owner.profileImageUrl, 'string');
  assert.equal(owner.broadcasterEndUrl, `https://shoppinglive.naver.com/channels/${owner.id}`);
  assert.match(owner.grade, /^GRADE_[1-4]$/);
  assert.ok(
    owner.description === null || owner.description === undefined || typeof owner.description === 'string',
  );
}

const KST = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/;

function unwrapDthumb(url: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.startsWith('/phinf.pstatic.net/dthumb')) return url;
  return (parsed.searchParams.get('src') ?? '').replace(/^"|"$/g, '');
}

describe('Naver Shopping Live replica: endpoints and shapes', () => {
  let replica: NaverReplica;

  before(async () => {
    replica = await startNaverReplica({ seed: 7, channelCount: 120 });
  });

  after(async () => {
    await replica.close();
  });

  it('serves E1 category gathering in the reference shape, for all nine categories', async () => {
    let broadcasts = 0;
    let shortclips = 0;
    for (const category of CATEGORIES) {
      const body = await json<GatheringResponse>(gatheringUrl(replica.url, category.id));
      assert.ok(body.list.length > 0, `${category.id} has items`);
      for (const item of body.list) {
        if (item.broadcast) {
          broadcasts += 1;
          const { broadcast, owner, shoppingProducts } = item.broadcast;
          assert.equal(typeof broadcast.id, 'number');
          assert.equal(typeof broadcast.title, 'string');
          assert.ok(['ONAIR', 'END', 'BLOCK', 'STANDBY'].includes(broadcast.status));
          assert.match(broadcast.expectedStartDate ?? '', KST);
          if (broadcast.startDate) assert.match(broadcast.startDate, KST);
          assertOwnerShape(owner);
          assert.ok(shoppingProducts.length > 0);
          for (const product of shoppingProducts) {
            assert.equal(typeof product.key, 'string');
            assert.equal(typeof product.name, 'string');
            assert.equal(typeof product.price, 'number');
            assert.equal(typeof product.discountRate, 'number');
            assert.equal(typeof product.status, 'string');
            assert.ok(product.image.startsWith(`${replica.url}/shop-phinf.pstatic.net/`));
          }
        } else {
          shortclips += 1;
          const clip = item.shortclip;
          assert.ok(clip);
          assert.equal(typeof clip.id, 'number');
          assert.match(clip.createdAt, KST);
          assert.equal(clip.endUrl, `https://shoppinglive.naver.com/shortclips/${clip.id}`);
          assertOwnerShape(clip.channel);
        }
      }
    }
    assert.ok(broadcasts > 0 && shortclips > 0, 'both broadcasts and shortclips appear');
    const unknown = await json<GatheringResponse>(gatheringUrl(replica.url, 'dc:99'));
    assert.deepEqual(unknown, { list: [], next: null });
  });

  it('paginates with an opaque next cursor until null, covering each item once', async () => {
    const category = 'dc:2';
    const expected = replica.catalog.itemsByCategory.get(category) ?? [];
    const items = await walkCategory(replica.url, category, 7);
    const ids = items.map((item) => item.broadcast?.broadcast.id ?? item.shortclip?.id);
    assert.deepEqual(
      ids,
      expected.map((item) => item.id),
    );
    assert.equal(new Set(ids).size, ids.length);
    const dates = items.map((i) => i.broadcast?.broadcast.expectedStartDate ?? i.shortclip?.createdAt ?? '');
    assert.deepEqual(dates, [...dates].sort().reverse(), 'LATEST sort: newest first');

    const bad = await fetch(gatheringUrl(replica.url, category, 'not-a-cursor'));
    assert.equal(bad.status, 400);
    const firstPage = await json<GatheringResponse>(gatheringUrl(replica.url, 'dc:1'));
    assert.ok(firstPage.next);
    const crossed = await fetch(gatheringUrl(replica.url, 'dc:3', firstPage.next));
    assert.equal(crossed.status, 400, 'a cursor of one category is refused for another');
    assert.equal((await fetch(gatheringUrl(replica.url, category, undefined, 500))).status, 400);
  });

  it('shows the same channel in several categories and several times', async () => {
    const multi = replica.channels.filter((c) => c.categories.length > 1);
    assert.ok(multi.length > 0);
    const channel = multi[0] as ReplicaChannel;
    for (const category of channel.categories) {
      const owners = (await walkCategory(replica.url, category, 50)).map(ownerOf);
      assert.ok(
        owners.some((o) => o.id === channel.id),
        `${channel.id} appears in ${category}`,
      );
    }
  });

  it('serves E2 viewer broadcasts consistent with E1, and 404 for unknown ids', async () => {
    const page = await json<GatheringResponse>(gatheringUrl(replica.url, 'dc:4', undefined, 30));
    const item = page.list.find((i) => i.broadcast)?.broadcast;
    assert.ok(item);
    const viewer = await json<ViewerBroadcast>(
      `${replica.url}/live_commerce_web/viewer_api_web/v1/broadcast/${item.broadcast.id}?needTimeMachine=true&slSessionId=0b9f7f0e-1c1d-4e4e-9f3a-2b6d3c1e0a11`,
    );
    assert.equal(viewer.id, item.broadcast.id);
    assert.equal(viewer.broadcastOwnerId, item.owner.id);
    assert.equal(viewer.nickname, item.owner.name);
    assert.equal(viewer.profileUrl, item.owner.profileImageUrl);
    assert.equal(viewer.broadcasterEndUrl, item.owner.broadcasterEndUrl);
    assert.match(viewer.broadcastEndUrl, /^https:\/\/view\.shoppinglive\.naver\.com\/(lives|replays)\/\d+$/);
    assert.ok(viewer.categoryComponent?.categories.some((c) => c.primary));
    const missing = await fetch(`${replica.url}/live_commerce_web/viewer_api_web/v1/broadcast/1`);
    assert.equal(missing.status, 404);
  });

  it('serves the E7/E8 calendar timeline, refusing sizes over 30', async () => {
    const timestamp = (replica.catalog.timeline[10]?.at ?? 0) - 1;
    const current = await json<TimelineCurrentResponse>(
      `${replica.url}${TIMELINE_CURRENT_PATH}?timestamp=${timestamp}&size=5`,
    );
    assert.equal(current.nextBroadcasts.list.length, 5);
    assert.equal(current.nextBroadcasts.list[0]?.broadcast.id, replica.catalog.timeline[10]?.id);
    assert.ok(current.nextBroadcasts.next);
    const next = await json<TimelineNextResponse>(
      `${replica.url}${TIMELINE_NEXT_PATH}?next=${encodeURIComponent(current.nextBroadcasts.next)}&size=30`,
    );
    assert.equal(next.list[0]?.broadcast.id, replica.catalog.timeline[15]?.id);
    assertOwnerShape(next.list[0]?.owner as ChannelOwner);
    assert.equal(
      (await fetch(`${replica.url}${TIMELINE_CURRENT_PATH}?timestamp=${timestamp}&size=31`)).status,
      400,
    );
  });

  it('serves real PNG, JPEG and GIF logo bytes on the Naver image host paths', async () => {
    const seen = new Set<string>();
    for (const channel of replica.channels
      .filter((c) => c.logo.kind === 'image' && !c.logo.fault)
      .slice(0, 40)) {
      const url = unwrapDthumb(replica.logoUrl(channel));
      assert.ok(url.startsWith(`${replica.url}/${channel.logo.host}/`));
      const response = await fetch(url);
      assert.equal(response.status, 200);
      const bytes = Buffer.from(await response.arrayBuffer());
      const meta = await sharp(bytes, { animated: true }).metadata();
      assert.equal(meta.format, channel.logo.format === 'jpeg' ? 'jpeg' : channel.logo.format);
      assert.equal(response.headers.get('content-type'), `image/${channel.logo.format}`);
      assert.equal(meta.width, channel.logo.width);
      if (channel.logo.animated) assert.ok((meta.pages ?? 1) > 1, 'animated GIFs have several frames');
      seen.add(channel.logo.format);
    }
    assert.deepEqual([...seen].sort(), ['gif', 'jpeg', 'png']);
  });

  it('wraps some logos in dthumb URLs that resize the original', async () => {
    const wrapped = replica.channels.find(
      (c) => c.logo.kind === 'image' && c.logo.wrapped && !c.logo.fault && c.logo.width > 240,
    );
    assert.ok(wrapped, 'the catalogue has a wrapped logo larger than 240 px');
    const url = replica.logoUrl(wrapped);
    assert.match(
      url,
      /\/phinf\.pstatic\.net\/dthumb\/\?src=%22http%3A%2F%2F127\.0\.0\.1%3A\d+%2F.*%22&service=selective&type=f240_240_q90$/,
    );
    const response = await fetch(url);
    assert.equal(response.status, 200);
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    assert.ok((meta.width ?? 0) <= 240 && (meta.height ?? 0) <= 240);
  });

  it("serves Naver's shared default image for some channels", async () => {
    const defaults = replica.channels.filter((c) => c.logo.kind === 'default');
    assert.ok(defaults.length > 0);
    for (const channel of defaults) {
      assert.equal(
        unwrapDthumb(replica.logoUrl(channel)),
        `${replica.url}/${NAVER_DEFAULT_IMAGE.host}${NAVER_DEFAULT_IMAGE.path}`,
      );
    }
    const response = await fetch(`${replica.url}/${NAVER_DEFAULT_IMAGE.host}${NAVER_DEFAULT_IMAGE.path}`);
    assert.equal(response.status, 200);
    assert.equal((await sharp(Buffer.from(await response.arrayBuffer())).metadata()).format, 'jpeg');
    assert.equal((await fetch(`${replica.url}/shop1.phinf.naver.net/nope.png`)).status, 404);
    assert.equal((await fetch(`${replica.url}/not-a-naver-host/x.png`)).status, 404);
  });
});

describe('Naver Shopping Live replica: faults', () => {
  let replica: NaverReplica;

  before(async () => {
    replica = await startNaverReplica({
      seed: 3,
      channelCount: 60,
      logoFaults: {
        corrupt: 0.02,
        truncated: 0.02,
        'wrong-content-type': 0.05,
        'not-an-image': 0.02,
        'redirect-foreign': 0.02,
        'foreign-host': 0.02,
        'foreign-path': 0.02,
      },
    });
  });

  after(async () => {
    await replica.close();
  });

  const withFault = (fault: string) => {
    const channels = replica.channels.filter((c) => c.logo.fault === fault);
    assert.ok(channels.length > 0, `some channel has the ${fault} fault`);
    return channels;
  };

  it('answers bursts of 429 with Retry-After', async () => {
    replica.setFaults({ rateLimit: { every: 3, burst: 2, retryAfterSeconds: 7 } });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const response = await fetch(gatheringUrl(replica.url, 'dc:1'));
      statuses.push(response.status);
      if (response.status === 429) assert.equal(response.headers.get('retry-after'), '7');
      await response.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 200, 200, 200, 429, 429]);
    const image = replica.channels.find((c) => c.logo.kind === 'image' && !c.logo.fault) as ReplicaChannel;
    assert.equal((await fetch(unwrapDthumb(replica.logoUrl(image)))).status, 200, 'API scope by default');
    replica.setFaults({});
  });

  it('fails a share of requests with 5xx', async () => {
    replica.setFaults({ errorRate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await fetch(gatheringUrl(replica.url, 'dc:2'))).status);
    const errors = statuses.filter((s) => s >= 500);
    assert.ok(errors.length > 5 && errors.length < 35, `about half failed (${errors.length}/40)`);
    assert.ok(errors.every((s) => [500, 502, 503].includes(s)));
    replica.setFaults({});
  });

  it('fails every n-th request with 5xx when errorEvery is set', async () => {
    replica.setFaults({ errorEvery: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 9; i += 1) statuses.push((await fetch(gatheringUrl(replica.url, 'dc:2'))).status);
    assert.deepEqual(
      statuses.map((s) => (s >= 500 ? 'error' : s)),
      [200, 200, 'error', 200, 200, 'error', 200, 200, 'error'],
    );
    replica.setFaults({});
  });

  it('slows responses down', async () => {
    replica.setFaults({ slowMs: 300 });
    const started = Date.now();
    await (await fetch(gatheringUrl(replica.url, 'dc:1'))).arrayBuffer();
    assert.ok(Date.now() - started >= 290);
    replica.setFaults({});
    const quick = Date.now();
    await (await fetch(`${gatheringUrl(replica.url, 'dc:1')}&__fault=slow&__slowMs=200`)).arrayBuffer();
    assert.ok(Date.now() - quick >= 190, 'the query switch slows one request');
  });

  it('serves the block page (405, 보안 확인) after a number of API requests', async () => {
    replica.setFaults({ blockAfter: 2 });
    const statuses: number[] = [];
    let body = '';
    for (let i = 0; i < 4; i += 1) {
      const response = await fetch(gatheringUrl(replica.url, 'dc:5'));
      statuses.push(response.status);
      body = await response.text();
    }
    assert.deepEqual(statuses, [200, 200, 405, 405]);
    assert.ok(body.includes(BLOCK_PAGE_TEXT));
    replica.setFaults({});
    const forced = await fetch(`${gatheringUrl(replica.url, 'dc:5')}&__fault=block`);
    assert.equal(forced.status, 405);
    assert.ok((await forced.text()).includes(BLOCK_PAGE_TEXT));
  });

  it('serves corrupt and truncated images that keep their magic bytes', async () => {
    for (const fault of ['corrupt', 'truncated']) {
      for (const channel of withFault(fault)) {
        const bytes = Buffer.from(await (await fetch(unwrapDthumb(replica.logoUrl(channel)))).arrayBuffer());
        const magic = { png: '89504e47', jpeg: 'ffd8ff', gif: '47494638' }[channel.logo.format];
        assert.ok(bytes.toString('hex').startsWith(magic), `${fault} ${channel.logo.format} keeps its magic`);
        await assert.rejects(sharp(bytes).png().toBuffer(), `${fault} image does not decode`);
      }
    }
  });

  it('serves images under the wrong content type and extension', async () => {
    for (const channel of withFault('wrong-content-type')) {
      const url = unwrapDthumb(replica.logoUrl(channel));
      const response = await fetch(url);
      const bytes = Buffer.from(await response.arrayBuffer());
      const claimed = response.headers.get('content-type');
      assert.notEqual(claimed, `image/${channel.logo.format}`);
      assert.equal((await sharp(bytes).metadata()).format, channel.logo.format);
      if (channel.logo.format === 'jpeg') assert.match(url, /_PNG\/.*\.(png|PNG)$/);
    }
  });

  it('serves HTML as an image, redirects off Naver, and hands out foreign logo URLs', async () => {
    const [html] = withFault('not-an-image');
    const htmlResponse = await fetch(replica.logoUrl(html as ReplicaChannel));
    assert.equal(htmlResponse.headers.get('content-type'), 'image/png');
    assert.match(await htmlResponse.text(), /<html>/);

    const [redirect] = withFault('redirect-foreign');
    const redirected = await fetch(unwrapDthumb(replica.logoUrl(redirect as ReplicaChannel)), {
      redirect: 'manual',
    });
    assert.equal(redirected.status, 302);
    assert.equal(new URL(redirected.headers.get('location') ?? '').host, FOREIGN_HOST);

    const [foreign] = withFault('foreign-host');
    assert.equal(new URL(replica.logoUrl(foreign as ReplicaChannel)).host, FOREIGN_HOST);
    const [foreignPath] = withFault('foreign-path');
    const url = new URL(replica.logoUrl(foreignPath as ReplicaChannel));
    assert.equal(url.origin, replica.url);
    assert.equal(url.pathname.split('/')[1], 'internal');
  });

  it('forces 429 and 5xx per request through the __fault query switch, and counts everything', async () => {
    const before = { ...replica.stats, byStatus: { ...replica.stats.byStatus } };
    const limited = await fetch(`${gatheringUrl(replica.url, 'dc:1')}&__fault=429`);
    assert.equal(limited.status, 429);
    assert.ok(limited.headers.get('retry-after'));
    assert.equal((await fetch(`${gatheringUrl(replica.url, 'dc:1')}&__fault=503`)).status, 503);
    assert.equal(replica.stats.rateLimited, before.rateLimited + 1);
    assert.equal(replica.stats.serverErrors, before.serverErrors + 1);
    assert.equal(replica.stats.apiRequests, before.apiRequests + 2);
    assert.equal(replica.stats.byStatus['429'], (before.byStatus['429'] ?? 0) + 1);
    const last = replica.stats.log.at(-1);
    assert.deepEqual(
      { ...last, at: undefined },
      {
        method: 'GET',
        path: `${GATHERING_PATH}?categoryId=dc:1&sort=LATEST&size=10&__fault=503`,
        status: 503,
        at: undefined,
      },
    );
    assert.ok(Math.abs((last?.at ?? 0) - Date.now()) < 5000);
  });
});

describe('Naver Shopping Live replica: determinism and data', () => {
  it('generates the same catalogue from the same seed and another from another seed', () => {
    const a = generateCatalog({ seed: 11, channelCount: 300 });
    const b = generateCatalog({ seed: 11, channelCount: 300 });
    const c = generateCatalog({ seed: 12, channelCount: 300 });
    assert.deepEqual(a.channels, b.channels);
    assert.deepEqual([...a.itemsByCategory.entries()], [...b.itemsByCategory.entries()]);
    assert.notDeepEqual(
      a.channels.map((x) => x.name),
      c.channels.map((x) => x.name),
    );
  });

  it('keeps brands independent of the fault options', () => {
    const plain = generateCatalog({ seed: 5, channelCount: 200 });
    const faulty = generateCatalog({
      seed: 5,
      channelCount: 200,
      logoFaults: { corrupt: 0.1, 'foreign-host': 0.1 },
    });
    const brand = (x: ReplicaChannel) => [x.id, x.name, x.categories.join()];
    assert.deepEqual(plain.channels.map(brand), faulty.channels.map(brand));
  });

  it('makes thousands of unique, mostly Korean brand names across all categories by default', () => {
    const started = Date.now();
    const catalog = generateCatalog();
    assert.ok(Date.now() - started < 5000, 'generation is quick');
    const { channels } = catalog;
    assert.equal(channels.length, 3000);
    assert.equal(new Set(channels.map((c) => c.name)).size, 3000, 'names are unique');
    assert.equal(new Set(channels.map((c) => c.id)).size, 3000, 'ids are unique');
    const hangul = channels.filter((c) => /[가-힣]/.test(c.name)).length;
    const latinOnly = channels.filter((c) => /^[A-Za-z .&0-9]+$/.test(c.name)).length;
    const spaced = channels.filter((c) => c.name.includes(' ')).length;
    assert.ok(hangul > 1500, `${hangul} Hangul names`);
    assert.ok(latinOnly > 100, `${latinOnly} Latin names`);
    assert.ok(spaced > 300, `${spaced} names with spaces`);
    for (const category of CATEGORIES)
      assert.ok((catalog.itemsByCategory.get(category.id)?.length ?? 0) > 300);
    const formats = new Set(channels.map((c) => `${c.logo.kind}:${c.logo.format}:${c.logo.animated}`));
    for (const kind of [
      'image:png:false',
      'image:jpeg:false',
      'image:gif:false',
      'image:gif:true',
      'default:jpeg:false',
    ]) {
      assert.ok(formats.has(kind), kind);
    }
  });

  it('serves byte-identical logos from two replicas with the same seed', async () => {
    const one = await startNaverReplica({ seed: 9, channelCount: 20 });
    const two = await startNaverReplica({ seed: 9, channelCount: 20 });
    try {
      for (const index of [0, 5, 13]) {
        const a = one.channels[index] as ReplicaChannel;
        const b = two.channels[index] as ReplicaChannel;
        const bytesA = Buffer.from(await (await fetch(unwrapDthumb(one.logoUrl(a)))).arrayBuffer());
        const bytesB = Buffer.from(await (await fetch(unwrapDthumb(two.logoUrl(b)))).arrayBuffer());
        assert.ok(bytesA.length > 0);
        assert.deepEqual(bytesA, bytesB);
      }
      assert.deepEqual(one.brands, two.brands);
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('Naver Shopping Live replica: command line', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const cwd = fileURLToPath(new URL('..', import.meta.url));

  it('prints its URL, serves, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--channels', '30'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      const url = chunk.toString().trim();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const body = await json<GatheringResponse>(gatheringUrl(url, 'dc:1'));
      assert.ok(body.list.length > 0);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('prints the brand list for seeding a company table', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, '--brands', '--channels', '25', '--seed', '4'],
      {
        cwd,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    const brands = JSON.parse(output) as { channelId: number; name: string }[];
    assert.equal(brands.length, 25);
    assert.deepEqual(
      brands.map((b) => b.name),
      generateCatalog({ seed: 4, channelCount: 25 }).channels.map((c) => c.name),
    );
  });
});
