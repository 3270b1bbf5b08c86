import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A well-formed PNG header claiming `width` × `height` RGB pixels, with a tiny IDAT: a few
 * hundred bytes on disk that would need gigabytes once decoded (a decompression bomb's shape).
 */
export function hugePngHeader(width = 20_000, height = 20_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(width * 3 + 1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export async function jpegBytes(): Promise<Buffer> {
  return await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .jpeg()
    .toBuffer();
}

/** A PNG whose compressed pixel data is overwritten with garbage (the magic and header stay valid). */
export function corruptPng(valid: Buffer): Buffer {
  const out = Buffer.from(valid);
  const idat = out.indexOf('IDAT', 0, 'latin1');
  for (let i = idat + 8; i < Math.min(out.length - 16, idat + 200); i++) out[i] = (i * 31) & 0xff;
  return out;
}

/** The first part of a PNG only, as an interrupted transfer leaves it. */
export function truncatedPng(valid: Buffer): Buffer {
  return valid.subarray(0, Math.floor(valid.length * 0.6));
}
