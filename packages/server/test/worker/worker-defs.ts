import { appendFileSync, existsSync } from 'node:fs';
import { asset, Definitions, defineAssetJob } from '@dag/core';

/** A file each step appends a line to: the side-effect counter of the worker tests. */
const counter = () => process.env.WORKER_TEST_COUNTER;

export const noop = asset({ name: 'noop' }, async (ctx) => {
  const file = counter();
  if (file) appendFileSync(file, `noop ${ctx.runId}\n`);
});

/** Records that it started, then waits until the release file exists (or it is aborted). */
export const held = asset({ name: 'held' }, async (ctx) => {
  const file = counter();
  if (file) appendFileSync(file, `held-start ${ctx.runId}\n`);
  const release = process.env.WORKER_TEST_RELEASE;
  while (!(release && existsSync(release))) {
    if (ctx.signal?.aborted) throw new Error('aborted');
    await new Promise((r) => setTimeout(r, 50));
  }
  if (file) appendFileSync(file, `held-commit ${ctx.runId}\n`);
});

/** Ignores every signal it can: terminate must kill its process tree. */
export const stubborn = asset({ name: 'stubborn' }, async () => {
  process.on('SIGTERM', () => {});
  await new Promise((r) => setTimeout(r, 60_000));
});

/** A short run, so that runs overlap (tag limits). */
export const brief = asset({ name: 'brief' }, async () => {
  await new Promise((r) => setTimeout(r, 400));
});

/** A short step in the pool `wpool`, recording when it ran: pool limits across workers. */
export const pooled = asset({ name: 'pooled', pool: 'wpool' }, async (ctx) => {
  const file = counter();
  const start = Date.now();
  await new Promise((r) => setTimeout(r, 300));
  if (file) appendFileSync(file, `pooled ${ctx.runId} ${start} ${Date.now()}\n`);
});

/** A step that throws: its run fails. */
export const fails = asset({ name: 'fails' }, async () => {
  throw new Error('this step fails on purpose');
});

export const noopJob = defineAssetJob({ name: 'noop_job', selection: 'noop' });
export const heldJob = defineAssetJob({ name: 'held_job', selection: 'held' });
export const stubbornJob = defineAssetJob({ name: 'stubborn_job', selection: 'stubborn' });
export const briefJob = defineAssetJob({ name: 'brief_job', selection: 'brief' });
export const failsJob = defineAssetJob({ name: 'fails_job', selection: 'fails' });
export const pooledJob = defineAssetJob({ name: 'pooled_job', selection: 'pooled' });

export default new Definitions({
  assets: [noop, held, stubborn, brief, fails, pooled],
  jobs: [noopJob, heldJob, stubbornJob, briefJob, failsJob, pooledJob],
});
