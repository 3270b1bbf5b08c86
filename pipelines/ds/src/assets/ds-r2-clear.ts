import {
  type AssetDefinition,
  asset,
  MaterializeResult,
  md,
  NonRetriableError,
  type ResourceDefinition,
} from '@dag/core';
import { validateObjectKey } from '@dag/object-store';
import { z } from 'zod';
import type { DsBucket } from '../resources/ds-r2-bucket.ts';
import { dsR2Source } from '../resources/ds-r2-source.ts';
import { dsR2Target } from '../resources/ds-r2-target.ts';

const clearConfig = z.object({
  /** Must equal the bucket's name: the run config says which bucket it means to empty. */
  confirm: z.string().default(''),
});

const isImage = (key: string) => /\.(png|webp)$/i.test(key);

function isValidKey(key: string): boolean {
  try {
    validateObjectKey(key);
    return true;
  } catch {
    return false;
  }
}

function clearAsset(
  name: string,
  which: 'source' | 'target',
  bucket: ResourceDefinition<DsBucket>,
): AssetDefinition {
  return asset(
    {
      name,
      group: 'DS',
      description: `Deletes every .png and .webp object of the ${which} bucket (other objects are kept). Irreversible: runs only when its config \`confirm\` equals the bucket's name.`,
      tags: { destructive: 'true', tier: 'utility' },
      kinds: ['s3'],
      config: clearConfig,
      resources: { bucket },
      io: false,
    },
    async (ctx) => {
      const { store, bucket: bucketName, location } = ctx.resources.bucket;
      if (ctx.config.confirm !== bucketName) {
        throw new NonRetriableError(
          `${name} refuses to run: it deletes every PNG and WebP in ${location} and cannot be undone. ` +
            `Confirm by setting the run config ops.${name}.config.confirm to '${bucketName}'` +
            (ctx.config.confirm ? ` (got '${ctx.config.confirm}').` : '.'),
        );
      }
      const keys: string[] = [];
      let kept = 0;
      const invalid: string[] = [];
      for await (const object of store.list()) {
        if (!isImage(object.key)) kept += 1;
        else if (!isValidKey(object.key)) invalid.push(object.key);
        else keys.push(object.key);
      }
      if (invalid.length > 0) {
        ctx.log.warn(
          `Not deleting ${invalid.length} object(s) whose keys this client refuses (e.g. ${JSON.stringify(invalid[0])}: "..", "//" or a leading "/"); delete them with the provider's console.`,
        );
      }
      ctx.log.warn(
        `Deleting ${keys.length} PNG/WebP object(s) from ${location}; keeping ${kept} other object(s).`,
      );
      let deleted = 0;
      // Batches of 1000, the S3 DeleteObjects limit; progress after each.
      for (let start = 0; start < keys.length; start += 1000) {
        if (ctx.signal.aborted)
          throw new Error(`${name} was terminated after deleting ${deleted} object(s).`);
        deleted += await store.deleteMany(keys.slice(start, start + 1000));
        ctx.progress(Math.min(start + 1000, keys.length), keys.length, `${deleted} deleted`);
      }
      ctx.log.info(`Deleted ${deleted} object(s) from ${location}.`);
      return new MaterializeResult({
        metadata: {
          'objects deleted': md.int(deleted),
          'objects kept (not PNG/WebP)': md.int(kept),
          'objects with unusable keys (not deleted)': md.int(invalid.length),
          bucket: md.text(location),
        },
      });
    },
  );
}

/** Empties the source bucket of PNG and WebP objects. */
export const dsR2ClearSrc = clearAsset('ds_r2_clear_src', 'source', dsR2Source);
/** Empties the target bucket of PNG and WebP objects. */
export const dsR2ClearTgt = clearAsset('ds_r2_clear_tgt', 'target', dsR2Target);
