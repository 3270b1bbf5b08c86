import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { DagInstance, withDatabase } from '../src/index.ts';

/**
 * Test isolation: every call makes a fresh database on the test server (the embedded one the
 * test command starts, or DAG_TEST_POSTGRES_URL) and a fresh instance folder.
 */
export function adminUrl(kind: 'embedded' | 'external' = 'embedded'): string {
  const url = kind === 'external' ? process.env.DAG_TEST_POSTGRES_URL : process.env.DAG_TEST_PG_ADMIN_URL;
  if (!url) {
    throw new Error(
      kind === 'external'
        ? 'DAG_TEST_POSTGRES_URL is not set.'
        : 'DAG_TEST_PG_ADMIN_URL is not set: run tests with `npm test` (scripts/run-tests.ts starts the test server).',
    );
  }
  return url;
}

export async function freshDatabase(kind: 'embedded' | 'external' = 'embedded'): Promise<{
  url: string;
  drop: () => Promise<void>;
}> {
  const admin = adminUrl(kind);
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return {
    url: withDatabase(admin, name),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function tempDir(prefix = 'dag-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

export interface TestInstance {
  instance: DagInstance;
  home: string;
  url: string;
  cleanup: () => Promise<void>;
}

export async function freshInstance(kind: 'embedded' | 'external' = 'embedded'): Promise<TestInstance> {
  const db = await freshDatabase(kind);
  const home = await tempDir();
  const instance = await DagInstance.open({ home, postgresUrl: db.url });
  return {
    instance,
    home,
    url: db.url,
    cleanup: async () => {
      await instance.close();
      await db.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh instance for the tests of one file: opened before the first test, closed and dropped
 * after the last. Its fields are read when a test runs (reading one before `before` ran throws).
 */
export function useFreshInstance(kind: 'embedded' | 'external' = 'embedded'): TestInstance {
  let current: TestInstance | undefined;
  before(async () => {
    current = await freshInstance(kind);
  });
  after(async () => {
    await current?.cleanup();
  });
  const opened = (): TestInstance => {
    if (!current) throw new Error('The test instance opens in before(): read it inside a test or hook.');
    return current;
  };
  return {
    get instance() {
      return opened().instance;
    },
    get home() {
      return opened().home;
    },
    get url() {
      return opened().url;
    },
    cleanup: () => opened().cleanup(),
  };
}

/**
 * Polls until `check` returns a value (not undefined), or throws after `timeoutMs`. The default
 * is generous on purpose: on a machine loaded far past its cores, starting a `dag` process alone
 * can take tens of seconds, and a passing test never waits for the deadline.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A child process whose stdout and stderr are collected together as it runs (for output waits). */
export interface WatchedProcess {
  child: import('node:child_process').ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `node <args>` with `env` added to this process's environment and collects its output. */
export function spawnWatched(args: string[], env: NodeJS.ProcessEnv, cwd?: string): WatchedProcess {
  const child = spawn(process.execPath, args, {
    ...(cwd ? { cwd } : {}),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
