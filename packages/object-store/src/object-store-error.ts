/** Base class of every error this package throws, so callers can catch them as one family. */
export class ObjectStoreError extends Error {
  override name = 'ObjectStoreError';
}

export type BucketAccessReason = 'credentials' | 'missing-bucket' | 'unreachable';

/** The bucket cannot be used at all: wrong credentials, no such bucket, or no answer from the endpoint. */
export class BucketAccessError extends ObjectStoreError {
  override name = 'BucketAccessError';
  readonly reason: BucketAccessReason;
  readonly bucket: string;

  constructor(reason: BucketAccessReason, bucket: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
    this.bucket = bucket;
  }
}

export class ObjectNotFoundError extends ObjectStoreError {
  override name = 'ObjectNotFoundError';
  readonly bucket: string;
  readonly key: string;

  constructor(bucket: string, key: string, location: string, options?: ErrorOptions) {
    super(
      `Object "${key}" does not exist in bucket ${location}; list the bucket to see which keys it holds.`,
      options,
    );
    this.bucket = bucket;
    this.key = key;
  }
}

export class InvalidObjectKeyError extends ObjectStoreError {
  override name = 'InvalidObjectKeyError';
  readonly key: string;

  constructor(key: string, problem: string) {
    super(
      `Invalid object key ${JSON.stringify(key)}: ${problem}. ` +
        'Use relative, slash-separated keys such as "logos/1234.png".',
    );
    this.key = key;
  }
}

export class InvalidMetadataError extends ObjectStoreError {
  override name = 'InvalidMetadataError';
}
