import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  BucketAccessError,
  createObjectStore,
  ObjectNotFoundError,
  ObjectStoreError,
  S3ObjectStore,
  type S3ObjectStoreOptions,
} from '../src/index.ts';
import { describeObjectStoreConformance } from './object-store-conformance.ts';
import { type RunningS3rver, S3RVER_ACCESS_KEY_ID, startS3rver } from './start-s3rver.ts';

const SECRET = 'top-secret-value-do-not-print-7f3a';

describeObjectStoreConformance('S3 (s3rver)', async () => {
  const server = await startS3rver();
  const admin = new S3Client({
    region: 'auto',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_ACCESS_KEY_ID, secretAccessKey: SECRET },
  });
  const open = (bucket: string) =>
    new S3ObjectStore({
      bucket,
      endpoint: server.endpoint,
      accessKeyId: S3RVER_ACCESS_KEY_ID,
      secretAccessKey: SECRET,
      // Small pages and batches make the paging and batching code run in a small test.
      listPageSize: 2,
      deleteBatchSize: 3,
      maxAttempts: 1,
    });
  return {
    async createBucket(bucket) {
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
      return open(bucket);
    },
    openMissing: open,
    async close() {
      admin.destroy();
      await server.close();
    },
  };
});

/** A port with nothing listening: bind to port 0, note the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

describe('S3ObjectStore specifics', () => {
  let server: RunningS3rver;

  before(async () => {
    server = await startS3rver(['ds-src']);
  });

  after(async () => {
    await server.close();
  });

  it('describes its location without the secret', () => {
    const store = createObjectStore({
      bucket: 'ds-src',
      endpoint: server.endpoint.replace('http://', 'http://user:pw@'),
      accessKeyId: S3RVER_ACCESS_KEY_ID,
      secretAccessKey: SECRET,
    });
    assert.ok(store instanceof S3ObjectStore);
    assert.equal(store.location, `s3://ds-src @ ${server.endpoint}`);
    assert.ok(!JSON.stringify(store).includes(SECRET), 'the secret is not an enumerable property');
  });

  it('classifies an unknown access key as a credentials problem (s3rver checks the key id, not the secret)', async () => {
    const store = createObjectStore({
      bucket: 'ds-src',
      endpoint: server.endpoint,
      accessKeyId: 'WRONG-KEY-ID',
      secretAccessKey: SECRET,
    });
    await assert.rejects(store.headBucket(), (error: unknown) => {
      assert.ok(error instanceof BucketAccessError);
      assert.equal(error.reason, 'credentials');
      assert.match(error.message, /credentials/);
      assert.match(error.message, /DS_R2_ACCESS_KEY_ID/);
      assert.ok(!error.message.includes(SECRET));
      assert.ok(!String(error.stack).includes(SECRET));
      return true;
    });
    await assert.rejects(store.put('x.png', Buffer.from('x')), {
      name: 'BucketAccessError',
      reason: 'credentials',
    });
  });

  it('classifies a missing bucket', async () => {
    const store = createObjectStore({
      bucket: 'no-such-bucket',
      endpoint: server.endpoint,
      accessKeyId: S3RVER_ACCESS_KEY_ID,
      secretAccessKey: SECRET,
    });
    await assert.rejects(store.headBucket(), (error: unknown) => {
      assert.ok(error instanceof BucketAccessError);
      assert.equal(error.reason, 'missing-bucket');
      assert.match(error.message, /"no-such-bucket" does not exist/);
      assert.match(error.message, /Create it/);
      return true;
    });
    await assert.rejects(store.get('x.png'), { name: 'BucketAccessError', reason: 'missing-bucket' });
  });

  it('classifies a closed port as unreachable, quickly and without the secret', async () => {
    const port = await closedPort();
    const store = createObjectStore({
      bucket: 'ds-src',
      endpoint: `http://127.0.0.1:${port}`,
      accessKeyId: S3RVER_ACCESS_KEY_ID,
      secretAccessKey: SECRET,
    });
    const started = Date.now();
    await assert.rejects(store.headBucket(), (error: unknown) => {
      assert.ok(error instanceof BucketAccessError);
      assert.equal(error.reason, 'unreachable');
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.ok(!error.message.includes(SECRET));
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'retries are bounded');
  });

  it('refuses half-given credentials and non-HTTP endpoints', () => {
    assert.throws(
      () => createObjectStore({ bucket: 'ds-src', endpoint: server.endpoint, accessKeyId: 'only-id' }),
      /give both an access key id and a secret access key/,
    );
    assert.throws(
      () => createObjectStore({ bucket: 'ds-src', endpoint: 'ftp://example.invalid' }),
      /http or https/,
    );
    assert.throws(
      () => createObjectStore({ bucket: 'Bad_Bucket!', endpoint: server.endpoint }),
      /Invalid bucket name/,
    );
  });
});

/** A loopback HTTP server answering each request with the next scripted response. */
async function scriptedServer(
  respond: (request: http.IncomingMessage, response: http.ServerResponse, index: number) => void,
): Promise<{ endpoint: string; requests: http.IncomingMessage[]; close(): Promise<void> }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((request, response) => {
    requests.push(request);
    respond(request, response, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('S3ObjectStore: the lean GET path (get and download without the AWS SDK)', () => {
  let server: RunningS3rver;
  let dir: string;
  const open = (options: Partial<S3ObjectStoreOptions> = {}) =>
    new S3ObjectStore({
      bucket: 'lean-src',
      endpoint: server.endpoint,
      accessKeyId: S3RVER_ACCESS_KEY_ID,
      secretAccessKey: SECRET,
      ...options,
    });

  before(async () => {
    server = await startS3rver(['lean-src']);
    dir = await mkdtemp(join(tmpdir(), 'lean-get-'));
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same bytes and head as the SDK path, for small objects and for large (streamed) ones', async () => {
    const lean = open();
    const sdk = open({ leanGet: false });
    const small = Buffer.from('small logo');
    await lean.put('a b/로고 #1.png', small, {
      contentType: 'image/png',
      cacheControl: 'public, max-age=86400',
      metadata: { 'channel-id': '42', 'brand-name': encodeURIComponent('라온 (주)') },
    });
    // Above the 8 MiB buffered-download limit: streamed into the file.
    const large = Buffer.alloc(9 * 1024 * 1024 + 17, 0x5a);
    await lean.put('big.bin', large, { contentType: 'application/octet-stream' });
    for (const [key, body] of [
      ['a b/로고 #1.png', small],
      ['big.bin', large],
    ] as const) {
      const viaLean = await lean.download(key, join(dir, 'lean', key));
      const viaSdk = await sdk.download(key, join(dir, 'sdk', key));
      assert.deepEqual(viaLean, viaSdk, key);
      assert.deepEqual(await readFile(join(dir, 'lean', key)), body);
      assert.deepEqual(await lean.get(key), body);
    }
    assert.equal(
      (await lean.download('a b/로고 #1.png', join(dir, 'again.png'))).metadata['channel-id'],
      '42',
    );
  });

  it('fails the way the SDK path does: missing object, missing bucket, unknown key id, closed port', async () => {
    for (const store of [open(), open({ leanGet: false })]) {
      await assert.rejects(store.get('nope.png'), ObjectNotFoundError);
      await assert.rejects(store.download('nope.png', join(dir, 'nope.png')), ObjectNotFoundError);
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.includes('nope')),
        [],
      );
    }
    for (const leanGet of [true, false]) {
      await assert.rejects(open({ bucket: 'no-such-bucket', leanGet }).get('x.png'), {
        name: 'BucketAccessError',
        reason: 'missing-bucket',
      });
      await assert.rejects(open({ accessKeyId: 'WRONG-KEY-ID', leanGet }).download('x.png', join(dir, 'x')), {
        name: 'BucketAccessError',
        reason: 'credentials',
      });
      const port = await closedPort();
      await assert.rejects(
        open({ endpoint: `http://127.0.0.1:${port}`, leanGet, maxAttempts: 2 }).get('x.png'),
        (error: unknown) => {
          assert.ok(error instanceof BucketAccessError);
          assert.equal(error.reason, 'unreachable');
          assert.match(error.message, /ECONNREFUSED/);
          assert.ok(!error.message.includes(SECRET) && !String(error.stack).includes(SECRET));
          return true;
        },
      );
    }
  });

  it('signs every GET, retries a 503 and a body cut off mid-way, and keeps the head of the good answer', async () => {
    const body = Buffer.from('0123456789');
    const fake = await scriptedServer((_request, response, index) => {
      if (index === 0) {
        response.writeHead(503, { 'content-type': 'application/xml' });
        response.end(
          '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
        );
      } else if (index === 1) {
        response.writeHead(200, { 'content-length': String(body.length) });
        // Cut the connection once the first bytes are out.
        response.write(body.subarray(0, 4), () => response.socket?.destroy());
      } else {
        response.writeHead(200, {
          'content-length': String(body.length),
          'content-type': 'image/png',
          etag: '"781e5e245d69b566979b86e28d23f2c7"',
          'last-modified': 'Wed, 01 May 2024 10:00:00 GMT',
          'x-amz-meta-channel-id': '7',
        });
        response.end(body);
      }
    });
    try {
      const store = open({ endpoint: fake.endpoint, bucket: 'fake-bucket', maxAttempts: 3 });
      const head = await store.download('logos/7.png', join(dir, 'fake', '7.png'));
      assert.deepEqual(await readFile(join(dir, 'fake', '7.png')), body);
      assert.deepEqual(head, {
        key: 'logos/7.png',
        size: 10,
        etag: '781e5e245d69b566979b86e28d23f2c7',
        lastModified: new Date('2024-05-01T10:00:00Z'),
        contentType: 'image/png',
        metadata: { 'channel-id': '7' },
      });
      assert.equal(fake.requests.length, 3);
      for (const request of fake.requests) {
        assert.equal(request.method, 'GET');
        assert.equal(request.url, '/fake-bucket/logos/7.png');
        assert.match(
          String(request.headers.authorization),
          new RegExp(
            `^AWS4-HMAC-SHA256 Credential=${S3RVER_ACCESS_KEY_ID}/\\d{8}/auto/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$`,
          ),
        );
      }
      assert.deepEqual(await readdir(join(dir, 'fake')), ['7.png'], 'no temporary files remain');
    } finally {
      await fake.close();
    }
  });

  it('reads answers without a Content-Length (chunked) whole, for get and download', async () => {
    const body = Buffer.alloc(100_000, 3);
    const fake = await scriptedServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/png' });
      // The rest once the first chunk is out: two chunks, no Content-Length.
      response.write(body.subarray(0, 60_000), () => response.end(body.subarray(60_000)));
    });
    try {
      const store = open({ endpoint: fake.endpoint, bucket: 'fake-bucket' });
      assert.deepEqual(await store.get('chunked.png'), body);
      const head = await store.download('chunked.png', join(dir, 'chunked', 'c.png'));
      assert.deepEqual(await readFile(join(dir, 'chunked', 'c.png')), body);
      assert.equal(head.contentType, 'image/png');
    } finally {
      await fake.close();
    }
  });

  it('gives up on a body that is always cut off with a named error, leaving the old file and no partial one', async () => {
    const fake = await scriptedServer((_request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write(Buffer.alloc(40, 1), () => response.socket?.destroy());
    });
    try {
      const target = join(dir, 'cut', 'logo.png');
      await mkdir(join(dir, 'cut'));
      await writeFile(target, 'old');
      await assert.rejects(
        open({ endpoint: fake.endpoint, bucket: 'fake-bucket', maxAttempts: 2 }).download('logo.png', target),
        (error: unknown) => {
          assert.ok(error instanceof ObjectStoreError);
          assert.ok(!(error instanceof BucketAccessError), 'the endpoint answered: not "unreachable"');
          assert.match(error.message, /GET "logo\.png" on s3:\/\/fake-bucket .* failed: IncompleteBody/);
          return true;
        },
      );
      assert.equal(await readFile(target, 'utf8'), 'old');
      assert.deepEqual(await readdir(join(dir, 'cut')), ['logo.png']);
    } finally {
      await fake.close();
    }
  });
});
