import { type NaverReplica, startNaverReplica } from '@dag/replica-naver-shopping-live';

/** Crawl settings that finish in a few seconds against the loopback replica. */
export function fastCrawlEnv(replica: NaverReplica, pages = 2): Record<string, string> {
  return {
    DS_NAVER_API_URL: replica.url,
    DS_CATEGORIES: 'dc:1,dc:2,dc:3',
    DS_MAX_PAGES: String(pages),
    DS_REQUEST_DELAY_MS: '0',
    DS_IMAGE_DELAY_MS: '0',
    DS_MAX_CONCURRENCY: '4',
    DS_MAX_REQUESTS_PER_MINUTE: '100000',
    DS_BACKOFF_BASE_MS: '50',
  };
}

export async function startReplica(channelCount: number, seed: number): Promise<NaverReplica> {
  return await startNaverReplica({ channelCount, seed, host: '127.0.0.1' });
}

export const COMPANY_DDL = `CREATE TABLE company (id bigserial PRIMARY KEY, name text NOT NULL, naver_channel_id text,
  thumbnail text, updated_at timestamptz NOT NULL DEFAULT now())`;
