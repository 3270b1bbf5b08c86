/**
 * Where the password sits in a connection string, in every form PostgreSQL clients accept:
 *
 * - a URL's userinfo, `postgres://user:pass@host/db`, including a password whose `#`, `/`, `?`
 *   or `@` was not percent-encoded (a URL parser rejects or misreads those, so the userinfo is
 *   taken as everything up to the last `@`);
 * - a `password=` (or `sslpassword=`, `passwd=`, `pwd=`) parameter in a URL's query;
 * - a key=value DSN, `host=h user=u password=pass` or `password='with spaces'`.
 *
 * Written by hand because no connection-string library reports *where* a password is in the
 * text (they parse into objects, and throw on the malformed strings that leak most).
 */

interface PasswordSpan {
  start: number;
  end: number;
  /** The password as the server receives it (percent-decoding or DSN quoting undone). */
  value: string;
  /** A URL's userinfo, or a `key=value` parameter (URL query or DSN). */
  kind: 'userinfo' | 'parameter';
}

const URL_SCHEME = /^\s*[a-z][a-z0-9+.-]*:\/\//i;
const PASSWORD_KEYS = '(?:password|sslpassword|passwd|pwd)';

function decodeUrlPart(text: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, ' ') : text);
  } catch {
    return text;
  }
}

function urlPasswords(text: string): PasswordSpan[] {
  const spans: PasswordSpan[] = [];
  const authorityStart = (text.match(URL_SCHEME)?.[0] ?? '').length;
  const at = text.lastIndexOf('@');
  let queryFrom = authorityStart;
  if (at > authorityStart) {
    const colon = text.indexOf(':', authorityStart);
    if (colon >= 0 && colon < at) {
      spans.push({
        start: colon + 1,
        end: at,
        value: decodeUrlPart(text.slice(colon + 1, at), false),
        kind: 'userinfo',
      });
    }
    queryFrom = at + 1;
  }
  // A query parameter's value ends at the next `&` (a `#` is kept: connection strings have no
  // fragment, and an unencoded `#` is part of the password).
  const param = new RegExp(`[?&]${PASSWORD_KEYS}=([^&]*)`, 'gi');
  param.lastIndex = queryFrom;
  for (let m = param.exec(text); m; m = param.exec(text)) {
    const raw = m[1]!;
    const start = m.index + m[0].length - raw.length;
    if (raw !== '') {
      spans.push({ start, end: start + raw.length, value: decodeUrlPart(raw, true), kind: 'parameter' });
    }
  }
  return spans;
}

function dsnPasswords(text: string): PasswordSpan[] {
  const spans: PasswordSpan[] = [];
  const key = new RegExp(`(?:^|[\\s;])${PASSWORD_KEYS}\\s*=\\s*`, 'gi');
  for (let m = key.exec(text); m; m = key.exec(text)) {
    const start = m.index + m[0].length;
    let end = start;
    let value = '';
    if (text[start] === "'") {
      // libpq quoting: '...' with \' and \\ escapes.
      end = start + 1;
      while (end < text.length && text[end] !== "'") {
        if (text[end] === '\\' && end + 1 < text.length) end++;
        value += text[end];
        end++;
      }
      end = Math.min(text.length, end + 1);
    } else {
      while (end < text.length && !/[\s;]/.test(text[end]!)) end++;
      value = text.slice(start, end);
    }
    if (end > start) spans.push({ start, end, value, kind: 'parameter' });
    key.lastIndex = Math.max(end, key.lastIndex);
  }
  return spans;
}

function passwordSpans(text: string): PasswordSpan[] {
  return URL_SCHEME.test(text) ? urlPasswords(text) : dsnPasswords(text);
}

/**
 * The passwords a connection string carries (decoded), for registering as secrets. A URL that
 * parses cleanly without a password has none in its userinfo (`https://h:8080/a/@b` has none),
 * so only its `password=` parameters count: registering more would garble ordinary text.
 */
export function connectionPasswords(text: string): string[] {
  const spans = passwordSpans(text);
  if (URL_SCHEME.test(text)) {
    let parsedWithoutPassword = false;
    try {
      parsedWithoutPassword = new URL(text.trim()).password === '';
    } catch {
      // Malformed (an unencoded `#`, `/` or `?` in the password): the spans are all there is.
    }
    if (parsedWithoutPassword) return spans.filter((s) => s.kind === 'parameter').map((s) => s.value);
  }
  return spans.map((s) => s.value);
}

/** The password spans of a connection string replaced with `mask`, everything else kept. */
export function maskConnectionPasswords(text: string, mask: string): string {
  const spans = passwordSpans(text).sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const span of spans) {
    if (span.start < at) continue;
    out += text.slice(at, span.start) + mask;
    at = span.end;
  }
  return out + text.slice(at);
}
