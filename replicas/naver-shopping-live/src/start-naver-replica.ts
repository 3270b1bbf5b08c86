import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import {
  CATEGORIES,
  type Catalog,
  type CatalogItem,
  type CatalogOptions,
  generateCatalog,
  kstString,
  listBrands,
  NAVER_DEFAULT_IMAGE,
  NAVER_IMAGE_HOSTS,
  type ReplicaBrand,
  type ReplicaChannel,
} from './generate-catalog.ts';
import type {
  Broadcast,
  ChannelOwner,
  GatheringItem,
  GatheringResponse,
  Product,
  TimelineCurrentResponse,
  TimelineEntry,
  TimelineNextResponse,
  ViewerBroadcast,
} from './naver-shapes.ts';
import { renderDefaultImage, renderLogo } from './render-logo.ts';
import { SeededRandom } from './seeded-random.ts';

export type FaultScope = 'api' | 'images' | 'all';

/** Faults that hit requests; they can be changed while the replica runs (`setFaults`). */
export interface RequestFaults {
  /** Repeating pattern: `every` requests pass, then `burst` requests get 429 with `Retry-After`. */
  rateLimit?: { every: number; burst: number; retryAfterSeconds?: number; scope?: FaultScope };
  /** Fraction (0..1) of requests answered with 500, 502 or 503. */
  errorRate?: number;
  /** Deterministic errors: every `errorEvery`-th request in `errorScope` that is not rate-limited gets 500, 502 or 503. */
  errorEvery?: number;
  errorScope?: FaultScope;
  /** Delay before answering, in ms, for `slowRate` (default all) of the requests in `slowScope`. */
  slowMs?: number;
  slowRate?: number;
  /** Deterministic delays: every `slowEvery`-th request in `slowScope` is slowed by `slowMs` (instead of `slowRate`). */
  slowEvery?: number;
  slowScope?: FaultScope;
  /**
   * Serve the security-check block page (HTTP 405) to every API request after this many
   * (counted from start, or from the last `setFaults`). 0 blocks at once.
   */
  blockAfter?: number;
}

export interface NaverReplicaOptions extends CatalogOptions {
  /** Loopback address to bind; defaults to 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  faults?: RequestFaults;
}

export interface ReplicaRequestRecord {
  method: string;
  path: string;
  status: number;
  /** Epoch ms when the request arrived. */
  at: number;
}

export interface ReplicaStats {
  requests: number;
  apiRequests: number;
  imageRequests: number;
  byStatus: Record<string, number>;
  rateLimited: number;
  serverErrors: number;
  slowed: number;
  blocked: number;
  /** The most recent requests (at most 20,000), oldest first. */
  log: ReplicaRequestRecord[];
}

export interface NaverReplica {
  /** Base URL: use it as the API host, e.g. `${url}/selectiveweb/...`. */
  url: string;
  channels: ReplicaChannel[];
  brands: ReplicaBrand[];
  catalog: Catalog;
  stats: ReplicaStats;
  setFaults(faults: RequestFaults): void;
  /** The URL the API gives as this channel's logo (`profileImageUrl`). */
  logoUrl(channel: ReplicaChannel): string;
  close(): Promise<void>;
}

export const GATHERING_PATH = '/selectiveweb/live_commerce_web/v1/category/gathering';
export const BROADCAST_PATH_PREFIX = '/live_commerce_web/viewer_api_web/v1/broadcast/';
export const TIMELINE_CURRENT_PATH = '/selectiveweb/live_commerce_web/v1/calendar/broadcast/timeline/current';
export const TIMELINE_NEXT_PATH = '/selectiveweb/live_commerce_web/v1/calendar/broadcast/timeline/next';
/** A host outside Naver, used by the foreign-logo faults; it is never contacted by the replica. */
export const FOREIGN_HOST = 'logo-cdn.example.com';
export const BLOCK_PAGE_TEXT = '보안 확인을 완료해 주세요';

