import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFile as readFileCallback,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  utimesSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type sharpModule from 'sharp';
import { isPng, listFiles, webpNameFor } from './local-files.ts';

let sharpLoaded: typeof sharpModule | undefined;
/** Loaded by the first conversion, not with the definitions (the converter process runs without @dag/core). */
function sharp(): typeof sharpModule {
  sharpLoaded ??= createRequire(import.meta.url)('sharp') as typeof sharpModule;
  return sharpLoaded;
}

export interface ConvertOptions {
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

/**
 * Files up to this size are read with synchronous calls (see `convertPngToWebp`); larger ones,
 * rare for logos, asynchronously.
 */
const SYNC_READ_LIMIT = 1024 * 1024;

/**
 * The whole file and its stat, from one open: the mtime stamped on the WebP is that of these
 * bytes. A file above `maxBytes` is refused unread.
 */
async function readInput(file: string, maxBytes: number): Promise<{ data: Buffer; stats: Stats }> {
  const fd = openSync(file, 'r');
  try {
    const stats = fstatSync(fd);
    if (stats.size > maxBytes) {
      throw new Error(
        `image too large: the file is ${stats.size.toLocaleString('en-US')} bytes, more than any PNG within the pixel limit needs (decompression-bomb guard)`,
      );
    }
    const data =
      stats.size <= SYNC_READ_LIMIT
        ? readFileSync(fd)
        : await new Promise<Buffer>((resolve, reject) =>
            readFileCallback(fd, (error, bytes) => (error ? reject(error) : resolve(bytes))),
          );
    return { data, stats };
  } finally {
    closeSync(fd);
  }
}

/**
 * The most bytes a PNG within `maxInputPixels` can reasonably take: 16-bit RGBA is 8 bytes a
 * pixel before compression, plus room for ancillary chunks. 201 MB at the default 25 MP.
 */
function maxFileBytes(maxInputPixels: number): number {
  return 8 * maxInputPixels + 1024 * 1024;
}

/**
 * Converts one PNG to WebP at `output`, atomically: the WebP is encoded into a temporary file
 * beside the output, given the PNG's mtime (the up-to-date mark), and renamed into place.
 *
 * The PNG is read once, into memory (logos are kilobytes; the pixel limit bounds what decoding
 * can cost): its signature, IEND trailer and IHDR size are checked on those bytes, and libvips
 * decodes the same buffer.
 *
 * The file calls around the encode (open, stat, read and close of a PNG up to 1 MiB, mkdir,
 * utimes, rename) are synchronous: each is microseconds of a system call on the event loop,
 * whereas an asynchronous call takes a trip through libuv's thread pool, where it waits behind
 * the encodes (sharp runs them on that same pool) and the waits leave cores idle. Measured on
 * 1,000 logos: about a quarter less wall time than with asynchronous calls (bench/ds/png2webp.ts).
 *
 * Rejected, each with an error that says why: empty files; files that are not PNG by their
 * bytes, whatever the name says (a JPEG named `.png` is refused rather than converted, since
 * the source bucket is defined to hold PNGs and the same bytes would be published as
 * `image/png`); images above `maxInputPixels` (from the IHDR before any decoding, and by
 * libvips' own `limitInputPixels` as a second guard); corrupt or truncated PNGs.
 * Encoding runs on the libuv thread pool, off the event loop.
 */
export async function convertPngToWebp(
  input: string,
  output: string,
  options: ConvertOptions,
): Promise<{ bytes: number; width: number; height: number }> {
  const { data, stats } = await readInput(input, maxFileBytes(options.maxInputPixels));
  const size = data.length;
  if (size === 0)
    throw new Error('the file is empty (0 bytes); re-crawl or delete it from the source bucket');
  const head = data.subarray(0, 64);
  const kind = sniff(head);
  if (kind !== 'PNG') {
    throw new Error(
      `not a PNG: the bytes are ${kind === 'unknown' ? 'not a known image format' : kind} (first bytes ${head.subarray(0, 8).toString('hex')}); the source bucket must hold PNGs, fix the crawler's conversion or delete the object`,
    );
  }
  if (size < PNG_END.length || !data.subarray(size - PNG_END.length).equals(PNG_END)) {
    throw new Error(
      `truncated PNG: the file (${size} bytes) ends before the PNG's closing IEND chunk, as an interrupted transfer leaves it; re-crawl it or delete it from the source bucket`,
    );
  }
  // The size is in the IHDR chunk, right after the magic: refuse a bomb before libvips sees it.
  if (size < 24 || head.subarray(12, 16).toString('latin1') !== 'IHDR') {
    throw new Error(
      'corrupt PNG, decoding failed: the IHDR header chunk does not follow the PNG signature; re-crawl it or delete it from the source bucket',
    );
  }
  const width = head.readUInt32BE(16);
  const height = head.readUInt32BE(20);
  tooLarge(width, height, options.maxInputPixels);

  const temp = path.join(
    path.dirname(output),
    `${tempPrefixFor(output)}${randomBytes(6).toString('hex')}.part`,
  );
  mkdirSync(path.dirname(output), { recursive: true });
  try {
    const info = await sharp()(data, { limitInputPixels: options.maxInputPixels, failOn: 'error' })
      .webp({ quality: options.quality })
      .toFile(temp);
    utimesSync(temp, stats.atime, stats.mtime);
    renameSync(temp, output);
    return { bytes: info.size, width, height };
  } catch (error) {
    rmSync(temp, { force: true });
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) throw new Error(`image too large: ${message}`, { cause: error });
    throw new Error(
      `corrupt PNG, decoding failed: ${message.trim()}; re-crawl it or delete it from the source bucket`,
      { cause: error },
    );
  }
}

