import { StringDecoder } from 'node:string_decoder';
import { connectionPasswords, maskConnectionPasswords } from './connection-string.ts';

/**
 * Secret values known to this process. Every string that leaves the process through the
 * orchestrator (event log rows, metadata keys and values, CLI output, API responses, the
 * process's own stdout and stderr) passes `redact()` first, so a secret that reaches a log line
 * or an error message by accident is still never stored.
 *
 * A secret is matched in the forms it takes once it is embedded somewhere: as is, JSON-escaped
 * (once, and twice for JSON inside a JSON string), percent-encoded (as a URL component and as
 * a form value) and base64 (standard and URL alphabets, at every byte alignment, so the secret
 * is caught inside a longer encoded blob such as a Basic auth header).
 *
 * Invariant: values shorter than MIN_SECRET_LENGTH are not registered, since replacing
 * short strings everywhere would garble ordinary text; a secret that short is not a secret.
 * Base64 fragments shorter than MIN_ENCODED_LENGTH are not matched, for the same reason.
 */
const MIN_SECRET_LENGTH = 4;
const MIN_ENCODED_LENGTH = 8;
const secrets = new Set<string>();
/** Every form of every secret, as matched by `redact()`. */
const forms = new Set<string>();
/** The forms by their first character, for finding where a secret may begin. */
const formsByFirst = new Map<string, string[]>();
let longestForm = 0;
let pattern: RegExp | undefined;

export const REDACTED = '***';

/** Parts of the base64 text of `value` that do not depend on the bytes around it. */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    // Character j covers bits [6j, 6j + 6): keep those that lie wholly inside the secret.
    const start = Math.ceil((8 * shift) / 6);
    const end = Math.floor((8 * (shift + bytes.length)) / 6);
    for (const alphabet of ['base64', 'base64url'] as const) {
      const fragment = padded.toString(alphabet).replace(/=+$/, '').slice(start, end);
      if (fragment.length >= MIN_ENCODED_LENGTH) out.push(fragment);
    }
  }
  return out;
}

function formsOf(value: string): string[] {
  const jsonOnce = JSON.stringify(value).slice(1, -1);
  const jsonTwice = JSON.stringify(jsonOnce).slice(1, -1);
  const uri = encodeURIComponent(value);
  return [value, jsonOnce, jsonTwice, uri, uri.replace(/%20/g, '+'), encodeURI(value), ...base64Forms(value)];
}

export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  for (const form of formsOf(value)) {
    if (form.length < MIN_SECRET_LENGTH) continue;
    if (forms.has(form)) continue;
    forms.add(form);
    const first = form[0]!;
    formsByFirst.set(first, [...(formsByFirst.get(first) ?? []), form]);
    longestForm = Math.max(longestForm, form.length);
  }
  pattern = undefined;
}

/** Names of environment variables whose values are treated as secrets wherever they appear. */
const SECRET_ENV_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS)/i;

/** Registers the values of secret-looking environment variables and passwords in connection strings. */
export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_ENV_NAME.test(name)) registerSecret(value);
    registerConnectionSecrets(value);
  }
}

/**
 * Registers the password of a connection string in any of its forms: a URL's userinfo
 * (encoded or not), a `password=` query parameter, a key=value DSN.
 */
export function registerConnectionSecrets(connection: string): void {
  for (const password of connectionPasswords(connection)) registerSecret(password);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function secretPattern(): RegExp {
  // Longest first, so a secret that contains another is replaced whole.
  pattern ??= new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  );
  pattern.lastIndex = 0;
  return pattern;
}

export function redact(text: string): string {
  if (forms.size === 0) return text;
  return text.replace(secretPattern(), REDACTED);
}

/**
 * Where in `text` output can be cut, at `limit` or before it, so that no secret straddles the
 * cut: before the longest suffix that could be the start of a secret, and before any whole
 * secret that would otherwise be cut. Everything from the returned index on is held back
 * until more text comes.
 */
