import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CRAWLER_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface DsLine {
  kind: string;
  fields: Record<string, string>;
  raw: string;
}

export interface CrawlerRun {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: DsLine[];
  stats: Record<string, number> | undefined;
  elapsedMs: number;
  of(kind: string): DsLine[];
}

/** Settings that make a test crawl fast: no politeness pauses, short backoff, a few workers. */
export const FAST_ENV = {
  DS_REQUEST_DELAY_MS: '0',
  DS_IMAGE_DELAY_MS: '0',
  DS_BACKOFF_BASE_MS: '20',
  DS_MAX_CONCURRENCY: '4',
  DS_MAX_REQUESTS_PER_MINUTE: '100000',
  DS_REQUEST_TIMEOUT_MS: '10000',
};

export function parseDsLines(stdout: string): DsLine[] {
  const lines: DsLine[] = [];
  for (const raw of stdout.split('\n')) {
    const match = /^(DS_[A-Z_]+) (.*)$/.exec(raw);
    if (!match) continue;
    const [, kind = '', rest = ''] = match;
    const fields: Record<string, string> = {};
    if (kind !== 'DS_STATS') {
      for (const pair of rest.split(' ')) {
        const eq = pair.indexOf('=');
        if (eq > 0) fields[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    }
    lines.push({ kind, fields, raw });
  }
  return lines;
}

/**
 * Runs the crawler exactly as the orchestrator does — `npx tsx src/main.ts` in the crawler's
 * folder — with the given environment, and kills its whole process group if it overruns.
 */
export async function runCrawlerProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CrawlerRun> {
  const started = Date.now();
  // Only the test's own DS_* settings: a developer's or CI's R2 credentials must not leak into a test crawl.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('DS_')),
  );
  const child = spawn('npx', ['tsx', 'src/main.ts'], {
    cwd: CRAWLER_DIR,
    env: { ...inherited, ...env, NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) =>
    child.once('close', (exitCode) => resolve(exitCode)),
  );
  clearTimeout(timer);
  const lines = parseDsLines(stdout);
  const statsLine = lines.find((line) => line.kind === 'DS_STATS');
  return {
    code,
    stdout,
    stderr,
    lines,
    stats: statsLine
      ? (JSON.parse(statsLine.raw.slice('DS_STATS '.length)) as Record<string, number>)
      : undefined,
    elapsedMs: Date.now() - started,
    of: (kind) => lines.filter((line) => line.kind === kind),
  };
}
