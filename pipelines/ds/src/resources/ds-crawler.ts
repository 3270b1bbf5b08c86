import { resource } from '@dag/core';
import { z } from 'zod';

/**
 * The crawler's own settings, read by the crawler from these variables (see
 * crawlers/ds-naver-crawler/README.md). Bucket settings are not here: they come from
 * `ds_r2_source`, so the crawl writes exactly where `ds_r2_download` reads.
 */
export const CRAWLER_ENV_VARS = [
  'DS_NAVER_API_URL',
  'DS_CATEGORIES',
  'DS_PAGE_SIZE',
  'DS_MAX_PAGES',
  'DS_MAX_CONCURRENCY',
  'DS_MAX_REQUESTS_PER_MINUTE',
  'DS_MAX_REQUESTS',
  'DS_MAX_RETRIES',
  'DS_REQUEST_DELAY_MS',
  'DS_IMAGE_DELAY_MS',
  'DS_REQUEST_TIMEOUT_MS',
  'DS_BACKOFF_BASE_MS',
  'DS_MAX_RETRY_AFTER_SECONDS',
  'DS_MAX_IMAGE_BYTES',
  'DS_USER_AGENT',
] as const;

export const DEFAULT_CRAWLER_IMAGE = 'ds-naver-crawler:dev';

/** What `ds_crawler` hands to the crawl assets. */
export interface DsCrawler {
  /** The crawler variables that are set, by name. */
  readonly env: Readonly<Record<string, string>>;
  /** Docker image of the crawler (DS_CRAWLER_IMAGE, default `ds-naver-crawler:dev`). */
  readonly image: string;
  /** Docker engine address (DOCKER_HOST); undefined means the local socket /var/run/docker.sock. */
  readonly dockerHost: string | undefined;
}

const shape: Record<string, z.ZodOptional<z.ZodString>> = {};
const env: Record<string, string> = {};
for (const name of CRAWLER_ENV_VARS) {
  shape[name] = z.string().optional();
  env[name] = name;
}

/** How the crawl assets run the crawler: its DS_* settings, its Docker image and engine. */
export const dsCrawler = resource({
  name: 'ds_crawler',
  description:
    'Settings of the ds-naver-crawler run by ds_img_r2_node / ds_img_r2_docker: DS_NAVER_API_URL, crawl limits (DS_MAX_PAGES, DS_MAX_REQUESTS...), DS_CRAWLER_IMAGE, DOCKER_HOST.',
  config: z.object({
    ...shape,
    image: z.string().default(DEFAULT_CRAWLER_IMAGE),
    dockerHost: z.string().optional(),
  }),
  env: { ...env, image: 'DS_CRAWLER_IMAGE', dockerHost: 'DOCKER_HOST' },
  create: (config): DsCrawler => {
    const values = config as Record<string, string | undefined>;
    const crawlerEnv: Record<string, string> = {};
    for (const name of CRAWLER_ENV_VARS) {
      const value = values[name];
      if (value !== undefined && value !== '') crawlerEnv[name] = value;
    }
    return { env: crawlerEnv, image: config.image, dockerHost: config.dockerHost };
  },
});
