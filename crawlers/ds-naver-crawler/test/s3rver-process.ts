import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/**
 * Runs s3rver in its own process. s3rver encrypts ListObjectsV2 continuation tokens with DES, which
 * OpenSSL 3 only offers through its legacy provider, so the parent starts this file with
 * `--openssl-legacy-provider` rather than switching that on for the whole test process.
 * Prints `S3RVER_READY <port>` when listening; exits when its stdin closes or on SIGTERM.
 */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
const { directory, buckets } = JSON.parse(process.argv[2] ?? '{}') as {
  directory: string;
  buckets: string[];
};

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name })),
});
const address = await server.run();
process.stdout.write(`S3RVER_READY ${address.port}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
