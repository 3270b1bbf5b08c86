import { DEFAULT_TARGET_BUCKET } from '../ds-paths.ts';
import { dsBucketResource } from './ds-r2-bucket.ts';

/** The R2 target bucket the published PNG + WebP go to (DS_R2_TARGET_BUCKET, default `ds-logos-tgt`). */
export const dsR2Target = dsBucketResource({
  name: 'ds_r2_target',
  description:
    'R2 target bucket of published PNG + WebP logos; DS_PUBLIC_URL is the base of their public URLs. S3 API when DS_R2_ENDPOINT is set, else a local folder under DS_LOCAL_BUCKETS_DIR.',
  bucketEnv: 'DS_R2_TARGET_BUCKET',
  defaultBucket: DEFAULT_TARGET_BUCKET,
  publicUrlEnv: 'DS_PUBLIC_URL',
});
