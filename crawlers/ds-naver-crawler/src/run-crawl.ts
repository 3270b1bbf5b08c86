import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicCrawler, type BasicCrawlingContext, Configuration, NonRetryableError } from '@crawlee/basic';
import { BucketAccessError, createLocalBucket, createObjectStore, type ObjectStore } from '@dag/object-store';
import { ChannelLedger } from './channel-ledger.ts';
import { convertLogo, detectImageFormat, LogoDecodeError } from './convert-logo.ts';
import type { CrawlerConfig } from './crawler-config.ts';
import { type FetchedBytes, fetchBytes, ResponseTooLargeError } from './fetch-bytes.ts';
import { decodeJsonBody, GatheringShapeError, gatheringUrl, parseGatheringPage } from './gathering-page.ts';
import { checkRedirect, decideImageUrl } from './naver-image-url.ts';
import { PolitenessGate, parseRetryAfter } from './politeness-gate.ts';

/** Text of Naver's security-check page, served (with HTTP 405) instead of data to clients it distrusts. */
export const BLOCK_PAGE_TEXT = '보안 확인을 완료해 주세요';

export interface DsStats {
  requestsTotal: number;
  requestsFinished: number;
  requestsFailed: number;
  saved: number;
  unchanged: number;
  skipped: number;
}

export interface CrawlResult {
  /** 0 crawled; 2 configuration or bucket unusable; 3 no category page could be read (API unreachable or blocked). */
  exitCode: number;
  stats: DsStats;
  blocked: boolean;
}

export interface CrawlOutput {
  /** The machine-readable `DS_*` lines (stdout). */
  line(text: string): void;
  /** Human-readable diagnostics (stderr). */
  note(text: string): void;
}

const stdio: CrawlOutput = {
  line: (text) => process.stdout.write(`${text}\n`),
  note: (text) => process.stderr.write(`${text}\n`),
};

interface CategoryData {
  label: 'CATEGORY';
  category: string;
  page: number;
}

interface LogoData {
  label: 'LOGO';
  channelId: string;
  brand: string;
  sourceUrl: string;
}

/** A failure that retrying cannot fix; `reason` becomes the `reason=` of the DS_SKIPPED line. */
class SkipError extends NonRetryableError {
  override name = 'SkipError';
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Skips decided from what a successful request returned; the request itself counts as finished. */
const CONTENT_SKIPS = new Set([
  'refused-redirect',
  'default-image',
  'too-many-redirects',
  'not-an-image',
  'corrupt-image',
  'too-large',
]);

/** A failure worth retrying (network, 429, 5xx); its `reason` is reported if the retries run out. */
class TransientError extends Error {
  override name = 'TransientError';
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof SkipError || error instanceof TransientError) return error.reason;
  if (error instanceof Error && /timed? ?out/i.test(error.message)) return 'timeout';
  return 'error';
}

function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause =
    error.cause instanceof Error
      ? `: ${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message}`
      : '';
  return `${error.message}${cause}`;
}

function openStore(config: CrawlerConfig): ObjectStore {
  const { bucket } = config;
  return bucket.kind === 's3'
    ? createObjectStore({
        bucket: bucket.bucket,
        endpoint: bucket.endpoint,
        accessKeyId: bucket.accessKeyId,
        secretAccessKey: bucket.secretAccessKey,
        ...(bucket.region ? { region: bucket.region } : {}),
      })
    : createObjectStore({ bucket: bucket.bucket, localRoot: bucket.root });
}

/**
 * `encodeURIComponent(text)` cut to at most `max` characters at a character boundary, so that the
 * result always decodes (a plain slice can split a `%EA%B0%80` sequence).
 */
export function uriEncodeWithin(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    const encoded = encodeURIComponent(char);
    if (out.length + encoded.length > max) break;
    out += encoded;
  }
  return out;
}

/**
 * Crawls channel logos from Naver Shopping Live's category lists (E1) into the source bucket as
 * `<channelId>.png`, printing one `DS_*` line per outcome and a final `DS_STATS` line.
 * See README.md for the lines, the settings and the exit codes.
 */
