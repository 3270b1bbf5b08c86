/**
 * The WebP encoder alone, sharp's, @napi-rs/image's and Pillow's, on the same decoded pixels: the corpus is
 * decoded once (by sharp) into raw files, then each side encodes every image at quality 80, one
 * image at a time on one thread, into memory. The CPU time of the encodes alone, no file I/O,
 * no PNG decoding, no process start-up: what is left is libwebp as each library ships it.
 *
 *   node --import tsx bench/ds/encode-only.ts
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Transformer } from '@napi-rs/image';
import sharp from 'sharp';
import { CORPUS, machine, median, PYTHON, runShell, writeResultsSection } from './harness.ts';

const rounds = Number(process.env.BENCH_ROUNDS) || 3;
const dir = await mkdtemp(path.join(tmpdir(), 'bench-encode-only-'));
try {
  sharp.concurrency(1);
  const names = (await readdir(CORPUS)).filter((n) => n.endsWith('.png')).sort();
  const images: { data: Buffer; rgba: Buffer; width: number; height: number; channels: 3 | 4 }[] = [];
  for (const [index, name] of names.entries()) {
    const { data, info } = await sharp(await readFile(path.join(CORPUS, name)))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const channels = info.channels as 3 | 4;
    // @napi-rs/image takes RGBA pixels only: RGB images get an opaque alpha channel, outside the
    // timed encodes (libwebp drops an alpha plane that is opaque everywhere).
    const rgba = channels === 4 ? data : await sharp(data, { raw: info }).ensureAlpha().raw().toBuffer();
    images.push({ data, rgba, width: info.width, height: info.height, channels });
    await writeFile(path.join(dir, `${index}_${info.width}_${info.height}_${channels}.raw`), data);
  }

  const sharpRound = async () => {
    const started = process.cpuUsage();
    let bytes = 0;
    for (const image of images) {
      const out = await sharp(image.data, { raw: image }).webp({ quality: 80 }).toBuffer();
      bytes += out.length;
    }
    const used = process.cpuUsage(started);
    return { cpuMs: (used.user + used.system) / 1000, bytes };
  };
  const napiRound = async () => {
    const started = process.cpuUsage();
    let bytes = 0;
    for (const image of images) {
      // The synchronous call encodes on this thread: one image at a time, like the others.
      bytes += Transformer.fromRgbaPixels(image.rgba, image.width, image.height).webpSync(80).length;
    }
    const used = process.cpuUsage(started);
    return { cpuMs: (used.user + used.system) / 1000, bytes };
  };
  const pillowRound = async () => {
    const result = await runShell(`${PYTHON} bench/ds/encode_only_pillow.py ${dir}`);
    return JSON.parse(result.stdout.trim()) as { cpuMs: number; bytes: number };
  };

  const sharpRuns: { cpuMs: number; bytes: number }[] = [];
  const napiRuns: { cpuMs: number; bytes: number }[] = [];
  const pillowRuns: { cpuMs: number; bytes: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    sharpRuns.push(await sharpRound());
    napiRuns.push(await napiRound());
    pillowRuns.push(await pillowRound());
    console.error(
      `round ${round + 1}: sharp ${(sharpRuns.at(-1)!.cpuMs / 1000).toFixed(2)} s, @napi-rs/image ${(napiRuns.at(-1)!.cpuMs / 1000).toFixed(2)} s, Pillow ${(pillowRuns.at(-1)!.cpuMs / 1000).toFixed(2)} s`,
    );
  }
  const sharpCpu = median(sharpRuns.map((r) => r.cpuMs));
  const napiCpu = median(napiRuns.map((r) => r.cpuMs));
  const pillowCpu = median(pillowRuns.map((r) => r.cpuMs));
  const napiVersion = (
    JSON.parse(await readFile(fileURLToPath(import.meta.resolve('@napi-rs/image/package.json')), 'utf8')) as {
      version: string;
    }
  ).version;
  const bytesVsSharp = (bytes: number) =>
    `${(((bytes - sharpRuns[0]!.bytes) / sharpRuns[0]!.bytes) * 100).toFixed(2)}%`;
  const versions = sharp.versions as Record<string, string>;
  // How each binary was compiled, from its machine code: -Os inlines memcpy as `rep movsb`.
  const repMovsb = async (library: string) => {
    const result = await runShell(
      `objdump -d --no-show-raw-insn "${library}" 2>/dev/null | grep -c 'rep movsb' || true`,
    );
    return Number(result.stdout.trim());
  };
  const vipsLibrary = fileURLToPath(import.meta.resolve('@img/sharp-libvips-linux-x64/binary'));
  const debianWebp = '/usr/lib/x86_64-linux-gnu/libwebp.so.7';
  const inlineCopies = { sharp: await repMovsb(vipsLibrary), debian: await repMovsb(debianWebp) };
  const body = `## WebP encoder alone, sharp vs @napi-rs/image vs Pillow, same pixels (\`bench/ds/encode-only.ts\`)

- Command: \`${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${rounds} ` : ''}node --import tsx bench/ds/encode-only.ts\`
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- The 1,000 corpus PNGs decoded once to raw pixels; then each library encodes all of them at quality 80 into memory, one at a time, on one thread. CPU of the encodes alone (no decoding, no files, no start-up); medians of ${rounds} rounds run in rotation.

| encoder | CPU (s) | output bytes | bytes vs sharp's | CPU ÷ sharp's | CPU ÷ Pillow's |
|---|---|---|---|---|---|
| sharp ${versions.sharp} (libvips ${versions.vips}, libwebp ${versions.webp}, prebuilt \`@img/sharp-libvips\`) | ${(sharpCpu / 1000).toFixed(2)} | ${sharpRuns[0]!.bytes.toLocaleString('en-US')} | 0.00% | 1.00× | ${(sharpCpu / pillowCpu).toFixed(2)}× |
| @napi-rs/image ${napiVersion} (\`Transformer.fromRgbaPixels(...).webpSync(80)\`, its own libwebp) | ${(napiCpu / 1000).toFixed(2)} | ${napiRuns[0]!.bytes.toLocaleString('en-US')} | ${bytesVsSharp(napiRuns[0]!.bytes)} | ${(napiCpu / sharpCpu).toFixed(2)}× | ${(napiCpu / pillowCpu).toFixed(2)}× |
| Pillow (Debian's libwebp) | ${(pillowCpu / 1000).toFixed(2)} | ${pillowRuns[0]!.bytes.toLocaleString('en-US')} | ${bytesVsSharp(pillowRuns[0]!.bytes)} | ${(pillowCpu / sharpCpu).toFixed(2)}× | 1.00× |

The same encoder settings give the same bytes (±0.01%), so the difference lies in the libwebp binaries themselves: sharp's is libwebp ${versions.webp} built into its libvips, Pillow's is Debian's shared library. One visible difference in how they were compiled: inline \`rep movsb\` copies, the mark of code optimised for size (\`-Os\`): ${inlineCopies.sharp.toLocaleString('en-US')} in sharp's \`libvips-cpp.so\` (libwebp is linked into it), ${inlineCopies.debian} in Debian's \`libwebp.so.7\`. On two cores a PNG → WebP conversion is this encode plus a PNG decode, so this ratio bounds how close sharp can come to Pillow's multiprocessing pool.
`;
  await writeResultsSection('encode-only', body);
  console.log(body);
} finally {
  await rm(dir, { recursive: true, force: true });
}
