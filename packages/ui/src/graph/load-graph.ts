/**
 * Loading the lineage graph: the compact form (compact-graph.ts), revalidated by its ETag. The
 * page polls it; an unchanged graph is a 304, and the same decoded object is returned, so
 * nothing is parsed or rendered again. The layout comes with it, made by the server. The first request may have been started by
 * index.html before the app's code loaded (takeEarlyResponse).
 */
import { errorOf, takeEarlyResponse } from '../api/client.ts';
import type { CompactGraphResponse } from '../api/types.ts';
import { type DecodedGraph, decodeGraph } from './compact-graph.ts';

/** The last graph loaded, and its ETag (one path: the page shows one graph at a time). */
let last: { path: string; etag: string; graph: DecodedGraph } | null = null;

export async function loadGraph(path: string, signal: AbortSignal): Promise<DecodedGraph> {
  const cached = last?.path === path ? last : null;
  const early = cached ? undefined : takeEarlyResponse(path);
  const response = await (early ??
    fetch(path, {
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(cached ? { 'if-none-match': cached.etag } : {}) },
      signal,
    }));
  if (response.status === 304 && cached) return cached.graph;
  if (!response.ok) throw await errorOf(response);
  const graph = decodeGraph((await response.json()) as CompactGraphResponse);
  const etag = response.headers.get('etag');
  last = etag ? { path, etag, graph } : null;
  return graph;
}
