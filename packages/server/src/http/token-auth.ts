import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { sendJson } from './json-response.ts';

export const TOKEN_COOKIE = 'dag_token';

/**
 * Compares in constant time. Both sides are hashed first, so neither the content nor the
 * length of the expected token leaks through timing.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function bearer(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
}

/**
 * With a token configured, every request (API and UI files alike) must carry it as
 * `Authorization: Bearer <token>` or the `dag_token` cookie. `GET /?token=<token>` trades
 * the token in the URL for the cookie (HttpOnly, SameSite=Strict) and redirects to `/`, so
 * the token does not stay in the address bar or the browser history.
 */
export function tokenAuth(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (token === undefined) return await next();
    const url = new URL(c.req.url);
    const fromQuery = url.pathname === '/' && c.req.method === 'GET' ? c.req.query('token') : undefined;
    if (fromQuery !== undefined && tokensEqual(fromQuery, token)) {
      setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      return c.redirect('/', 302);
    }
    const given = bearer(c.req.header('Authorization')) ?? getCookie(c, TOKEN_COOKIE);
    if (fromQuery === undefined && given !== undefined && tokensEqual(given, token)) return await next();
    const message =
      'This dag dev server requires its token (DAG_UI_TOKEN): send `Authorization: Bearer <token>`, or open /?token=<token> once in the browser.';
    if (url.pathname.startsWith('/api/') || url.pathname === '/api') {
      c.header('WWW-Authenticate', 'Bearer realm="dag"');
      return sendJson(c, { error: { name: 'Unauthorized', message } }, 401);
    }
    return c.html(
      `<!doctype html><meta charset="utf-8"><title>dag: token required</title><p>${message.replace(/`/g, '')}</p>`,
      401,
    );
  };
}

const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.test(host);
}

/**
 * Guards a server without a token (loopback only) against other web pages: a request whose
 * Host is not a loopback name (DNS rebinding) is refused, and so is a state-changing request
 * whose Origin is another site (cross-site request forgery).
 */
export function requestGuard(options: { loopbackOnly: boolean }): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (options.loopbackOnly && !isLoopbackHost(url.hostname)) {
      return sendJson(
        c,
        {
          error: {
            name: 'Forbidden',
            message: `Host '${url.hostname}' is not a loopback address; without DAG_UI_TOKEN this server only answers requests to localhost or 127.0.0.1.`,
          },
        },
        403,
      );
    }
    const origin = c.req.header('Origin');
    if (origin && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      let sameOrigin = false;
      try {
        sameOrigin = new URL(origin).host === url.host;
      } catch {}
      if (!sameOrigin) {
        return sendJson(
          c,
          { error: { name: 'Forbidden', message: `Cross-origin ${c.req.method} from ${origin} refused.` } },
          403,
        );
      }
    }
    return await next();
  };
}
