import path from 'node:path';
import { asset, lazyRequire, MaterializeResult, md } from '@dag/core';
import type sharpModule from 'sharp';
import { z } from 'zod';
import { defaultConvertConcurrency, findStaleWebps, type StaleWebp } from '../lib/convert-png-to-webp.ts';
import { ConverterProcess } from '../lib/converter-process.ts';
import { DownloadManifest } from '../lib/download-manifest.ts';
import { EtaReporter } from '../lib/eta-reporter.ts';
import { readJsonState, writeJsonState } from '../lib/json-state-file.ts';
import { md5OfFile, removeStaleTempFiles, statOrUndefined } from '../lib/local-files.ts';
import { type LogoHistoryRow, recordLogoHistory } from '../lib/logo-history.ts';
import { mapBounded } from '../lib/map-bounded.ts';
import { dsDuckDb } from '../resources/ds-duckdb.ts';
import { dsFiles } from '../resources/ds-files.ts';
import { dsR2Source } from '../resources/ds-r2-source.ts';
import { dsR2Target } from '../resources/ds-r2-target.ts';
import type { FailedItem } from './ds-r2-download.ts';
import { dsR2Download } from './ds-r2-download.ts';

/** Loaded when previews are made, not with the definitions. */
const sharp = lazyRequire<typeof sharpModule>('sharp', import.meta.url);

/** A PNG that failed to convert, as it was then: unchanged files are not retried every run. */
interface KnownFailure {
  size: number;
  mtimeMs: number;
  error: string;
}

/**
 * Converts each downloaded PNG to WebP (quality 80) into `<dataDir>/<target-bucket>/`.
 * Skips PNGs whose WebP is up to date (the WebP carries the PNG's mtime), and PNGs that failed
 * before and have not changed since. A bad file is a failed item, never the end of the step:
 * the step fails only when there was something to convert and nothing converted.
 */
