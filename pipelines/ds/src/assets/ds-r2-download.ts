import { type Stats, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { asset, MaterializeResult, md } from '@dag/core';
import { BucketAccessError, type ObjectInfo, ObjectStoreError } from '@dag/object-store';
import { z } from 'zod';
import { isUpToDate } from '../lib/convert-png-to-webp.ts';
import { DownloadManifest } from '../lib/download-manifest.ts';
import { EtaReporter } from '../lib/eta-reporter.ts';
import { isPng, md5OfFile, removeStaleTempFiles, webpNameFor } from '../lib/local-files.ts';
import { localPathForKey } from '../lib/local-path-for-key.ts';
import { type LogoHistoryRow, recordLogoHistory } from '../lib/logo-history.ts';
import { readLogoMetadata } from '../lib/logo-metadata.ts';
import { mapBounded } from '../lib/map-bounded.ts';
import { retryWithBackoff } from '../lib/retry-with-backoff.ts';
import { dsDuckDb } from '../resources/ds-duckdb.ts';
import { dsFiles } from '../resources/ds-files.ts';
import { dsR2Source } from '../resources/ds-r2-source.ts';
import { dsImgR2Docker } from './ds-img-r2-docker.ts';
import { dsImgR2Node } from './ds-img-r2-node.ts';

export interface FailedItem {
  file: string;
  error: string;
}

/** An etag that is the object's MD5 (single-part uploads); multipart etags end in `-<parts>`. */
const MD5_ETAG = /^[0-9a-f]{32}$/;

/** Errors no retry can fix: the bucket is unusable, or the key is invalid. */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof BucketAccessError ||
    (error instanceof ObjectStoreError && /Invalid object key/.test(error.message))
  );
}

/**
 * Downloads every PNG of the source bucket into `<dataDir>/<source-bucket>/`, keeping the
 * object keys as relative paths. An object is skipped when the manifest has the same size and
 * etag and the local copy still holds its bytes (waiting in the download folder, or published
 * in `final/` with its WebP); a copy that is gone or differs is downloaded again. Each download is atomic (temp file, then rename) and retried with backoff; the
 * crawler's metadata (channel id, brand) comes from the GET's response headers, so an object
 * costs one request.
 */
