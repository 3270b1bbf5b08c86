import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { siblingModule } from '../util/module-url.ts';
import { FLUSH_SCHEME, VERSION_PARAM } from './fresh-import-hooks.ts';

/**
 * Imports a definitions file and the modules of its own package afresh, however often it
 * was imported before, and tells which of its files were loaded (the ones to watch).
 *
 * Why in this process and not a child process: definitions hold functions (assets, sensors,
 * IO managers) that the server and the daemon call, so they must live here. Why not only a
 * query string on the file: its imports would still come from the module cache. The hooks in
 * fresh-import-hooks.ts carry the version to every module of the same package; modules of
 * other packages (@dag/core, node_modules) stay single instances. Superseded versions stay
 * in memory (ESM cannot unload), which a development server can afford.
 */
export interface FreshImport {
  module: Record<string, unknown>;
  /** Absolute paths of the modules of this version: the file and what it imported from its package. */
  files: string[];
  /** The JavaScript each of those modules ran as (after the TypeScript transform), by path. */
  sources: Map<string, string>;
}

interface Channel {
  port: MessagePort;
  files: Map<string, Set<string>>;
  sources: Map<string, Map<string, string>>;
  flushes: Map<string, () => void>;
}

let channel: Channel | undefined;
let nextVersion = 0;

function hooks(): Channel {
  if (channel) return channel;
  const { port1, port2 } = new MessageChannel();
  const state: Channel = { port: port1, files: new Map(), sources: new Map(), flushes: new Map() };
  port1.on('message', (message: { version?: string; file?: string; source?: string; flush?: string }) => {
    if (message.flush !== undefined) {
      state.flushes.get(message.flush)?.();
      state.flushes.delete(message.flush);
    } else if (message.version !== undefined && message.file !== undefined && message.source !== undefined) {
      const sources = state.sources.get(message.version) ?? new Map<string, string>();
      sources.set(message.file, message.source);
      state.sources.set(message.version, sources);
    } else if (message.version !== undefined && message.file !== undefined) {
      const set = state.files.get(message.version) ?? new Set<string>();
      set.add(message.file);
      state.files.set(message.version, set);
    }
  });
  // The port must not keep the process alive.
  port1.unref();
  register(siblingModule('./fresh-import-hooks.ts', import.meta.url), {
    parentURL: import.meta.url,
    data: { port: port2 },
    transferList: [port2],
  });
  channel = state;
  return state;
}

/** Imports `file` (absolute) as a new version; rejects as the import does, with the files seen so far attached. */
export async function freshImport(file: string): Promise<FreshImport> {
  const state = hooks();
  const version = `${process.pid}-${++nextVersion}`;
  const url = new URL(pathToFileURL(file).href);
  url.searchParams.set(VERSION_PARAM, version);
  const collect = async (): Promise<{ files: string[]; sources: Map<string, string> }> => {
    const flush = `${FLUSH_SCHEME}${version}`;
    const flushed = new Promise<void>((resolve) => state.flushes.set(flush, resolve));
    state.port.ref();
    try {
      import.meta.resolve(flush);
      await flushed;
    } finally {
      state.port.unref();
    }
    const files = [file, ...(state.files.get(version) ?? [])];
    const sources = state.sources.get(version) ?? new Map<string, string>();
    state.files.delete(version);
    state.sources.delete(version);
    return { files: [...new Set(files)], sources };
  };
  let module: Record<string, unknown>;
  try {
    module = (await import(url.href)) as Record<string, unknown>;
  } catch (error) {
    throw new FreshImportError(error, (await collect()).files);
  }
  return { module, ...(await collect()) };
}

/** A failed fresh import: the error the module threw, and the files it had loaded. */
export class FreshImportError extends Error {
  constructor(
    readonly error: unknown,
    readonly files: string[],
  ) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
    this.name = 'FreshImportError';
  }
}
