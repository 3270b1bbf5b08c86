import { LocalObjectStore } from './local-object-store.ts';
import type { CreateObjectStoreOptions, ObjectStore } from './object-store.ts';
import { ObjectStoreError } from './object-store-error.ts';
import { S3ObjectStore } from './s3-object-store.ts';

/**
 * The S3 store when an `endpoint` is given, otherwise the local-directory store under `localRoot`.
 *
 * @example
 * const src = createObjectStore({
 *   bucket: 'ds-logos-src',
 *   endpoint: process.env.DS_R2_ENDPOINT,
 *   accessKeyId: process.env.DS_R2_ACCESS_KEY_ID,
 *   secretAccessKey: process.env.DS_R2_SECRET_ACCESS_KEY,
 *   localRoot: 'data/buckets',
 * });
 * await src.headBucket();
 * for await (const object of src.list('logos/')) console.log(object.key, object.size);
 */
export function createObjectStore(options: CreateObjectStoreOptions): ObjectStore {
  if (options.endpoint) {
    return new S3ObjectStore({
      bucket: options.bucket,
      endpoint: options.endpoint,
      ...(options.accessKeyId ? { accessKeyId: options.accessKeyId } : {}),
      ...(options.secretAccessKey ? { secretAccessKey: options.secretAccessKey } : {}),
      ...(options.region ? { region: options.region } : {}),
    });
  }
  if (options.localRoot)
    return new LocalObjectStore({ bucket: options.bucket, localRoot: options.localRoot });
  throw new ObjectStoreError(
    `No place for bucket "${options.bucket}": give an S3 endpoint (with credentials) or a local root directory.`,
  );
}
