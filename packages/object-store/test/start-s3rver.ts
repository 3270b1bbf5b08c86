import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** s3rver only knows this access key id; it does not verify SigV4 signatures, so any secret works. */
export const S3RVER_ACCESS_KEY_ID = 'S3RVER';

export interface RunningS3rver {
  endpoint: string;
  /** The server's process id (benchmarks read its CPU time from /proc). */
  pid: number | undefined;
  close(): Promise<void>;
}

/** A real S3-protocol server (s3rver) on a free loopback port, storing into a fresh temporary directory. */
export async function startS3rver(buckets: string[] = []): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const script = fileURLToPath(new URL('./s3rver-process.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--import', 'tsx', script, JSON.stringify({ directory, buckets })],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  try {
    const port = await waitForReady(child);
    return {
      endpoint: `http://127.0.0.1:${port}`,
      pid: child.pid,
      async close() {
        await stopChild(child);
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

const READY_TIMEOUT_MS = 120_000;

function waitForReady(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    // Generous: on a loaded CI machine a cold Node start with s3rver's dependencies takes
    // well over 15 s. Readiness itself is awaited (its READY line), never guessed.
    const timer = setTimeout(
      () => reject(new Error(`s3rver did not start within ${READY_TIMEOUT_MS / 1000} s: ${output}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /S3RVER_READY (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code} before it was ready: ${output}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
