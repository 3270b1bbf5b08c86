/**
 * A small code location that shows the whole definitions API: assets with deps, inputs,
 * config, resources, retries and metadata; a blocking check; an asset job; an op graph job;
 * a schedule. Run it with `npx dag -f examples/quickstart/definitions.ts materialize -s '*'`.
 */
import {
  asset,
  assetCheck,
  Definitions,
  defineAssetJob,
  graphJob,
  MaterializeResult,
  md,
  op,
  resource,
  schedule,
} from '@dag/core';
import { z } from 'zod';

/** A resource bound to environment variables; `token` is secret and never printed or stored. */
export const weather = resource({
  name: 'weather_api',
  description: 'A pretend HTTP API client.',
  config: z.object({
    baseUrl: z.string().url().default('https://weather.example'),
    token: z.string().optional(),
  }),
  env: { baseUrl: 'QUICKSTART_WEATHER_URL', token: { env: 'QUICKSTART_WEATHER_TOKEN', secret: true } },
  create: (config) => ({ baseUrl: config.baseUrl, authorized: Boolean(config.token) }),
});

export const raw = asset(
  {
    name: 'raw',
    group: 'demo',
    description: 'Readings as they arrive.',
    kinds: ['json'],
    resources: { api: weather },
  },
  async (ctx) => {
    ctx.log.info(`loading from ${ctx.resources.api.baseUrl}`);
    return [12.5, 13.1, 11.8, 14.2];
  },
);

export const clean = asset(
  {
    name: 'clean',
    group: 'demo',
    description: 'Readings above a threshold, rounded.',
    ins: { readings: raw },
    config: z.object({ threshold: z.number().default(12) }),
    retry: { maxRetries: 2, delayMs: 100 },
    tags: { tier: 'silver' },
  },
  async (ctx, { readings }) => {
    const kept = (readings as number[]).filter((r) => r >= ctx.config.threshold).map(Math.round);
    return new MaterializeResult({
      value: kept,
      metadata: {
        kept: md.int(kept.length),
        threshold: md.float(ctx.config.threshold),
        sample: md.json(kept.slice(0, 3)),
      },
    });
  },
);

export const report = asset(
  { name: 'report', group: 'demo', deps: [clean], description: 'A markdown summary.' },
  async (ctx) => {
    for (let i = 1; i <= 5; i++) ctx.progress(i, 5, `section ${i}`);
    return new MaterializeResult({
      metadata: { summary: md.markdown('## Report\n\nAll readings in range.') },
    });
  },
);

export const cleanOk = assetCheck(
  {
    name: 'clean_ok',
    asset: clean,
    severity: 'ERROR',
    blocking: true,
    description: 'At least one reading survives.',
  },
  async (ctx) => ({
    passed: Number((ctx.materializationMetadata.kept as { value?: number })?.value ?? 0) > 0,
  }),
);

const extract = op({ name: 'extract' }, async () => [1, 2, 3]);
const transform = op({ name: 'transform' }, async (_ctx, rows: number[]) => rows.map((r) => r * 10));
const load = op({ name: 'load' }, async (ctx, rows: number[]) => {
  ctx.log.info(`loaded ${rows.length} rows: ${rows.join(', ')}`);
});

export const demoJob = defineAssetJob({
  name: 'demo_job',
  selection: 'group:demo',
  description: 'Every demo asset.',
});
export const etlJob = graphJob(
  { name: 'etl_job', description: 'An op graph: load(transform(extract())).' },
  () => load(transform(extract())),
);

export default new Definitions({
  assets: [raw, clean, report],
  assetChecks: [cleanOk],
  jobs: [demoJob, etlJob],
  schedules: [schedule({ name: 'demo_daily', cron: '0 2 * * *', timezone: 'Asia/Seoul', job: demoJob })],
});
