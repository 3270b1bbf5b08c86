/**
 * A tiny hash router: `#/runs/abc?status=FAILURE`. Hash URLs need no server fallback, so
 * `dag dev` can serve `dist` as plain static files.
 */
import { useSyncExternalStore } from 'react';

export interface Route {
  /** Path segments, decoded: `#/assets/a%2Fb` → ['assets', 'a/b']. */
  segments: string[];
  query: URLSearchParams;
  /** The raw hash without '#'. */
  href: string;
}

function subscribe(callback: () => void): () => void {
  window.addEventListener('hashchange', callback);
  return () => window.removeEventListener('hashchange', callback);
}

const getHash = () => window.location.hash;

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const pathPart = q === -1 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  const segments = pathPart
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query, href: raw };
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, getHash, getHash);
  return parseRoute(hash);
}

/** A hash href: `href('runs', id)` → `#/runs/<id>`; `href('graph', { selection })`. */
export function href(...parts: (string | Record<string, string | number | null | undefined>)[]): string {
  const segments: string[] = [];
  let query = '';
  for (const part of parts) {
    if (typeof part === 'string') segments.push(encodeURIComponent(part));
    else {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(part))
        if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
      const s = params.toString();
      if (s) query = `?${s}`;
    }
  }
  return `#/${segments.join('/')}${query}`;
}

export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, '', to);
  else window.location.hash = to.replace(/^#/, '');
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}
