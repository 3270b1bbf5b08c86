import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { asset, MaterializeResult, md } from '@dag/core';
import { BucketAccessError } from '@dag/object-store';
import { z } from 'zod';
import { CompanyIndex, updateThumbnails } from '../lib/company-index.ts';
import { isUpToDate } from '../lib/convert-png-to-webp.ts';
import { DownloadManifest } from '../lib/download-manifest.ts';
import { EtaReporter } from '../lib/eta-reporter.ts';
import { readJsonState } from '../lib/json-state-file.ts';
import { isPng, listFiles, md5OfFile, statOrUndefined, webpNameFor } from '../lib/local-files.ts';
import { type LogoHistoryRow, readPublishedLogos, recordLogoHistory } from '../lib/logo-history.ts';
import { logoMetadataForUpload, readLogoMetadata } from '../lib/logo-metadata.ts';
import { mapBounded } from '../lib/map-bounded.ts';
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
      'Moves PNG + WebP into data/images/ds/final/, uploads both to the target bucket, sets company.thumbnail to the PNG public URL and appends history to DuckDB ds_logo_updates.',
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
      let { channelId, brand } = manifest.get(rel) ?? { channelId: null, brand: null };
      if (!manifest.get(rel)) {
        // Downloaded by hand or by an older version: the crawler's metadata is still on the object.
        const head = await source.store.head(rel).catch(() => undefined);
        ({ channelId, brand } = readLogoMetadata(head?.metadata ?? {}));
      }
      return {
        rel,
        png,
        webp,
        md5: await md5OfFile(png),
        bytes: pngStat.size,
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
    const eta = new EtaReporter('uploaded', 'logos', items.length);
    await mapBounded(
      items,
      ctx.config.concurrency,
      async (item) => {
        const metadata = logoMetadataForUpload(item.channelId, item.brand);
        const upload = (key: string, file: string, contentType: string) =>
          retryWithBackoff(() => target.store.uploadFile(key, file, { ...headers, contentType, metadata }), {
            attempts: ctx.config.attempts,
            signal: ctx.signal,
            isPermanent: (error) => error instanceof BucketAccessError,
          });
        try {
          await upload(item.rel, item.png, 'image/png');
          await upload(webpNameFor(item.rel), item.webp, 'image/webp');
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
    const client = await postgres.pool.connect();
    let index: CompanyIndex;
    try {
      index = await CompanyIndex.load(client);
    } finally {
      client.release();
    }
    const thumbnails = new Map<string, string>();
    const matchedBy = { channel_id: 0, name: 0 };
    // Logos published by earlier runs are matched again too, so a company added since then
    // gets its thumbnail without a re-crawl; their history rows change only if their match does.
    const pending = new Set(items.map((i) => i.rel));
    const earlier = (await readPublishedLogos(duckdb)).filter((row) => !pending.has(row.file));
    const rematched: LogoHistoryRow[] = [];
    for (const row of earlier) {
      const match = index.match(row.channelId, row.brand);
      if (match) for (const id of match.ids) thumbnails.set(id, row.pngUrl!);
      const companyId = match ? match.ids.join(',') : null;
      if (companyId !== row.companyId) {
        rematched.push({
          ...row,
          runId: ctx.runId,
          companyId,
          status: match ? 'updated' : 'unmatched',
          error: match ? null : unmatchedMessage(row.channelId, row.brand, index),
          processedAt: new Date(),
        });
      }
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
      companiesChanged = await updateThumbnails(postgres.pool, index, thumbnails);
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
    await recordLogoHistory(duckdb, [...rematched, ...rows]);
    if (rematched.length > 0) {
      ctx.log.info(
        `${rematched.length} logo(s) published by earlier runs changed match (e.g. a company was added).`,
      );
    }

    // Published files leave the working folders; failed uploads stay pending and are retried.
    const finalWebps: string[] = [];
    for (const item of uploaded) {
      const finalPng = path.join(files.finalDir, ...item.rel.split('/'));
      const finalWebp = path.join(files.finalDir, ...webpNameFor(item.rel).split('/'));
      await mkdir(path.dirname(finalPng), { recursive: true });
      await rename(item.webp, finalWebp);
      await rename(item.png, finalPng);
      finalWebps.push(finalWebp);
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
      'earlier logos re-matched': md.int(rematched.length),
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
