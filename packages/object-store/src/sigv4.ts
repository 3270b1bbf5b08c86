import { createHash, createHmac } from 'node:crypto';

/** SHA-256 of an empty payload: the `x-amz-content-sha256` of a request without a body. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Encodes one path segment or query component the way SigV4 (and S3) expect: every byte except
 * the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~` is percent-encoded as UTF-8, so
 * `encodeURIComponent`'s exceptions `! ' ( ) *` are encoded too.
 */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `a b/로고.png` -> `a%20b/%EB%A1%9C%EA%B3%A0.png`: each segment encoded, `/` kept. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeRfc3986).join('/');
}

/** `20240102T030405Z` for a Date. */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[:-]|\.\d{3}/g, '');
}

/**
 * AWS Signature Version 4 for S3 requests (header-based, not presigned). S3 does not normalise
 * or double-encode the path: the canonical URI is the encoded path as sent. The signing key is
 * derived once per day and reused, so a request costs one SHA-256 and one HMAC.
 */
export class SigV4Signer {
  readonly #credentials: SigV4Credentials;
  readonly #region: string;
  readonly #service: string;
  #keyDate = '';
  #key: Buffer = Buffer.alloc(0);

  constructor(credentials: SigV4Credentials, region: string, service = 's3') {
    this.#credentials = credentials;
    this.#region = region;
    this.#service = service;
  }

  /**
   * The `authorization` header for a request. `headers` must hold every header to sign, with
   * lower-case names (at least `host`, `x-amz-date` and `x-amz-content-sha256`); values are
   * trimmed and inner runs of spaces collapsed, as the canonical form requires.
   */
  authorization(
    method: string,
    encodedPath: string,
    query: string,
    headers: Readonly<Record<string, string>>,
    payloadHash: string,
  ): string {
    const stamp = headers['x-amz-date'];
    if (!stamp || !/^\d{8}T\d{6}Z$/.test(stamp)) throw new Error('SigV4: x-amz-date is missing or malformed');
    const date = stamp.slice(0, 8);
    const names = Object.keys(headers).sort();
    let canonicalHeaders = '';
    for (const name of names) {
      canonicalHeaders += `${name}:${String(headers[name]).trim().replace(/ {2,}/g, ' ')}\n`;
    }
    const signedHeaders = names.join(';');
    const canonicalRequest = `${method}\n${encodedPath}\n${query}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const scope = `${date}/${this.#region}/${this.#service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.#signingKey(date)).update(stringToSign).digest('hex');
    return `AWS4-HMAC-SHA256 Credential=${this.#credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }

  #signingKey(date: string): Buffer {
    if (this.#keyDate !== date) {
      const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
      const kDate = hmac(`AWS4${this.#credentials.secretAccessKey}`, date);
      this.#key = hmac(hmac(hmac(kDate, this.#region), this.#service), 'aws4_request');
      this.#keyDate = date;
    }
    return this.#key;
  }
}
