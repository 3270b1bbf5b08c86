import { brandName } from './brand-names.ts';
import { SeededRandom } from './seeded-random.ts';

export const CATEGORIES = [
  { id: 'dc:1', name: '뷰티', english: 'beauty' },
  { id: 'dc:2', name: '푸드', english: 'food' },
  { id: 'dc:3', name: '패션', english: 'fashion' },
  { id: 'dc:4', name: '라이프', english: 'life' },
  { id: 'dc:5', name: '여행/체험', english: 'travel' },
  { id: 'dc:6', name: '키즈', english: 'kids' },
  { id: 'dc:7', name: '테크', english: 'tech' },
  { id: 'dc:8', name: '취미레저', english: 'hobby' },
  { id: 'dc:9', name: '문화생활', english: 'culture' },
] as const;

/** The one image Naver serves for many unrelated channels: a placeholder, not a logo. */
export const NAVER_DEFAULT_IMAGE = {
  host: 'shop-phinf.pstatic.net',
  path: '/20241021_160/1729515956246bEynj_JPEG/6f8a5992.jpg',
  url: 'https://shop-phinf.pstatic.net/20241021_160/1729515956246bEynj_JPEG/6f8a5992.jpg',
} as const;

/** Image hosts the replica serves under `/<host>/...`, as seen in real crawled data. */
export const NAVER_IMAGE_HOSTS = [
  'shop1.phinf.naver.net',
  'shop2.phinf.naver.net',
  'shop-phinf.pstatic.net',
  'phinf.pstatic.net',
  'ldb-phinf.pstatic.net',
  'naverbooking-phinf.pstatic.net',
  'g-selected.pstatic.net',
] as const;

export type LogoFormat = 'png' | 'jpeg' | 'gif';

/**
 * What can be wrong with a channel's logo:
 * - corrupt: right magic bytes, garbage after them; truncated: the first part of the file only;
 * - wrong-content-type: JPEG served as image/png, PNG as text/html, GIF as image/jpeg (and a misleading extension);
 * - not-an-image: an HTML error page served as image/png;
 * - redirect-foreign: the image URL answers 302 to a host outside Naver;
 * - foreign-host: the API gives a logo URL on a non-Naver host; foreign-path: on the replica's host but outside the image hosts.
 */
export type LogoFault =
  | 'corrupt'
  | 'truncated'
  | 'wrong-content-type'
  | 'not-an-image'
  | 'redirect-foreign'
  | 'foreign-host'
  | 'foreign-path';

export interface ReplicaLogo {
  /** `default` is Naver's shared placeholder image. */
  kind: 'image' | 'default';
  /** What the bytes are, whatever the extension or Content-Type say. */
  format: LogoFormat;
  animated: boolean;
  width: number;
  height: number;
  /** The Naver image host, e.g. `shop1.phinf.naver.net`. */
  host: string;
  /** Path on that host, starting with `/`. */
  path: string;
  /** The URL as it is on Naver. */
  naverUrl: string;
  /** Whether the API gives it wrapped in a `phinf.pstatic.net/dthumb` resizing URL. */
  wrapped: boolean;
  fault?: LogoFault;
}

export interface ReplicaChannel {
  id: number;
  broadcasterId: number;
  accountNo: string;
  name: string;
  grade: 'GRADE_1' | 'GRADE_2' | 'GRADE_3' | 'GRADE_4';
  description: string | null;
  /** Category ids, primary first. */
  categories: string[];
  logo: ReplicaLogo;
}

export interface CatalogProduct {
  key: string;
  productNo: number;
  name: string;
  price: number;
  discountRate: number;
  stock: number;
  imagePath: string;
}

export interface CatalogItem {
  type: 'broadcast' | 'shortclip';
  id: number;
  channelId: number;
  title: string;
  status: 'ONAIR' | 'END' | 'BLOCK' | 'STANDBY';
  /** Epoch ms of the start (broadcast) or creation (shortclip). */
  at: number;
  durationMinutes: number;
  imagePath: string;
  products: CatalogProduct[];
}

