/** Same-origin fetch helpers for the `dag dev` API (the auth cookie travels with every call). */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    /** The server's error name (e.g. SelectionError, ConfigError), or 'HttpError'. */
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

export async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { name?: string; message?: string } | string };
    if (body && typeof body.error === 'object' && body.error) {
      return new ApiError(response.status, body.error.name ?? 'HttpError', body.error.message ?? text);
    }
    if (typeof body?.error === 'string') return new ApiError(response.status, 'HttpError', body.error);
  } catch {}
  if (response.status === 401)
    return new ApiError(
      401,
      'Unauthorized',
      'Not authorized: open the UI with the token that `dag dev` printed.',
    );
  return new ApiError(response.status, 'HttpError', text || `${response.status} ${response.statusText}`);
}

export async function apiGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, {
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
    ...(signal ? { signal } : {}),
  });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** The last body of each path read with `apiGetRevalidated`, and its ETag (a few paths). */
const revalidated = new Map<string, { etag: string; value: unknown }>();

/**
 * `apiGet` for a route that sends an ETag and is polled: an unchanged body is a 304, and the
 * very object returned before is returned again (nothing parsed, nothing re-rendered).
 */
export async function apiGetRevalidated<T>(path: string, signal?: AbortSignal): Promise<T> {
  const cached = revalidated.get(path);
  const response = await fetch(path, {
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(cached ? { 'if-none-match': cached.etag } : {}) },
    ...(signal ? { signal } : {}),
  });
  if (response.status === 304 && cached) return cached.value as T;
  if (!response.ok) throw await errorOf(response);
  const value = (await response.json()) as T;
  const etag = response.headers.get('etag');
  revalidated.delete(path);
  if (etag) {
    revalidated.set(path, { etag, value });
    if (revalidated.size > 8) revalidated.delete(revalidated.keys().next().value!);
  }
  return value;
}

declare global {
  interface Window {
    /** A request index.html's inline script started before the app's code loaded. */
    __dagEarly?: { path: string; at: number; response: Promise<Response> };
  }
}

/** The response of the request index.html started for `path`, once, if recent. */
export function takeEarlyResponse(path: string): Promise<Response> | undefined {
  const early = window.__dagEarly;
  if (!early || early.path !== path) return undefined;
  window.__dagEarly = undefined;
  return Date.now() - early.at < 10_000 ? early.response : undefined;
}

/**
 * The graph API path for a selection, in the compact form. index.html's inline script builds
 * the same path for an opening `#/graph?selection=…` (keep them alike).
 */
export function graphPath(selection: string): string {
  return apiPath('/api/graph', { selection: selection.trim() || undefined, format: 'compact' });
}

export async function apiText(path: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(path, { credentials: 'same-origin', ...(signal ? { signal } : {}) });
  if (!response.ok) throw await errorOf(response);
  return await response.text();
}

export async function apiPost<T>(path: string, body?: unknown): Promise<T> {
  return await send<T>('POST', path, body ?? {});
}

export async function apiDelete<T>(path: string): Promise<T> {
  return await send<T>('DELETE', path);
}

async function send<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) throw await errorOf(response);
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** `/api/x?a=1&b=2`, leaving out empty values. */
export function apiPath(
  path: string,
  query: Record<string, string | number | null | undefined> = {},
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export const enc = encodeURIComponent;

/** The URL of a metadata image: http(s)/data/blob as they are, local absolute paths through /api/files. */
export function imageUrl(src: string): string {
  if (/^(https?:|data:|blob:)/i.test(src)) return src;
  if (src.startsWith('file://')) {
    try {
      return apiPath('/api/files', { path: decodeURIComponent(new URL(src).pathname) });
    } catch {
      return src;
    }
  }
  if (src.startsWith('/')) return apiPath('/api/files', { path: src });
  return src;
}
