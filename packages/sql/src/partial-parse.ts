import { hash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What loading a project learns from each file, kept on disk between processes under the
 * project's `target-path` (`target/dag_partial_parse.cache`), as dbt's partial parsing keeps
 * `target/partial_parse.msgpack`. A file whose content hash is unchanged is not compiled,
 * rendered or parsed again: loading a large project a second time only reads and hashes files.
 *
 * Everything is keyed by the hash of what it depends on: the whole cache by the project file,
 * the macros, the vars and the dialect (`projectKey`); a model by its text and the values of the
 * environment variables its `env_var()` calls read (only their names are stored, never a value).
 * A cache that cannot be read is ignored; one that cannot be written (a read-only folder) is
 * not written. Only files that loaded without error are kept.
 */

/** Bumped whenever what is stored changes shape. */
const FORMAT = 2;
export const PARTIAL_PARSE_FILE = 'dag_partial_parse.cache';
/**
 * The entries changed since the cache file was last written whole: a reload after a small
 * change writes this small file (atomically), not the whole cache again. It applies only to the
 * cache file of its `generation`; past MAX_DELTA entries the whole cache is written instead.
 */
export const PARTIAL_PARSE_DELTA = 'dag_partial_parse.delta';
const MAX_DELTA = 200;

export interface RecordedModel {
  refs: string[];
  sources: [string, string][];
  config: Record<string, unknown>;
  /** The environment variables its `env_var()` calls read. */
  envNames: string[];
}

interface Entry<T> {
  hash: string;
  value: T;
  envNames?: string[];
}

interface Stored {
  format: number;
  projectKey: string;
  /** A fresh random id each time the whole cache is written. */
  generation: string;
  entries: Record<string, Entry<unknown>>;
}

/** The changes since the whole cache of `generation` was written: null for a dropped file. */
interface StoredDelta {
  format: number;
  projectKey: string;
  generation: string;
  entries: Record<string, Entry<unknown> | null>;
}

export function contentHash(...parts: string[]): string {
  return hash('sha256', parts.join('\0'), 'base64url');
}

export class PartialParseCache {
  private readonly entries: Record<string, Entry<unknown>>;
  /** The files the current load asked for; the others are dropped at `save`. */
  private seen = new Set<string>();
  private changed = false;
  /** The entry each file's text was last found to match. */
  private readonly checked = new Map<string, { entry: Entry<unknown>; text: string }>();
  /** The files whose entries changed since the whole cache (of `generation`) was written. */
  private readonly delta = new Set<string>();
  private readonly deltaFile: string;

  private constructor(
    readonly file: string,
    readonly projectKey: string,
    entries: Record<string, Entry<unknown>>,
    private generation: string | undefined,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.entries = entries;
    this.deltaFile = path.join(path.dirname(file), PARTIAL_PARSE_DELTA);
  }

  /** The cache of the project in `targetDir` for `projectKey`; empty when missing or stale. */
  static open(targetDir: string, projectKey: string, env: NodeJS.ProcessEnv): PartialParseCache {
    const file = path.join(targetDir, PARTIAL_PARSE_FILE);
    let entries: Record<string, Entry<unknown>> = {};
    let generation: string | undefined;
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Stored;
      if (stored.format === FORMAT && stored.projectKey === projectKey && stored.entries) {
        entries = stored.entries;
        generation = stored.generation;
      }
    } catch {
      // Missing or unreadable: a full parse, then written anew.
    }
    const cache = new PartialParseCache(file, projectKey, entries, generation, env);
    if (generation !== undefined) {
      try {
        const delta = JSON.parse(readFileSync(cache.deltaFile, 'utf8')) as StoredDelta;
        if (
          delta.format === FORMAT &&
          delta.projectKey === projectKey &&
          delta.generation === generation &&
          delta.entries
        ) {
          for (const [id, entry] of Object.entries(delta.entries)) {
            if (entry) entries[id] = entry;
            else delete entries[id];
            cache.delta.add(id);
          }
        }
      } catch {
        // No changes since the whole cache was written (or unreadable: those files parse again).
      }
    }
    return cache;
  }

  /** Starts a load of the project (a reload reuses the cache in memory). */
  begin(): void {
    this.seen = new Set();
  }

  private envHash(names: readonly string[] | undefined): string {
    return names?.length ? JSON.stringify(names.map((n) => this.env[n] ?? null)) : '';
  }

  /** What `id` (a file, relative) gave last time, when `text` and the env it read are the same. */
  get<T>(id: string, text: string): T | undefined {
    const entry = this.entries[id];
    if (!entry) return undefined;
    // A reload in the same process hashes only files whose text changed (or that read env vars).
    const checked = this.checked.get(id);
    if (!(checked?.entry === entry && checked.text === text && !entry.envNames)) {
      if (entry.hash !== contentHash(text, this.envHash(entry.envNames))) return undefined;
      this.checked.set(id, { entry, text });
    }
    this.seen.add(id);
    return entry.value as T;
  }

  set<T>(id: string, text: string, value: T, envNames?: string[]): void {
    this.entries[id] = {
      hash: contentHash(text, this.envHash(envNames)),
      value,
      ...(envNames?.length ? { envNames } : {}),
    };
    this.seen.add(id);
    this.delta.add(id);
    this.changed = true;
  }

  /**
   * Writes what this load saw, once per load and atomically (a temporary file renamed into
   * place): the entries changed since the whole cache was last written, or the whole cache.
   */
  save(): void {
    for (const id of Object.keys(this.entries)) {
      if (this.seen.has(id)) continue;
      delete this.entries[id];
      this.delta.add(id);
      this.changed = true;
    }
    if (!this.changed) return;
    this.changed = false;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      if (this.generation !== undefined && this.delta.size <= MAX_DELTA) {
        const entries: StoredDelta['entries'] = {};
        for (const id of this.delta) entries[id] = this.entries[id] ?? null;
        const stored: StoredDelta = {
          format: FORMAT,
          projectKey: this.projectKey,
          generation: this.generation,
          entries,
        };
        writeAtomic(this.deltaFile, JSON.stringify(stored));
        return;
      }
      const generation = randomBytes(8).toString('hex');
      const stored: Stored = {
        format: FORMAT,
        projectKey: this.projectKey,
        generation,
        entries: this.entries,
      };
      writeAtomic(this.file, JSON.stringify(stored));
      // A delta of an older generation is ignored; removing it only saves reading it.
      rmSync(this.deltaFile, { force: true });
      this.generation = generation;
      this.delta.clear();
    } catch {
      // A read-only project folder: every load parses in full, which is correct, only slower.
    }
  }
}

/** Writes a file whole or not at all: a temporary file renamed into place. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
