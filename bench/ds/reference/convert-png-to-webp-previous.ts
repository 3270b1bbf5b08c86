/**
 * The pipeline's `convertPngToWebp` as it was before it read each PNG once (header check from
 * disk, sharp `metadata()`, then the conversion from the path again, plus stat and utimes), kept
 * only as the reference contender of `bench/ds/png2webp.ts`. Not used by the pipeline.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

interface ConvertOptions {
  quality: number;
  /** Decompression-bomb guard: images with more pixels are refused before they are decoded. */
  maxInputPixels: number;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A name for what the first bytes of a file are, for error messages. */
function sniff(head: Buffer): string {
  if (head.subarray(0, 8).equals(PNG_MAGIC)) return 'PNG';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'JPEG';
  if (head.subarray(0, 4).toString('latin1') === 'GIF8') return 'GIF';
  if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'WebP';
  const text = head.toString('utf8').trimStart().toLowerCase();
  if (text.startsWith('<!doctype') || text.startsWith('<html')) return 'HTML';
  return 'unknown';
}

/** The IEND chunk every complete PNG ends with: length 0, type, CRC. */
const PNG_END = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

async function readHead(file: string): Promise<{ head: Buffer; tail: Buffer; size: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(64, size));
    if (head.length > 0) await handle.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(PNG_END.length, size));
    if (tail.length > 0) await handle.read(tail, 0, tail.length, size - tail.length);
    return { head, tail, size };
  } finally {
    await handle.close();
  }
}

/**
 * Converts one PNG to WebP at `output`, atomically: the WebP is encoded into a temporary file
 * beside the output, given the PNG's mtime (the up-to-date mark), and renamed into place.
 *
 * Rejected, each with an error that says why: empty files; files that are not PNG by their
 * bytes, whatever the name says (a JPEG named `.png` is refused rather than converted, since
 * the source bucket is defined to hold PNGs and the same bytes would be published as
 * `image/png`); images above `maxInputPixels`; corrupt or truncated PNGs.
 * Encoding runs on libvips' thread pool, off the event loop.
 */
export async function convertPngToWebpPrevious(
  input: string,
  output: string,
  options: ConvertOptions,
): Promise<{ bytes: number; width: number; height: number }> {
  const { head, tail, size } = await readHead(input);
  if (size === 0)
    throw new Error('the file is empty (0 bytes); re-crawl or delete it from the source bucket');
  const kind = sniff(head);
  if (kind !== 'PNG') {
    throw new Error(
      `not a PNG: the bytes are ${kind === 'unknown' ? 'not a known image format' : kind} (first bytes ${head.subarray(0, 8).toString('hex')}); the source bucket must hold PNGs, fix the crawler's conversion or delete the object`,
    );
  }
  if (!tail.equals(PNG_END)) {
    throw new Error(
      `truncated PNG: the file (${size} bytes) ends before the PNG's closing IEND chunk, as an interrupted transfer leaves it; re-crawl it or delete it from the source bucket`,
    );
  }
  // The size is in the IHDR chunk, right after the magic: refuse a bomb before libvips sees it.
  if (head.length >= 24 && head.subarray(12, 16).toString('latin1') === 'IHDR') {
    tooLarge(head.readUInt32BE(16), head.readUInt32BE(20), options.maxInputPixels);
  }
  const decodeOptions = { limitInputPixels: options.maxInputPixels, failOn: 'error' as const };
  let width = 0;
  let height = 0;
  try {
    const meta = await sharp(input, decodeOptions).metadata();
    width = meta.width ?? 0;
    height = meta.height ?? 0;
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) throw new Error(`image too large: ${message}`, { cause: error });
    throw new Error(`unreadable PNG header (corrupt file): ${message}`, { cause: error });
  }
  tooLarge(width, height, options.maxInputPixels);
  await mkdir(path.dirname(output), { recursive: true });
  const temp = path.join(
    path.dirname(output),
    `.${path.basename(output)}.${randomBytes(6).toString('hex')}.part`,
  );
  try {
    const info = await sharp(input, decodeOptions).webp({ quality: options.quality }).toFile(temp);
    const { mtime, atime } = await stat(input);
    await utimes(temp, atime, mtime);
    await rename(temp, output);
    return { bytes: info.size, width, height };
  } catch (error) {
    await rm(temp, { force: true });
    const message = (error as Error).message;
    throw new Error(
      `corrupt PNG, decoding failed: ${message.trim()}; re-crawl it or delete it from the source bucket`,
      { cause: error },
    );
  }
}

function tooLarge(width: number, height: number, limit: number): void {
  if (width * height <= limit) return;
  throw new Error(
    `image too large: ${width} × ${height} = ${(width * height).toLocaleString('en-US')} pixels, above the limit of ${limit.toLocaleString('en-US')} (decompression-bomb guard; raise maxInputPixels in the ds_png2webp config if this logo is genuine)`,
  );
}
