import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { amzDate, EMPTY_SHA256, encodeKeyPath, SigV4Signer } from '../src/sigv4.ts';

/** The request the SDK would send for GetObject, captured instead of sent. */
async function sdkGetObject(key: string): Promise<{ path: string; headers: Record<string, string> }> {
  let captured: { path: string; headers: Record<string, string> } | undefined;
  const client = new S3Client({
    region: 'auto',
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'a-secret-key-for-tests' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { path: string; headers: Record<string, string> }) => {
        captured = request;
        throw new Error('captured, not sent');
      },
    } as never,
  });
  await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: key })).catch(() => undefined);
  client.destroy();
  assert.ok(captured, 'the SDK built a request');
  return captured;
}

describe('SigV4 signing of the lean GET path', () => {
  it("reproduces AWS's documented GetObject example", () => {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html ("GET Object")
    const signer = new SigV4Signer(
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      'us-east-1',
    );
    const authorization = signer.authorization(
      'GET',
      '/test.txt',
      '',
      {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-date': '20130524T000000Z',
      },
      EMPTY_SHA256,
    );
    assert.equal(
      authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('encodes keys and signs exactly as the AWS SDK does (Unicode, spaces, URL-special characters)', async () => {
    const signer = new SigV4Signer(
      { accessKeyId: 'AKID', secretAccessKey: 'a-secret-key-for-tests' },
      'auto',
    );
    const keys = [
      '브랜드/한글 로고.png',
      'question?hash#.png',
      "it's (a) *star*!.png",
      'plus+equals=amp&.png',
      'percent%20literal.png',
      'emoji-😀.png',
      'a~b_c-d.e/x,y;z:@$.png',
    ];
    for (const key of keys) {
      const sdk = await sdkGetObject(key);
      const path = `/bkt/${encodeKeyPath(key)}`;
      assert.equal(path, sdk.path, key);
      const signed = /SignedHeaders=([^,]+)/.exec(sdk.headers.authorization ?? '')?.[1]?.split(';') ?? [];
      const headers = Object.fromEntries(signed.map((name) => [name, sdk.headers[name] ?? '']));
      // The SDK adds ?x-id=GetObject to its GETs; the lean path sends no query.
      const mine = signer.authorization('GET', path, 'x-id=GetObject', headers, EMPTY_SHA256);
      assert.equal(mine, sdk.headers.authorization, key);
    }
  });

  it('formats x-amz-date and refuses to sign without it', () => {
    assert.equal(amzDate(new Date('2024-01-02T03:04:05.678Z')), '20240102T030405Z');
    const signer = new SigV4Signer({ accessKeyId: 'a', secretAccessKey: 'b' }, 'auto');
    assert.throws(() => signer.authorization('GET', '/', '', { host: 'h' }, EMPTY_SHA256), /x-amz-date/);
  });
});
