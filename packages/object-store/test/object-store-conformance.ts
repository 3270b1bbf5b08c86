import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BucketAccessError,
  InvalidMetadataError,
  InvalidObjectKeyError,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
} from '../src/index.ts';

/** What each implementation provides to the shared suite. */
export interface ConformanceHarness {
  /** A store on a new, empty bucket. Implementations should use small list/delete batches to exercise paging. */
  createBucket(name: string): Promise<ObjectStore>;
  /** A store on a bucket that does not exist, at the same place. */
  openMissing(name: string): ObjectStore;
  close(): Promise<void>;
}

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

let bucketCounter = 0;
const freshName = () => `conf-${process.pid}-${++bucketCounter}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * One behavioural contract for every `ObjectStore`: code tested against the local store must
 * behave the same against R2, so both implementations run exactly these tests.
 */
export function describeObjectStoreConformance(name: string, open: () => Promise<ConformanceHarness>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let harness: ConformanceHarness;
    let tmp: string;

    before(async () => {
      harness = await open();
      tmp = await mkdtemp(join(tmpdir(), 'object-store-conformance-'));
    });

    after(async () => {
      await harness.close();
      await rm(tmp, { recursive: true, force: true });
    });

    it('answers headBucket for an existing bucket and classifies a missing one', async () => {
      const store = await harness.createBucket(freshName());
      await store.headBucket();
      const missing = harness.openMissing(freshName());
      await assert.rejects(missing.headBucket(), (error: unknown) => {
        assert.ok(error instanceof BucketAccessError);
        assert.equal(error.reason, 'missing-bucket');
        assert.match(error.message, new RegExp(missing.bucket));
        return true;
      });
    });

    it('round-trips bytes, content type, cache control and metadata', async () => {
      const store = await harness.createBucket(freshName());
      const body = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
      const before = Date.now();
      await store.put('logos/1234.png', body, {
        contentType: 'image/png',
        cacheControl: 'public, max-age=60',
        metadata: { 'Channel-Id': '1234', 'brand-name': encodeURIComponent('브랜드 이름') },
      });
      assert.deepEqual(await store.get('logos/1234.png'), body);
      const head = await store.head('logos/1234.png');
      assert.ok(head);
      assert.equal(head.key, 'logos/1234.png');
      assert.equal(head.size, body.length);
      assert.equal(head.etag, md5(body));
      assert.equal(head.contentType, 'image/png');
      assert.equal(head.cacheControl, 'public, max-age=60');
      assert.deepEqual(head.metadata, {
        'channel-id': '1234',
        'brand-name': encodeURIComponent('브랜드 이름'),
      });
      assert.ok(head.lastModified instanceof Date);
      assert.ok(Math.abs(head.lastModified.getTime() - before) < 60_000, 'lastModified is about now');
    });

    it('stores empty objects and overwrites objects with their new metadata', async () => {
      const store = await harness.createBucket(freshName());
      await store.put('empty', Buffer.alloc(0));
      assert.equal((await store.get('empty')).length, 0);
      assert.equal((await store.head('empty'))?.etag, md5(''));

      await store.put('a.txt', Buffer.from('one'), { metadata: { v: '1' }, contentType: 'text/plain' });
      await store.put('a.txt', Buffer.from('second'), { metadata: { v: '2' } });
      assert.equal((await store.get('a.txt')).toString(), 'second');
      const head = await store.head('a.txt');
      assert.deepEqual(head?.metadata, { v: '2' });
      assert.equal(head?.size, 6);
    });

    it('reports missing objects: head is undefined, get rejects naming the key', async () => {
      const store = await harness.createBucket(freshName());
      assert.equal(await store.head('nope/missing.png'), undefined);
      await assert.rejects(store.get('nope/missing.png'), (error: unknown) => {
        assert.ok(error instanceof ObjectNotFoundError);
        assert.equal(error.key, 'nope/missing.png');
        assert.match(error.message, /nope\/missing\.png/);
        return true;
      });
    });

    it('handles Unicode, spaces and URL-special characters in keys', async () => {
      const store = await harness.createBucket(freshName());
      const keys = [
        '브랜드/한글 로고.png',
        'with space/two  spaces.png',
        'emoji-😀.png',
        'plus+equals=amp&.png',
        'percent%20literal.png',
        'question?hash#.png',
      ];
      for (const key of keys) await store.put(key, Buffer.from(`body of ${key}`));
      for (const key of keys) {
        assert.equal((await store.get(key)).toString(), `body of ${key}`);
        assert.equal((await store.head(key))?.size, Buffer.byteLength(`body of ${key}`));
      }
      const listed = (await collect(store.list())).map((o) => o.key);
      assert.deepEqual(new Set(listed), new Set(keys));
      assert.deepEqual(
        (await collect(store.list('브랜드/'))).map((o) => o.key),
        ['브랜드/한글 로고.png'],
      );
    });

    it('rejects unsafe keys with an error naming the key, before touching the bucket', async () => {
      const store = await harness.createBucket(freshName());
      const bad = [
        '',
        '/etc/passwd',
        '../escape.png',
        'a/../../escape.png',
        'a/..',
        'a\\b.png',
        'nul\0.png',
        'a//b',
      ];
      for (const key of bad) {
        await assert.rejects(store.put(key, Buffer.from('x')), (error: unknown) => {
          assert.ok(error instanceof InvalidObjectKeyError, `put(${JSON.stringify(key)})`);
          assert.equal(error.key, key);
          assert.ok(error.message.includes(JSON.stringify(key)));
          return true;
        });
        await assert.rejects(store.get(key), InvalidObjectKeyError);
        await assert.rejects(store.head(key), InvalidObjectKeyError);
        await assert.rejects(store.download(key, join(tmp, 'never')), InvalidObjectKeyError);
        await assert.rejects(store.deleteMany([key]), InvalidObjectKeyError);
      }
      assert.deepEqual(await collect(store.list()), []);
      assert.deepEqual(await readdir(tmp).then((files) => files.filter((f) => f.startsWith('never'))), []);
    });

    it('refuses metadata values S3 cannot carry and says how to encode them', async () => {
      const store = await harness.createBucket(freshName());
      await assert.rejects(
        store.put('x.png', Buffer.from('x'), { metadata: { brand: '한글' } }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidMetadataError);
          assert.match(error.message, /encodeURIComponent/);
          return true;
        },
      );
      assert.equal(await store.head('x.png'), undefined);
    });

    it('lists every object in key order across pages, filtered by prefix', async () => {
      const store = await harness.createBucket(freshName());
      const keys = ['b/2.png', 'a/1.png', 'a/10.png', 'a/2.png', 'c.png', 'a/sub/deep.png', 'ab.png'];
      await Promise.all(keys.map((key) => store.put(key, Buffer.from(key))));
      const all = await collect(store.list());
      assert.deepEqual(
        all.map((o) => o.key),
        [...keys].sort(),
      );
      for (const item of all) {
        assert.equal(item.size, Buffer.byteLength(item.key));
        assert.equal(item.etag, md5(item.key));
        assert.ok(item.lastModified instanceof Date);
      }
      assert.deepEqual(
        (await collect(store.list('a/'))).map((o) => o.key),
        ['a/1.png', 'a/10.png', 'a/2.png', 'a/sub/deep.png'],
      );
      assert.deepEqual(
        (await collect(store.list('a'))).map((o) => o.key),
        ['a/1.png', 'a/10.png', 'a/2.png', 'a/sub/deep.png', 'ab.png'],
      );
      assert.deepEqual(
        (await collect(store.list('a/1'))).map((o) => o.key),
        ['a/1.png', 'a/10.png'],
      );
      assert.deepEqual(await collect(store.list('zzz/')), []);
    });

    it('downloads atomically: the whole file or nothing', async () => {
      const store = await harness.createBucket(freshName());
      const body = Buffer.alloc(256 * 1024, 7);
      await store.put('big.bin', body);
      const dir = await mkdtemp(join(tmp, 'download-'));
      const target = join(dir, 'nested', 'big.bin');
      await store.download('big.bin', target);
      assert.deepEqual(await readFile(target), body);

      await writeFile(join(dir, 'keep.bin'), 'old');
      await assert.rejects(store.download('missing.bin', join(dir, 'keep.bin')), ObjectNotFoundError);
      assert.equal(
        await readFile(join(dir, 'keep.bin'), 'utf8'),
        'old',
        'a failed download leaves the old file',
      );
      await assert.rejects(store.download('missing.bin', join(dir, 'absent.bin')), ObjectNotFoundError);
      assert.deepEqual(
        (await readdir(dir)).sort(),
        ['keep.bin', 'nested'],
        'no partial or temporary files remain',
      );
      assert.deepEqual(await readdir(join(dir, 'nested')), ['big.bin']);
    });

    it("download resolves to the object's head, as the same GET returned it", async () => {
      const store = await harness.createBucket(freshName());
      const body = Buffer.from('logo bytes');
      await store.put('브랜드/로고 (1).png', body, {
        contentType: 'image/png',
        cacheControl: 'public, max-age=60',
        metadata: { 'channel-id': '1234', 'brand-name': encodeURIComponent('브랜드') },
      });
      const dir = await mkdtemp(join(tmp, 'download-head-'));
      const head = await store.download('브랜드/로고 (1).png', join(dir, 'logo.png'));
      assert.deepEqual(await readFile(join(dir, 'logo.png')), body);
      assert.equal(head.key, '브랜드/로고 (1).png');
      assert.equal(head.size, body.length);
      assert.equal(head.etag, md5(body));
      assert.equal(head.contentType, 'image/png');
      assert.equal(head.cacheControl, 'public, max-age=60');
      assert.deepEqual(head.metadata, { 'channel-id': '1234', 'brand-name': encodeURIComponent('브랜드') });
      assert.ok(head.lastModified instanceof Date && head.lastModified.getTime() > 0);
      const separate = await store.head('브랜드/로고 (1).png');
      assert.deepEqual({ ...head, lastModified: undefined }, { ...separate, lastModified: undefined });

      await store.put('plain', Buffer.alloc(0));
      const empty = await store.download('plain', join(dir, 'plain'));
      assert.equal(empty.size, 0);
      assert.equal(empty.etag, md5(''));
      assert.deepEqual(empty.metadata, {});
    });

    it('uploads files by path with their options', async () => {
      const store = await harness.createBucket(freshName());
      const file = join(tmp, `upload-${Date.now()}.png`);
      const body = Buffer.from('png bytes from a file');
      await writeFile(file, body);
      await store.uploadFile('uploads/from-file.png', file, {
        contentType: 'image/png',
        metadata: { 'content-sha256': createHash('sha256').update(body).digest('hex') },
      });
      assert.deepEqual(await store.get('uploads/from-file.png'), body);
      const head = await store.head('uploads/from-file.png');
      assert.equal(head?.etag, md5(body));
      assert.equal(head?.contentType, 'image/png');
      assert.equal(head?.metadata['content-sha256'], createHash('sha256').update(body).digest('hex'));
      await assert.rejects(store.uploadFile('x.png', join(tmp, 'does-not-exist.png')), /cannot be read/);
    });

    it('deletes many objects in batches and counts them', async () => {
      const store = await harness.createBucket(freshName());
      // Top-level keys: s3rver races on removing a folder emptied by one DeleteObjects call
      // (two deletes rmdir the same directory), a server bug that real S3 and R2 do not have.
      const keys = Array.from({ length: 11 }, (_, i) => `del-${String(i).padStart(2, '0')}.png`);
      await Promise.all(keys.map((key) => store.put(key, Buffer.from(key))));
      await store.put('keep/me.png', Buffer.from('keep'));
      await store.put('nested/only/child.png', Buffer.from('child'));
      assert.equal(await store.deleteMany([...keys, keys[0] as string]), keys.length);
      assert.equal(await store.deleteMany(['nested/only/child.png']), 1);
      assert.deepEqual(
        (await collect(store.list())).map((o) => o.key),
        ['keep/me.png'],
      );
      assert.equal(await store.deleteMany([]), 0);
    });

    it('fails writes to a missing bucket with a missing-bucket error', async () => {
      const missing = harness.openMissing(freshName());
      await assert.rejects(missing.put('x.png', Buffer.from('x')), (error: unknown) => {
        assert.ok(error instanceof BucketAccessError);
        assert.equal(error.reason, 'missing-bucket');
        return true;
      });
      await assert.rejects(collect(missing.list()), BucketAccessError);
    });

    it('keeps up with concurrent writers', async () => {
      const store = await harness.createBucket(freshName());
      const keys = Array.from({ length: 40 }, (_, i) => `c/${i}.bin`);
      await Promise.all(keys.map((key, i) => store.put(key, Buffer.alloc(1000 + i, i))));
      const listed = await collect(store.list('c/'));
      assert.equal(listed.length, keys.length);
      assert.equal((await store.get('c/39.bin')).length, 1039);
    });
  });
}
