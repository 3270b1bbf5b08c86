import { Definitions, defineAssetJob } from '@dag/core';
import { dsImgFinalize } from './assets/ds-img-finalize.ts';
import { dsImgR2Docker } from './assets/ds-img-r2-docker.ts';
import { dsImgR2Node } from './assets/ds-img-r2-node.ts';
import { dsPng2Webp } from './assets/ds-png2webp.ts';
import { dsR2ClearSrc, dsR2ClearTgt } from './assets/ds-r2-clear.ts';
import { dsR2Download } from './assets/ds-r2-download.ts';
import { dsR2SrcCheck, dsR2TgtCheck } from './checks/ds-r2-bucket-check.ts';
import { dsDaily, dsPublishJob, dsR2SrcSensor } from './ds-automation.ts';

/**
 * The DS pipeline: brand logos from Naver Shopping Live, crawled to the R2 source bucket,
 * downloaded, converted to WebP, and published to the target bucket, `company.thumbnail`
 * (PostgreSQL) and the history in DuckDB.
 *
 *   ds_img_r2_docker ─┐
 *                     ├─> ds_r2_download ─> ds_png2webp ─> ds_img_finalize
 *   ds_img_r2_node ───┘
 *   ds_r2_clear_src, ds_r2_clear_tgt   (stand-alone, destructive)
 *
 * Automation: `ds_r2_src_sensor` runs `ds_publish_job` (ds_r2_download+) when the source
 * bucket's PNGs change; `ds_daily` runs `ds_node_job` at 02:00 Asia/Seoul (off by default).
 */
export default new Definitions({
  assets: [dsImgR2Docker, dsImgR2Node, dsR2Download, dsPng2Webp, dsImgFinalize, dsR2ClearSrc, dsR2ClearTgt],
  assetChecks: [dsR2SrcCheck, dsR2TgtCheck],
  jobs: [
    defineAssetJob({
      name: 'ds_node_job',
      description: 'Crawl with the Node crawler, then download, convert to WebP and publish.',
      selection: 'ds_img_r2_node+',
      tags: { pipeline: 'ds' },
    }),
    defineAssetJob({
      name: 'ds_docker_job',
      description: 'Crawl with the crawler image in Docker, then download, convert to WebP and publish.',
      selection: 'ds_img_r2_docker+',
      tags: { pipeline: 'ds' },
    }),
    dsPublishJob,
  ],
  schedules: [dsDaily],
  sensors: [dsR2SrcSensor],
});