const JSON_TYPE = 'application/json;charset=UTF-8';
const LOG_LIMIT = 20_000;
const IMAGE_HOSTS = new Set<string>(NAVER_IMAGE_HOSTS);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function encodeCursor(scope: string, offset: number): string {
  return Buffer.from(`${scope}|${offset}`).toString('base64url');
}

function decodeCursor(cursor: string, scope: string): number {
  const [cursorScope, offset] = Buffer.from(cursor, 'base64url').toString().split('|');
  const value = Number(offset);
  if (cursorScope !== scope || !Number.isInteger(value) || value < 0) {
    throw new HttpError(400, 'INVALID_PARAMETER', `next cursor is not valid for ${scope}`);
  }
  return value;
}

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, 'INVALID_PARAMETER', `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function inScope(
  scope: FaultScope | undefined,
  kind: 'api' | 'image' | 'other',
  fallback: FaultScope,
): boolean {
  const s = scope ?? fallback;
  return s === 'all' || (s === 'api' && kind === 'api') || (s === 'images' && kind === 'image');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts an HTTP server on loopback that answers Naver Shopping Live's public endpoints (E1 category
 * gathering, E2 viewer broadcast, E7/E8 calendar timeline) and its image hosts under `/<host>/<path>`,
 * from a generated, seeded catalogue, with switchable faults.
 *
 * @example
 * const replica = await startNaverReplica({ channelCount: 50, faults: { errorRate: 0.1 } });
 * const page = await fetch(`${replica.url}/selectiveweb/live_commerce_web/v1/category/gathering?categoryId=dc:1&sort=LATEST&size=10`);
 * await replica.close();
 */
export async function startNaverReplica(options: NaverReplicaOptions = {}): Promise<NaverReplica> {
  const catalog = generateCatalog(options);
  let faults: RequestFaults = { ...(options.faults ?? {}) };
  const faultRandom = new SeededRandom(`${catalog.seed}:request-faults`);
  const stats: ReplicaStats = {
    requests: 0,
    apiRequests: 0,
    imageRequests: 0,
    byStatus: {},
    rateLimited: 0,
    serverErrors: 0,
    slowed: 0,
    blocked: 0,
    log: [],
  };
  let rateLimitCounter = 0;
  let errorCounter = 0;
  let slowCounter = 0;
  let apiRequestsSinceFaults = 0;
  let base = '';

  const logoIndex = new Map<string, ReplicaChannel>();
  for (const channel of catalog.channels) {
    if (channel.logo.kind === 'image') logoIndex.set(`${channel.logo.host}${channel.logo.path}`, channel);
  }
  const imageCache = new Map<string, Promise<Buffer>>();
  const cached = (key: string, make: () => Promise<Buffer>): Promise<Buffer> => {
    let bytes = imageCache.get(key);
    if (!bytes) {
      bytes = make();
      imageCache.set(key, bytes);
      bytes.catch(() => imageCache.delete(key));
    }
    return bytes;
  };

  const imageUrl = (host: string, path: string) => `${base}/${host}${path}`;
  const dthumb = (original: string) =>
    `${base}/phinf.pstatic.net/dthumb/?src=%22${encodeURIComponent(original)}%22&service=selective&type=f240_240_q90`;

  const logoUrl = (channel: ReplicaChannel): string => {
    const { logo } = channel;
    if (logo.fault === 'foreign-host') return `http://${FOREIGN_HOST}${logo.path}`;
    if (logo.fault === 'foreign-path') return `${base}/internal/admin${logo.path}`;
    const original = imageUrl(logo.host, logo.path);
    return logo.wrapped ? dthumb(original) : original;
  };

  const owner = (channel: ReplicaChannel): ChannelOwner => ({
    id: channel.id,
    broadcasterId: channel.broadcasterId,
    accountNo: channel.accountNo,
    name: channel.name,
    profileImageUrl: logoUrl(channel),
    broadcasterEndUrl: `https://shoppinglive.naver.com/channels/${channel.id}`,
    grade: channel.grade,
    description: channel.description,
  });

  const products = (item: CatalogItem, channel: ReplicaChannel): Product[] =>
    item.products.map((p) => ({
      key: p.key,
      productNo: p.productNo,
      name: p.name,
      brandName: channel.name,
      mallName: channel.name,
      image: imageUrl('shop-phinf.pstatic.net', p.imagePath),
      price: p.price,
      discountedSalePrice: Math.round((p.price * (100 - p.discountRate)) / 100),
      discountRate: p.discountRate,
      stock: p.stock,
      status: p.stock > 0 ? 'SALE' : 'OUTOFSTOCK',
      productEndUrl: `https://smartstore.naver.com/main/products/${p.productNo}`,
    }));

  const broadcast = (item: CatalogItem): Broadcast => {
    const ended = item.status === 'END' || item.status === 'BLOCK';
    return {
      id: item.id,
      title: item.title,
      description: `${item.title} — 쇼핑라이브에서 만나보세요.`,
      status: item.status,
      ...(item.status === 'STANDBY' ? {} : { startDate: kstString(item.at) }),
      ...(ended ? { endDate: kstString(item.at + item.durationMinutes * 60_000) } : {}),
      expectedStartDate: kstString(item.at),
      standByImage: imageUrl('shop-phinf.pstatic.net', item.imagePath),
      previewImage: imageUrl('shop-phinf.pstatic.net', item.imagePath),
      productCount: item.products.length,
      serviceId: 'SHOPPINGLIVE',
    };
  };

  const channelOf = (item: CatalogItem): ReplicaChannel => {
    const channel = catalog.channelsById.get(item.channelId);
    if (!channel) throw new Error(`catalogue item ${item.id} names unknown channel ${item.channelId}`);
    return channel;
  };

  const gatheringItem = (item: CatalogItem): GatheringItem => {
    const channel = channelOf(item);
    if (item.type === 'shortclip') {
      return {
        shortclip: {
          id: item.id,
          title: item.title,
          status: 'OPENED',
          createdAt: kstString(item.at),
          endUrl: `https://shoppinglive.naver.com/shortclips/${item.id}`,
          thumbnail: imageUrl('shop-phinf.pstatic.net', item.imagePath),
          channel: owner(channel),
        },
      };
    }
    return {
      broadcast: {
        broadcast: broadcast(item),
        owner: owner(channel),
        shoppingProducts: products(item, channel),
      },
    };
  };

  const timelineEntry = (item: CatalogItem): TimelineEntry => ({
    broadcast: broadcast(item),
    owner: owner(channelOf(item)),
  });

  const gathering = (query: URLSearchParams): GatheringResponse => {
    const categoryId = query.get('categoryId') ?? '';
    const size = intParam(query, 'size', 10, 1, 100);
    const items = catalog.itemsByCategory.get(categoryId) ?? [];
    const nextParam = query.get('next');
    const offset = nextParam ? decodeCursor(nextParam, categoryId) : 0;
    const page = items.slice(offset, offset + size);
    const end = offset + page.length;
    return { list: page.map(gatheringItem), next: end < items.length ? encodeCursor(categoryId, end) : null };
  };

  const viewerBroadcast = (id: number): ViewerBroadcast => {
    const item = catalog.broadcastsById.get(id);
    if (!item) throw new HttpError(404, 'NOT_FOUND', `broadcast ${id} not found`);
    const channel = channelOf(item);
    return {
      ...broadcast(item),
      nickname: channel.name,
      profileUrl: logoUrl(channel),
      broadcastOwnerId: channel.id,
      broadcasterEndUrl: `https://shoppinglive.naver.com/channels/${channel.id}`,
      broadcastEndUrl: `https://view.shoppinglive.naver.com/${item.status === 'ONAIR' ? 'lives' : 'replays'}/${item.id}`,
      shoppingProducts: products(item, channel),
      categoryComponent: {
        categories: channel.categories.map((id, index) => ({
          id,
          name: CATEGORIES.find((c) => c.id === id)?.name ?? id,
          primary: index === 0,
        })),
        brandName: channel.name,
      },
    };
  };

  const timelineSize = (query: URLSearchParams) => {
    const size = intParam(query, 'size', 30, 1, 1000);
    if (size > 30) throw new HttpError(400, 'INVALID_PARAMETER', 'size must not exceed 30');
    return size;
  };

  const timelineCurrent = (query: URLSearchParams): TimelineCurrentResponse => {
    const size = timelineSize(query);
    const timestamp = intParam(query, 'timestamp', Date.now(), 0, Number.MAX_SAFE_INTEGER);
    const start = catalog.timeline.findIndex((item) => item.at > timestamp);
    const from = start === -1 ? catalog.timeline.length : start;
    const previous = catalog.timeline[from - 1];
    const current =
      previous && previous.at + previous.durationMinutes * 60_000 > timestamp ? previous : undefined;
    const page = catalog.timeline.slice(from, from + size);
    const end = from + page.length;
    return {
      currentBroadcast: current ? timelineEntry(current) : null,
      nextBroadcasts: {
        list: page.map(timelineEntry),
        next: end < catalog.timeline.length ? encodeCursor('timeline', end) : null,
      },
    };
  };

  const timelineNext = (query: URLSearchParams): TimelineNextResponse => {
    const size = timelineSize(query);
    const cursor = query.get('next');
    if (!cursor) throw new HttpError(400, 'INVALID_PARAMETER', 'next is required');
    const from = decodeCursor(cursor, 'timeline');
    const page = catalog.timeline.slice(from, from + size);
    const end = from + page.length;
    return {
      list: page.map(timelineEntry),
      next: end < catalog.timeline.length ? encodeCursor('timeline', end) : null,
    };
  };

  /** Bytes and the Content-Type to claim for an image path on a Naver host; `undefined` when it does not exist. */
  const resolveImage = async (
    host: string,
    path: string,
    query: URLSearchParams,
  ): Promise<{ status: number; type: string; body: Buffer; location?: string } | undefined> => {
    if (host === 'phinf.pstatic.net' && path.startsWith('/dthumb')) return resolveDthumb(query);
    if (host === NAVER_DEFAULT_IMAGE.host && path === NAVER_DEFAULT_IMAGE.path) {
      return { status: 200, type: 'image/jpeg', body: await cached('default', renderDefaultImage) };
    }
    const channel = logoIndex.get(`${host}${path}`);
    if (channel) return serveLogo(channel);
    if (/^\/\d{8}_\d+\/\d{13}[A-Za-z0-9]{5}_(PNG|JPEG|GIF)\//.test(path)) {
      // Product and broadcast pictures: any Naver-shaped path gets a deterministic picture.
      const body = await cached(`generic:${host}${path}`, () =>
        renderLogo({ format: 'jpeg', animated: false, width: 300, height: 300, seed: `${host}${path}` }),
      );
      return { status: 200, type: 'image/jpeg', body };
    }
    return undefined;
  };

  const serveLogo = async (channel: ReplicaChannel) => {
    const { logo } = channel;
    const contentType = { png: 'image/png', jpeg: 'image/jpeg', gif: 'image/gif' }[logo.format];
    if (logo.fault === 'redirect-foreign') {
      return {
        status: 302,
        type: 'text/html',
        body: Buffer.from(''),
        location: `http://${FOREIGN_HOST}${logo.path}`,
      };
    }
    if (logo.fault === 'not-an-image') {
      return {
        status: 200,
        type: 'image/png',
        body: Buffer.from('<!DOCTYPE html><html><body><h1>이미지를 찾을 수 없습니다</h1></body></html>'),
      };
    }
    const bytes = await cached(`logo:${channel.id}`, () =>
      renderLogo({ ...logo, seed: `${catalog.seed}:logo:${channel.id}` }),
    );
    if (logo.fault === 'corrupt') {
      const garbage = new SeededRandom(`corrupt:${channel.id}`);
      const body = Buffer.from(bytes);
      for (let i = 16; i < body.length; i += 1) body[i] = garbage.int(0, 255);
      return { status: 200, type: contentType, body };
    }
    if (logo.fault === 'truncated') {
      return {
        status: 200,
        type: contentType,
        body: bytes.subarray(0, Math.max(24, Math.floor(bytes.length * 0.45))),
      };
    }
    if (logo.fault === 'wrong-content-type') {
      const wrong = { png: 'text/html', jpeg: 'image/png', gif: 'image/jpeg' }[logo.format];
      return { status: 200, type: wrong, body: bytes };
    }
    return { status: 200, type: contentType, body: bytes };
  };

  /** `dthumb/?src="<url>"&type=f240_240_q90`: the original, resized as `type` asks. */
  const resolveDthumb = async (query: URLSearchParams) => {
    const src = (query.get('src') ?? '').replace(/^"|"$/g, '');
    let inner: URL;
    try {
      inner = new URL(src);
    } catch {
      throw new HttpError(400, 'INVALID_PARAMETER', 'src is not a URL');
    }
    const segments = inner.pathname.split('/');
    const host = segments[1] ?? '';
    if (inner.origin !== base || !IMAGE_HOSTS.has(host) || host === 'phinf.pstatic.net') return undefined;
    const image = await resolveImage(host, `/${segments.slice(2).join('/')}`, inner.searchParams);
    if (image?.status !== 200 || !image.type.startsWith('image/')) return image;
    const match = /^[fwm](\d+)(?:_(\d+))?/.exec(query.get('type') ?? '');
    if (!match) return image;
    const channel = logoIndex.get(`${host}/${segments.slice(2).join('/')}`);
    // A broken original stays broken through the resizer, as it would on Naver.
    if (channel?.logo.fault === 'corrupt' || channel?.logo.fault === 'truncated') return image;
    const width = Number(match[1]);
    const height = match[2] ? Number(match[2]) : undefined;
    const resized = await cached(`dthumb:${src}:${query.get('type')}`, async () => {
      const pipeline = sharp(image.body).resize(width, height, { fit: 'inside', withoutEnlargement: true });
      const meta = await sharp(image.body).metadata();
      if (meta.format === 'png') return pipeline.png().toBuffer();
      if (meta.format === 'gif') return pipeline.gif().toBuffer();
      return pipeline.jpeg({ quality: 90 }).toBuffer();
    });
    return { ...image, body: resized };
  };

  const send = (res: ServerResponse, status: number, type: string, body: Buffer | string, headers = {}) => {
    const buffer = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': buffer.length, ...headers });
    res.end(buffer);
  };

  const blockPage = () =>
    '<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>네이버</title></head>' +
    `<body><div class="captcha"><h2>${BLOCK_PAGE_TEXT}</h2>` +
    '<p>비정상적인 접근이 감지되었습니다. 잠시 후 다시 시도해 주세요.</p></div></body></html>';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const firstSegment = path.split('/')[1] ?? '';
    const kind: 'api' | 'image' | 'other' =
      path.startsWith('/selectiveweb/') || path.startsWith('/live_commerce_web/')
        ? 'api'
        : IMAGE_HOSTS.has(firstSegment)
          ? 'image'
          : 'other';
    stats.requests += 1;
    if (kind === 'api') {
      stats.apiRequests += 1;
      apiRequestsSinceFaults += 1;
    }
    if (kind === 'image') stats.imageRequests += 1;
    const forced = url.searchParams.get('__fault');

    const slowMs =
      forced === 'slow' ? Number(url.searchParams.get('__slowMs') ?? 2000) : (faults.slowMs ?? 0);
    if (
      slowMs > 0 &&
      (forced === 'slow' ||
        (inScope(faults.slowScope, kind, 'all') &&
          (faults.slowEvery
            ? ++slowCounter % Math.max(1, faults.slowEvery) === 0
            : faultRandom.chance(faults.slowRate ?? 1))))
    ) {
      stats.slowed += 1;
      await sleep(slowMs);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(
        res,
        405,
        JSON_TYPE,
        JSON.stringify({ code: 'METHOD_NOT_ALLOWED', message: 'only GET is supported' }),
      );
    }
    if (
      kind === 'api' &&
      (forced === 'block' || (faults.blockAfter !== undefined && apiRequestsSinceFaults > faults.blockAfter))
    ) {
      stats.blocked += 1;
      return send(res, 405, 'text/html;charset=utf-8', blockPage());
    }
    const limit = faults.rateLimit;
    if (forced === '429' || (limit && inScope(limit.scope, kind, 'api'))) {
      const cycle = limit ? Math.max(1, limit.every) + Math.max(0, limit.burst) : 1;
      const position = forced === '429' ? cycle : rateLimitCounter++ % cycle;
      if (forced === '429' || (limit && position >= Math.max(1, limit.every))) {
        stats.rateLimited += 1;
        return send(
          res,
          429,
          JSON_TYPE,
          JSON.stringify({
            code: 'TOO_MANY_REQUESTS',
            message: '요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.',
          }),
          { 'Retry-After': String(limit?.retryAfterSeconds ?? 1) },
        );
      }
    }
    const forcedStatus =
      forced === '500' || forced === '502' || forced === '503' ? Number(forced) : undefined;
    if (
      forcedStatus ||
      (inScope(faults.errorScope, kind, 'api') &&
        (faults.errorEvery
          ? ++errorCounter % Math.max(1, faults.errorEvery) === 0
          : !!faults.errorRate && faultRandom.chance(faults.errorRate)))
    ) {
      stats.serverErrors += 1;
      const status = forcedStatus ?? faultRandom.pick([500, 502, 503]);
      return send(
        res,
        status,
        JSON_TYPE,
        JSON.stringify({ code: 'INTERNAL_SERVER_ERROR', message: 'temporary failure' }),
      );
    }

    if (kind === 'api') {
      if (path === GATHERING_PATH)
        return send(res, 200, JSON_TYPE, JSON.stringify(gathering(url.searchParams)));
      if (path === TIMELINE_CURRENT_PATH) {
        return send(res, 200, JSON_TYPE, JSON.stringify(timelineCurrent(url.searchParams)));
      }
      if (path === TIMELINE_NEXT_PATH)
        return send(res, 200, JSON_TYPE, JSON.stringify(timelineNext(url.searchParams)));
      const broadcastMatch = /^\/live_commerce_web\/viewer_api_web\/v1\/broadcast\/(\d+)$/.exec(path);
      if (broadcastMatch) {
        return send(res, 200, JSON_TYPE, JSON.stringify(viewerBroadcast(Number(broadcastMatch[1]))));
      }
      throw new HttpError(404, 'NOT_FOUND', `no such endpoint: ${path}`);
    }
    if (kind === 'image') {
      const image = await resolveImage(firstSegment, path.slice(firstSegment.length + 1), url.searchParams);
      if (!image) return send(res, 404, 'text/html;charset=utf-8', '<html><body>Not Found</body></html>');
      return send(res, image.status, image.type, req.method === 'HEAD' ? '' : image.body, {
        'Cache-Control': 'max-age=2592000',
        ...(image.location ? { Location: image.location } : {}),
      });
    }
    return send(res, 404, 'text/html;charset=utf-8', '<html><body>Not Found</body></html>');
  };

  const server = createServer((req, res) => {
    const record: ReplicaRequestRecord = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: 0,
      at: Date.now(),
    };
    res.on('finish', () => {
      record.status = res.statusCode;
      stats.byStatus[res.statusCode] = (stats.byStatus[res.statusCode] ?? 0) + 1;
      stats.log.push(record);
      if (stats.log.length > LOG_LIMIT) stats.log.splice(0, stats.log.length - LOG_LIMIT);
    });
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        send(res, error.status, JSON_TYPE, JSON.stringify({ code: error.code, message: error.message }));
      } else {
        send(res, 500, JSON_TYPE, JSON.stringify({ code: 'INTERNAL_SERVER_ERROR', message: String(error) }));
      }
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: base,
    channels: catalog.channels,
    brands: listBrands(catalog),
    catalog,
    stats,
    setFaults(next) {
      faults = { ...next };
      rateLimitCounter = 0;
      errorCounter = 0;
      slowCounter = 0;
      apiRequestsSinceFaults = 0;
    },
    logoUrl,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
