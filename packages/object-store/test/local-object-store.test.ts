import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BucketAccessError, createLocalBucket, createObjectStore, LocalObjectStore } from '../src/index.ts';
import { describeObjectStoreConformance } from './object-store-conformance.ts';

describeObjectStoreConformance('local directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'local-store-conformance-'));
  return {
    async createBucket(bucket) {
      await createLocalBucket(root, bucket);
      return new LocalObjectStore({ bucket, localRoot: root });
    },
    openMissing: (bucket) => new LocalObjectStore({ bucket, localRoot: root }),
    async close() {
      await rm(root, { recursive: true, force: true });
    },
  };
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

describe('LocalObjectStore specifics', () => {
  let root: string;
  let store: LocalObjectStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-store-'));
    await createLocalBucket(root, 'ds-src');
    store = new LocalObjectStore({ bucket: 'ds-src', localRoot: root });
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps objects at <root>/<bucket>/<key> and metadata in a hidden sidecar', async () => {
    await store.put('logos/브랜드 1.png', Buffer.from('png'), {
      contentType: 'image/png',
      metadata: { a: 'b' },
    });
    const files = (await walk(root)).map((f) => f.slice(root.length + 1)).sort();
    assert.deepEqual(files, ['ds-src/.meta/logos/브랜드 1.png.json', 'ds-src/logos/브랜드 1.png']);
    const listed = [];
    for await (const item of store.list()) listed.push(item.key);
    assert.deepEqual(listed, ['logos/브랜드 1.png']);
    assert.equal(store.location, `file://${join(root, 'ds-src')}`.replace(/ /g, '%20'));
  });

  it('never writes outside the bucket, whatever the key', async () => {
    const before = await walk(root);
    for (const key of [
      '../outside.png',
      'a/../../outside.png',
      '/tmp/outside.png',
      '.meta/x.json',
      'a\\..\\b',
    ]) {
      await assert.rejects(store.put(key, Buffer.from('x')), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(
          error.message.includes(JSON.stringify(key)) || error.message.includes(`"${key}"`),
          error.message,
        );
        return true;
      });
    }
    assert.deepEqual(await walk(root), before);
  });

  it('lists files copied in by hand, computing their etag', async () => {
    await mkdir(join(root, 'ds-src', 'manual'), { recursive: true });
    await writeFile(join(root, 'ds-src', 'manual', 'dropped.png'), 'dropped by hand');
    const head = await store.head('manual/dropped.png');
    assert.equal(head?.etag, createHash('md5').update('dropped by hand').digest('hex'));
    assert.deepEqual(head?.metadata, {});
  });

  it('ignores a stale sidecar when the file was replaced behind its back', async () => {
    await store.put('stale.txt', Buffer.from('first'), { metadata: { v: '1' } });
    const file = join(root, 'ds-src', 'stale.txt');
    const { mtime } = await stat(file);
    // Same size, a later mtime: only the mtime tells the sidecar is stale. Set, not waited for.
    await writeFile(file, 'fresh');
    const later = new Date(mtime.getTime() + 5000);
    await utimes(file, later, later);
    const head = await store.head('stale.txt');
    assert.equal(head?.etag, createHash('md5').update('fresh').digest('hex'));
    assert.deepEqual(head?.metadata, {});
  });

  it('leaves no temporary files behind and prunes emptied folders', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.put(`tmp-check/deep/${i}.bin`, Buffer.alloc(i))),
    );
    assert.equal((await walk(join(root, 'ds-src', '.meta', '.tmp'))).length, 0);
    const keys = Array.from({ length: 20 }, (_, i) => `tmp-check/deep/${i}.bin`);
    assert.equal(await store.deleteMany(keys), 20);
    assert.equal(await store.deleteMany(keys), 0, 'deleting again finds nothing');
    assert.deepEqual(
      (await readdir(join(root, 'ds-src'))).filter((f) => f === 'tmp-check'),
      [],
    );
  });

  it('explains that a key cannot also be a folder of other keys', async () => {
    await store.put('clash', Buffer.from('file'));
    await assert.rejects(
      store.put('clash/child.png', Buffer.from('x')),
      /cannot hold both a key and other keys/,
    );
  });

  it('classifies a missing bucket and a missing root', async () => {
    const missing = createObjectStore({ bucket: 'not-created', localRoot: root });
    await assert.rejects(missing.headBucket(), (error: unknown) => {
      assert.ok(error instanceof BucketAccessError);
      assert.equal(error.reason, 'missing-bucket');
      assert.match(error.message, /create the directory/);
      return true;
    });
    const nowhere = createObjectStore({ bucket: 'ds-src', localRoot: join(root, 'no', 'such', 'root') });
    await assert.rejects(nowhere.headBucket(), { name: 'BucketAccessError', reason: 'missing-bucket' });
  });

  it('needs either an endpoint or a local root', () => {
    assert.throws(
      () => createObjectStore({ bucket: 'ds-src' }),
      /give an S3 endpoint .* or a local root directory/,
    );
  });
});
