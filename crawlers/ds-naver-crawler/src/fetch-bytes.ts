export interface FetchedBytes {
  url: URL;
  status: number;
  headers: Headers;
  body: Buffer;
}

export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
}

/**
 * One HTTP GET without following redirects (the caller checks every hop), with a timeout and a cap
 * on the body size so a hostile or broken server cannot exhaust memory.
 */
export async function fetchBytes(
  url: URL,
  options: { timeoutMs: number; maxBytes: number; headers: Record<string, string> },
): Promise<FetchedBytes> {
  const response = await fetch(url, {
    headers: options.headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    throw new ResponseTooLargeError(
      `${url.href} declares ${declared} bytes, over the ${options.maxBytes}-byte limit`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > options.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new ResponseTooLargeError(`${url.href} sent more than ${options.maxBytes} bytes`);
      }
      chunks.push(Buffer.from(value));
    }
  }
  return { url, status: response.status, headers: response.headers, body: Buffer.concat(chunks) };
}
