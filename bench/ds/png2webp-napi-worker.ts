/**
 * One round of PNG → WebP (quality 80) with @napi-rs/image, for `png2webp.ts`: each PNG is read,
 * decoded and encoded by `new Transformer(png).webp(80)` (its own PNG decoder and libwebp, on
 * libuv's pool), written to `<out>/<name>.webp`, with as many in flight as the pipeline's
 * converter (`defaultConvertConcurrency()`), in this one process.
 *
 *   node --import tsx bench/ds/png2webp-napi-worker.ts <in> <out>
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { defaultConvertConcurrency } from '../../pipelines/ds/src/lib/convert-png-to-webp.ts';
import { mapBounded } from '../../pipelines/ds/src/lib/map-bounded.ts';

const [inputDir, outputDir] = process.argv.slice(2);
if (!inputDir || !outputDir) throw new Error('usage: png2webp-napi-worker.ts <input dir> <output dir>');
const names = readdirSync(inputDir).filter((n) => n.endsWith('.png'));
let bytes = 0;
await mapBounded(names, defaultConvertConcurrency(), async (name) => {
  const webp = await new Transformer(readFileSync(path.join(inputDir, name))).webp(80);
  writeFileSync(path.join(outputDir, name.replace(/\.png$/, '.webp')), webp);
  bytes += webp.length;
});
process.stdout.write(`${JSON.stringify({ files: names.length, bytes })}\n`);
