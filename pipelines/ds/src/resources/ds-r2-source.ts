import { DEFAULT_SOURCE_BUCKET } from '../ds-paths.ts';
import { dsBucketResource } from './ds-r2-bucket.ts';

/** The R2 source bucket the crawler fills with PNG logos (DS_R2_SOURCE_BUCKET, default `ds-logos-src`). */
export const dsR2Source = dsBucketResource({
  name: 'ds_r2_source',
  description:
    'R2 source bucket of crawled PNG logos. S3 API when DS_R2_ENDPOINT is set, else a local folder under DS_LOCAL_BUCKETS_DIR.',
  bucketEnv: 'DS_R2_SOURCE_BUCKET',
  defaultBucket: DEFAULT_SOURCE_BUCKET,
});
