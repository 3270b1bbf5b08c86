/**
 * Module hooks (node:module `register`) that make a reload of a code location import fresh
 * copies of its own modules. ESM caches a module by URL forever, and a query string on the
 * definitions file alone would still reuse its cached imports; so the version query of an
 * importing module is carried to every module it imports from the same package (same
 * nearest package.json, outside node_modules). Other packages, @dag/core above all, keep
 * their one instance: a second copy would break `instanceof` checks and shared registries.
 *
 * Runs in Node's module-hooks thread; reports each versioned module to the main thread
 * through the port given at registration, so the caller knows which files to watch, and
 * the JavaScript it loaded, so that run processes can execute exactly that version.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';

export const VERSION_PARAM = 'dag-location-version';
/** A specifier that only asks this hook to post a marker: every report before it has arrived. */
export const FLUSH_SCHEME = 'dag-flush:';

let port: MessagePort | undefined;

export function initialize(data: { port?: MessagePort } | undefined): void {
  port = data?.port;
}

const packageDirs = new Map<string, string | null>();

/** The folder of the nearest package.json, or null. */
function packageDir(file: string): string | null {
  let dir = path.dirname(file);
  const visited: string[] = [];
  for (;;) {
    const known = packageDirs.get(dir);
    if (known !== undefined) return remember(visited, known);
    visited.push(dir);
    if (existsSync(path.join(dir, 'package.json'))) return remember(visited, dir);
    const parent = path.dirname(dir);
    if (parent === dir) return remember(visited, null);
    dir = parent;
  }
}

function remember(dirs: string[], result: string | null): string | null {
  for (const d of dirs) packageDirs.set(d, result);
  return result;
}

type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };

export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  nextResolve: (specifier: string, context: unknown) => Promise<Resolved>,
): Promise<Resolved> {
  if (specifier.startsWith(FLUSH_SCHEME)) {
    port?.postMessage({ flush: specifier });
    return { url: 'data:text/javascript,', shortCircuit: true };
  }
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  if (!parent?.startsWith('file:') || !resolved.url.startsWith('file:')) return resolved;
  const parentUrl = new URL(parent);
  const version = parentUrl.searchParams.get(VERSION_PARAM);
  if (version === null) return resolved;
  const url = new URL(resolved.url);
  if (url.searchParams.has(VERSION_PARAM)) return resolved;
  const file = fileURLToPath(url);
  if (file.split(path.sep).includes('node_modules')) return resolved;
  if (packageDir(file) !== packageDir(fileURLToPath(parentUrl))) return resolved;
  url.searchParams.set(VERSION_PARAM, version);
  port?.postMessage({ version, file });
  return { ...resolved, url: url.href };
}

type Loaded = {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
};

export async function load(
  url: string,
  context: unknown,
  nextLoad: (url: string, context: unknown) => Promise<Loaded>,
): Promise<Loaded> {
  const loaded = await nextLoad(url, context);
  if (!url.startsWith('file:')) return loaded;
  const parsed = new URL(url);
  const version = parsed.searchParams.get(VERSION_PARAM);
  if (version === null || loaded.format !== 'module' || loaded.source == null) return loaded;
  const source =
    typeof loaded.source === 'string'
      ? loaded.source
      : Buffer.from(loaded.source as Uint8Array).toString('utf8');
  parsed.search = '';
  port?.postMessage({ version, file: fileURLToPath(parsed), source });
  return loaded;
}
