import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import { writeFileAtomically } from './atomic-file.ts';
import type { ObjectHead, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
import {
  BucketAccessError,
  type BucketAccessReason,
  ObjectNotFoundError,
  ObjectStoreError,
} from './object-store-error.ts';
import { LeanS3Get } from './s3-lean-get.ts';
import {
  normalizeMetadata,
  validateBucketName,
  validateObjectKey,
  validatePrefix,
} from './validate-object-key.ts';

export interface S3ObjectStoreOptions {
  bucket: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  /** Keys per ListObjectsV2 page (1..1000). */
  listPageSize?: number;
  /** Keys per DeleteObjects call (1..1000). */
  deleteBatchSize?: number;
  /** Attempts per request, including the first (the SDK's standard retry strategy backs off between them). */
  maxAttempts?: number;
  /** Concurrent sockets per client (default 64); bounded so a large sync cannot exhaust file descriptors. */
  maxSockets?: number;
  /**
   * GETs (`get`, `download`) through a lean SigV4 client on Node's HTTP agent instead of the AWS
   * SDK, which costs about a millisecond of CPU per request. Default: on when an endpoint and both
   * keys are given (R2, MinIO, s3rver); the SDK serves every other request, and all requests when
   * credentials come from the SDK's default chain.
   */
  leanGet?: boolean;
}

const S3_BATCH_LIMIT = 1000;
/** Files up to this size are read into memory so the SDK can retry the upload; larger ones are streamed. */
const BUFFERED_UPLOAD_LIMIT = 32 * 1024 * 1024;
/** Downloads up to this size are read into memory, then written in one call; larger ones are streamed to the file. */
const BUFFERED_DOWNLOAD_LIMIT = 8 * 1024 * 1024;
const CONNECTION_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 60_000;

/** An object's head from a HeadObject or GetObject response. */
function headOf(
  key: string,
  out: {
    ContentLength?: number | undefined;
    ETag?: string | undefined;
    LastModified?: Date | undefined;
    ContentType?: string | undefined;
    CacheControl?: string | undefined;
    Metadata?: Record<string, string> | undefined;
  },
): ObjectHead {
  return {
    key,
    size: out.ContentLength ?? 0,
    etag: stripQuotes(out.ETag),
    lastModified: out.LastModified ?? new Date(0),
    ...(out.ContentType ? { contentType: out.ContentType } : {}),
    ...(out.CacheControl ? { cacheControl: out.CacheControl } : {}),
    metadata: { ...(out.Metadata ?? {}) },
  };
}

const require = createRequire(import.meta.url);
let sdk: typeof S3 | undefined;

/**
 * The AWS SDK, loaded when the first S3 store is made, not when this package is imported: a
 * definitions file that only names its buckets loads in a fraction of the time.
 */
function awsSdk(): typeof S3 {
  sdk ??= require('@aws-sdk/client-s3') as typeof S3;
  return sdk;
}

/** A bucket on any S3-protocol service (Cloudflare R2, AWS S3, MinIO, s3rver) through the AWS SDK v3. */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly location: string;
  readonly #client: S3.S3Client;
  readonly #secret: string | undefined;
  readonly #listPageSize: number;
  readonly #deleteBatchSize: number;
  readonly #lean: LeanS3Get | undefined;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = validateBucketName(options.bucket);
    if (Boolean(options.accessKeyId) !== Boolean(options.secretAccessKey)) {
      throw new ObjectStoreError(
        `Incomplete credentials for bucket "${options.bucket}": give both an access key id and a secret access key, ` +
          "or neither to use the AWS SDK's default credential chain.",
      );
    }
    const endpoint = options.endpoint ? parseEndpoint(options.endpoint) : undefined;
    const region = options.region || 'auto';
    this.location = `s3://${this.bucket} @ ${endpoint ? describeEndpoint(endpoint) : `aws region ${region}`}`;
    this.#secret = options.secretAccessKey;
    this.#listPageSize = clampBatch(options.listPageSize ?? S3_BATCH_LIMIT, 'listPageSize');
    this.#deleteBatchSize = clampBatch(options.deleteBatchSize ?? S3_BATCH_LIMIT, 'deleteBatchSize');
    const maxSockets = options.maxSockets ?? 64;
    this.#client = new (awsSdk().S3Client)({
      region,
      ...(endpoint ? { endpoint: endpoint.href } : {}),
      // R2 and most S3-compatible servers only support path-style addressing for custom endpoints.
      forcePathStyle: true,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
      maxAttempts: options.maxAttempts ?? 3,
      // The SDK's default CRC32 trailers and aws-chunked uploads are not understood by every
      // S3-compatible server; checksums are sent only where the protocol requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        httpAgent: { keepAlive: true, maxSockets },
        httpsAgent: { keepAlive: true, maxSockets },
      },
    });
    this.#lean =
      endpoint && options.accessKeyId && options.secretAccessKey && options.leanGet !== false
        ? new LeanS3Get({
            endpoint,
            bucket: this.bucket,
            region,
            credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
            maxSockets,
            maxAttempts: options.maxAttempts ?? 3,
            connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
            requestTimeoutMs: REQUEST_TIMEOUT_MS,
          })
        : undefined;
  }

  /**
   * A one-key listing (ListObjectsV2, `max-keys=1`) rather than HeadBucket: it needs the same
   * permission (list the bucket), its error answers carry a code (NoSuchBucket, AccessDenied)
   * where a HEAD's carry none, and it costs the server one object's metadata whatever the
   * bucket holds. Servers that answer HEAD with their GET handler (s3rver) list up to 1,000
   * objects for a HeadBucket and drop the body.
   */
  async headBucket(): Promise<void> {
    try {
      await this.#client.send(new (awsSdk().ListObjectsV2Command)({ Bucket: this.bucket, MaxKeys: 1 }));
    } catch (error) {
      const status = statusOf(error) ?? 0;
      const reason = status === 404 ? 'missing-bucket' : status >= 500 ? 'unreachable' : undefined;
      throw (
        this.#bucketError(error, 'bucket check (LIST of one key)', reason) ??
        this.#wrap(error, 'bucket check (LIST of one key)')
      );
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    validateObjectKey(key);
    try {
      const out = await this.#client.send(
        new (awsSdk().HeadObjectCommand)({ Bucket: this.bucket, Key: key }),
      );
      return headOf(key, out);
    } catch (error) {
      if (statusOf(error) === 404 && !isNoSuchBucket(error)) return undefined;
      throw this.#bucketError(error, `HEAD "${key}"`) ?? this.#wrap(error, `HEAD "${key}"`);
    }
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    let continuationToken: string | undefined;
    do {
      let page: S3.ListObjectsV2CommandOutput;
      try {
        page = await this.#client.send(
          new (awsSdk().ListObjectsV2Command)({
            Bucket: this.bucket,
            ...(prefix ? { Prefix: prefix } : {}),
            MaxKeys: this.#listPageSize,
            ...(continuationToken ? { ContinuationToken: continuationToken } : {}),
          }),
        );
      } catch (error) {
        throw this.#bucketError(error, 'LIST') ?? this.#wrap(error, `LIST prefix "${prefix}"`);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield {
          key: item.Key,
          size: item.Size ?? 0,
          etag: stripQuotes(item.ETag),
          lastModified: item.LastModified ?? new Date(0),
        };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async get(key: string): Promise<Buffer> {
    if (this.#lean) {
      validateObjectKey(key);
      const result = await this.#leanGet(key, Number.POSITIVE_INFINITY);
      if (result.buffer) return result.buffer;
      // No Content-Length (a chunked answer): read the stream, which checks nothing more.
      try {
        return Buffer.concat(await result.stream.toArray());
      } catch (error) {
        throw this.#wrap(error, `GET "${key}"`);
      }
    }
    const { body } = await this.#getObject(key);
    return Buffer.from(await body.transformToByteArray());
  }

  async download(key: string, filePath: string): Promise<ObjectHead> {
    validateObjectKey(key);
    if (this.#lean) {
      const result = await this.#leanGet(key, BUFFERED_DOWNLOAD_LIMIT);
      try {
        await writeFileAtomically(filePath, result.buffer ?? result.stream);
      } catch (error) {
        throw this.#wrap(error, `download "${key}" to ${filePath}`);
      }
      return headFromHeaders(key, result.headers);
    }
    const { body, head } = await this.#getObject(key);
    try {
      await writeFileAtomically(
        filePath,
        body instanceof Readable ? body : Buffer.from(await body.transformToByteArray()),
      );
    } catch (error) {
      throw this.#wrap(error, `download "${key}" to ${filePath}`);
    }
    return head;
  }

  async put(key: string, body: Buffer, options: PutOptions = {}): Promise<void> {
    validateObjectKey(key);
    if (!Buffer.isBuffer(body)) {
      throw new ObjectStoreError(
        `put("${key}") needs a Buffer body; use uploadFile() to upload a file by path.`,
      );
    }
    await this.#put(key, body, body.length, options);
  }

  async uploadFile(key: string, filePath: string, options: PutOptions = {}): Promise<void> {
    validateObjectKey(key);
    let size: number;
    try {
      size = (await stat(filePath)).size;
    } catch (error) {
      throw new ObjectStoreError(`Cannot upload ${filePath} as "${key}": the file cannot be read.`, {
        cause: error,
      });
    }
    if (size <= BUFFERED_UPLOAD_LIMIT) {
      await this.#put(key, await readFile(filePath), size, options);
    } else {
      await this.#put(key, createReadStream(filePath), size, options);
    }
  }

  async deleteMany(keys: string[]): Promise<number> {
    const unique = [...new Set(keys.map(validateObjectKey))];
    let deleted = 0;
    for (let start = 0; start < unique.length; start += this.#deleteBatchSize) {
      const batch = unique.slice(start, start + this.#deleteBatchSize);
      let out: { Deleted?: unknown[]; Errors?: { Key?: string; Code?: string; Message?: string }[] };
      try {
        out = await this.#client.send(
          new (awsSdk().DeleteObjectsCommand)({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false },
          }),
        );
      } catch (error) {
        throw this.#bucketError(error, 'DELETE') ?? this.#wrap(error, `delete ${batch.length} objects`);
      }
      deleted += out.Deleted?.length ?? 0;
      if (out.Errors && out.Errors.length > 0) {
        const sample = out.Errors.slice(0, 3)
          .map((e) => `"${e.Key}": ${e.Code ?? 'Error'} ${e.Message ?? ''}`.trim())
          .join('; ');
        throw new ObjectStoreError(
          `${out.Errors.length} of ${batch.length} objects could not be deleted from ${this.location} ` +
            `(${deleted} were deleted so far): ${sample}. Check that the credentials may delete objects.`,
        );
      }
    }
    return deleted;
  }

  async #put(key: string, body: Buffer | Readable, length: number, options: PutOptions): Promise<void> {
    const metadata = normalizeMetadata(options.metadata);
    try {
      await this.#client.send(
        new (awsSdk().PutObjectCommand)({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: length,
          ...(options.contentType ? { ContentType: options.contentType } : {}),
          ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
          Metadata: metadata,
        }),
      );
    } catch (error) {
      throw this.#bucketError(error, `PUT "${key}"`) ?? this.#wrap(error, `PUT "${key}"`);
    }
  }

  /** GetObject through the SDK: the body, and the object's head from the same response. */
  async #getObject(key: string) {
    validateObjectKey(key);
    try {
      const out = await this.#client.send(new (awsSdk().GetObjectCommand)({ Bucket: this.bucket, Key: key }));
      if (!out.Body) throw new ObjectStoreError(`GET "${key}" from ${this.location} returned no body.`);
      const head = headOf(key, out);
      return { body: out.Body, head };
    } catch (error) {
      throw this.#getError(error, key);
    }
  }

  async #leanGet(key: string, bufferLimit: number) {
    try {
      return await (this.#lean as LeanS3Get).get(key, bufferLimit);
    } catch (error) {
      throw this.#getError(error, key);
    }
  }

  #getError(error: unknown, key: string): ObjectStoreError {
    if (error instanceof ObjectStoreError) return error;
    if (statusOf(error) === 404 && !isNoSuchBucket(error)) {
      return new ObjectNotFoundError(this.bucket, key, this.location, { cause: this.#scrub(error) });
    }
    return this.#bucketError(error, `GET "${key}"`) ?? this.#wrap(error, `GET "${key}"`);
  }

  /** Maps the failures that make the whole bucket unusable onto `BucketAccessError`; other errors yield `undefined`. */
  #bucketError(error: unknown, action: string, known?: BucketAccessReason): BucketAccessError | undefined {
    const reason = known ?? classify(error);
    if (!reason) return undefined;
    const detail = describeError(error);
    const cause = this.#scrub(error);
    switch (reason) {
      case 'credentials':
        return new BucketAccessError(
          reason,
          this.bucket,
          `${action} on ${this.location} was refused (${detail}): the credentials are wrong or may not use this bucket. ` +
            'Check DS_R2_ACCESS_KEY_ID / DS_R2_SECRET_ACCESS_KEY (or the AWS credentials) and the token’s bucket permissions.',
          { cause },
        );
      case 'missing-bucket':
        return new BucketAccessError(
          reason,
          this.bucket,
          `${action} on ${this.location} failed (${detail}): the bucket "${this.bucket}" does not exist at this endpoint. ` +
            'Create it, or fix the bucket name or the endpoint.',
          { cause },
        );
      case 'unreachable':
        return new BucketAccessError(
          reason,
          this.bucket,
          `${action} on ${this.location} failed (${detail}): the endpoint did not answer. ` +
            'Check the endpoint URL, the network, and that the server is running.',
          { cause },
        );
    }
  }

  #wrap(error: unknown, action: string): ObjectStoreError {
    return new ObjectStoreError(`${action} on ${this.location} failed: ${describeError(error)}.`, {
      cause: this.#scrub(error),
    });
  }

  /** Errors may echo request details; the secret must never travel on in a message. */
  #scrub(error: unknown): unknown {
    const secret = this.#secret;
    // Very short strings would mangle unrelated text; real secrets are far longer.
    if (!secret || secret.length < 8 || !(error instanceof Error)) return error;
    if (error.message.includes(secret)) error.message = error.message.split(secret).join('***');
    if (error.stack?.includes(secret)) error.stack = error.stack.split(secret).join('***');
    return error;
  }
}

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new ObjectStoreError(
      'The S3 endpoint is not a valid URL; give it as https://<host>[:port] (for R2: https://<account-id>.r2.cloudflarestorage.com).',
      { cause: error },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ObjectStoreError(`The S3 endpoint must use http or https, not ${url.protocol}`);
  }
  return url;
}

