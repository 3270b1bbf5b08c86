import { createHash } from 'node:crypto';
import { defineAssetJob, schedule, sensor } from '@dag/core';
import { dsR2Source } from './resources/ds-r2-source.ts';

/** Download, convert and publish what is in the source bucket, without crawling. */
export const dsPublishJob = defineAssetJob({
  name: 'ds_publish_job',
  description: 'Download the source bucket, convert to WebP and publish (no crawl).',
  selection: 'ds_r2_download+',
  tags: { pipeline: 'ds' },
});

/**
 * A digest of the PNGs in a bucket listing: key, size and ETag of each, in key order.
 * The same listing always gives the same digest; any added, removed or changed PNG changes it.
 */
export function listingDigest(objects: { key: string; size: number; etag: string }[]): string {
  const hash = createHash('sha256');
  for (const o of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    hash.update(`${o.key}\t${o.size}\t${o.etag}\n`);
  }
  return hash.digest('hex');
}

/**
 * Requests `ds_publish_job` when PNGs in the source bucket are added, changed or removed.
 * The run key is the listing's digest, so an unchanged bucket never triggers twice (run keys
 * dedupe forever, across daemon restarts).
 */
export const dsR2SrcSensor = sensor({
  name: 'ds_r2_src_sensor',
  description: 'Publishes when PNGs in the R2 source bucket are added or changed.',
  job: dsPublishJob,
  minimumIntervalSeconds: 60,
  resources: { source: dsR2Source },
  fn: async ({ resources, cursor }) => {
    const pngs: { key: string; size: number; etag: string }[] = [];
    for await (const object of resources.source.store.list()) {
      if (object.key.toLowerCase().endsWith('.png')) pngs.push(object);
    }
    if (pngs.length === 0) return { skipReason: `no PNGs in ${resources.source.location}` };
    const digest = listingDigest(pngs);
    if (digest === cursor) return { skipReason: `${pngs.length} PNGs, unchanged since the last run` };
    return {
      runRequests: [{ runKey: `listing:${digest}`, tags: { 'ds/pngs': String(pngs.length) } }],
      cursor: digest,
    };
  },
});

/** The nightly crawl, 02:00 in Seoul. Off until started: `dag schedule start ds_daily`. */
export const dsDaily = schedule({
  name: 'ds_daily',
  description: 'Crawl and publish brand logos every night at 02:00 Asia/Seoul.',
  cron: '0 2 * * *',
  timezone: 'Asia/Seoul',
  job: 'ds_node_job',
  defaultStatus: 'STOPPED',
});
