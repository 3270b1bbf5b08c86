import path from 'node:path';

/** The monorepo's root: `pipelines/ds/src` is three levels below it. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

/** Where the crawler lives; `ds_img_r2_node` runs it from this folder. */
export const CRAWLER_DIR = path.join(REPO_ROOT, 'crawlers', 'ds-naver-crawler');

/** Default of DS_DATA_DIR: the pipeline's working folders (downloads, WebP output, final). */
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, 'data', 'images', 'ds');

/** Default of DS_LOCAL_BUCKETS_DIR, the same the crawler uses: one sub-folder per local bucket. */
export const DEFAULT_LOCAL_BUCKETS_DIR = path.join(REPO_ROOT, 'data', 'buckets');

/** Default of DS_DUCKDB_PATH. */
export const DEFAULT_DUCKDB_PATH = path.join(REPO_ROOT, 'data', 'ds.duckdb');

export const DEFAULT_SOURCE_BUCKET = 'ds-logos-src';
export const DEFAULT_TARGET_BUCKET = 'ds-logos-tgt';
