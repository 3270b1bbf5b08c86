import { UsageError } from '@dag/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { badRequest } from './api-error.ts';
import { sendJson } from './json-response.ts';

/** Largest request body the API reads by default; `DAG_API_MAX_BODY_BYTES` changes it. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Deepest JSON a request body may nest: a run config is a few levels deep. */
export const MAX_JSON_DEPTH = 64;

/** The body cap from `DAG_API_MAX_BODY_BYTES` (bytes), else the default; a bad value is a UsageError. */
export function maxBodyBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DAG_API_MAX_BODY_BYTES?.trim();
  if (!raw) return DEFAULT_MAX_BODY_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1024) {
    throw new UsageError(
      `DAG_API_MAX_BODY_BYTES must be a whole number of bytes, at least 1024, got '${raw}'. Unset it for the default of ${DEFAULT_MAX_BODY_BYTES} (1 MB).`,
    );
  }
  return n;
}

/**
 * Refuses a request body larger than `maxBytes` with 413: a declared Content-Length is
 * checked before anything is read, and a streamed body stops being read at the cap. The
 * connection is closed, so the client stops sending the rest.
 */
export function bodyCap(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      c.header('Connection', 'close');
      return sendJson(
        c,
        {
          error: {
            name: 'PayloadTooLarge',
            message: `The request body is larger than ${maxBytes} bytes; send less, or raise the server's limit with DAG_API_MAX_BODY_BYTES.`,
          },
        },
        413,
      );
    },
  });
}

/** Where a NUL character is in a request's path or query, named for the error message. */
function nulIn(url: URL): string | undefined {
  if (!/%00|\0/.test(url.pathname + url.search)) return undefined;
  if (/%00|\0/.test(url.pathname)) return `the path ${url.pathname.replace(/%00|\0/g, '\\0')}`;
  for (const [key, value] of url.searchParams) {
    if (key.includes('\0') || value.includes('\0')) return `query parameter '${key.replace(/\0/g, '\\0')}'`;
  }
  return 'the query string';
}

/**
 * Refuses a NUL character anywhere in the path or query with 400. Nothing the API names
 * (run ids, jobs, assets, tags, checks) can contain one, and PostgreSQL cannot store it.
 */
export function refuseNul(): MiddlewareHandler {
  return async (c, next) => {
    const where = nulIn(new URL(c.req.url));
    if (where !== undefined) throw badRequest(`${where} contains a NUL character (\\0); remove it.`);
    return await next();
  };
}

/**
 * Checks a parsed JSON body: at most MAX_JSON_DEPTH levels deep and no NUL character in any
 * key or string (PostgreSQL cannot store one). Iterative, so a hostile depth cannot overflow
 * the stack before it is refused.
 */
export function checkJsonInput(value: unknown, what: string): void {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { value: v, depth, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\0'))
        throw badRequest(`${what}${path ? ` at ${path}` : ''} contains a NUL character (\\0); remove it.`);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw badRequest(`${what} nests deeper than ${MAX_JSON_DEPTH} levels at ${path}; flatten it.`);
    }
    for (const [key, child] of Object.entries(v)) {
      const childPath = Array.isArray(v) ? `${path}[${key}]` : `${path}.${key.replace(/\0/g, '\\0')}`;
      if (key.includes('\0'))
        throw badRequest(`${what} has a key with a NUL character (\\0) at ${childPath}; remove it.`);
      stack.push({ value: child, depth: depth + 1, path: childPath });
    }
  }
}

/** The request body as a JSON object (empty body: `{}`), checked by `checkJsonInput`. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object.');
  }
  checkJsonInput(body, 'The request body');
  return body as Record<string, unknown>;
}
