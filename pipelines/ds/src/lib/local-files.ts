import { createHash } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** Relative, slash-separated paths of the files under `dir`, hidden entries (`.x`) excluded, sorted. */
export async function listFiles(
  dir: string,
  filter: (relative: string) => boolean = () => true,
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (relative: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(dir, relative), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() && filter(child)) out.push(child);
    }
  };
  await walk('');
  return out.sort();
}

/** Temporary files of atomic writes are named `.<name>.<random>.part`. */
const TEMP_FILE = /^\..+\.part$/;

/**
 * Removes temporary files left by a process that died mid-write (a kill -9, a power cut).
 * A run that stops normally or is terminated never leaves any: every write removes its own on failure.
 */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  let removed = 0;
  const walk = async (current: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.')) await walk(full);
      else if (entry.isFile() && TEMP_FILE.test(entry.name)) {
        await rm(full, { force: true });
        removed += 1;
      }
    }
  };
  await walk(dir);
  return removed;
}

export async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch {
    return undefined;
  }
}

/** Files up to this size are hashed from one read; larger ones are streamed through the hash. */
const HASH_IN_ONE_READ = 16 * 1024 * 1024;

/** The hex MD5 of a file's bytes (an object's etag, for single-part uploads). */
export async function md5OfFile(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('md5');
    if ((await handle.stat()).size <= HASH_IN_ONE_READ) hash.update(await handle.readFile());
    else
      for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

export const isPng = (name: string) => name.toLowerCase().endsWith('.png');

/** `logos/a b.png` -> `logos/a b.webp`. */
export function webpNameFor(pngRelative: string): string {
  return pngRelative.replace(/\.png$/i, '.webp');
}
