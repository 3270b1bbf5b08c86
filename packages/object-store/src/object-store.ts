/**
 * Terminology:
 * - bucket: a flat namespace of objects (an R2/S3 bucket, or a directory for the local store).
 * - key: an object's name inside its bucket. `/` separates segments but buckets have no real folders.
 * - etag: the hex MD5 of an object's bytes for single-part uploads, without S3's surrounding quotes.
 * - metadata: user metadata (S3 `x-amz-meta-*`): lower-case names, printable ASCII values.
 */

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ObjectHead extends ObjectInfo {
  contentType?: string;
  cacheControl?: string;
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
  /** Names are lower-cased (as S3 does); values must be printable ASCII: URI-encode anything else. */
  metadata?: Record<string, string>;
}

export interface ObjectStore {
  readonly bucket: string;
  /** Where the bucket lives, for logs and error messages. Never contains credentials. */
  readonly location: string;
  /**
   * Resolves when the bucket exists and the credentials may use it. Rejects with a
   * `BucketAccessError` whose `reason` says whether the credentials, the bucket or the endpoint is at fault.
   */
  headBucket(): Promise<void>;
  /** The object's size, etag, content type and metadata; `undefined` when there is no such object. */
  head(key: string): Promise<ObjectHead | undefined>;
  /** Every object whose key starts with `prefix`, in ascending key order, fetched page by page. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /** The object's bytes. Rejects with `ObjectNotFoundError` when there is no such object. */
  get(key: string): Promise<Buffer>;
  /**
   * Writes the object to `filePath` through a temporary file in the same directory, so a failure
   * leaves no partial file. Resolves to the object's head (size, etag, content type, metadata)
   * as the same GET returned it, so no separate `head()` is needed. Rejects with
   * `ObjectNotFoundError` when there is no such object.
   */
  download(key: string, filePath: string): Promise<ObjectHead>;
  put(key: string, body: Buffer, options?: PutOptions): Promise<void>;
  uploadFile(key: string, filePath: string, options?: PutOptions): Promise<void>;
  /** Deletes the objects in batches of at most 1000 keys; resolves to the number the store reports deleted. */
  deleteMany(keys: string[]): Promise<number>;
}

export interface CreateObjectStoreOptions {
  bucket: string;
  /** S3-protocol endpoint, e.g. `https://<account>.r2.cloudflarestorage.com`. Selects the S3 store. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Defaults to `auto`, the region R2 expects. */
  region?: string;
  /** Directory holding one sub-directory per bucket. Selects the local store when no `endpoint` is given. */
  localRoot?: string;
}