function safeCut(text: string, limit = text.length): number {
  let cut = text.length;
  const from = Math.max(0, text.length - longestForm + 1);
  for (let i = from; i < text.length && cut === text.length; i++) {
    const candidates = formsByFirst.get(text[i]!);
    if (!candidates) continue;
    const tail = text.slice(i);
    if (candidates.some((form) => form.length > tail.length && form.startsWith(tail))) cut = i;
  }
  cut = Math.min(cut, limit);
  for (let moved = cut < text.length; moved; ) {
    moved = false;
    const re = secretPattern();
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index < cut && m.index + m[0].length > cut) {
        cut = m.index;
        moved = true;
        break;
      }
    }
  }
  return cut;
}

/** Text held back at most before it is let through anyway (a stream that never ends a line). */
const MAX_HELD_CHARS = 64 * 1024;

/**
 * Output written in pieces, redacted whole: each piece is redacted together with what was held
 * before it, and text that could be the start of a secret (or, with `lines`, an unfinished
 * line) is held back until the next piece shows what it is, or `flush()`. So a secret split
 * across two writes, even one with a newline inside, is caught.
 */
export class RedactingBuffer {
  private held = '';
  constructor(private readonly options: { lines?: boolean } = {}) {}

  /** Takes a piece; returns the redacted text that can be let through now. */
  push(piece: string): string {
    const text = this.held + piece;
    let limit = text.length;
    if (this.options.lines && text.length <= MAX_HELD_CHARS) limit = text.lastIndexOf('\n') + 1;
    const cut = forms.size === 0 ? limit : safeCut(text, limit);
    this.held = text.slice(cut);
    return redact(text.slice(0, cut));
  }

  /** Everything still held, redacted. */
  flush(): string {
    const text = this.held;
    this.held = '';
    return redact(text);
  }
}

let streamsRedacted = false;

/**
 * Makes every write to this process's stdout and stderr pass `redact()`: what user code prints
 * (a `console.log` of a resolved secret, a `process.stdout.write` of half of one) is caught
 * like the orchestrator's own lines. Installed by the `dag` CLI and preloaded into every run
 * process; calling it again does nothing.
 *
 * A secret split across two writes is caught: each write is redacted together with what came
 * before it, and text that could be the start of a secret is held back (not written) until the
 * next write shows whether it is one, or the process exits. Held text is a suffix that matches
 * the beginning of a secret, so ordinary output (lines ending in a newline) is not delayed.
 */
export function redactStandardStreams(): void {
  if (streamsRedacted) return;
  streamsRedacted = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (
      chunk: string,
      encoding?: BufferEncoding,
      callback?: (error?: Error | null) => void,
    ) => boolean;
    const decoder = new StringDecoder('utf8');
    const buffer = new RedactingBuffer();
    const flush = () => {
      const text = buffer.flush();
      if (text !== '') write(text, 'utf8');
    };
    stream.write = ((
      chunk: string | Uint8Array,
      encoding?: BufferEncoding | ((error?: Error | null) => void),
      callback?: (error?: Error | null) => void,
    ) => {
      const cb = typeof encoding === 'function' ? encoding : callback;
      const other = typeof encoding === 'string' && !/^utf-?8$/i.test(encoding) ? encoding : undefined;
      // A string written with another encoding (hex, base64) is encoded bytes (a Buffer's
      // encoding argument is ignored); bytes are decoded as UTF-8 across writes, so a
      // character split between two chunks stays whole.
      const text =
        typeof chunk === 'string'
          ? other
            ? decoder.write(Buffer.from(chunk, other))
            : chunk
          : decoder.write(Buffer.from(chunk));
      return write(buffer.push(text), 'utf8', cb);
    }) as NodeJS.WriteStream['write'];
    process.once('exit', flush);
  }
}

/** Redacts every string inside a JSON-like value, object keys included, returning a copy. */
export function redactDeep<T>(value: T): T {
  if (forms.size === 0) return value;
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(walk);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k)] = walk(v);
    return out;
  }
  return value;
}

/**
 * A connection string as it may be shown: its password replaced, whatever form the string
 * takes (URL userinfo encoded or not, `password=` query parameter, key=value DSN), and any
 * other registered secret redacted. The one function for showing a database URL.
 */
export function maskConnectionString(connection: string): string {
  return redact(maskConnectionPasswords(connection, REDACTED));
}
