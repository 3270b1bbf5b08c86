import { type AssetCheckDefinition, assetCheck, type ResourceDefinition } from '@dag/core';
import { BucketAccessError } from '@dag/object-store';
import type { DsBucket } from '../resources/ds-r2-bucket.ts';
import { dsR2Source } from '../resources/ds-r2-source.ts';
import { dsR2Target } from '../resources/ds-r2-target.ts';

const ADVICE = {
  credentials:
    'wrong credentials: check DS_R2_ACCESS_KEY_ID / DS_R2_SECRET_ACCESS_KEY and the token’s permissions on this bucket',
  'missing-bucket':
    'the bucket does not exist: create it, or fix the bucket name (DS_R2_SOURCE_BUCKET / DS_R2_TARGET_BUCKET) or DS_R2_ENDPOINT',
  unreachable: 'the endpoint is unreachable: check DS_R2_ENDPOINT, the network, and that the service is up',
} as const;

function bucketCheck(
  name: string,
  assetKey: string,
  bucket: ResourceDefinition<DsBucket>,
): AssetCheckDefinition {
  return assetCheck(
    {
      name,
      asset: assetKey,
      description: `The ${name.includes('src') ? 'source' : 'target'} bucket exists and the credentials may list it (a listing of one key; on a local bucket, its folder).`,
      severity: 'ERROR',
      resources: { bucket },
    },
    async (ctx) => {
      const { store, location } = ctx.resources.bucket;
      const started = Date.now();
      try {
        await store.headBucket();
        return {
          passed: true,
          description: `${location} answers a listing.`,
          metadata: { bucket: location, 'latency ms': Date.now() - started },
        };
      } catch (error) {
        if (error instanceof BucketAccessError) {
          return {
            passed: false,
            description: `${location}: ${ADVICE[error.reason]}. (${error.message})`,
            metadata: { bucket: location, reason: error.reason },
          };
        }
        return {
          passed: false,
          description: `${location}: the bucket check failed unexpectedly: ${(error as Error).message}`,
          metadata: { bucket: location, reason: 'unknown' },
        };
      }
    },
  );
}

/** The source bucket can be listed (checked after each download). */
export const dsR2SrcCheck = bucketCheck('ds_r2_src_check', 'ds_r2_download', dsR2Source);
/** The target bucket can be listed (checked after each finalize). */
export const dsR2TgtCheck = bucketCheck('ds_r2_tgt_check', 'ds_img_finalize', dsR2Target);
