import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceDefinition, resource } from '@dag/core';
import { createLocalBucket, createObjectStore, type ObjectStore } from '@dag/object-store';
import { z } from 'zod';
import { DEFAULT_LOCAL_BUCKETS_DIR } from '../ds-paths.ts';

/** What `ds_r2_source` and `ds_r2_target` hand to assets. */
export interface DsBucket {
  readonly store: ObjectStore;
  readonly bucket: string;
  /** 's3' when DS_R2_ENDPOINT is set (R2, S3, MinIO, s3rver), else 'local' (a folder per bucket). */
  readonly mode: 's3' | 'local';
  /** Where the bucket lives, for logs: never contains credentials. */
  readonly location: string;
  /** The folder of a local bucket; undefined for S3. */
  readonly localDir: string | undefined;
  /** The public URL of an object (target bucket: the URL written into `company.thumbnail`). */
  publicUrl(key: string): string;
  /**
   * The crawler's bucket settings (DS_R2_* and DS_LOCAL_BUCKETS_DIR) as this resource resolved
   * them, so a crawl writes exactly where the download reads. Contains the secret key: pass it
   * only to a child process's environment, never to a log.
   */
  crawlerEnv(): Record<string, string>;
}

const bucketConfig = z.object({
  endpoint: z.string().url().optional(),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
  region: z.string().optional(),
  bucket: z.string().min(3),
  localBucketsDir: z.string().optional(),
  publicUrl: z.string().url().optional(),
});

type BucketConfig = z.output<typeof bucketConfig>;

/** Encodes each segment of a key for a URL path (spaces, Hangul, `#`...), keeping `/` between them. */
export function encodeKeyForUrl(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function defaultPublicBase(config: BucketConfig, localDir: string | undefined): string {
  if (localDir) return pathToFileURL(localDir).href;
  // Path-style URL on the S3 endpoint; R2's API endpoint is not public, so set DS_PUBLIC_URL there.
  return `${config.endpoint!.replace(/\/+$/, '')}/${config.bucket}`;
}

/**
 * Builds a bucket resource. S3 API (AWS SDK v3) when DS_R2_ENDPOINT is set, else a local
 * directory bucket under DS_LOCAL_BUCKETS_DIR (default `<repo>/data/buckets`), created on first use.
 */
export function dsBucketResource(options: {
  name: string;
  description: string;
  bucketEnv: string;
  defaultBucket: string;
  /** Only the target bucket has a public URL. */
  publicUrlEnv?: string;
}): ResourceDefinition<DsBucket> {
  return resource({
    name: options.name,
    description: options.description,
    config: bucketConfig.extend({ bucket: z.string().min(3).default(options.defaultBucket) }),
    env: {
      endpoint: 'DS_R2_ENDPOINT',
      accessKeyId: 'DS_R2_ACCESS_KEY_ID',
      secretAccessKey: { env: 'DS_R2_SECRET_ACCESS_KEY', secret: true },
      region: 'DS_R2_REGION',
      bucket: options.bucketEnv,
      localBucketsDir: 'DS_LOCAL_BUCKETS_DIR',
      ...(options.publicUrlEnv ? { publicUrl: options.publicUrlEnv } : {}),
    },
    create: async (config): Promise<DsBucket> => {
      const localRoot = path.resolve(config.localBucketsDir ?? DEFAULT_LOCAL_BUCKETS_DIR);
      const mode = config.endpoint ? 's3' : 'local';
      const store = createObjectStore({
        bucket: config.bucket,
        ...(config.endpoint ? { endpoint: config.endpoint } : { localRoot }),
        ...(config.accessKeyId ? { accessKeyId: config.accessKeyId } : {}),
        ...(config.secretAccessKey ? { secretAccessKey: config.secretAccessKey } : {}),
        ...(config.region ? { region: config.region } : {}),
      });
      const localDir = mode === 'local' ? path.join(localRoot, config.bucket) : undefined;
      // A local bucket is a folder: create it so a fresh checkout works with zero set-up.
      if (mode === 'local') await createLocalBucket(localRoot, config.bucket);
      const base = (config.publicUrl ?? defaultPublicBase(config, localDir)).replace(/\/+$/, '');
      return {
        store,
        bucket: config.bucket,
        mode,
        location: store.location,
        localDir,
        publicUrl: (key) => `${base}/${encodeKeyForUrl(key)}`,
        crawlerEnv: () => {
          const env: Record<string, string> = { [options.bucketEnv]: config.bucket };
          if (config.endpoint) env.DS_R2_ENDPOINT = config.endpoint;
          else env.DS_LOCAL_BUCKETS_DIR = localRoot;
          if (config.accessKeyId) env.DS_R2_ACCESS_KEY_ID = config.accessKeyId;
          if (config.secretAccessKey) env.DS_R2_SECRET_ACCESS_KEY = config.secretAccessKey;
          if (config.region) env.DS_R2_REGION = config.region;
          return env;
        },
      };
    },
  });
}
