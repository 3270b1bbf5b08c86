/**
 * @dag/pipeline-ds: the DS code location. Its definitions are the default export of
 * `definitions.ts`; the pieces are exported here for tests and for other code locations.
 */
export { dsImgFinalize } from './assets/ds-img-finalize.ts';
export { DEFAULT_DOCKER_SOCKET, dockerClient, dsImgR2Docker } from './assets/ds-img-r2-docker.ts';
export { dsImgR2Node } from './assets/ds-img-r2-node.ts';
export { dsPng2Webp } from './assets/ds-png2webp.ts';
export { dsR2ClearSrc, dsR2ClearTgt } from './assets/ds-r2-clear.ts';
export { dsR2Download, type FailedItem } from './assets/ds-r2-download.ts';
export { dsR2SrcCheck, dsR2TgtCheck } from './checks/ds-r2-bucket-check.ts';
export { default as definitions } from './definitions.ts';
export * from './ds-paths.ts';
export { CrawlerOutput, type CrawlStats, parseFields, type SavedLogo } from './lib/crawler-output.ts';
export { type LogoHistoryRow, type LogoStatus, recordLogoHistory } from './lib/logo-history.ts';
export { normalizeBrandName } from './lib/normalize-brand-name.ts';
export {
  CRAWLER_ENV_VARS,
  DEFAULT_CRAWLER_IMAGE,
  type DsCrawler,
  dsCrawler,
} from './resources/ds-crawler.ts';
export { type DsDuckDb, dsDuckDb, LOGO_UPDATES_DDL } from './resources/ds-duckdb.ts';
export { type DsFiles, dsFiles } from './resources/ds-files.ts';
export { type DsPostgres, dsPostgres, EMBEDDED_DS_DATABASE } from './resources/ds-postgres.ts';
export { type DsBucket, dsBucketResource, encodeKeyForUrl } from './resources/ds-r2-bucket.ts';
export { dsR2Source } from './resources/ds-r2-source.ts';
export { dsR2Target } from './resources/ds-r2-target.ts';
