import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { amzDate, EMPTY_SHA256, encodeKeyPath, type SigV4Credentials, SigV4Signer } from './sigv4.ts';

export interface LeanGetOptions {
  endpoint: URL;
  bucket: string;
  region: string;
  credentials: SigV4Credentials;
  maxSockets: number;
  maxAttempts: number;
  connectionTimeoutMs: number;
  /** Longest silence on the socket before the request is abandoned. */
  requestTimeoutMs: number;
}

/** A response of GetObject: its status and headers, and the body as a stream still to be read. */
interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/**
 * A successful GetObject: the headers, and the body either read into memory (`buffer`) or, above
 * the caller's limit, as a stream (`stream`) that fails if it ends short of `content-length`.
 */
export type LeanGetResult =
  | { headers: IncomingHttpHeaders; buffer: Buffer; stream?: undefined }
  | { headers: IncomingHttpHeaders; buffer?: undefined; stream: Readable };

/**
 * The shape of the AWS SDK's service and network errors (`name`, `$metadata.httpStatusCode`,
 * `code`), so the S3 store classifies errors from both paths with one set of rules.
 */
export class LeanS3Error extends Error {
  readonly $metadata: { httpStatusCode?: number };
  readonly code: string | undefined;
  readonly Code: string | undefined;

  constructor(
    name: string,
    message: string,
    status: number | undefined,
    options?: ErrorOptions & { code?: string },
  ) {
    super(message, options);
    this.name = name;
    this.$metadata = status === undefined ? {} : { httpStatusCode: status };
    this.code = options?.code;
    this.Code = status === undefined ? undefined : name;
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
]);
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded']);

/** Transient: the network, a timeout, a 5xx, or throttling. Same classes the SDK's standard retry strategy retries. */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof LeanS3Error)) return false;
  const status = error.$metadata.httpStatusCode;
  if (status === undefined)
    return error.name === 'IncompleteBody' || RETRYABLE_CODES.has(error.code ?? error.name);
  return status >= 500 || status === 429 || THROTTLING.has(error.name);
}

/**
 * GetObject for path-style S3 endpoints on Node's own HTTP client with keep-alive sockets and
 * SigV4 signing, for the hot loop of downloading many small objects: the AWS SDK's middleware
 * stack costs about a millisecond of CPU per request, this path a small fraction of that.
 * Everything else (listing, HEAD, PUT, DELETE) stays on the SDK.
 *
 * Retries network errors, timeouts, 5xx and throttling up to `maxAttempts` times with the SDK's
 * backoff (full jitter, 100 ms base, 20 s cap), before any of the body is handed out.
 */
export class LeanS3Get {
  readonly #options: LeanGetOptions;
  readonly #signer: SigV4Signer;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #basePath: string;
  readonly #host: string;

  constructor(options: LeanGetOptions) {
    this.#options = options;
    this.#signer = new SigV4Signer(options.credentials, options.region);
    const secure = options.endpoint.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#request = secure ? https.request : http.request;
    // Path-style: /<endpoint path>/<bucket>/<key>.
    this.#basePath = `${options.endpoint.pathname.replace(/\/+$/, '')}/${encodeKeyPath(options.bucket)}/`;
    this.#host = options.endpoint.host;
  }

