import { createHash } from 'node:crypto';
import { createReadStream, type Dirent, type Stats } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { validateObjectKey } from '@dag/object-store';

/**
 * The local file an object key maps to inside `dir`, or an Error saying why the key cannot be
 * used. Keys with `..` segments, absolute paths, backslashes or drive letters never reach the
 * file system: a hostile bucket cannot write outside the folder.
 */
export function localPathForKey(dir: string, key: string): string | Error {
  try {
    validateObjectKey(key);
  } catch (error) {
    return new Error(`unsafe object key ${JSON.stringify(key)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const root = path.resolve(dir);
  const target = path.resolve(root, ...key.split('/'));
  if (!target.startsWith(root + path.sep)) {
    return new Error(`unsafe object key ${JSON.stringify(key)}: it resolves outside ${root}`);
  }
  if (key.split('/').some((segment) => segment.startsWith('.'))) {
    return new Error(
      `unsupported object key ${JSON.stringify(key)}: a segment starts with "." (hidden files are the pipeline's own state); rename the object`,
    );
  }
  return target;
}

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

export async function md5OfFile(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const isPng = (name: string) => name.toLowerCase().endsWith('.png');

/** `logos/a b.png` -> `logos/a b.webp`. */
export function webpNameFor(pngRelative: string): string {
  return pngRelative.replace(/\.png$/i, '.webp');
}
