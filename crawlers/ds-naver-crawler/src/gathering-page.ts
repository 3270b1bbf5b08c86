/**
 * Reads E1 (`/selectiveweb/live_commerce_web/v1/category/gathering`) responses:
 * `{ list: ({ broadcast?: { owner } } | { shortclip?: { channel } })[], next: string | null }`,
 * where `owner` / `channel` is the brand's channel with its logo in `profileImageUrl`.
 * Only the fields the crawler needs are read, and each is checked, since the API is not ours.
 */

export const GATHERING_PATH = '/selectiveweb/live_commerce_web/v1/category/gathering';

export interface DiscoveredChannel {
  /** Channel id (`owner.id`), the same as in https://shoppinglive.naver.com/channels/{id}. */
  id: string;
  name: string;
  logoUrl: string | undefined;
}

export interface GatheringPage {
  itemCount: number;
  channels: DiscoveredChannel[];
  next: string | null;
}

export class GatheringShapeError extends Error {
  override name = 'GatheringShapeError';
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The E1 URL as the web client spells it: `categoryId=dc:N&sort=LATEST&size=N&next=<cursor>`, with the
 * category's colon left as is (`dc:1`, not `dc%3A1`) and the opaque cursor percent-encoded.
 */
export function gatheringUrl(apiBase: string, category: string, size: number, next?: string): string {
  if (!/^dc:\d+$/.test(category)) throw new RangeError(`"${category}" is not a category id like dc:1`);
  const url = new URL(`${apiBase}${GATHERING_PATH}`);
  url.search = `categoryId=${category}&sort=LATEST&size=${size}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
  return url.href;
}

/** Parses a JSON body as UTF-8, ignoring a byte order mark (JSON.parse rejects one). */
export function decodeJsonBody(body: Buffer): unknown {
  return JSON.parse(body.toString('utf8').replace(/^\uFEFF/, ''));
}

/** Lone surrogates (valid in JSON `\ud800` escapes) make `encodeURIComponent` throw: replace them with U+FFFD. */
const wellFormed = (text: string): string =>
  text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

function channelFrom(owner: unknown): DiscoveredChannel | undefined {
  if (!isObject(owner)) return undefined;
  const id = typeof owner.id === 'number' && Number.isSafeInteger(owner.id) ? String(owner.id) : owner.id;
  // The id becomes an object key, so only plain ids are accepted.
  if (typeof id !== 'string' || !/^[0-9A-Za-z_-]{1,64}$/.test(id)) return undefined;
  const name = typeof owner.name === 'string' ? wellFormed(owner.name.trim()) : '';
  const logoUrl =
    typeof owner.profileImageUrl === 'string' && owner.profileImageUrl.trim()
      ? owner.profileImageUrl
      : undefined;
  return { id, name, logoUrl };
}

export function parseGatheringPage(body: unknown): GatheringPage {
  if (!isObject(body) || !Array.isArray(body.list)) {
    throw new GatheringShapeError('the category response has no "list" array; the API may have changed');
  }
  const channels: DiscoveredChannel[] = [];
  for (const item of body.list) {
    if (!isObject(item)) continue;
    // Both are optional; an item carrying both yields both channels.
    const broadcast = isObject(item.broadcast) ? item.broadcast : undefined;
    const shortclip = isObject(item.shortclip) ? item.shortclip : undefined;
    for (const channel of [channelFrom(broadcast?.owner), channelFrom(shortclip?.channel)]) {
      if (channel) channels.push(channel);
    }
  }
  // The cursor is opaque: a string, or a number from a server that counts offsets. An empty page
  // ends the category whatever it says, so a server that never answers null cannot loop the crawl.
  const cursor = typeof body.next === 'number' && Number.isFinite(body.next) ? String(body.next) : body.next;
  const next = typeof cursor === 'string' && cursor !== '' && body.list.length > 0 ? cursor : null;
  return { itemCount: body.list.length, channels, next };
}
