import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { asset, formatDuration, MaterializeResult, md } from '@dag/core';
import { BucketAccessError, type ObjectInfo } from '@dag/object-store';
import { z } from 'zod';
import { CompanyIndex, updateThumbnails } from '../lib/company-index.ts';
import { isUpToDate } from '../lib/convert-png-to-webp.ts';
import { DownloadManifest } from '../lib/download-manifest.ts';
import { EtaReporter } from '../lib/eta-reporter.ts';
import { readJsonState } from '../lib/json-state-file.ts';
import { isPng, listFiles, statOrUndefined, webpNameFor } from '../lib/local-files.ts';
import {
  type LogoHistoryRow,
  logoVersionKey,
  readLogoVersions,
  recordLogoHistory,
} from '../lib/logo-history.ts';
import { logoMetadataForUpload, readLogoMetadata } from '../lib/logo-metadata.ts';
import { mapBounded } from '../lib/map-bounded.ts';
import {
  digestOf,
  type FileDigest,
  objectMatches,
  type PublishedLogo,
  PublishedLogos,
} from '../lib/published-logos.ts';
import { retryWithBackoff } from '../lib/retry-with-backoff.ts';
import { dsDuckDb } from '../resources/ds-duckdb.ts';
import { dsFiles } from '../resources/ds-files.ts';
import { dsPostgres } from '../resources/ds-postgres.ts';
import { dsR2Source } from '../resources/ds-r2-source.ts';
import { dsR2Target } from '../resources/ds-r2-target.ts';
import { dsPng2Webp } from './ds-png2webp.ts';
import type { FailedItem } from './ds-r2-download.ts';

/** Files scanned at once: local stats and one read each for the MD5 (an occasional HEAD). */
const SCAN_CONCURRENCY = 16;

interface Item {
  rel: string;
  png: string;
  webp: string;
  md5: string;
  bytes: number;
  /** The PNG and WebP as uploaded: recorded once they are in `final/`. */
  pngDigest: FileDigest;
  webpDigest: FileDigest;
  channelId: string | null;
  brand: string | null;
  pngUrl: string;
  webpUrl: string;
  uploaded: boolean;
  error?: string;
  companyIds: string[];
}

/**
 * Publishes every converted logo: uploads PNG + WebP to the target bucket, points the matching
 * companies' `thumbnail` at the PNG's public URL (one transaction), records each logo in DuckDB
 * `ds_logo_updates`, and moves both files into `final/`.
 *
 * Every run also brings the destination back to what `final/` says is published: one listing of
 * the target bucket is compared with the recorded MD5 of each published PNG and WebP, and what
 * is missing or different there is uploaded again from `final/`; every published logo is matched
 * against `company` again (a thumbnail changed by hand is set back) and its history row is
 * written again if it is missing or out of date. A logo that cannot be uploaded again is no
 * company's thumbnail afterwards.
 *
 * Order matters for crash safety: uploads (idempotent PUTs), then the database transaction,
 * then the history, then the moves. Until a file is moved it stays pending, so a run killed at
 * any point redoes only idempotent work for it next time; the history's (file, png_md5) key
 * keeps that from duplicating rows.
 */