/** Temporary files of `output` are named `<prefix><random>.part`, beside it. */
function tempPrefixFor(output: string): string {
  return `.${path.basename(output)}.`;
}

/**
 * Removes what a conversion into `output` that was cut short (its process killed) left behind.
 * Other conversions' temporary files in the same folder are left alone.
 */
export function removeTempFilesOf(output: string): void {
  const prefix = tempPrefixFor(output);
  let names: string[];
  try {
    names = readdirSync(path.dirname(output));
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.part'))
      rmSync(path.join(path.dirname(output), name), { force: true });
  }
}

function tooLarge(width: number, height: number, limit: number): void {
  if (width * height <= limit) return;
  throw new Error(
    `image too large: ${width} × ${height} = ${(width * height).toLocaleString('en-US')} pixels, above the limit of ${limit.toLocaleString('en-US')} (decompression-bomb guard; raise maxInputPixels in the ds_png2webp config if this logo is genuine)`,
  );
}

/**
 * Conversions in flight by default: two per core. Each conversion is one task on the converter
 * process's libuv pool (sized to fit them all; see `ConverterProcess`); a sharp task hands work
 * between threads (the pool thread, libvips' worker and write-behind threads) and waits at each
 * hand-off, so a second task per core keeps the core busy meanwhile. Fewer in flight leaves
 * cores idle; more only queues. Measured in bench/ds/png2webp.ts.
 */
export function defaultConvertConcurrency(): number {
  return Math.max(1, availableParallelism() * 2);
}

/** Whether `webp` was converted from the PNG as it is now (its mtime carries the PNG's). */
export function isUpToDate(
  png: { mtimeMs: number },
  webp: { mtimeMs: number; size: number } | undefined,
): boolean {
  return webp !== undefined && webp.size > 0 && Math.abs(webp.mtimeMs - png.mtimeMs) < 1;
}

/** A PNG whose WebP is missing or older than it. */
export interface StaleWebp {
  /** Slash-separated path under the input folder. */
  rel: string;
  input: string;
  output: string;
  size: number;
  mtimeMs: number;
}

/**
 * The PNGs under `inputDir` whose WebP under `outputDir` is missing or out of date, and how
 * many are up to date. The stats are synchronous: a few microseconds each, where an
 * asynchronous stat is a round trip through libuv's pool (a re-run over 1,000 unchanged files
 * took about three times as long that way).
 */
export async function findStaleWebps(
  inputDir: string,
  outputDir: string,
): Promise<{ pngs: number; stale: StaleWebp[]; upToDate: number }> {
  const pngs = await listFiles(inputDir, isPng);
  const stale: StaleWebp[] = [];
  let upToDate = 0;
  for (const rel of pngs) {
    const input = path.join(inputDir, ...rel.split('/'));
    const output = path.join(outputDir, ...webpNameFor(rel).split('/'));
    const png = statSync(input, { throwIfNoEntry: false });
    if (!png) continue;
    if (isUpToDate(png, statSync(output, { throwIfNoEntry: false }))) upToDate += 1;
    else stale.push({ rel, input, output, size: png.size, mtimeMs: png.mtimeMs });
  }
  return { pngs: pngs.length, stale, upToDate };
}
