import { createHash } from 'node:crypto';
import sharp from 'sharp';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

/**
 * The format the bytes really are, from their magic number. Content-Type headers and extensions
 * are not trusted: the CDN serves JPEG as image/png and PNG as text/html often enough.
 */
export function detectImageFormat(bytes: Buffer): ImageFormat | undefined {
  if (
    bytes.length >= 8 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  ) {
    return 'png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 6) {
    const head = bytes.subarray(0, 6).toString('latin1');
    if (head === 'GIF87a' || head === 'GIF89a') return 'gif';
  }
  if (
    bytes.length >= 12 &&
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  ) {
    return 'webp';
  }
  return undefined;
}

export class LogoDecodeError extends Error {
  override name = 'LogoDecodeError';
}

export interface ConvertedLogo {
  png: Buffer;
  sourceFormat: ImageFormat;
  width: number;
  height: number;
  sha256: string;
}

/** Logos are small; anything larger than this many pixels is not a logo and not worth decoding. */
const MAX_INPUT_PIXELS = 40_000_000;

/**
 * Re-encodes a logo as PNG: JPEG and WebP as they are, GIF (and animated WebP) from the first frame,
 * PNG too so that every stored file is a clean, fully decodable single-frame PNG. Truncated or
 * corrupt input fails here (sharp's strictest `failOn`), never reaching the bucket.
 */
export async function convertLogo(bytes: Buffer): Promise<ConvertedLogo> {
  const sourceFormat = detectImageFormat(bytes);
  if (!sourceFormat) throw new LogoDecodeError('the bytes are not a PNG, JPEG, GIF or WebP image');
  try {
    const { data, info } = await sharp(bytes, {
      failOn: 'warning',
      pages: 1,
      page: 0,
      limitInputPixels: MAX_INPUT_PIXELS,
    })
      .png()
      .toBuffer({ resolveWithObject: true });
    return {
      png: data,
      sourceFormat,
      width: info.width,
      height: info.height,
      sha256: createHash('sha256').update(data).digest('hex'),
    };
  } catch (error) {
    throw new LogoDecodeError(
      `the ${sourceFormat.toUpperCase()} image cannot be decoded (truncated or corrupt)`,
      {
        cause: error,
      },
    );
  }
}