export const dsImgFinalize = asset(
  {
    name: 'ds_img_finalize',
    group: 'DS',
    description:
      'Moves PNG + WebP into data/images/ds/final/, uploads both to the target bucket, sets company.thumbnail to the PNG public URL and appends history to DuckDB ds_logo_updates. Re-publishes whatever the target bucket, company.thumbnail or the history lacks or holds different.',
    deps: [dsPng2Webp],
    tags: { tier: 'silver' },
    kinds: ['s3', 'postgres', 'duckdb'],
    config: z.object({
      concurrency: z.number().int().min(1).max(256).default(16),
      attempts: z.number().int().min(1).max(10).default(4),
      cacheControl: z.string().default('public, max-age=86400'),
    }),
    resources: {
      source: dsR2Source,
      target: dsR2Target,
      files: dsFiles,
      postgres: dsPostgres,
      duckdb: dsDuckDb,
    },
    io: false,
  },
  async (ctx) => {
    const started = Date.now();
    const { source, target, files, postgres, duckdb } = ctx.resources;
    // The listing of the target bucket is sent first: on a re-run with nothing new it is most of
    // the step's time, and the scan, the uploads and the other reads go on meanwhile. It is
    // compared only with logos published by earlier runs, which this run's uploads do not touch,
    // so one taken before them tells what it must.
    const targetListing = (async () => {
      const listed = new Map<string, ObjectInfo>();
      try {
        for await (const object of target.store.list()) listed.set(object.key, object);
      } catch (error) {
        throw new Error(
          `ds_img_finalize: cannot list the target bucket ${target.location} to check what is published there: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return listed;
    })();
    targetListing.catch(() => {});
    const pngDir = files.downloadDir(source.bucket);
    const webpDir = files.webpDir(target.bucket);
    const manifest = await DownloadManifest.load(files.stateDir, source.bucket);
    const convertFailures = await readJsonState<Record<string, { error: string }>>(
      path.join(files.stateDir, `convert-failures-${source.bucket}.json`),
      {},
    );

    // The scan (two stats, the manifest, and the PNG's MD5 for the history) runs for many files
    // at once; results keep the listing's order, so items stay sorted by file.
    const pngs = await listFiles(pngDir, isPng);
    const scanned: (Item | FailedItem | undefined)[] = new Array(pngs.length);
    let scanError: unknown;
    await mapBounded(
      pngs,
      SCAN_CONCURRENCY,
      async (rel, index) => {
        try {
          scanned[index] = await scanOne(rel);
        } catch (error) {
          scanError ??= error;
        }
      },
      ctx.signal,
    );
    if (scanError) throw scanError;
    if (ctx.signal.aborted)
      throw new Error('ds_img_finalize was terminated before publishing; nothing was committed.');
    const failed: FailedItem[] = [];
    const items: Item[] = [];
    for (const entry of scanned) {
      if (!entry) continue;
      if ('png' in entry) items.push(entry);
      else failed.push(entry);
    }

    /** The crawler's metadata of a logo: from the manifest, else from the source object itself. */
    async function logoMetadataOf(rel: string): Promise<{ channelId: string | null; brand: string | null }> {
      const known = manifest.get(rel);
      if (known) return { channelId: known.channelId, brand: known.brand };
      // Downloaded by hand or by an older version: the crawler's metadata is still on the object.
      const head = await source.store.head(rel).catch(() => undefined);
      return readLogoMetadata(head?.metadata ?? {});
    }

    async function scanOne(rel: string): Promise<Item | FailedItem | undefined> {
      const png = path.join(pngDir, ...rel.split('/'));
      const webp = path.join(webpDir, ...webpNameFor(rel).split('/'));
      const pngStat = await statOrUndefined(png);
      if (!pngStat) return undefined;
      if (!isUpToDate(pngStat, await statOrUndefined(webp))) {
        const why = convertFailures[rel]?.error;
        return {
          file: rel,
          error: why
            ? `not published: conversion failed: ${why}`
            : 'not published: no up-to-date WebP; run ds_png2webp first',
        };
      }
      const { channelId, brand } = await logoMetadataOf(rel);
      const pngDigest = await digestOf(png);
      return {
        rel,
        png,
        webp,
        md5: pngDigest.md5,
        bytes: pngDigest.size,
        pngDigest,
        webpDigest: await digestOf(webp),
        channelId,
        brand,
        pngUrl: target.publicUrl(rel),
        webpUrl: target.publicUrl(webpNameFor(rel)),
        uploaded: false,
        companyIds: [],
      };
    }
    ctx.log.info(`${items.length} logo(s) to publish to ${target.location}; ${failed.length} not ready.`);

    const headers = { cacheControl: ctx.config.cacheControl };
    const upload = (key: string, file: string, contentType: string, metadata: Record<string, string>) =>
      retryWithBackoff(() => target.store.uploadFile(key, file, { ...headers, contentType, metadata }), {
        attempts: ctx.config.attempts,
        signal: ctx.signal,
        isPermanent: (error) => error instanceof BucketAccessError,
      });
    const finalPath = (rel: string) => path.join(files.finalDir, ...rel.split('/'));
    const eta = new EtaReporter('uploaded', 'logos', items.length);
    await mapBounded(
      items,
      ctx.config.concurrency,
      async (item) => {
        const metadata = logoMetadataForUpload(item.channelId, item.brand);
        try {
          await upload(item.rel, item.png, 'image/png', metadata);
          await upload(webpNameFor(item.rel), item.webp, 'image/webp', metadata);
          item.uploaded = true;
        } catch (error) {
          item.error = `upload to ${target.location} failed: ${(error as Error).message}`;
        }
        eta.tick(ctx);
      },
      ctx.signal,
    );
    // Nothing is committed yet: a terminated run leaves every file pending for the next one.
    if (ctx.signal.aborted)
      throw new Error('ds_img_finalize was terminated before publishing; nothing was committed.');

    const uploaded = items.filter((i) => i.uploaded);
    const uploadedRels = new Set(uploaded.map((i) => i.rel));

    // The destination: the listing of the target bucket (sent at the step's start). Every logo
    // published earlier (in final/) whose PNG or WebP is missing there or holds other bytes is
    // uploaded again from final/.
    // The listing, what final/ holds, the company table and the history are independent reads:
    // all four at once, so a run with nothing to do waits for the slowest, not for their sum.
    const checkStarted = Date.now();
    const loadIndex = async () => {
      const client = await postgres.pool.connect();
      try {
        return await CompanyIndex.load(client);
      } finally {
        client.release();
      }
    };
    const [listed, published, index, recorded] = await Promise.all([
      targetListing,
      PublishedLogos.load(files.finalDir, files.stateDir, logoMetadataOf, ctx.signal),
      loadIndex(),
      readLogoVersions(duckdb),
    ]);
    const earlier = published.logos.filter((logo) => !uploadedRels.has(logo.rel));
    ctx.log.info(
      `Listed ${listed.size} object(s) in ${target.location} and compared them with the ${published.logos.length} logo(s) in ${files.finalDir} in ${formatDuration(Date.now() - checkStarted)}.`,
    );
    const republish: { logo: PublishedLogo; key: string; file: string; contentType: string }[] = [];
    for (const logo of earlier) {
      if (!objectMatches(listed.get(logo.rel), logo.png)) {
        republish.push({ logo, key: logo.rel, file: finalPath(logo.rel), contentType: 'image/png' });
      }
      if (!objectMatches(listed.get(logo.webpRel), logo.webp)) {
        republish.push({ logo, key: logo.webpRel, file: finalPath(logo.webpRel), contentType: 'image/webp' });
      }
    }
    const republishFailed = new Map<string, string>();
    let republished = 0;
    if (republish.length > 0) {
      ctx.log.warn(
        `${republish.length} object(s) of logos published earlier are missing from ${target.location} or differ there: uploading them again from ${files.finalDir}.`,
      );
      const again = new EtaReporter('re-published', 'objects', republish.length);
      await mapBounded(
        republish,
        ctx.config.concurrency,
        async ({ logo, key, file, contentType }) => {
          try {
            await upload(key, file, contentType, logoMetadataForUpload(logo.channelId, logo.brand));
            republished += 1;
          } catch (error) {
            republishFailed.set(
              logo.rel,
              `not published: ${key} is missing from ${target.location} or differs there, and uploading it again failed: ${(error as Error).message}`,
            );
          }
          again.tick(ctx);
        },
        ctx.signal,
      );
      if (ctx.signal.aborted)
        throw new Error('ds_img_finalize was terminated while re-publishing; nothing was committed.');
    }
    // A logo whose objects are not right in the bucket must not stay anyone's thumbnail.
    const lost = earlier.filter((logo) => republishFailed.has(logo.rel));
    const live = earlier.filter((logo) => !republishFailed.has(logo.rel));
    const urlsToClear = lost.map((logo) => target.publicUrl(logo.rel));
    for (const rel of published.incomplete) {
      if (uploadedRels.has(rel)) continue;
      ctx.log.warn(
        `final/${rel} has no up-to-date WebP beside it and its source object could not be downloaded again: not published.`,
      );
      failed.push({ file: rel, error: 'not published: its WebP in final/ is missing or older than the PNG' });
      if (!listed.has(rel)) urlsToClear.push(target.publicUrl(rel));
    }

    const thumbnails = new Map<string, string>();
    const matchedBy = { channel_id: 0, name: 0 };
    // Every logo published earlier is matched again too, so a company added since then gets its
    // thumbnail without a re-crawl, and a thumbnail changed by hand is set back.
    const earlierRows: LogoHistoryRow[] = [];
    const earlierRow = (
      logo: PublishedLogo,
      outcome: Pick<LogoHistoryRow, 'companyId' | 'pngUrl' | 'webpUrl' | 'status' | 'error'>,
    ): LogoHistoryRow => ({
      runId: ctx.runId,
      file: logo.rel,
      pngMd5: logo.png.md5,
      channelId: logo.channelId,
      brand: logo.brand,
      bytes: logo.png.size,
      processedAt: new Date(),
      ...outcome,
    });
    for (const logo of live) {
      const match = index.match(logo.channelId, logo.brand);
      const pngUrl = target.publicUrl(logo.rel);
      if (match) for (const id of match.ids) thumbnails.set(id, pngUrl);
      earlierRows.push(
        earlierRow(logo, {
          companyId: match ? match.ids.join(',') : null,
          pngUrl,
          webpUrl: target.publicUrl(logo.webpRel),
          status: match ? 'updated' : 'unmatched',
          error: match ? null : unmatchedMessage(logo.channelId, logo.brand, index),
        }),
      );
    }
    for (const logo of lost) {
      const error = republishFailed.get(logo.rel) ?? 'not published';
      failed.push({ file: logo.rel, error });
      ctx.log.error(`Failed: ${logo.rel}: ${error}`);
      earlierRows.push(
        earlierRow(logo, { companyId: null, pngUrl: null, webpUrl: null, status: 'upload_failed', error }),
      );
    }
    // This run's logos win over earlier ones; sorted by file, so when two logos match one
    // company the choice is the same every run.
    for (const item of uploaded) {
      const match = index.match(item.channelId, item.brand);
      if (!match) continue;
      item.companyIds = match.ids;
      matchedBy[match.rule] += 1;
      for (const id of match.ids) thumbnails.set(id, item.pngUrl);
    }
    let companiesChanged: number;
    try {
      companiesChanged = await updateThumbnails(postgres.pool, index, thumbnails, urlsToClear);
    } catch (error) {
      throw new Error(
        `ds_img_finalize: updating company.thumbnail in ${postgres.location} failed; nothing was changed (one transaction) and every file stays pending for the next run.`,
        { cause: error },
      );
    }

    const now = new Date();
    const rows: LogoHistoryRow[] = items.map((item) => ({
      runId: ctx.runId,
      file: item.rel,
      pngMd5: item.md5,
      channelId: item.channelId,
      brand: item.brand,
      companyId: item.companyIds.length > 0 ? item.companyIds.join(',') : null,
      pngUrl: item.uploaded ? item.pngUrl : null,
      webpUrl: item.uploaded ? item.webpUrl : null,
      status: !item.uploaded ? 'upload_failed' : item.companyIds.length > 0 ? 'updated' : 'unmatched',
      error:
        item.error ??
        (item.uploaded && item.companyIds.length === 0
          ? unmatchedMessage(item.channelId, item.brand, index)
          : null),
      bytes: item.bytes,
      processedAt: now,
    }));
    // The history of every published logo says what is true now: a row that is missing, or
    // that names other companies, URLs or status, is written again; rows already right are
    // left as they are (their run id and time stay those of the run that wrote them).
    const repaired = earlierRows.filter((row) => {
      const was = recorded.get(logoVersionKey(row.file, row.pngMd5));
      return (
        !was ||
        was.companyId !== row.companyId ||
        was.pngUrl !== row.pngUrl ||
        was.webpUrl !== row.webpUrl ||
        was.status !== row.status
      );
    });
    await recordLogoHistory(duckdb, [...repaired, ...rows]);
    if (repaired.length > 0) {
      ctx.log.info(
        `${repaired.length} history row(s) of logos published earlier were missing or out of date (e.g. a company was added): written again.`,
      );
    }

    // Published files leave the working folders; failed uploads stay pending and are retried.
    const finalWebps: string[] = [];
    for (const item of uploaded) {
      const finalPng = finalPath(item.rel);
      const finalWebp = finalPath(webpNameFor(item.rel));
      await mkdir(path.dirname(finalPng), { recursive: true });
      await rename(item.webp, finalWebp);
      await rename(item.png, finalPng);
      finalWebps.push(finalWebp);
      published.set({
        rel: item.rel,
        webpRel: webpNameFor(item.rel),
        png: item.pngDigest,
        webp: item.webpDigest,
        channelId: item.channelId,
        brand: item.brand,
      });
    }
    await published.save();
    if (items.length === 0 && republish.length === 0 && repaired.length === 0 && companiesChanged === 0) {
      ctx.log.info(
        `Nothing to publish: ${target.location}, company.thumbnail and ds_logo_updates already hold all ${live.length} published logo(s).`,
      );
    }

    for (const row of rows) {
      if (row.status !== 'updated') {
        failed.push({ file: row.file, error: row.error ?? row.status });
        ctx.log.warn(`Failed: ${row.file}: ${row.error ?? row.status}`);
      }
    }
    failed.sort((a, b) => (a.file < b.file ? -1 : 1));
    const companiesMatched = thumbnails.size;
    const metadata = {
      'companies updated': md.int(companiesChanged),
      'companies matched': md.int(companiesMatched),
      'files processed': md.int(uploaded.length),
      'failed items': md.int(failed.length),
      ...(failed.length > 0
        ? { 'failed items (table)': md.table(failed.slice(0, 200).map((f) => ({ ...f }))) }
        : {}),
      'objects republished': md.int(republished),
      'target objects checked': md.int(listed.size),
      'history rows repaired': md.int(repaired.length),
      'matched by channel id': md.int(matchedBy.channel_id),
      'matched by name': md.int(matchedBy.name),
      ...(finalWebps.length > 0
        ? { preview: md.images(finalWebps.slice(0, 8).map((src) => ({ src, alt: path.basename(src) }))) }
        : {}),
      ...(uploaded[0] ? { 'sample public URL': md.url(uploaded[0].pngUrl) } : {}),
      duration: md.duration(Date.now() - started),
      'final folder': md.path(files.finalDir),
      'target bucket': md.text(target.location),
      postgres: md.text(postgres.location),
      duckdb: md.path(duckdb.path),
    };
    if (items.length > 0 && uploaded.length === 0) {
      ctx.addMetadata(metadata);
      throw new Error(
        `ds_img_finalize: none of the ${items.length} logo(s) could be uploaded to ${target.location}; first error: ${items[0]?.error}`,
      );
    }
    if (republish.length > 0 && republished === 0) {
      ctx.addMetadata(metadata);
      throw new Error(
        `ds_img_finalize: ${republish.length} object(s) missing from ${target.location} or different there could not be uploaded again; their logos are no one's thumbnail now. First error: ${lost[0]?.rel}: ${republishFailed.get(lost[0]?.rel ?? '')}`,
      );
    }
    return new MaterializeResult({ metadata });
  },
);

function unmatchedMessage(channelId: string | null, brand: string | null, index: CompanyIndex): string {
  const what = [
    index.hasChannelColumn && channelId ? `naver_channel_id = ${channelId}` : undefined,
    brand ? `name = ${JSON.stringify(brand)}` : undefined,
  ].filter(Boolean);
  if (what.length === 0) {
    return 'unmatched: the object has no channel id or brand metadata, so no company can be matched';
  }
  return `unmatched: no company with ${what.join(' or ')} (names compared NFC, trimmed, case-folded); the logo is published but no thumbnail was set`;
}