export async function runCrawl(config: CrawlerConfig, output: CrawlOutput = stdio): Promise<CrawlResult> {
  const counts = { saved: 0, unchanged: 0, skipped: 0 };
  const emptyStats = (): DsStats => ({ requestsTotal: 0, requestsFinished: 0, requestsFailed: 0, ...counts });

  let store: ObjectStore;
  try {
    if (config.bucket.kind === 'local') await createLocalBucket(config.bucket.root, config.bucket.bucket);
    store = openStore(config);
    await store.headBucket();
  } catch (error) {
    const reason = error instanceof BucketAccessError ? `bucket-${error.reason}` : 'bucket';
    output.note(`DS_FATAL reason=${reason} ${explain(error)}`);
    output.line(`DS_STATS ${JSON.stringify(emptyStats())}`);
    return { exitCode: 2, stats: emptyStats(), blocked: false };
  }
  output.note(
    `Saving logos to ${store.location}; API ${config.apiUrl.origin}; categories ${config.categories.join(',')}`,
  );

  const apiOrigin = config.apiOverridden ? config.apiUrl.origin : undefined;
  const gate = new PolitenessGate();
  const channels = new ChannelLedger();
  let pagesRead = 0;
  let blocked = false;
  let fatal: Error | undefined;

  const skip = (channelId: string, reason: string, detail?: string) => {
    counts.skipped += 1;
    output.line(`DS_SKIPPED channel=${channelId} reason=${reason}`);
    if (detail) output.note(`  channel ${channelId}: ${detail}`);
  };

  // Crawlee keeps its request queue and statistics in memory, with a private per-run directory
  // for anything it does write, so runs never see each other's state.
  const storageDir = await mkdtemp(join(tmpdir(), 'ds-naver-crawler-'));
  const crawleeConfig = new Configuration({
    persistStorage: false,
    purgeOnStart: true,
    storageClientOptions: { localDataDirectory: storageDir, persistStorage: false, writeMetadata: false },
  });

  // Declared before the crawler so the handlers below can stop it.
  let crawler: BasicCrawler | undefined;

  const onBlocked = (url: URL, status: number) => {
    if (blocked) return;
    blocked = true;
    output.line(`DS_BLOCKED url=${url.origin}${url.pathname} status=${status}`);
    output.note(
      'Naver answered with its security check ("보안 확인을 완료해 주세요"): stopping the crawl gracefully. ' +
        'Wait before crawling again and lower DS_MAX_REQUESTS_PER_MINUTE / DS_MAX_CONCURRENCY.',
    );
    crawler?.stop('Stopping: Naver is showing its security-check page.');
  };

  /** GET with politeness, backoff and block detection; returns any non-error answer (2xx, 3xx, 4xx but 429). */
  const politeGet = async (
    url: URL,
    kind: 'api' | 'image',
    attempt: number,
    headers: Record<string, string>,
  ): Promise<FetchedBytes> => {
    if (blocked) throw new SkipError('blocked', 'the crawl was stopped by a block page');
    await gate.wait(url.host, kind === 'api' ? config.apiDelay : config.imageDelay);
    let response: FetchedBytes;
    try {
      response = await fetchBytes(url, {
        timeoutMs: config.requestTimeoutMs,
        maxBytes: kind === 'api' ? 20 * 1024 * 1024 : config.maxImageBytes,
        headers: { 'User-Agent': config.userAgent, 'Accept-Language': 'ko-KR,ko;q=0.9,en;q=0.8', ...headers },
      });
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw new SkipError('too-large', error.message);
      gate.coolDown(url.host, gate.backoffMs(attempt, config.backoffBaseMs, 30_000));
      const timeout =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new TransientError(
        timeout ? 'timeout' : 'fetch-failed',
        `GET ${url.href} failed: ${explain(error)}`,
        {
          cause: error,
        },
      );
    }
    const { status, body } = response;
    const looksLikeBlock =
      status === 405 ||
      (body.length < 512 * 1024 &&
        detectImageFormat(body) === undefined &&
        body.toString('utf8').includes(BLOCK_PAGE_TEXT));
    if (looksLikeBlock) {
      onBlocked(url, status);
      throw new SkipError(
        'blocked',
        `GET ${url.href} answered with the security-check page (HTTP ${status})`,
      );
    }
    if (status === 429) {
      const asked = parseRetryAfter(response.headers.get('retry-after'));
      const wait = Math.min(
        asked ?? gate.backoffMs(attempt, config.backoffBaseMs * 2, 60_000),
        config.maxRetryAfterMs,
      );
      gate.coolDown(url.host, wait);
      throw new TransientError(
        'rate-limited',
        `GET ${url.href} answered 429; waiting ${wait} ms before retrying`,
      );
    }
    if (status >= 500) {
      gate.coolDown(url.host, gate.backoffMs(attempt, config.backoffBaseMs, 30_000));
      throw new TransientError(
        `http-${status}`,
        `GET ${url.href} answered ${status}; backing off before retrying`,
      );
    }
    return response;
  };

  const handleCategory = async ({ request }: BasicCrawlingContext, data: CategoryData) => {
    const url = new URL(request.url);
    const response = await politeGet(url, 'api', request.retryCount, {
      Accept: 'application/json, text/plain, */*',
      Referer: `https://shoppinglive.naver.com/categories/${data.category}?sort=LATEST`,
    });
    if (response.status !== 200) {
      throw new SkipError(`http-${response.status}`, `GET ${url.href} answered ${response.status}`);
    }
    let page: ReturnType<typeof parseGatheringPage>;
    try {
      page = parseGatheringPage(decodeJsonBody(response.body));
    } catch (error) {
      if (error instanceof GatheringShapeError) throw new SkipError('bad-response', error.message);
      // A gateway error page instead of JSON is usually transient.
      throw new TransientError('bad-json', `GET ${url.href} did not return JSON`, { cause: error });
    }
    pagesRead += 1;

    const logoRequests = [];
    for (const channel of page.channels) {
      if (!channels.take(channel) || !channel.logoUrl) continue;
      const decision = decideImageUrl(channel.logoUrl, apiOrigin);
      if (!decision.ok) {
        skip(channel.id, decision.reason, decision.detail);
        continue;
      }
      if (decision.isDefaultImage) {
        skip(channel.id, 'default-image');
        continue;
      }
      logoRequests.push({
        url: decision.url.href,
        // One fetch per channel, however many categories and pages show it.
        uniqueKey: `logo:${channel.id}`,
        label: 'LOGO',
        userData: {
          label: 'LOGO',
          channelId: channel.id,
          brand: channel.name,
          sourceUrl: decision.url.href,
        } satisfies LogoData,
      });
    }
    const nextPage =
      page.next && data.page < config.maxPages
        ? [
            {
              url: gatheringUrl(config.apiBase, data.category, config.pageSize, page.next),
              label: 'CATEGORY',
              userData: {
                label: 'CATEGORY',
                category: data.category,
                page: data.page + 1,
              } satisfies CategoryData,
            },
          ]
        : [];
    await crawler?.addRequests([...nextPage, ...logoRequests]);
  };

  /** Content-level problems (bad bytes, a redirect off Naver) are outcomes, not failed requests. */
  const handleLogo = async (context: BasicCrawlingContext, data: LogoData) => {
    try {
      await fetchAndStoreLogo(context, data);
    } catch (error) {
      if (error instanceof SkipError && CONTENT_SKIPS.has(error.reason)) {
        skip(data.channelId, error.reason, error.message);
        return;
      }
      throw error;
    }
  };

  const fetchAndStoreLogo = async ({ request }: BasicCrawlingContext, data: LogoData) => {
    let current = new URL(request.url);
    let response: FetchedBytes | undefined;
    for (let hop = 0; hop <= 3; hop += 1) {
      response = await politeGet(current, 'image', request.retryCount, {
        Accept: 'image/png,image/jpeg,image/gif,image/webp;q=0.9,*/*;q=0.5',
        Referer: 'https://shoppinglive.naver.com/',
      });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) break;
      const decision = checkRedirect(location, current, apiOrigin);
      if (!decision.ok)
        throw new SkipError('refused-redirect', `${current.href} redirects: ${decision.detail}`);
      if (decision.isDefaultImage)
        throw new SkipError('default-image', `${current.href} redirects to the default image`);
      if (hop === 3) throw new SkipError('too-many-redirects', `${request.url} redirects more than 3 times`);
      current = decision.url;
    }
    if (response?.status !== 200) {
      throw new SkipError(`http-${response?.status}`, `GET ${current.href} answered ${response?.status}`);
    }
    let logo: Awaited<ReturnType<typeof convertLogo>>;
    try {
      logo = await convertLogo(response.body);
    } catch (error) {
      if (error instanceof LogoDecodeError) {
        const reason = error.message.startsWith('the bytes are not') ? 'not-an-image' : 'corrupt-image';
        throw new SkipError(
          reason,
          `${current.href} (${response.headers.get('content-type')}): ${error.message}`,
        );
      }
      throw error;
    }
    const key = `${data.channelId}.png`;
    try {
      const existing = await store.head(key);
      if (existing?.metadata['content-sha256'] === logo.sha256) {
        counts.unchanged += 1;
        output.line(`DS_UNCHANGED file=${key} channel=${data.channelId}`);
        return;
      }
      await store.put(key, logo.png, {
        contentType: 'image/png',
        metadata: {
          'channel-id': data.channelId,
          // S3 metadata is ASCII only, so the (usually Korean) name travels URI-encoded.
          'brand-name': uriEncodeWithin(data.brand, 1024),
          'source-url': data.sourceUrl.slice(0, 512),
          'source-format': logo.sourceFormat,
          'content-sha256': logo.sha256,
        },
      });
    } catch (error) {
      if (error instanceof BucketAccessError) {
        fatal ??= error;
        crawler?.stop('Stopping: the source bucket cannot be used.');
        throw new SkipError('store-failed', explain(error));
      }
      throw new TransientError('store-failed', `storing ${key} failed: ${explain(error)}`, { cause: error });
    }
    counts.saved += 1;
    output.line(
      `DS_SAVED file=${key} channel=${data.channelId} bytes=${logo.png.length} brand=${encodeURIComponent(data.brand)}`,
    );
  };

  crawler = new BasicCrawler(
    {
      async requestHandler(context) {
        const data = context.request.userData as CategoryData | LogoData;
        if (data.label === 'CATEGORY') await handleCategory(context, data);
        else await handleLogo(context, data);
      },
      async failedRequestHandler({ request }, error) {
        const data = request.userData as CategoryData | LogoData;
        const reason = reasonOf(error);
        if (data.label === 'LOGO') {
          skip(data.channelId, reason, explain(error));
        } else {
          output.line(`DS_PAGE_FAILED category=${data.category} page=${data.page} reason=${reason}`);
          output.note(`  ${data.category} page ${data.page}: ${explain(error)}`);
        }
      },
      maxConcurrency: config.maxConcurrency,
      // Start at full (small) concurrency instead of ramping up over minutes: the limit is politeness, not CPU.
      autoscaledPoolOptions: { desiredConcurrency: config.maxConcurrency },
      maxRequestsPerMinute: config.maxRequestsPerMinute,
      maxRequestsPerCrawl: config.maxRequests,
      maxRequestRetries: config.maxRetries,
      // Room for the longest Retry-After wait, the request itself and the bucket upload.
      requestHandlerTimeoutSecs:
        Math.ceil((config.maxRetryAfterMs + 2 * config.requestTimeoutMs) / 1000) + 60,
      useSessionPool: false,
      statusMessageLoggingInterval: 60,
    },
    crawleeConfig,
  );

  let stats: DsStats;
  try {
    const final = await crawler.run(
      config.categories.map((category) => ({
        url: gatheringUrl(config.apiBase, category, config.pageSize),
        label: 'CATEGORY',
        userData: { label: 'CATEGORY', category, page: 1 } satisfies CategoryData,
      })),
    );
    // Only now is it certain that no appearance of these channels carried a logo URL.
    for (const channelId of channels.withoutLogo()) skip(channelId, 'no-logo-url');
    stats = {
      requestsTotal: final.requestsTotal,
      requestsFinished: final.requestsFinished,
      requestsFailed: final.requestsFailed,
      ...counts,
    };
  } catch (error) {
    output.note(`DS_FATAL reason=crawler ${explain(error)}`);
    stats = emptyStats();
    output.line(`DS_STATS ${JSON.stringify(stats)}`);
    return { exitCode: 1, stats, blocked };
  } finally {
    await rm(storageDir, { recursive: true, force: true });
  }

  output.line(`DS_STATS ${JSON.stringify(stats)}`);
  let exitCode = 0;
  if (fatal) {
    output.note(`DS_FATAL reason=bucket ${explain(fatal)}`);
    exitCode = 2;
  } else if (pagesRead === 0) {
    output.note(
      `DS_FATAL reason=${blocked ? 'blocked' : 'api-unreachable'} no category page could be read from ` +
        `${config.apiUrl.origin}; check DS_NAVER_API_URL and the network${blocked ? ', and wait out the block' : ''}.`,
    );
    exitCode = 3;
  }
  return { exitCode, stats, blocked };
}
