/**
 * One round of the pipeline's own PNG→WebP conversion, in a fresh process (so no libvips cache
 * survives between rounds).
 *
 *   node --import tsx bench/ds/png2webp-pipeline-worker.ts <in> <out> [previous] [--concurrency=N]
 *
 * It does what the `ds_png2webp` asset does between reading its config and writing metadata:
 * the same up-to-date scan (listFiles, statOrUndefined, isUpToDate), then convertPngToWebp
 * over the to-do list with mapBounded at the asset's default concurrency (or N). Then it runs the
 * same scan + conversion again over the unchanged files (the re-run) and prints both timings as
 * JSON. With `previous`, the conversion is the implementation the pipeline had before
 * (`reference/convert-png-to-webp-previous.ts`), at its default of 4 in flight.
 */
import path from 'node:path';
import {
  convertPngToWebp,
  defaultConvertConcurrency,
  isUpToDate,
} from '../../pipelines/ds/src/lib/convert-png-to-webp.ts';
import { isPng, listFiles, statOrUndefined, webpNameFor } from '../../pipelines/ds/src/lib/local-files.ts';
import { mapBounded } from '../../pipelines/ds/src/lib/map-bounded.ts';
import { timeInProcess } from './harness.ts';
import { convertPngToWebpPrevious } from './reference/convert-png-to-webp-previous.ts';

const args = process.argv.slice(2);
const [inputDir, outputDir] = args.filter((a) => !a.startsWith('--') && a !== 'previous');
if (!inputDir || !outputDir) {
  throw new Error('usage: png2webp-pipeline-worker.ts <input dir> <output dir> [previous] [--concurrency=N]');
}
const previous = args.includes('previous');
const convert = previous ? convertPngToWebpPrevious : convertPngToWebp;
const asked = Number(args.find((a) => a.startsWith('--concurrency='))?.split('=')[1]);
/** The previous asset's default was min(UV_THREADPOOL_SIZE or 4, 2 × cores) = 4 here. */
const concurrency = asked || (previous ? 4 : defaultConvertConcurrency());

async function pass(
  input: string,
  output: string,
): Promise<{ todo: number; upToDate: number; bytes: number }> {
  const pngs = await listFiles(input, isPng);
  const todo: { input: string; output: string }[] = [];
  let upToDate = 0;
  for (const rel of pngs) {
    const png = path.join(input, ...rel.split('/'));
    const webp = path.join(output, ...webpNameFor(rel).split('/'));
    const pngStat = await statOrUndefined(png);
    if (!pngStat) continue;
    if (isUpToDate(pngStat, await statOrUndefined(webp))) {
      upToDate += 1;
      continue;
    }
    todo.push({ input: png, output: webp });
  }
  let bytes = 0;
  let failed = 0;
  await mapBounded(todo, concurrency, async (item) => {
    try {
      const result = await convert(item.input, item.output, {
        quality: 80,
        maxInputPixels: 25_000_000,
      });
      bytes += result.bytes;
    } catch (error) {
      failed += 1;
      console.error(`failed: ${item.input}: ${(error as Error).message}`);
    }
  });
  if (failed > 0) throw new Error(`${failed} conversion(s) failed`);
  return { todo: todo.length, upToDate, bytes };
}

let first = { todo: 0, upToDate: 0, bytes: 0 };
const firstTime = await timeInProcess(async () => {
  first = await pass(inputDir, outputDir);
});
let second = { todo: 0, upToDate: 0, bytes: 0 };
const secondTime = await timeInProcess(async () => {
  second = await pass(inputDir, outputDir);
});
process.stdout.write(`${JSON.stringify({ concurrency, first, firstTime, second, secondTime })}\n`);
