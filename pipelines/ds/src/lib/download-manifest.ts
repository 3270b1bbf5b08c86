import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What the pipeline knows about one downloaded object. */
export interface ManifestEntry {
  size: number;
  etag: string;
  /** From the object's metadata, as the crawler wrote it. */
  channelId: string | null;
  brand: string | null;
  /**
   * The mtime of the local copy as the download left it (it keeps it when it moves into
   * `final/`): a copy with another mtime may have been changed, so its bytes are checked.
   */
  mtimeMs?: number;
}

/**
 * Per source bucket, the size, etag and crawler metadata of every PNG downloaded so far
 * (`<dataDir>/.state/download-<bucket>.json`). It lets a re-run skip unchanged objects
 * without a request each, and carries the brand and channel id from download to finalize.
 * Written atomically (temp file, then rename); losing it only costs re-downloads.
 */
export class DownloadManifest {
  private constructor(
    readonly file: string,
    private readonly entries: Map<string, ManifestEntry>,
  ) {}

  /** Whether an entry was set since the load: a run that changed nothing writes nothing. */
  private changed = false;

  static fileFor(stateDir: string, bucket: string): string {
    return path.join(stateDir, `download-${bucket}.json`);
  }

  static async load(stateDir: string, bucket: string): Promise<DownloadManifest> {
    const file = DownloadManifest.fileFor(stateDir, bucket);
    const entries = new Map<string, ManifestEntry>();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { objects?: Record<string, ManifestEntry> };
      for (const [key, entry] of Object.entries(parsed.objects ?? {})) {
        if (entry && typeof entry.size === 'number' && typeof entry.etag === 'string')
          entries.set(key, entry);
      }
    } catch {
      // Missing or unreadable: start empty, which only means downloading again.
    }
    return new DownloadManifest(file, entries);
  }

  get(key: string): ManifestEntry | undefined {
    return this.entries.get(key);
  }

  /** The keys of every object downloaded so far. */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  set(key: string, entry: ManifestEntry): void {
    this.entries.set(key, entry);
    this.changed = true;
  }

  async save(): Promise<void> {
    if (!this.changed) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    const objects = Object.fromEntries([...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify({ version: 1, objects }, null, 1)}\n`);
    await rename(temp, this.file);
    this.changed = false;
  }
}