export const dsPng2Webp = asset(
  {
    name: 'ds_png2webp',
    group: 'DS',
    description:
      'Converts each downloaded PNG to WebP at quality 80 (sharp/libvips, parallel across cores) into data/images/ds/<target-bucket>/. Bad files become failed items.',
    deps: [dsR2Download],
    tags: { tier: 'silver' },
    kinds: ['webp', 'sharp'],
    config: z.object({
      quality: z.number().int().min(1).max(100).default(80),
      /** 25 megapixels: 5000 × 5000, far above any logo, far below what exhausts memory. */
      maxInputPixels: z.number().int().min(1).default(25_000_000),
      concurrency: z.number().int().min(1).max(64).optional(),
      /** Retry PNGs that failed before even if they have not changed. */
      retryFailed: z.boolean().default(false),
    }),
    resources: { source: dsR2Source, target: dsR2Target, files: dsFiles, duckdb: dsDuckDb },
    io: false,
  },
  async (ctx) => {
    const started = Date.now();
    const { source, target, files, duckdb } = ctx.resources;
    const inputDir = files.downloadDir(source.bucket);
    const outputDir = files.webpDir(target.bucket);
    if (path.resolve(inputDir) === path.resolve(outputDir)) {
      throw new Error(
        `ds_png2webp: the source and target buckets are both named '${source.bucket}', so PNGs and WebPs would share ${inputDir}; set DS_R2_SOURCE_BUCKET and DS_R2_TARGET_BUCKET to different buckets.`,
      );
    }
    await removeStaleTempFiles(outputDir);
    const failuresFile = path.join(files.stateDir, `convert-failures-${source.bucket}.json`);
    const knownFailures = await readJsonState<Record<string, KnownFailure>>(failuresFile, {});

    const { pngs, stale, upToDate } = await findStaleWebps(inputDir, outputDir);
    const todo: StaleWebp[] = [];
    const stillFailing: FailedItem[] = [];
    const nextFailures: Record<string, KnownFailure> = {};
    for (const item of stale) {
      const known = knownFailures[item.rel];
      if (
        !ctx.config.retryFailed &&
        known &&
        known.size === item.size &&
        Math.abs(known.mtimeMs - item.mtimeMs) < 1
      ) {
        stillFailing.push({
          file: item.rel,
          error: `${known.error} (unchanged since it failed; not retried)`,
        });
        nextFailures[item.rel] = known;
        continue;
      }
      todo.push(item);
    }
    const concurrency = ctx.config.concurrency ?? defaultConvertConcurrency();
    ctx.log.info(
      `${pngs} PNG(s) in ${inputDir}: ${todo.length} to convert (${concurrency} in flight), ${upToDate} up to date, ${stillFailing.length} known bad.`,
    );

    const failed: FailedItem[] = [];
    const converted: string[] = [];
    let bytesOut = 0;
    const eta = new EtaReporter('converted', 'PNGs', todo.length);
    const converter = new ConverterProcess({
      quality: ctx.config.quality,
      maxInputPixels: ctx.config.maxInputPixels,
      concurrency,
      signal: ctx.signal,
    });
    try {
      await mapBounded(
        todo,
        concurrency,
        async (item) => {
          try {
            const result = await converter.convert(item.input, item.output);
            converted.push(item.output);
            bytesOut += result.bytes;
          } catch (error) {
            // Stopped by a terminate: not the file's fault, so not remembered as a failure.
            if (ctx.signal.aborted) return;
            const message = (error as Error).message;
            failed.push({ file: item.rel, error: message });
            nextFailures[item.rel] = { size: item.size, mtimeMs: item.mtimeMs, error: message };
            ctx.log.error(`Failed: ${item.rel}: ${message}`);
          }
          eta.tick(ctx);
        },
        ctx.signal,
      );
    } finally {
      await converter.close();
    }
    await writeJsonState(failuresFile, nextFailures);
    if (ctx.signal.aborted) {
      throw new Error(
        `ds_png2webp was terminated after ${eta.done} of ${todo.length} file(s); finished WebPs are kept.`,
      );
    }

    if (failed.length > 0) {
      const manifest = await DownloadManifest.load(files.stateDir, source.bucket);
      const rows: LogoHistoryRow[] = [];
      for (const item of failed) {
        const input = path.join(inputDir, ...item.file.split('/'));
        const entry = manifest.get(item.file);
        const stats = await statOrUndefined(input);
        rows.push({
          runId: ctx.runId,
          file: item.file,
          pngMd5: await md5OfFile(input).catch(() => entry?.etag ?? ''),
          channelId: entry?.channelId ?? null,
          brand: entry?.brand ?? null,
          companyId: null,
          pngUrl: null,
          webpUrl: null,
          status: 'convert_failed',
          error: item.error,
          bytes: stats?.size ?? null,
          processedAt: new Date(),
        });
      }
      await recordLogoHistory(duckdb, rows);
    }

    converted.sort();
    const allFailed = [...failed, ...stillFailing].sort((a, b) => (a.file < b.file ? -1 : 1));
    const metadata = {
      'WebP files converted': md.int(converted.length),
      'WebP files up to date (skipped)': md.int(upToDate),
      'failed items': md.int(allFailed.length),
      ...(allFailed.length > 0
        ? { 'failed items (table)': md.table(allFailed.slice(0, 200).map((f) => ({ ...f }))) }
        : {}),
      ...(converted.length > 0 ? { preview: md.images(await previewThumbnails(converted.slice(0, 8))) } : {}),
      'WebP bytes written': md.int(bytesOut),
      quality: md.int(ctx.config.quality),
      duration: md.duration(Date.now() - started),
      'local path': md.path(outputDir),
    };
    if (todo.length > 0 && converted.length === 0) {
      ctx.addMetadata(metadata);
      throw new Error(
        `ds_png2webp: none of the ${todo.length} PNG(s) in ${inputDir} converted; first error: ${failed[0]?.file}: ${failed[0]?.error}`,
      );
    }
    return new MaterializeResult({ metadata });
  },
);

/**
 * Small inline thumbnails (data: URLs) of converted logos. Inline, because ds_img_finalize
 * moves the files into final/ right after: a path would point at nothing by the time
 * anyone looks at this materialization.
 */
async function previewThumbnails(files: string[]): Promise<{ src: string; alt: string }[]> {
  const out: { src: string; alt: string }[] = [];
  for (const file of files) {
    try {
      const thumb = await sharp()(file).resize(96, 96, { fit: 'inside' }).webp({ quality: 70 }).toBuffer();
      out.push({ src: `data:image/webp;base64,${thumb.toString('base64')}`, alt: path.basename(file) });
    } catch {
      // A preview is a convenience: a file that cannot be read again is left out.
    }
  }
  return out;
}
