import { appendFileSync, existsSync } from 'node:fs';
import { asset, Definitions, defineAssetJob } from '@dag/core';

/** One step that does nothing: what a run costs besides its work. */
export const noop = asset({ name: 'noop' }, async () => {});

/** Waits for BENCH_RELEASE to exist: a run still going when its worker is killed. */
export const held = asset({ name: 'held' }, async (ctx) => {
  if (process.env.BENCH_STARTED) appendFileSync(process.env.BENCH_STARTED, `${ctx.runId}\n`);
  while (!(process.env.BENCH_RELEASE && existsSync(process.env.BENCH_RELEASE))) {
    await new Promise((r) => setTimeout(r, 50));
  }
});

export default new Definitions({
  assets: [noop, held],
  jobs: [
    defineAssetJob({ name: 'noop_job', selection: 'noop' }),
    defineAssetJob({ name: 'held_job', selection: 'held' }),
  ],
});
