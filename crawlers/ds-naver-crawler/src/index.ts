export { convertLogo, detectImageFormat, type ImageFormat, LogoDecodeError } from './convert-logo.ts';
export {
  type BucketConfig,
  type CrawlerConfig,
  CrawlerConfigError,
  DEFAULT_CATEGORIES,
  DEFAULT_NAVER_API_URL,
  DEFAULT_SOURCE_BUCKET,
  findRepoRoot,
  loadCrawlerConfig,
} from './crawler-config.ts';
export { type DiscoveredChannel, type GatheringPage, parseGatheringPage } from './gathering-page.ts';
export {
  checkImageUrl,
  decideImageUrl,
  type ImageUrlDecision,
  isNaverImageHost,
  NAVER_DEFAULT_IMAGE_PATH,
} from './naver-image-url.ts';
export { BLOCK_PAGE_TEXT, type CrawlOutput, type CrawlResult, type DsStats, runCrawl } from './run-crawl.ts';
