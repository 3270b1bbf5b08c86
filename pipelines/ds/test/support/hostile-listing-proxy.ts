import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy in front of a real S3 server (s3rver) that adds objects with hostile
 * keys (`../escape.png`, `/etc/x.png`) to every ListObjectsV2 answer of `bucket`: what a
 * compromised or careless bucket on R2 can hold, and what s3rver cannot store itself (it
 * keeps objects as files, so such keys would land outside its bucket folder).
 */
export async function startHostileListingProxy(
  upstream: string,
  bucket: string,
  hostileKeys: string[],
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', upstream);
    const isList =
      req.method === 'GET' &&
      url.pathname.replace(/\/$/, '') === `/${bucket}` &&
      url.searchParams.get('list-type') === '2';
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        if (!isList) {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (c: Buffer) => chunks.push(c));
        upstreamRes.on('end', () => {
          const extra = hostileKeys
            .map(
              (key) =>
                `<Contents><Key>${key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Contents>`,
            )
            .join('');
          const body = Buffer.from(
            Buffer.concat(chunks)
              .toString('utf8')
              .replace('</ListBucketResult>', `${extra}</ListBucketResult>`),
          );
          const headers = { ...upstreamRes.headers, 'content-length': String(body.length) };
          res.writeHead(upstreamRes.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
