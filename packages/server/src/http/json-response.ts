import { redact, redactDeep } from '@dag/core';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { etagOf, matchesEtag } from '../api/graph-payload.ts';

/**
 * The only way the API answers with JSON. Invariant: every body passes `redact()`, value by
 * value and then as text, so a secret that reached a stored event, a run's config or an
 * error message is still never sent.
 */
export function sendJson(c: Context, body: unknown, status: ContentfulStatusCode = 200): Response {
  return c.body(jsonText(body), status, { 'Content-Type': JSON_TYPE });
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/** A JSON body as `sendJson` sends it (redacted), for routes that also set caching headers. */
export function jsonText(body: unknown): string {
  return redact(JSON.stringify(redactDeep(body)));
}

/**
 * A JSON text (from `jsonText`) for a route the UI polls: sent with its ETag, and a 304 with
 * no body when the request names that ETag (nothing to send, parse or render again).
 */
export function sendRevalidatedJson(c: Context, text: string): Response {
  const etag = etagOf(text);
  const headers = { ETag: etag, 'Cache-Control': 'no-cache' };
  if (matchesEtag(c.req.header('If-None-Match'), etag)) return c.body(null, 304, headers);
  return c.body(text, 200, { ...headers, 'Content-Type': JSON_TYPE });
}