export interface Catalog {
  seed: number | string;
  channels: ReplicaChannel[];
  channelsById: Map<number, ReplicaChannel>;
  /** Per category, newest first (the `LATEST` sort). */
  itemsByCategory: Map<string, CatalogItem[]>;
  broadcastsById: Map<number, CatalogItem>;
  /** Broadcasts by expected start, oldest first, for the calendar timeline. */
  timeline: CatalogItem[];
}

/** Fraction of channels (0..1) whose logo has each fault; a positive fraction always hits at least one channel. */
export type LogoFaultRates = Partial<Record<LogoFault, number>>;

export interface CatalogOptions {
  seed?: number | string;
  channelCount?: number;
  /** Fraction of channels showing Naver's default image instead of a logo. */
  defaultImageRate?: number;
  logoFaults?: LogoFaultRates;
}

/** 22:25:50.346 KST on 2026-05-20, the newest moment in the generated data. */
const NEWEST = Date.UTC(2026, 4, 20, 13, 25, 50, 346);
const KST_OFFSET_MS = 9 * 3600 * 1000;

export function kstString(epochMs: number): string {
  return new Date(epochMs + KST_OFFSET_MS).toISOString().slice(0, 23);
}

/** Exactly `round(rate * n)` (at least one when rate > 0) of `pool`, taken from its front. */
function take<T>(pool: T[], rate: number | undefined, n: number): T[] {
  if (!rate || rate <= 0) return [];
  const count = Math.min(pool.length, Math.max(1, Math.round(rate * n)));
  return pool.splice(0, count);
}

function alnum(random: SeededRandom, length: number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let out = '';
  for (let i = 0; i < length; i += 1) out += chars[random.int(0, chars.length - 1)];
  return out;
}

/** A path shaped like Naver's: `/{YYYYMMDD}_{n}/{13-digit ms}{5 chars}_{PNG|JPEG|GIF}/{n}_{n}.{ext}`. */
function phinfPath(random: SeededRandom, format: LogoFormat, extension: string): string {
  const uploaded = NEWEST - random.int(0, 3 * 365) * 86_400_000 - random.int(0, 86_399_999);
  const day = new Date(uploaded + KST_OFFSET_MS).toISOString().slice(0, 10).replace(/-/g, '');
  const typeTag = format === 'png' ? 'PNG' : format === 'jpeg' ? 'JPEG' : 'GIF';
  const name = random.chance(0.7)
    ? `${random.int(1_000_000_000_000, 9_999_999_999_999)}_${random.int(100_000_000, 2_147_483_647)}`
    : alnum(random, 8).toLowerCase();
  return `/${day}_${random.int(1, 299)}/${uploaded}${alnum(random, 5)}_${typeTag}/${name}.${extension}`;
}

function extensionFor(random: SeededRandom, format: LogoFormat): string {
  const options: Record<LogoFormat, string[]> = {
    png: ['png', 'png', 'png', 'PNG'],
    jpeg: ['jpg', 'jpg', 'jpeg', 'JPG', 'JPEG'],
    gif: ['gif', 'gif', 'GIF'],
  };
  return random.pick(options[format]);
}

const SIZES = [64, 96, 100, 120, 160, 200, 240, 300, 400, 512];

/**
 * The generated world: channels (brands) with logos, and the broadcasts and shortclips that show
 * them in each category. Deterministic in `seed` and `channelCount`: the brand names, ids and
 * categories do not depend on the fault options, so a demo can seed its tables once.
 */
