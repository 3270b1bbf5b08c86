import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { BucketAccessError, createObjectStore, S3ObjectStore } from '../src/index.ts';
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
