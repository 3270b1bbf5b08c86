import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type AtomicSource = Buffer | Readable | { copyFrom: string };

/**
 * Writes `filePath` so that readers see either the old file or the complete new one: the bytes go
 * to a temporary file in the same directory (same filesystem, so `rename` is atomic) and the
 * temporary file is removed on any failure.
 *
 * Folders are created when missing. For a Buffer or a copy that costs nothing when they exist
 * (the write is tried first, and the folders created only when it fails with ENOENT), which
 * matters when thousands of small files go into one folder; a stream cannot be replayed, so
 * its folders are created up front.
 */
export async function writeFileAtomically(
  filePath: string,
  source: AtomicSource,
  tempDir?: string,
): Promise<void> {
  const dir = tempDir ?? dirname(filePath);
  const temp = join(dir, `.${basename(filePath)}.${randomBytes(6).toString('hex')}.part`);
  const makeDirs = async () => {
    await mkdir(dirname(filePath), { recursive: true });
    if (tempDir) await mkdir(tempDir, { recursive: true });
  };
  try {
    if (Buffer.isBuffer(source) || 'copyFrom' in source) {
      const write = () =>
        Buffer.isBuffer(source) ? writeFile(temp, source, { flag: 'wx' }) : copyFile(source.copyFrom, temp);
      try {
        await write();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // A missing folder, or (for a copy) a missing source: a second ENOENT is the latter.
        await makeDirs();
        await write();
      }
    } else {
      await makeDirs();
      await pipeline(source, createWriteStream(temp, { flags: 'wx' }));
    }
    try {
      await rename(temp, filePath);
    } catch (error) {
      // The temporary file may live elsewhere (`tempDir`): the target's folder can still be missing.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await makeDirs();
      await rename(temp, filePath);
    }
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
