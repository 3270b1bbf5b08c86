import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_NAVER_API_URL = 'https://apis.naver.com';
export const DEFAULT_SOURCE_BUCKET = 'ds-logos-src';
export const DEFAULT_CATEGORIES = ['dc:1', 'dc:2', 'dc:3', 'dc:4', 'dc:5', 'dc:6', 'dc:7', 'dc:8', 'dc:9'];

export type BucketConfig =
  | {
      kind: 's3';
      bucket: string;
      endpoint: string;
      accessKeyId: string;
      secretAccessKey: string;
      region?: string;
    }
  | { kind: 'local'; bucket: string; root: string };

export interface DelayRange {
  min: number;
  max: number;
}

export interface CrawlerConfig {
  apiUrl: URL;
  /** `apiUrl` without a trailing slash, to prefix endpoint paths with. */
  apiBase: string;
  /** True when `DS_NAVER_API_URL` points somewhere other than Naver (a replica or a proxy). */
  apiOverridden: boolean;
  categories: string[];
  pageSize: number;
  maxPages: number;
  maxConcurrency: number;
  maxRequestsPerMinute: number;
  maxRequests: number;
  maxRetries: number;
  /** Jittered pause before each API request, as public crawlers of this API do (0.5–1.5 s). */
  apiDelay: DelayRange;
  imageDelay: DelayRange;
  requestTimeoutMs: number;
  /** First step of the exponential backoff after a 5xx or a 429 without Retry-After. */
  backoffBaseMs: number;
  /** Longest wait honoured from a Retry-After header; longer waits are cut to this. */
  maxRetryAfterMs: number;
  maxImageBytes: number;
  userAgent: string;
  bucket: BucketConfig;
}

export class CrawlerConfigError extends Error {
  override name = 'CrawlerConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CrawlerConfigError(
      `${name}=${raw} is not valid: give an integer from ${min} to ${max} (default ${fallback}).`,
    );
  }
  return value;
}

function delayRange(env: NodeJS.ProcessEnv, name: string, fallback: DelayRange): DelayRange {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(raw);
  const min = Number(match?.[1]);
  const max = Number(match?.[2] ?? match?.[1]);
  if (!match || max < min || max > 600_000) {
    throw new CrawlerConfigError(
      `${name}=${raw} is not valid: give milliseconds as "<n>" or "<min>-<max>", e.g. "500-1500".`,
    );
  }
  return { min, max };
}