export const dsR2Download = asset(
  {
    name: 'ds_r2_download',
    group: 'DS',
    description:
      'Downloads every PNG of the source bucket into data/images/ds/<source-bucket>/ (paginated listing, 64 in flight, one GET per object, unchanged files skipped, progress and ETA in the log).',
    deps: [dsImgR2Docker, dsImgR2Node],
    tags: { tier: 'bronze' },
    kinds: ['s3', 'png'],
    config: z.object({
      /**
       * GETs in flight. 64 hides the round trip to a remote bucket (R2 is 20–100 ms away) and
       * stays within the S3 store's 64 keep-alive sockets; measured in bench/ds/bucket-transfer.ts.
       */
      concurrency: z.number().int().min(1).max(256).default(64),
      attempts: z.number().int().min(1).max(10).default(4),
    }),
    resources: { source: dsR2Source, files: dsFiles, duckdb: dsDuckDb },
    io: false,
  },
  async (ctx) => {
    const started = Date.now();
    const { source, files, duckdb } = ctx.resources;
    const dir = files.downloadDir(source.bucket);

    ctx.log.info(`Listing PNGs in ${source.location}...`);
    // The listing is sent first: on a re-run with nothing new it is most of the step's time, and
    // everything local (the folder, the manifest, a stat of each known copy) is done meanwhile.
    // It also proves the bucket is usable; only when it fails is the bucket checked on its own,
    // since that check's error says more (missing bucket, credentials, endpoint).
    const listing = (async () => {
      const objects: ObjectInfo[] = [];
      let others = 0;
      for await (const object of source.store.list()) {
        if (isPng(object.key)) objects.push(object);
        else others += 1;
      }
      return { objects, others };
    })();
    listing.catch(() => {});
    const manifest = await DownloadManifest.load(files.stateDir, source.bucket);
    await mkdir(dir, { recursive: true });
    const stale = await removeStaleTempFiles(dir);
    if (stale > 0)
      ctx.log.warn(`Removed ${stale} temporary file(s) left by an interrupted earlier download.`);
    const local = await statLocalCopies(manifest.keys(), dir, files.finalDir);

    let listed: Awaited<typeof listing>;
    try {
      listed = await listing;
    } catch (error) {
      try {
        await source.store.headBucket();
      } catch (bucketError) {
        throw new Error(
          `ds_r2_download: the source bucket ${source.location} cannot be used: ${(bucketError as Error).message}`,
          { cause: bucketError },
        );
      }
      throw error;
    }
    const { objects, others } = listed;
    ctx.log.info(
      `${objects.length} PNG(s) in ${source.location}${others ? ` (${others} other object(s) ignored)` : ''}.`,
    );

    /**
     * Whether the object's bytes are already here: waiting in the download folder, or published
     * in `final/` with an up-to-date WebP beside it. A waiting copy is what gets converted and
     * published, so when there is one it alone decides. A copy whose mtime is not the one the
     * download left is hashed and compared with the etag (the object's MD5); one that differs is
     * downloaded again, as is a copy that is gone.
     */
    const haveLocalCopy = async (object: ObjectInfo): Promise<boolean> => {
      const known = manifest.get(object.key);
      if (!known || known.size !== object.size || known.etag !== object.etag) return false;
      const copy = local.get(object.key)?.copy;
      if (!copy) return false;
      if (copy.stats.size !== object.size) return false;
      if (known.mtimeMs !== undefined && Math.abs(copy.stats.mtimeMs - known.mtimeMs) < 1) return true;
      if (!MD5_ETAG.test(object.etag) || (await md5OfFile(copy.file)) !== object.etag) return false;
      manifest.set(object.key, { ...known, mtimeMs: copy.stats.mtimeMs });
      return true;
    };

    const failed: FailedItem[] = [];
    const history: LogoHistoryRow[] = [];
    const todo: { object: ObjectInfo; target: string }[] = [];
    let upToDate = 0;
    for (const object of objects) {
      const target = local.get(object.key)?.waitingPath ?? localPathForKey(dir, object.key);
      if (target instanceof Error) {
        failed.push({ file: object.key, error: target.message });
        continue;
      }
      if (await haveLocalCopy(object)) {
        upToDate += 1;
        continue;
      }
      todo.push({ object, target });
    }
    if (upToDate > 0) ctx.log.info(`${upToDate} PNG(s) unchanged since the last download: skipped.`);

    const eta = new EtaReporter('downloaded', 'PNGs', todo.length);
    let downloaded = 0;
    let bytes = 0;
    try {
      await mapBounded(
        todo,
        ctx.config.concurrency,
        async ({ object, target }) => {
          try {
            // The GET's own response carries the object's metadata: no HEAD per object.
            const head = await retryWithBackoff(() => source.store.download(object.key, target), {
              attempts: ctx.config.attempts,
              signal: ctx.signal,
              isPermanent,
            });
            const { channelId, brand } = readLogoMetadata(head.metadata);
            // What was downloaded, which is newer than the listing if the object changed since.
            const size = head.etag ? head.size : object.size;
            const etag = head.etag || object.etag;
            const mtimeMs = statSync(target).mtimeMs;
            manifest.set(object.key, { size, etag, channelId, brand, mtimeMs });
            downloaded += 1;
            bytes += size;
          } catch (error) {
            if (ctx.signal.aborted) return;
            const message = `download failed after ${ctx.config.attempts} attempt(s): ${(error as Error).message}`;
            failed.push({ file: object.key, error: message });
          }
          eta.tick(ctx);
        },
        ctx.signal,
      );
    } finally {
      // Whatever finished is kept, also when the run is terminated half-way.
      await manifest.save();
    }
    if (ctx.signal.aborted) throw new Error('ds_r2_download was terminated; downloads so far are kept.');

    for (const item of failed) {
      const object = objects.find((o) => o.key === item.file);
      history.push({
        runId: ctx.runId,
        file: item.file,
        pngMd5: object?.etag ?? '',
        channelId: null,
        brand: null,
        companyId: null,
        pngUrl: null,
        webpUrl: null,
        status: 'download_failed',
        error: item.error,
        bytes: object?.size ?? null,
        processedAt: new Date(),
      });
      ctx.log.error(`Failed: ${item.file}: ${item.error}`);
    }
    await recordLogoHistory(duckdb, history);

    const metadata = {
      'PNGs downloaded': md.int(downloaded),
      'PNGs in bucket': md.int(objects.length),
      'PNGs unchanged (skipped)': md.int(upToDate),
      'failed items': md.int(failed.length),
      ...(failed.length > 0
        ? { 'failed items (table)': md.table(failed.slice(0, 200).map((f) => ({ ...f }))) }
        : {}),
      'bytes downloaded': md.int(bytes),
      duration: md.duration(Date.now() - started),
      'local path': md.path(dir),
      bucket: md.text(source.location),
    };
    if (failed.length > 0 && downloaded + upToDate === 0) {
      ctx.addMetadata(metadata);
      throw new Error(
        `ds_r2_download: none of the ${objects.length} PNG(s) of ${source.location} could be downloaded; first error: ${failed[0]?.file}: ${failed[0]?.error}`,
      );
    }
    return new MaterializeResult({ metadata });
  },
);

/** A local copy of a downloaded object: waiting in the download folder, or published in `final/`. */
interface LocalCopy {
  file: string;
  stats: Stats;
}

/** Where a known key downloads to (or why it cannot), and its local copy if there is one. */
interface LocalState {
  waitingPath: string | Error;
  copy?: LocalCopy;
}

/** Stats taken per batch before the event loop is given back, so a response in flight is read in time. */
const STAT_BATCH = 256;

/**
 * The local state of each key the manifest knows. Its copy is the file waiting in the download
 * folder when there is one (it alone decides), else the PNG in `final/` when its WebP beside it
 * is up to date, else none. Synchronous stats (microseconds each, where asynchronous ones queue
 * behind libuv's pool), in batches that yield to the event loop between them.
 */
async function statLocalCopies(
  keys: Iterable<string>,
  downloadDir: string,
  finalDir: string,
): Promise<Map<string, LocalState>> {
  const states = new Map<string, LocalState>();
  let sinceYield = 0;
  for (const key of keys) {
    if (++sinceYield === STAT_BATCH) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const waitingPath = localPathForKey(downloadDir, key);
    states.set(key, { waitingPath });
    if (waitingPath instanceof Error) continue;
    const waiting = statSync(waitingPath, { throwIfNoEntry: false });
    if (waiting) {
      states.set(key, { waitingPath, copy: { file: waitingPath, stats: waiting } });
      continue;
    }
    const finalPng = path.join(finalDir, ...key.split('/'));
    const published = statSync(finalPng, { throwIfNoEntry: false });
    if (!published) continue;
    const webp = statSync(path.join(finalDir, ...webpNameFor(key).split('/')), { throwIfNoEntry: false });
    if (isUpToDate(published, webp))
      states.set(key, { waitingPath, copy: { file: finalPng, stats: published } });
  }
  return states;
}
