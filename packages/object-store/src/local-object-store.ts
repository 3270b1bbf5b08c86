import { createHash } from 'node:crypto';
import { createReadStream, type Dirent, readFileSync, type Stats, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomically } from './atomic-file.ts';
import type { ObjectHead, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
import { BucketAccessError, ObjectNotFoundError, ObjectStoreError } from './object-store-error.ts';
import {
  normalizeMetadata,
  validateBucketName,
  validateObjectKey,
  validatePrefix,
} from './validate-object-key.ts';

/** Objects whose stat and sidecar are read at once while listing. */
const LIST_PAGE = 64;

/** Sidecar folder inside each bucket directory; never listed and never a valid first key segment. */
const META_DIR = '.meta';

interface Sidecar {
  etag: string;
  size: number;
  /** The object's mtime when the sidecar was written: a mismatch means the file changed behind our back. */
  mtimeMs: number;
  contentType?: string;
  cacheControl?: string;
  metadata: Record<string, string>;
}

/**
 * A bucket kept as a directory: the object `a/b.png` of bucket `logos` is the file
 * `<root>/logos/a/b.png`, and its content type and metadata live in `<root>/logos/.meta/a/b.png.json`.
 * Files copied into the directory by hand are listed too (their etag is computed on demand).
 *
 * One limitation S3 does not share: a key cannot also be a "folder" of other keys (`a` and `a/b`),
 * because a path cannot be both a file and a directory.
 */
export class LocalObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly location: string;
  readonly #root: string;
  readonly #bucketDir: string;

  constructor(options: { bucket: string; localRoot: string }) {
    this.bucket = validateBucketName(options.bucket);
    this.#root = resolve(options.localRoot);
    this.#bucketDir = join(this.#root, this.bucket);
    this.location = pathToFileURL(this.#bucketDir).href;
  }

  async headBucket(): Promise<void> {
    let info: Stats;
    try {
      info = await stat(this.#bucketDir);
    } catch (error) {
      throw this.#accessError(error);
    }
    if (!info.isDirectory()) {
      throw new BucketAccessError(
        'missing-bucket',
        this.bucket,
        `The local bucket ${this.location} is a file, not a directory: remove it and create a directory there.`,
      );
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const path = this.#objectPath(key);
    const info = await statFile(path);
    if (!info) return undefined;
    return await this.#head(key, path, info);
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    await this.headBucket();
    // Only the directory that holds the prefix's last complete segment can contain matches.
    const slash = prefix.lastIndexOf('/');
    const base = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    const keys: string[] = [];
    await this.#walk(base, keys);
    const matching = keys.filter((key) => key.startsWith(prefix));
    // S3 orders keys by their UTF-8 bytes; a plain string sort orders by UTF-16 units.
    matching.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    // The stat and sidecar read of each object are tiny file-system calls: made synchronously,
    // a page at a time (microseconds each, where an asynchronous readFile queues four round
    // trips through libuv's pool: open, fstat, read, close). Only an object without a valid
    // sidecar is hashed, asynchronously. The event loop gets a turn between pages.
    for (let start = 0; start < matching.length; start += LIST_PAGE) {
      const page = await Promise.all(
        matching.slice(start, start + LIST_PAGE).map(async (key): Promise<ObjectInfo | undefined> => {
          const path = this.#objectPath(key);
          const info = statFileSync(path);
          if (!info) return undefined;
          const etag = this.#sidecarSync(key, info)?.etag ?? (await this.#sidecar(key, path, info)).etag;
          return { key, size: info.size, etag, lastModified: info.mtime };
        }),
      );
      for (const object of page) if (object) yield object;
    }
  }

  /** The sidecar when it is there and still describes the file; undefined otherwise. */
  #sidecarSync(key: string, info: Stats): Sidecar | undefined {
    try {
      const parsed = JSON.parse(readFileSync(this.#sidecarPath(key), 'utf8')) as Sidecar;
      if (parsed.size === info.size && parsed.mtimeMs === info.mtimeMs) return parsed;
    } catch {
      // Missing or unreadable: the caller falls back to hashing the file.
    }
    return undefined;
  }

  async get(key: string): Promise<Buffer> {
    const path = this.#objectPath(key);
    try {
      return await readFile(path);
    } catch (error) {
      throw await this.#readError(error, key);
    }
  }

  async download(key: string, filePath: string): Promise<ObjectHead> {
    const path = this.#objectPath(key);
    const info = await statFile(path);
    if (!info) throw await this.#readError(undefined, key);
    // Read before the copy: the head describes the object as it was when the download began.
    const head = await this.#head(key, path, info);
    try {
      await writeFileAtomically(resolve(filePath), { copyFrom: path });
    } catch (error) {
      if (isMissing(error)) throw await this.#readError(error, key);
      throw new ObjectStoreError(`Cannot download "${key}" from ${this.location} to ${filePath}.`, {
        cause: error,
      });
    }
    return head;
  }

  async put(key: string, body: Buffer, options: PutOptions = {}): Promise<void> {
    if (!Buffer.isBuffer(body)) {
      throw new ObjectStoreError(
        `put("${key}") needs a Buffer body; use uploadFile() to upload a file by path.`,
      );
    }
    const path = this.#objectPath(key);
    const metadata = normalizeMetadata(options.metadata);
    await this.#write(key, path, body, md5(body), options, metadata);
  }

  async uploadFile(key: string, filePath: string, options: PutOptions = {}): Promise<void> {
    const path = this.#objectPath(key);
    const metadata = normalizeMetadata(options.metadata);
    try {
      await stat(filePath);
    } catch (error) {
      throw new ObjectStoreError(`Cannot upload ${filePath} as "${key}": the file cannot be read.`, {
        cause: error,
      });
    }
    await this.#write(key, path, { copyFrom: filePath }, undefined, options, metadata);
  }

  async deleteMany(keys: string[]): Promise<number> {
    const unique = [...new Set(keys.map(validateObjectKey))];
    await this.headBucket();
    let deleted = 0;
    for (const key of unique) {
      const path = this.#objectPath(key);
      if (!(await statFile(path))) continue;
      await rm(path, { force: true });
      await rm(this.#sidecarPath(key), { force: true });
      deleted += 1;
      await this.#pruneEmptyDirs(key);
    }
    return deleted;
  }

  async #write(
    key: string,
    path: string,
    source: Buffer | { copyFrom: string },
    knownEtag: string | undefined,
    options: PutOptions,
    metadata: Record<string, string>,
  ): Promise<void> {
    await this.headBucket();
    const tempDir = join(this.#bucketDir, META_DIR, '.tmp');
    try {
      await writeFileAtomically(path, source, tempDir);
      const info = await stat(path);
      const sidecar: Sidecar = {
        etag: knownEtag ?? (await md5File(path)),
        size: info.size,
        mtimeMs: info.mtimeMs,
        ...(options.contentType ? { contentType: options.contentType } : {}),
        ...(options.cacheControl ? { cacheControl: options.cacheControl } : {}),
        metadata,
      };
      await writeFileAtomically(this.#sidecarPath(key), Buffer.from(JSON.stringify(sidecar)), tempDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
        throw new ObjectStoreError(
          `Cannot store "${key}" in ${this.location}: a local bucket cannot hold both a key and other keys ` +
            'below it as a folder (e.g. "a" and "a/b"). Rename one of them.',
          { cause: error },
        );
      }
      throw new ObjectStoreError(`Cannot write "${key}" to ${this.location}.`, { cause: error });
    }
  }

  #objectPath(key: string): string {
    validateObjectKey(key);
    if (key.split('/')[0] === META_DIR) {
      throw new ObjectStoreError(
        `The key "${key}" starts with "${META_DIR}/", which the local store reserves for object metadata; choose another key.`,
      );
    }
    const path = join(this.#bucketDir, ...key.split('/'));
    // Defence in depth: validation already forbids "..", this guarantees the path stays inside the bucket.
    if (!path.startsWith(this.#bucketDir + sep)) {
      throw new ObjectStoreError(
        `The key "${key}" resolves outside the bucket directory; refusing to use it.`,
      );
    }
    return path;
  }

  async #head(key: string, path: string, info: Stats): Promise<ObjectHead> {
    const sidecar = await this.#sidecar(key, path, info);
    return {
      key,
      size: info.size,
      etag: sidecar.etag,
      lastModified: info.mtime,
      ...(sidecar.contentType ? { contentType: sidecar.contentType } : {}),
      ...(sidecar.cacheControl ? { cacheControl: sidecar.cacheControl } : {}),
      metadata: { ...sidecar.metadata },
    };
  }

  #sidecarPath(key: string): string {
    return `${join(this.#bucketDir, META_DIR, ...key.split('/'))}.json`;
  }

  async #sidecar(key: string, path: string, info: Stats): Promise<Sidecar> {
    try {
      const parsed = JSON.parse(await readFile(this.#sidecarPath(key), 'utf8')) as Sidecar;
      if (parsed.size === info.size && parsed.mtimeMs === info.mtimeMs) return parsed;
    } catch {
      // No sidecar: the file was copied in by hand, or a write stopped between object and sidecar.
    }
    return { etag: await md5File(path), size: info.size, mtimeMs: info.mtimeMs, metadata: {} };
  }

  async #walk(relativeDir: string, out: string[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.#bucketDir, ...relativeDir.split('/').filter(Boolean)), {
        withFileTypes: true,
      });
    } catch (error) {
      if (isMissing(error)) return;
      throw new ObjectStoreError(`Cannot list ${this.location}/${relativeDir}.`, { cause: error });
    }
    for (const entry of entries) {
      if (relativeDir === '' && entry.name === META_DIR) continue;
      const key = relativeDir + entry.name;
      if (entry.isDirectory()) await this.#walk(`${key}/`, out);
      else if (entry.isFile()) out.push(key);
    }
  }

  async #pruneEmptyDirs(key: string): Promise<void> {
    const segments = key.split('/').slice(0, -1);
    for (const root of [this.#bucketDir, join(this.#bucketDir, META_DIR)]) {
      for (let depth = segments.length; depth > 0; depth -= 1) {
        try {
          await rmdir(join(root, ...segments.slice(0, depth)));
        } catch {
          break; // not empty (or already gone): its parents are not empty either
        }
      }
    }
  }

  async #readError(error: unknown, key: string): Promise<Error> {
    if (error !== undefined && !isMissing(error)) {
      return new ObjectStoreError(`Cannot read "${key}" from ${this.location}.`, { cause: error });
    }
    await this.headBucket();
    return new ObjectNotFoundError(
      this.bucket,
      key,
      this.location,
      error === undefined ? undefined : { cause: error },
    );
  }

  #accessError(error: unknown): BucketAccessError {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      return new BucketAccessError(
        'credentials',
        this.bucket,
        `Permission denied on the local bucket ${this.location}: make the directory readable and writable by this user.`,
        { cause: error },
      );
    }
    if (isMissing(error)) {
      return new BucketAccessError(
        'missing-bucket',
        this.bucket,
        `The local bucket ${this.location} does not exist: create the directory ${this.#bucketDir}, ` +
          'or point the local bucket root at the right place.',
        { cause: error },
      );
    }
    return new BucketAccessError(
      'unreachable',
      this.bucket,
      `The local bucket ${this.location} cannot be read (${code ?? String(error)}): check the disk and the path.`,
      { cause: error },
    );
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function statFileSync(path: string): Stats | undefined {
  try {
    const info = statSync(path);
    return info.isFile() ? info : undefined;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new ObjectStoreError(`Cannot read ${path}.`, { cause: error });
  }
}

async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info : undefined;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new ObjectStoreError(`Cannot read ${path}.`, { cause: error });
  }
}

function md5(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Creates the bucket directory; S3 buckets are created by their owner, local ones by whoever runs the code. */
export async function createLocalBucket(localRoot: string, bucket: string): Promise<void> {
  await mkdir(join(resolve(localRoot), validateBucketName(bucket)), { recursive: true });
}