export function generateCatalog(options: CatalogOptions = {}): Catalog {
  const seed = options.seed ?? 1;
  const count = options.channelCount ?? 3000;
  if (!Number.isInteger(count) || count < 1 || count > 200_000) {
    throw new Error(`channelCount must be an integer from 1 to 200000, got ${count}.`);
  }
  const root = new SeededRandom(seed);
  const names = root.fork('names');
  const ids = root.fork('ids');
  const cats = root.fork('categories');
  const logos = root.fork('logos');
  const faults = root.fork('faults');
  const items = root.fork('items');

  const usedNames = new Set<string>();
  const channels: ReplicaChannel[] = [];
  for (let i = 0; i < count; i += 1) {
    const primary = CATEGORIES[i % CATEGORIES.length]?.id ?? 'dc:1';
    const categories = [primary];
    const extra = cats.next();
    const extraCount = extra < 0.1 ? 2 : extra < 0.4 ? 1 : 0;
    while (categories.length < 1 + extraCount) {
      const other = cats.pick(CATEGORIES).id;
      if (!categories.includes(other)) categories.push(other);
    }
    let name = brandName(names, primary);
    for (let attempt = 2; usedNames.has(name); attempt += 1) name = `${name.replace(/ \d+$/, '')} ${attempt}`;
    usedNames.add(name);
    const accountNo = ids.chance(0.3)
      ? `ncp_${alnum(ids, 6).toLowerCase()}_01`
      : String(ids.int(10_000_000, 99_999_999));
    channels.push({
      id: 100_000 + i * 97 + ids.int(0, 96),
      broadcasterId: 2_000_000 + i * 31 + ids.int(0, 30),
      accountNo,
      name,
      grade: ids.pick(['GRADE_1', 'GRADE_2', 'GRADE_3', 'GRADE_4'] as const),
      description: ids.chance(0.6) ? `${name} 공식 쇼핑라이브 채널입니다.` : null,
      categories,
      // Filled in below, once the format mix is decided over all channels.
      logo: undefined as unknown as ReplicaLogo,
    });
  }

  // Formats and faults are dealt over a seeded permutation so every kind appears even in small catalogues.
  const order = logos.shuffle(channels.map((_, index) => index));
  const defaultCount =
    options.defaultImageRate === 0 ? 0 : Math.max(1, Math.round((options.defaultImageRate ?? 0.05) * count));
  const defaults = new Set(order.slice(0, Math.min(defaultCount, count)));
  const rest = order.slice(defaults.size);
  const formatOf = new Map<number, { format: LogoFormat; animated: boolean }>();
  rest.forEach((index, position) => {
    const slot = position % 20;
    const format: LogoFormat = slot < 11 ? 'png' : slot < 17 ? 'jpeg' : 'gif';
    formatOf.set(index, { format, animated: format === 'gif' && slot === 19 });
  });

  const faultPool = faults.shuffle(rest);
  const faultOf = new Map<number, LogoFault>();
  const rates = options.logoFaults ?? {};
  const kinds: LogoFault[] = [
    'corrupt',
    'truncated',
    'wrong-content-type',
    'not-an-image',
    'redirect-foreign',
    'foreign-host',
    'foreign-path',
  ];
  for (const kind of kinds) for (const index of take(faultPool, rates[kind], count)) faultOf.set(index, kind);

  channels.forEach((channel, index) => {
    if (defaults.has(index)) {
      channel.logo = {
        kind: 'default',
        format: 'jpeg',
        animated: false,
        width: 240,
        height: 240,
        host: NAVER_DEFAULT_IMAGE.host,
        path: NAVER_DEFAULT_IMAGE.path,
        naverUrl: NAVER_DEFAULT_IMAGE.url,
        wrapped: logos.chance(0.3),
      };
      return;
    }
    const { format, animated } = formatOf.get(index) ?? { format: 'png', animated: false };
    const fault = faultOf.get(index);
    // A misleading extension goes with a misleading Content-Type: only the bytes tell the truth.
    const claimed: LogoFormat =
      fault === 'wrong-content-type' ? (format === 'jpeg' ? 'png' : 'jpeg') : format;
    const hostRoll = logos.next();
    const host =
      hostRoll < 0.6
        ? 'shop1.phinf.naver.net'
        : hostRoll < 0.7
          ? 'shop2.phinf.naver.net'
          : hostRoll < 0.9
            ? 'shop-phinf.pstatic.net'
            : logos.pick([
                'ldb-phinf.pstatic.net',
                'naverbooking-phinf.pstatic.net',
                'g-selected.pstatic.net',
              ]);
    const path = phinfPath(logos, claimed, extensionFor(logos, claimed));
    const size = logos.pick(SIZES);
    const scheme = host.endsWith('.naver.net') ? 'http' : 'https';
    channel.logo = {
      kind: 'image',
      format,
      animated,
      width: size,
      height: logos.chance(0.8) ? size : Math.round(size * logos.pick([0.5, 0.75, 1.25])),
      host,
      path,
      naverUrl: `${scheme}://${host}${path}`,
      wrapped: logos.chance(0.15),
      ...(fault ? { fault } : {}),
    };
  });

  const itemsByCategory = new Map<string, CatalogItem[]>(CATEGORIES.map((c) => [c.id, []]));
  const broadcastsById = new Map<number, CatalogItem>();
  let nextBroadcastId = 1_200_000;
  let nextShortclipId = 5_400_000;
  let nextProductNo = 8_000_000_000;
  for (const channel of channels) {
    for (const category of channel.categories) {
      const appearances = items.int(1, 3);
      for (let n = 0; n < appearances; n += 1) {
        const type = items.chance(0.3) ? 'shortclip' : 'broadcast';
        const at = NEWEST - items.int(0, 120 * 24 * 60) * 60_000 - items.int(0, 59_999);
        const products: CatalogProduct[] = [];
        for (let p = items.int(1, 3); p > 0; p -= 1) {
          nextProductNo += items.int(1, 5000);
          const price = items.int(10, 400) * 100;
          products.push({
            key: `${nextProductNo}`,
            productNo: nextProductNo,
            name: `${channel.name} ${items.pick(['기획세트', '단독특가', '1+1', '선물세트', '신상품', '한정판'])}`,
            price,
            discountRate: items.pick([0, 0, 5, 10, 15, 20, 30, 50]),
            stock: items.int(0, 500),
            imagePath: phinfPath(items, 'jpeg', 'jpg'),
          });
        }
        const item: CatalogItem = {
          type,
          id: type === 'broadcast' ? nextBroadcastId++ : nextShortclipId++,
          channelId: channel.id,
          title: `${channel.name} ${items.pick(['라이브 특가', '신상 공개', '오늘만 할인', '브랜드데이', '숏클립', '사용법 소개'])}`,
          status:
            type === 'shortclip'
              ? 'END'
              : at > NEWEST - 2 * 3_600_000
                ? items.pick(['ONAIR', 'STANDBY'] as const)
                : items.pick(['END', 'BLOCK', 'BLOCK'] as const),
          at,
          durationMinutes: items.int(20, 120),
          imagePath: phinfPath(items, 'jpeg', 'jpg'),
          products,
        };
        itemsByCategory.get(category)?.push(item);
        if (type === 'broadcast') broadcastsById.set(item.id, item);
      }
    }
  }
  for (const list of itemsByCategory.values()) list.sort((a, b) => b.at - a.at || b.id - a.id);
  const timeline = [...broadcastsById.values()].sort((a, b) => a.at - b.at || a.id - b.id);

  return {
    seed,
    channels,
    channelsById: new Map(channels.map((c) => [c.id, c])),
    itemsByCategory,
    broadcastsById,
    timeline,
  };
}

/** The brand behind each channel, for seeding a `company` table that matches the crawl. */
export interface ReplicaBrand {
  channelId: number;
  name: string;
  categories: string[];
  hasLogo: boolean;
}

export function listBrands(catalog: Pick<Catalog, 'channels'>): ReplicaBrand[] {
  return catalog.channels.map((c) => ({
    channelId: c.id,
    name: c.name,
    categories: [...c.categories],
    hasLogo: c.logo.kind === 'image' && !c.logo.fault,
  }));
}
