import { redact, redactDeep } from '@dag/core';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

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
