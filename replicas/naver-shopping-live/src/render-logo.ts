import sharp from 'sharp';
import type { LogoFormat } from './generate-catalog.ts';
import { SeededRandom } from './seeded-random.ts';

export interface LogoRenderSpec {
  format: LogoFormat;
  animated: boolean;
  width: number;
  height: number;
  /** Picks colours and shapes; the same seed renders the same bytes. */
  seed: string;
}

const PALETTE = [
  '#03c75a',
  '#1e6fff',
  '#ff5a5f',
  '#ffb400',
  '#8e44ad',
  '#16a085',
  '#2c3e50',
  '#e67e22',
  '#d35400',
  '#c0392b',
  '#00a8e8',
  '#6c5ce7',
  '#fd79a8',
  '#00b894',
  '#222222',
  '#f5f0e6',
];

function shapes(random: SeededRandom, width: number, height: number, accent: string, frame: number): string {
  const cx = width / 2 + (frame * width) / 10;
  const cy = height / 2;
  const r = Math.min(width, height) * (0.25 + random.next() * 0.15);
  const second = random.pick(PALETTE);
  const kind = random.int(0, 3);
  const main =
    kind === 0
      ? `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${accent}"/>`
      : kind === 1
        ? `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" rx="${r / 3}" fill="${accent}"/>`
        : kind === 2
          ? `<polygon points="${cx},${cy - r} ${cx + r},${cy + r} ${cx - r},${cy + r}" fill="${accent}"/>`
          : `<polygon points="${cx},${cy - r} ${cx + r},${cy} ${cx},${cy + r} ${cx - r},${cy}" fill="${accent}"/>`;
  const dot = `<circle cx="${cx + r * 0.6}" cy="${cy - r * 0.6}" r="${r * 0.35}" fill="${second}" opacity="0.85"/>`;
  const bar = `<rect x="${width * 0.15}" y="${height * 0.82}" width="${width * 0.7}" height="${Math.max(2, height * 0.06)}" fill="${accent}"/>`;
  return main + dot + bar;
}

function svg(random: SeededRandom, spec: LogoRenderSpec, frame: number, transparent: boolean): Buffer {
  const { width, height } = spec;
  const background = transparent ? 'none' : random.pick(['#ffffff', '#ffffff', ...PALETTE]);
  const accent = random.pick(PALETTE);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
      `<rect width="100%" height="100%" fill="${background}"/>${shapes(random, width, height, accent, frame)}</svg>`,
  );
}

/**
 * Draws a logo-like picture (shapes only: text would need fonts the machine may lack) and encodes
 * it as real PNG, JPEG or GIF bytes. An animated GIF has three frames.
 */
export async function renderLogo(spec: LogoRenderSpec): Promise<Buffer> {
  const random = new SeededRandom(spec.seed);
  if (spec.format === 'gif' && spec.animated) {
    const frames = await Promise.all(
      [0, 1, 2].map((frame) =>
        sharp(svg(random.fork(frame), spec, frame, false))
          .png()
          .toBuffer(),
      ),
    );
    return sharp(frames, { join: { animated: true } })
      .gif({ delay: [300, 300, 300], loop: 0 })
      .toBuffer();
  }
  const transparent = spec.format === 'png' && random.chance(0.35);
  const image = sharp(svg(random, spec, 0, transparent));
  switch (spec.format) {
    case 'png':
      return image.png({ compressionLevel: random.int(3, 9) }).toBuffer();
    case 'jpeg':
      return image
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: random.int(70, 95) })
        .toBuffer();
    case 'gif':
      return image.gif().toBuffer();
  }
}

/** Naver's grey placeholder: a JPEG silhouette on light grey. */
export async function renderDefaultImage(): Promise<Buffer> {
  const body =
    '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240">' +
    '<rect width="240" height="240" fill="#e5e8eb"/>' +
    '<circle cx="120" cy="95" r="42" fill="#c5cad0"/>' +
    '<ellipse cx="120" cy="215" rx="80" ry="62" fill="#c5cad0"/></svg>';
  return sharp(Buffer.from(body)).flatten({ background: '#e5e8eb' }).jpeg({ quality: 85 }).toBuffer();
}
