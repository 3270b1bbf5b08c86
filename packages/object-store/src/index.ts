export { createObjectStore } from './create-object-store.ts';
export { createLocalBucket, LocalObjectStore } from './local-object-store.ts';
export type {
  CreateObjectStoreOptions,
  ObjectHead,
  ObjectInfo,
  ObjectStore,
  PutOptions,
} from './object-store.ts';
export {
  BucketAccessError,
  type BucketAccessReason,
  InvalidMetadataError,
  InvalidObjectKeyError,
  ObjectNotFoundError,
  ObjectStoreError,
} from './object-store-error.ts';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.ts';
export { validateObjectKey } from './validate-object-key.ts';
