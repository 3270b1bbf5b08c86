/**
 * Secret values known to this process. Every string that leaves the process through the
 * orchestrator (event log rows, CLI output, API responses) passes `redact()` first, so a
 * secret that reaches a log line or an error message by accident is still never stored.
 *
 * Invariant: values shorter than MIN_SECRET_LENGTH are not registered, since replacing
 * short strings everywhere would garble ordinary text; a secret that short is not a secret.
 */
const MIN_SECRET_LENGTH = 4;
const secrets = new Set<string>();
let pattern: RegExp | undefined;

export const REDACTED = '***';

export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  // Percent-encoded forms show up in URLs (a password inside a connection string).
  const encoded = encodeURIComponent(value);
  if (encoded !== value) secrets.add(encoded);
  pattern = undefined;
}

/** Names of environment variables whose values are treated as secrets wherever they appear. */
const SECRET_ENV_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS)/i;

/** Registers the values of secret-looking environment variables and passwords in URLs. */
export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_ENV_NAME.test(name)) registerSecret(value);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) registerUrlPassword(value);
  }
}

/** Registers the password part of a URL such as postgres://user:pass@host/db. */
export function registerUrlPassword(url: string): void {
  try {
    const parsed = new URL(url);
    if (parsed.password) registerSecret(decodeURIComponent(parsed.password));
  } catch {
    // Not a URL: nothing to register.
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function redact(text: string): string {
  if (secrets.size === 0) return text;
  if (!pattern) {
    // Longest first, so a secret that contains another is replaced whole.
    const sorted = [...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    pattern = new RegExp(sorted.join('|'), 'g');
  }
  return text.replace(pattern, REDACTED);
}

let streamsRedacted = false;

/**
 * Makes every write to this process's stdout and stderr pass `redact()`: what user code prints
 * (a `console.log` of a resolved secret) is caught like the orchestrator's own lines. Installed
 * by the `dag` CLI and preloaded into every run process; calling it again does nothing.
 *
 * Invariant: each write is redacted on its own; a secret split across two writes is not
 * caught (console.log writes each call at once).
 */
export function redactStandardStreams(): void {
  if (streamsRedacted) return;
  streamsRedacted = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (
      chunk: string | Uint8Array,
      encoding?: BufferEncoding | ((error?: Error | null) => void),
      callback?: (error?: Error | null) => void,
    ) => boolean;
    stream.write = ((
      chunk: string | Uint8Array,
      encoding?: BufferEncoding | ((error?: Error | null) => void),
      callback?: (error?: Error | null) => void,
    ) => {
      const text =
        typeof chunk === 'string'
          ? chunk
          : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
      const cb = typeof encoding === 'function' ? encoding : callback;
      return write(redact(text), 'utf8', cb);
    }) as NodeJS.WriteStream['write'];
  }
}

/** Redacts every string inside a JSON-like value, returning a copy. */
export function redactDeep<T>(value: T): T {
  if (secrets.size === 0) return value;
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(walk);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v);
    return out;
  }
  return value;
}

/** A URL with its password replaced, for display. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = REDACTED;
    return parsed.toString();
  } catch {
    return redact(url);
  }
}