/** The monorepo root: the nearest ancestor whose package.json declares workspaces. */
export function findRepoRoot(start: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces) return dir;
      } catch {
        // An unreadable package.json is not the root; keep walking up.
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** Reads the crawler's settings from `DS_*` environment variables; see README.md for each. */
export function loadCrawlerConfig(env: NodeJS.ProcessEnv = process.env): CrawlerConfig {
  const apiText = env.DS_NAVER_API_URL?.trim() || DEFAULT_NAVER_API_URL;
  let apiUrl: URL;
  try {
    apiUrl = new URL(apiText);
  } catch (error) {
    throw new CrawlerConfigError(
      `DS_NAVER_API_URL=${apiText} is not a URL; give e.g. ${DEFAULT_NAVER_API_URL}.`,
      {
        cause: error,
      },
    );
  }
  if (apiUrl.protocol !== 'https:' && apiUrl.protocol !== 'http:') {
    throw new CrawlerConfigError(`DS_NAVER_API_URL must be an http(s) URL, got ${apiText}.`);
  }
  if (apiUrl.search || apiUrl.hash || apiUrl.username || apiUrl.password) {
    throw new CrawlerConfigError(
      `DS_NAVER_API_URL must be a plain base URL without credentials, query or fragment.`,
    );
  }

  const categories = (env.DS_CATEGORIES?.trim() ? env.DS_CATEGORIES.split(',') : DEFAULT_CATEGORIES)
    .map((c) => c.trim())
    .filter(Boolean);
  for (const category of categories) {
    if (!/^dc:\d+$/.test(category)) {
      throw new CrawlerConfigError(
        `DS_CATEGORIES contains "${category}": give comma-separated category ids such as "dc:1,dc:2" (dc:1..dc:9).`,
      );
    }
  }
  if (categories.length === 0) throw new CrawlerConfigError('DS_CATEGORIES is empty; give e.g. "dc:1,dc:2".');

  const bucketName = env.DS_R2_SOURCE_BUCKET?.trim() || DEFAULT_SOURCE_BUCKET;
  let bucket: BucketConfig;
  const endpoint = env.DS_R2_ENDPOINT?.trim();
  if (endpoint) {
    const accessKeyId = env.DS_R2_ACCESS_KEY_ID?.trim();
    const secretAccessKey = env.DS_R2_SECRET_ACCESS_KEY?.trim();
    if (!accessKeyId || !secretAccessKey) {
      throw new CrawlerConfigError(
        'DS_R2_ENDPOINT is set but DS_R2_ACCESS_KEY_ID or DS_R2_SECRET_ACCESS_KEY is missing: set both, ' +
          'or unset DS_R2_ENDPOINT to use a local-directory bucket.',
      );
    }
    const region = env.DS_R2_REGION?.trim();
    bucket = {
      kind: 's3',
      bucket: bucketName,
      endpoint,
      accessKeyId,
      secretAccessKey,
      ...(region ? { region } : {}),
    };
  } else {
    const configured = env.DS_LOCAL_BUCKETS_DIR?.trim();
    const repoRoot = findRepoRoot();
    const root = configured ? resolve(configured) : repoRoot ? join(repoRoot, 'data', 'buckets') : undefined;
    if (!root) {
      throw new CrawlerConfigError(
        'No bucket configured: set DS_R2_ENDPOINT (with DS_R2_ACCESS_KEY_ID and DS_R2_SECRET_ACCESS_KEY) for R2, ' +
          'or DS_LOCAL_BUCKETS_DIR for a local-directory bucket.',
      );
    }
    bucket = { kind: 'local', bucket: bucketName, root };
  }

  const requestTimeoutMs = integer(env, 'DS_REQUEST_TIMEOUT_MS', 20_000, 100, 600_000);
  return {
    apiUrl,
    apiBase: `${apiUrl.origin}${apiUrl.pathname.replace(/\/+$/, '')}`,
    apiOverridden: apiUrl.origin !== new URL(DEFAULT_NAVER_API_URL).origin,
    categories: [...new Set(categories)],
    pageSize: integer(env, 'DS_PAGE_SIZE', 10, 1, 100),
    maxPages: integer(env, 'DS_MAX_PAGES', 30, 1, 100_000),
    maxConcurrency: integer(env, 'DS_MAX_CONCURRENCY', 2, 1, 64),
    maxRequestsPerMinute: integer(env, 'DS_MAX_REQUESTS_PER_MINUTE', 60, 1, 100_000),
    maxRequests: integer(env, 'DS_MAX_REQUESTS', 5000, 1, 10_000_000),
    maxRetries: integer(env, 'DS_MAX_RETRIES', 4, 0, 20),
    apiDelay: delayRange(env, 'DS_REQUEST_DELAY_MS', { min: 500, max: 1500 }),
    imageDelay: delayRange(env, 'DS_IMAGE_DELAY_MS', { min: 0, max: 300 }),
    requestTimeoutMs,
    backoffBaseMs: integer(env, 'DS_BACKOFF_BASE_MS', 1000, 0, 600_000),
    maxRetryAfterMs: integer(env, 'DS_MAX_RETRY_AFTER_SECONDS', 120, 0, 3600) * 1000,
    maxImageBytes: integer(env, 'DS_MAX_IMAGE_BYTES', 10 * 1024 * 1024, 1024, 200 * 1024 * 1024),
    userAgent:
      env.DS_USER_AGENT?.trim() ||
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    bucket,
  };
}