/** Endpoint without user-info, query or fragment, which may carry credentials. */
function describeEndpoint(url: URL): string {
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}

function clampBatch(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > S3_BATCH_LIMIT) {
    throw new ObjectStoreError(`${name} must be an integer from 1 to ${S3_BATCH_LIMIT}, got ${value}.`);
  }
  return value;
}

/** The object's head from a GetObject response's headers (Node lower-cases their names). */
function headFromHeaders(key: string, headers: IncomingHttpHeaders): ObjectHead {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
  }
  const header = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const lastModified = header('last-modified');
  const contentType = header('content-type');
  const cacheControl = header('cache-control');
  return {
    key,
    size: Number(header('content-length') ?? 0),
    etag: stripQuotes(header('etag')),
    lastModified: lastModified ? new Date(lastModified) : new Date(0),
    ...(contentType ? { contentType } : {}),
    ...(cacheControl ? { cacheControl } : {}),
    metadata,
  };
}

function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
}

interface ErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
  cause?: unknown;
}

function shape(error: unknown): ErrorShape {
  return typeof error === 'object' && error !== null ? (error as ErrorShape) : {};
}

function statusOf(error: unknown): number | undefined {
  return shape(error).$metadata?.httpStatusCode;
}

function isNoSuchBucket(error: unknown): boolean {
  const e = shape(error);
  return e.name === 'NoSuchBucket' || e.Code === 'NoSuchBucket';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

function networkCode(error: unknown, depth = 0): string | undefined {
  if (depth > 4) return undefined;
  const e = shape(error);
  if (e.code && NETWORK_CODES.has(e.code)) return e.code;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout') return e.name;
  for (const inner of e.errors ?? []) {
    const code = networkCode(inner, depth + 1);
    if (code) return code;
  }
  return e.cause ? networkCode(e.cause, depth + 1) : undefined;
}

function classify(error: unknown): BucketAccessReason | undefined {
  if (networkCode(error)) return 'unreachable';
  const e = shape(error);
  const status = statusOf(error);
  if (isNoSuchBucket(error)) return 'missing-bucket';
  const name = e.name ?? e.Code ?? '';
  if (
    status === 401 ||
    status === 403 ||
    ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'Unauthorized'].includes(
      name,
    )
  ) {
    return 'credentials';
  }
  return undefined;
}

function describeError(error: unknown): string {
  const e = shape(error);
  const status = statusOf(error);
  const code = networkCode(error);
  const parts = [
    status ? `HTTP ${status}` : undefined,
    e.name && e.name !== 'Error' ? e.name : undefined,
    code && code !== e.name ? code : undefined,
    e.message && e.message !== e.name && e.message !== 'UnknownError' ? e.message : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : String(error);
}
