/**
 * One round of the pipeline's own PNG→WebP conversion, in a fresh process (so no libvips cache
 * survives between rounds).
 *
 *   node --import tsx bench/ds/png2webp-pipeline-worker.ts <in> <out> [inprocess] [--concurrency=N]
 *
 * It does what the `ds_png2webp` asset does between reading its config and writing metadata:
 * the same up-to-date scan (findStaleWebps), then the conversions with
 * mapBounded at the asset's default concurrency (or N), through a `ConverterProcess` as the
 * asset runs them. With `inprocess`, convertPngToWebp runs in this process instead (what the
 * asset did before it had a converter process). Prints the pass's timing and counts as JSON.
 * Run it again on the same output folder to time the re-run over unchanged files.
 */
import {
  convertPngToWebp,
  defaultConvertConcurrency,
  findStaleWebps,
} from '../../pipelines/ds/src/lib/convert-png-to-webp.ts';
import { ConverterProcess } from '../../pipelines/ds/src/lib/converter-process.ts';
import { mapBounded } from '../../pipelines/ds/src/lib/map-bounded.ts';
import { timeInProcess } from './harness.ts';

const args = process.argv.slice(2);
const [inputDir, outputDir] = args.filter((a) => !a.startsWith('--') && a !== 'inprocess');
if (!inputDir || !outputDir) {
  throw new Error(
    'usage: png2webp-pipeline-worker.ts <input dir> <output dir> [inprocess] [--concurrency=N]',
  );
}
const inProcess = args.includes('inprocess');
const concurrency =
  Number(args.find((a) => a.startsWith('--concurrency='))?.split('=')[1]) || defaultConvertConcurrency();
const options = { quality: 80, maxInputPixels: 25_000_000 };

let report = { todo: 0, upToDate: 0, bytes: 0 };
const time = await timeInProcess(async () => {
  const { stale: todo, upToDate } = await findStaleWebps(inputDir, outputDir);
  const converter = inProcess ? undefined : new ConverterProcess({ ...options, concurrency });
  const convert = (input: string, output: string) =>
    converter ? converter.convert(input, output) : convertPngToWebp(input, output, options);
  let bytes = 0;
  let failed = 0;
  try {
    await mapBounded(todo, concurrency, async (item) => {
      try {
        const result = await convert(item.input, item.output);
        bytes += result.bytes;
      } catch (error) {
        failed += 1;
        console.error(`failed: ${item.input}: ${(error as Error).message}`);
      }
    });
  } finally {
    await converter?.close();
  }
  if (failed > 0) throw new Error(`${failed} conversion(s) failed`);
  report = { todo: todo.length, upToDate, bytes };
});
process.stdout.write(`${JSON.stringify({ concurrency, ...report, time })}\n`);
