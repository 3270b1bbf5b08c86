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
 */
export async function writeFileAtomically(
  filePath: string,
  source: AtomicSource,
  tempDir?: string,
): Promise<void> {
  const dir = tempDir ?? dirname(filePath);
  await mkdir(dirname(filePath), { recursive: true });
  if (tempDir) await mkdir(tempDir, { recursive: true });
  const temp = join(dir, `.${basename(filePath)}.${randomBytes(6).toString('hex')}.part`);
  try {
    if (Buffer.isBuffer(source)) {
      await writeFile(temp, source, { flag: 'wx' });
    } else if ('copyFrom' in source) {
      await copyFile(source.copyFrom, temp);
    } else {
      await pipeline(source, createWriteStream(temp, { flags: 'wx' }));
    }
    await rename(temp, filePath);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
