import { statSync } from 'node:fs';
import path from 'node:path';
import type { ObjectInfo } from '@dag/object-store';
import { isUpToDate } from './convert-png-to-webp.ts';
import { readJsonState, writeJsonState } from './json-state-file.ts';
import { isPng, listFiles, md5OfFile, webpNameFor } from './local-files.ts';
import { mapBounded } from './map-bounded.ts';

/** A local file as it was when its MD5 was taken: the MD5 holds while size and mtime do. */
export interface FileDigest {
  size: number;
  mtimeMs: number;
  md5: string;
}

/** One logo in `final/`: its PNG and WebP, their digests, and the crawler's metadata. */
export interface PublishedLogo {
  /** The PNG's key (in the source and the target bucket), slash-separated. */
  rel: string;
  webpRel: string;
  png: FileDigest;
  webp: FileDigest;
  channelId: string | null;
  brand: string | null;
}

interface DigestRecord {
  png: FileDigest;
  webp: FileDigest;
  channelId: string | null;
  brand: string | null;
}

/** Files hashed at once when the record lacks them (a first run after an upgrade, a lost record). */
const HASH_CONCURRENCY = 16;

/** Whether the object the target bucket lists is the local file: same size and the MD5 as its etag. */
export function objectMatches(listed: ObjectInfo | undefined, digest: FileDigest): boolean {
  return listed !== undefined && listed.size === digest.size && listed.etag === digest.md5;
}

/**
 * The logos in `final/` (what earlier runs published) with the MD5 of each PNG and WebP, so that
 * one listing of the target bucket tells which objects are missing or different there (a
 * single-part upload's etag is its MD5) without reading every file on every run.
 *
 * The MD5s are kept in `<stateDir>/final-digests.json` with the size and mtime of the file they
 * were taken from; a file whose size or mtime changed since is hashed again. Losing the record
 * only costs one read of each file. A PNG whose WebP is missing or older than it is not a
 * complete logo: it is returned in `incomplete` (ds_r2_download fetches such a PNG again while
 * its source object exists).
 */
export class PublishedLogos {
  private constructor(
    private readonly file: string,
    private readonly records: Map<string, DigestRecord>,
    readonly logos: PublishedLogo[],
    readonly incomplete: string[],
    /** Whether the records differ from the file's (files hashed, or gone from final/). */
    private changed: boolean,
  ) {}

  static fileFor(stateDir: string): string {
    return path.join(stateDir, 'final-digests.json');
  }

  static async load(
    finalDir: string,
    stateDir: string,
    metadataFor: (rel: string) => Promise<{ channelId: string | null; brand: string | null }>,
    signal?: AbortSignal,
  ): Promise<PublishedLogos> {
    const file = PublishedLogos.fileFor(stateDir);
    const saved = await readJsonState<{ logos?: Record<string, DigestRecord> }>(file, {});
    const known = new Map(Object.entries(saved.logos ?? {}));
    const records = new Map<string, DigestRecord>();
    const logos: PublishedLogo[] = [];
    const incomplete: string[] = [];
    const toHash: { rel: string; png: string; webp: string }[] = [];
    for (const rel of await listFiles(finalDir, isPng)) {
      const webpRel = webpNameFor(rel);
      const png = path.join(finalDir, ...rel.split('/'));
      const webp = path.join(finalDir, ...webpRel.split('/'));
      // Synchronous stats: microseconds each, where asynchronous ones queue behind libuv's pool.
      const pngStat = statSync(png, { throwIfNoEntry: false });
      const webpStat = statSync(webp, { throwIfNoEntry: false });
      if (!pngStat) continue;
      if (!webpStat || !isUpToDate(pngStat, webpStat)) {
        incomplete.push(rel);
        continue;
      }
      const record = known.get(rel);
      if (record && sameFile(record.png, pngStat) && sameFile(record.webp, webpStat)) {
        records.set(rel, record);
        logos.push({ rel, webpRel, ...record });
      } else toHash.push({ rel, png, webp });
    }
    await mapBounded(
      toHash,
      HASH_CONCURRENCY,
      async ({ rel, png, webp }) => {
        const record: DigestRecord = {
          png: await digestOf(png),
          webp: await digestOf(webp),
          ...(await metadataFor(rel)),
        };
        records.set(rel, record);
        logos.push({ rel, webpRel: webpNameFor(rel), ...record });
      },
      signal,
    );
    logos.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    return new PublishedLogos(
      file,
      records,
      logos,
      incomplete,
      toHash.length > 0 || records.size !== known.size,
    );
  }

  /** Records a logo that was just moved into `final/` (its digests taken before the move). */
  set(logo: PublishedLogo): void {
    const { rel, webpRel: _webpRel, ...record } = logo;
    this.records.set(rel, record);
    this.changed = true;
  }

  /** Writes the records when they changed (a re-run with nothing new writes nothing). */
  async save(): Promise<void> {
    if (!this.changed) return;
    const logos = Object.fromEntries([...this.records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await writeJsonState(this.file, { version: 1, logos });
  }
}

function sameFile(digest: FileDigest, stats: { size: number; mtimeMs: number }): boolean {
  return digest.size === stats.size && digest.mtimeMs === stats.mtimeMs;
}

/** Size, mtime and MD5 of a file; the stat is taken before the read, so a change meanwhile shows next time. */
export async function digestOf(file: string): Promise<FileDigest> {
  const stats = statSync(file);
  return { size: stats.size, mtimeMs: stats.mtimeMs, md5: await md5OfFile(file) };
}
