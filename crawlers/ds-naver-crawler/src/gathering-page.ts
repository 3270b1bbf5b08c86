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

function channelFrom(owner: unknown): DiscoveredChannel | undefined {
  if (!isObject(owner)) return undefined;
  const id = typeof owner.id === 'number' && Number.isSafeInteger(owner.id) ? String(owner.id) : owner.id;
  // The id becomes an object key, so only plain ids are accepted.
  if (typeof id !== 'string' || !/^[0-9A-Za-z_-]{1,64}$/.test(id)) return undefined;
  const name = typeof owner.name === 'string' ? owner.name.trim() : '';
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
    const broadcast = isObject(item.broadcast) ? item.broadcast : undefined;
    const shortclip = isObject(item.shortclip) ? item.shortclip : undefined;
    const channel = channelFrom(broadcast?.owner) ?? channelFrom(shortclip?.channel);
    if (channel) channels.push(channel);
  }
  const next = typeof body.next === 'string' && body.next !== '' ? body.next : null;
  return { itemCount: body.list.length, channels, next };
}
