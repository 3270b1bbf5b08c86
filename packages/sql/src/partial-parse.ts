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
const FORMAT = 1;
export const PARTIAL_PARSE_FILE = 'dag_partial_parse.cache';

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
  entries: Record<string, Entry<unknown>>;
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
  /**
   * Each entry as written (`"id":{...}`), by entry: a save serializes only the entries that
   * changed since the last one, and joins the rest as they were.
   */
  private readonly written = new WeakMap<Entry<unknown>, string>();

  private constructor(
    readonly file: string,
    readonly projectKey: string,
    entries: Record<string, Entry<unknown>>,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.entries = entries;
  }

  /** The cache of the project in `targetDir` for `projectKey`; empty when missing or stale. */
  static open(targetDir: string, projectKey: string, env: NodeJS.ProcessEnv): PartialParseCache {
    const file = path.join(targetDir, PARTIAL_PARSE_FILE);
    let entries: Record<string, Entry<unknown>> = {};
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Stored;
      if (stored.format === FORMAT && stored.projectKey === projectKey && stored.entries) {
        entries = stored.entries;
      }
    } catch {
      // Missing or unreadable: a full parse, then written anew.
    }
    return new PartialParseCache(file, projectKey, entries, env);
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
    this.changed = true;
  }

  /** Writes what this load saw (atomically: a temporary file renamed into place). */
  save(): void {
    for (const id of Object.keys(this.entries)) {
      if (this.seen.has(id)) continue;
      delete this.entries[id];
      this.changed = true;
    }
    if (!this.changed) return;
    this.changed = false;
    // The same text as JSON.stringify of a `Stored`, one entry at a time.
    const parts: string[] = [];
    for (const [id, entry] of Object.entries(this.entries)) {
      let text = this.written.get(entry);
      if (text === undefined) {
        text = `${JSON.stringify(id)}:${JSON.stringify(entry)}`;
        this.written.set(entry, text);
      }
      parts.push(text);
    }
    const head = JSON.stringify({ format: FORMAT, projectKey: this.projectKey } satisfies Omit<
      Stored,
      'entries'
    >);
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(tmp, `${head.slice(0, -1)},"entries":{${parts.join(',')}}}`);
      renameSync(tmp, this.file);
    } catch {
      // A read-only project folder: every load parses in full, which is correct, only slower.
      try {
        rmSync(tmp, { force: true });
      } catch {}
    }
  }
}
