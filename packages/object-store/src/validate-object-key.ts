import { InvalidMetadataError, InvalidObjectKeyError, ObjectStoreError } from './object-store-error.ts';

/** S3's limit on a key's UTF-8 length. */
const MAX_KEY_BYTES = 1024;
/** S3's limit on the UTF-8 size of all user metadata names and values together. */
const MAX_METADATA_BYTES = 2048;

/**
 * Rejects keys that could escape a bucket directory or that the two stores would treat differently.
 * Both stores apply the same rules so code tested against the local store behaves the same on R2.
 */
export function validateObjectKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new InvalidObjectKeyError(String(key), 'it is empty');
  if (key.includes('\0')) throw new InvalidObjectKeyError(key, 'it contains a NUL character');
  if (key.includes('\\'))
    throw new InvalidObjectKeyError(key, 'it contains a backslash; use "/" between segments');
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'it is absolute (starts with "/")');
  if (/^[A-Za-z]:/.test(key)) throw new InvalidObjectKeyError(key, 'it looks like a drive-letter path');
  if (key.endsWith('/'))
    throw new InvalidObjectKeyError(key, 'it ends with "/", which names a folder, not an object');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidObjectKeyError(key, `it is longer than ${MAX_KEY_BYTES} bytes`);
  }
  for (const segment of key.split('/')) {
    if (segment === '..') throw new InvalidObjectKeyError(key, 'it contains a ".." segment');
    if (segment === '.') throw new InvalidObjectKeyError(key, 'it contains a "." segment');
    if (segment === '') throw new InvalidObjectKeyError(key, 'it contains an empty segment ("//")');
  }
  return key;
}

/** Prefixes follow the key rules except that they may be empty or end with "/". */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  validateObjectKey(prefix.endsWith('/') ? `${prefix}x` : prefix);
  return prefix;
}

export function validateBucketName(bucket: string): string {
  if (
    typeof bucket !== 'string' ||
    !/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(bucket) ||
    bucket.includes('..')
  ) {
    throw new ObjectStoreError(
      `Invalid bucket name ${JSON.stringify(bucket)}: use 3 to 63 lower-case letters, digits, "-", "." or "_", ` +
        'starting and ending with a letter or digit (for example "ds-logos-src").',
    );
  }
  return bucket;
}

/**
 * Lower-cases names (S3 does so on the wire) and checks that values survive an HTTP header unchanged,
 * so the local store refuses exactly what S3 would mangle or reject.
 */
export function normalizeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (!metadata) return result;
  let bytes = 0;
  for (const [rawName, value] of Object.entries(metadata)) {
    const name = rawName.toLowerCase();
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(name)) {
      throw new InvalidMetadataError(
        `Invalid metadata name ${JSON.stringify(rawName)}: use letters, digits, "-", "_" or "." (for example "channel-id").`,
      );
    }
    if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) {
      throw new InvalidMetadataError(
        `Invalid value for metadata "${name}": S3 metadata must be printable ASCII; ` +
          'encode other text with encodeURIComponent() before storing it.',
      );
    }
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    result[name] = value;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new InvalidMetadataError(
      `Object metadata is ${bytes} bytes; S3 allows at most ${MAX_METADATA_BYTES}. Store large values in the object instead.`,
    );
  }
  return result;
}
