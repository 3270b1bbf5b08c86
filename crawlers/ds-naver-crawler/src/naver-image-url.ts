/**
 * Where the crawler may fetch images from. Logo URLs come from a third party's JSON, so each one —
 * and each redirect — is checked before any connection is made: only Naver's image CDNs
 * (`*.phinf.naver.net`, `*.pstatic.net`) on standard ports, or, when the API is moved with
 * `DS_NAVER_API_URL`, that same origin with a Naver image host as the first path segment
 * (how the offline replica and path-style proxies expose the CDNs).
 */

/** Where relative logo URLs from the real API resolve (protocol-relative ones to https). */
const NAVER_API_ORIGIN = 'https://apis.naver.com';

/** Naver's shared placeholder, served for many unrelated channels: not a logo. */
export const NAVER_DEFAULT_IMAGE_PATH = '/20241021_160/1729515956246bEynj_JPEG/6f8a5992.jpg';

const NAVER_IMAGE_HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:phinf\.naver\.net|pstatic\.net)$/;
/** Hosts of the `dthumb` resizing wrapper, whose `src` parameter holds the original URL. */
const DTHUMB_HOSTS = new Set(['phinf.pstatic.net', 'dthumb-phinf.pstatic.net']);

export function isNaverImageHost(hostname: string): boolean {
  return NAVER_IMAGE_HOST.test(hostname.toLowerCase());
}

export type ImageUrlDecision =
  | {
      ok: true;
      /** The URL to fetch. */
      url: URL;
      /** The Naver host the image lives on (taken from the first path segment behind an overridden API). */
      naverHost: string;
      /** The path on that Naver host. */
      naverPath: string;
      isDefaultImage: boolean;
    }
  | { ok: false; reason: 'invalid-logo-url' | 'refused-host'; detail: string };

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * `url` moved onto the overridden API's origin when it names the same loopback server by
 * another of its names (`http://localhost:4000/…` for an API at `http://127.0.0.1:4000`), as a
 * replica that writes its own address from a setting may; any other URL as it is.
 */
function onApiOrigin(url: URL, apiOrigin: string | undefined): URL {
  if (!apiOrigin || url.origin === apiOrigin) return url;
  const api = new URL(apiOrigin);
  if (url.protocol !== api.protocol || url.port !== api.port) return url;
  if (!LOOPBACK.has(url.hostname.toLowerCase()) || !LOOPBACK.has(api.hostname)) return url;
  return new URL(`${apiOrigin}${url.pathname}${url.search}`);
}

/** Where a URL points on Naver's CDN, or `undefined` if it is not an allowed image location. */
function locate(
  url: URL,
  apiOrigin: string | undefined,
): { naverHost: string; naverPath: string } | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  if (apiOrigin && url.origin === apiOrigin) {
    const [, first = '', ...rest] = url.pathname.split('/');
    if (!isNaverImageHost(first)) return undefined;
    return { naverHost: first.toLowerCase(), naverPath: `/${rest.join('/')}` };
  }
  if (url.port !== '' || !isNaverImageHost(url.hostname)) return undefined;
  return { naverHost: url.hostname.toLowerCase(), naverPath: url.pathname };
}

function parse(raw: string, base?: string | URL): URL | undefined {
  try {
    return new URL(raw, base);
  } catch {
    return undefined;
  }
}

/**
 * A URL from the API's JSON. Protocol-relative (`//host/…`) and root-relative (`/host/…`) forms are
 * resolved against where they came from, like a browser would: an http replica's
 * `//127.0.0.1:4000/shop1.phinf.naver.net/…` stays http. Anything else must be absolute.
 */
function parseFrom(raw: string, base: string | URL): URL | undefined {
  return parse(raw, raw.startsWith('/') ? base : undefined);
}

/** A `dthumb` `src` value: `"<url>"` with optional quotes; decoded once more if it was encoded twice. */
function parseDthumbSource(src: string, wrapper: URL): URL | undefined {
  const unquoted = (text: string) => text.trim().replace(/^["']|["']$/g, '');
  const once = parseFrom(unquoted(src), wrapper);
  if (once || !/%[0-9A-Fa-f]{2}/.test(src)) return once;
  try {
    return parseFrom(unquoted(decodeURIComponent(src)), wrapper);
  } catch {
    return undefined;
  }
}

/**
 * Decides whether and where to fetch a logo URL from the API: unwraps `dthumb` resizing wrappers
 * (`https://phinf.pstatic.net/dthumb/?src="<original>"&type=f240_240_q90`) to the original, drops a
 * `type=` size request so the original size is fetched, then applies the host policy. `apiOrigin` is
 * the overridden API's origin, or `undefined` against Naver.
 */
export function decideImageUrl(raw: string, apiOrigin: string | undefined): ImageUrlDecision {
  const parsed = parseFrom(raw.trim(), apiOrigin ?? NAVER_API_ORIGIN);
  if (!parsed) return { ok: false, reason: 'invalid-logo-url', detail: `not a URL: ${raw.slice(0, 200)}` };
  let url: URL = parsed;
  for (let depth = 0; depth < 3; depth += 1) {
    url = onApiOrigin(url, apiOrigin);
    const where = locate(url, apiOrigin);
    if (!where || !DTHUMB_HOSTS.has(where.naverHost) || !where.naverPath.startsWith('/dthumb')) break;
    const src = url.searchParams.get('src');
    if (!src) break;
    const inner = parseDthumbSource(src, url);
    if (!inner)
      return {
        ok: false,
        reason: 'invalid-logo-url',
        detail: `dthumb src is not a URL: ${src.slice(0, 200)}`,
      };
    // A wrapper served by the overridden API's origin means that origin mirrors Naver's image hosts,
    // so an original on a real Naver host is fetched from the mirror (`/<host>/<path>`), as the
    // wrapper itself was: offline, the real host is out of reach.
    const onMirror: boolean = apiOrigin !== undefined && url.origin === apiOrigin;
    url =
      onMirror && inner.origin !== apiOrigin && locate(inner, undefined)
        ? new URL(`${apiOrigin}/${inner.hostname}${inner.pathname}${inner.search}`)
        : inner;
  }
  url = onApiOrigin(url, apiOrigin);
  const where = locate(url, apiOrigin);
  if (where && !where.naverPath.startsWith('/dthumb') && url.searchParams.has('type')) {
    url.searchParams.delete('type');
  }
  return checkImageUrl(url, apiOrigin);
}

/** The host policy alone, for redirect targets. */
export function checkImageUrl(given: URL, apiOrigin: string | undefined): ImageUrlDecision {
  const url = onApiOrigin(given, apiOrigin);
  const where = locate(url, apiOrigin);
  if (!where) {
    return {
      ok: false,
      reason: 'refused-host',
      detail: `${url.protocol}//${url.host}${url.pathname.split('/').slice(0, 2).join('/')} is not a Naver image host`,
    };
  }
  return { ok: true, url, ...where, isDefaultImage: where.naverPath === NAVER_DEFAULT_IMAGE_PATH };
}

/** Resolves a redirect's Location against the current URL and applies the host policy to it. */
export function checkRedirect(
  location: string,
  current: URL,
  apiOrigin: string | undefined,
): ImageUrlDecision {
  const next = parse(location, current);
  if (!next)
    return {
      ok: false,
      reason: 'invalid-logo-url',
      detail: `redirect to a non-URL: ${location.slice(0, 200)}`,
    };
  return checkImageUrl(next, apiOrigin);
}