  /**
   * GETs `key`. Bodies whose `content-length` is at most `bufferLimit` are read within the retried
   * attempt (a connection reset mid-body is retried too); larger ones are handed out as a stream.
   * Rejects with a `LeanS3Error` carrying the HTTP status and S3 error code.
   */
  async get(key: string, bufferLimit: number): Promise<LeanGetResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.#once(key);
        if (response.status !== 200) throw await errorFromResponse(response);
        const length = Number(response.headers['content-length']);
        if (Number.isFinite(length) && length <= bufferLimit) {
          return { headers: response.headers, buffer: await readBody(response.body, bufferLimit) };
        }
        return { headers: response.headers, stream: Readable.from(lengthChecked(response.body)) };
      } catch (error) {
        if (attempt >= this.#options.maxAttempts || !isRetryable(error)) throw error;
        await sleep(Math.random() * Math.min(20_000, 100 * 2 ** attempt));
      }
    }
  }

  #once(key: string): Promise<RawResponse> {
    const path = this.#basePath + encodeKeyPath(key);
    const headers: Record<string, string> = {
      host: this.#host,
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': amzDate(new Date()),
    };
    headers.authorization = this.#signer.authorization('GET', path, '', headers, EMPTY_SHA256);
    const { endpoint, connectionTimeoutMs, requestTimeoutMs } = this.#options;
    return new Promise<RawResponse>((resolve, reject) => {
      const request = this.#request({
        protocol: endpoint.protocol,
        // URL keeps an IPv6 literal's brackets in `hostname`; the socket needs the bare address.
        hostname: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: endpoint.port || undefined,
        method: 'GET',
        path,
        headers,
        agent: this.#agent,
      });
      let connectTimer: NodeJS.Timeout | undefined;
      const fail = (error: unknown) => {
        clearTimeout(connectTimer);
        reject(asLeanError(error));
      };
      request.once('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(
          () =>
            request.destroy(
              new LeanS3Error('TimeoutError', `no connection within ${connectionTimeoutMs} ms`, undefined, {
                code: 'TimeoutError',
              }),
            ),
          connectionTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.setTimeout(requestTimeoutMs, () =>
        request.destroy(
          new LeanS3Error('TimeoutError', `no answer within ${requestTimeoutMs} ms`, undefined, {
            code: 'TimeoutError',
          }),
        ),
      );
      request.on('error', fail);
      request.once('response', (body) => {
        clearTimeout(connectTimer);
        resolve({ status: body.statusCode ?? 0, headers: body.headers, body });
      });
      request.end();
    });
  }
}

/** Reads an S3 error response (XML `<Code>` and `<Message>`) into a `LeanS3Error`. */
async function errorFromResponse(response: RawResponse): Promise<LeanS3Error> {
  let text = '';
  try {
    text = (await readBody(response.body, 64 * 1024)).toString('utf8');
  } catch {
    // The status alone still classifies the error.
  }
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  const code = tag('Code') ?? (response.status === 404 ? 'NotFound' : `Http${response.status}`);
  return new LeanS3Error(code, tag('Message') ?? code, response.status);
}

/**
 * The whole body, checked against `content-length`, so a connection that closes early is an
 * error rather than a short file. `limit` caps what is buffered.
 */
async function readBody(body: IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const expected = Number(body.headers['content-length']);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      length += (chunk as Buffer).length;
      if (length > limit) {
        body.destroy();
        throw new LeanS3Error('BodyTooLarge', `response body above ${limit} bytes`, undefined);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw incomplete(error);
  }
  checkLength(expected, length);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
}

/** Fails when a body of `length` bytes is not the `content-length` it announced (`expected`, NaN if none). */
function checkLength(expected: number, length: number): void {
  if (Number.isFinite(expected) && expected !== length) {
    throw new LeanS3Error(
      'IncompleteBody',
      `the response ended after ${length} of ${expected} bytes`,
      undefined,
    );
  }
}

/** Passes the body through, failing at the end if it is shorter or longer than `content-length`. */
async function* lengthChecked(body: IncomingMessage): AsyncGenerator<Buffer> {
  const expected = Number(body.headers['content-length']);
  let length = 0;
  try {
    for await (const chunk of body) {
      length += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } catch (error) {
    throw incomplete(error);
  }
  checkLength(expected, length);
}

/**
 * A failure while the body was arriving: the endpoint did answer, so this is not an
 * "unreachable" network error but an incomplete transfer (retried all the same). The socket
 * error is kept in the message only: as a `cause` its errno would classify it as unreachable.
 */
function incomplete(error: unknown): LeanS3Error {
  if (error instanceof LeanS3Error) return error;
  const e = error as NodeJS.ErrnoException;
  const what = [e?.code, e?.message].filter(Boolean).join(' ') || String(error);
  return new LeanS3Error('IncompleteBody', `the response body was cut off (${what})`, undefined);
}

function asLeanError(error: unknown): LeanS3Error {
  if (error instanceof LeanS3Error) return error;
  const e = error as NodeJS.ErrnoException;
  const code = e?.code;
  return new LeanS3Error(e?.name ?? 'Error', e?.message ?? String(error), undefined, {
    cause: error,
    ...(code ? { code } : {}),
  });
}
