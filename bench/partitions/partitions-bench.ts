/**
 * Partitions at 10,000: submitting a backfill until every run is queued, and the status of
 * every partition of an asset through the API. From the repository root:
 *
 *   node --import tsx bench/partitions/partitions-bench.ts [--partitions 10000] [--repeat 3] [--dry]
 *
 * Starts an embedded PostgreSQL in a temporary folder. The asset has daily partitions (UTC)
 * from 1999-01-01, exactly `--partitions` of them.
 *
 * 1. Backfill submission: `launchBackfill` (validates the selection and every key, stores the
 *    backfill), then daemon ticks (`Daemon.tick()`, no run started: maxConcurrentRuns 0) until
 *    the backfill's every partition has a QUEUED run. Timed from the launch to the last commit,
 *    `--repeat` times (a fresh backfill each time, on top of the earlier runs).
 * 2. Partition status: 90% of the partitions materialized and 2% failed, stored as the
 *    executor stores events (batches of 1,000 through `storeEvents`, which keeps the status
 *    table up to date in the same transaction); then `GET /api/assets/events/partitions`
 *    in-process (`app.request`), 15 times: median and worst.
 *
 * Writes the `partitions` section of bench/RESULTS.md (not with --dry).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  asset,
  Daemon,
  DagInstance,
  Definitions,
  dailyPartitions,
  ensureEmbeddedPostgres,
  launchBackfill,
  type NewEvent,
  stopEmbeddedPostgres,
  Workspace,
} from '@dag/core';
import { createApp, type Launcher } from '@dag/server';
import { machine, median, writeResultsSection } from '../ds/harness.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}
const COUNT = arg('partitions', 10_000);
const REPEAT = arg('repeat', 3);
const dry = process.argv.includes('--dry');

const start = Date.UTC(1999, 0, 1);
const end = new Date(start + COUNT * 86_400_000).toISOString().slice(0, 10);
const partitions = dailyPartitions({ start: '1999-01-01', end });
const events = asset({ name: 'events', partitions }, async (ctx) => ctx.partitionKey);
const definitions = new Definitions({ assets: [events] });
const location = { name: 'bench', file: 'bench.ts', definitions };

const home = await mkdtemp(path.join(tmpdir(), 'dag-partitions-bench-'));
await chmod(home, 0o755);
await ensureEmbeddedPostgres(home);
const instance = await DagInstance.open({ home });
const storage = instance.storage;

// 1. Backfill submission.
const daemon = new Daemon({
  instance,
  locations: [location],
  daemonId: 'bench',
  maxConcurrentRuns: 0,
  launch: async () => {},
});
const submissions: { launchMs: number; totalMs: number; ticks: number; queued: number }[] = [];
for (let r = 0; r < REPEAT; r++) {
  const t0 = performance.now();
  const backfill = await launchBackfill({ storage, definitions, location: 'bench', selection: 'events' });
  const launchMs = performance.now() - t0;
  let ticks = 0;
  for (;;) {
    await daemon.tick();
    ticks++;
    const b = await storage.getBackfill(backfill.backfillId);
    if ((b?.submitted ?? 0) >= COUNT || ticks > 100) break;
  }
  const totalMs = performance.now() - t0;
  const queued = await storage.countRuns({
    statuses: ['QUEUED'],
    tags: { 'dag/backfill': backfill.backfillId },
  });
  submissions.push({ launchMs, totalMs, ticks, queued });
}

// 2. Partition status of 10,000 partitions.
const keys = (await launchBackfill({ storage, definitions, selection: 'events' })).partitionKeys;
await storage.createRun({
  runId: 'bench-seed',
  jobName: '__ASSET_JOB',
  status: 'SUCCESS',
  assetSelection: ['events'],
});
const seedStart = performance.now();
const materialized = keys.filter((_, i) => i % 10 !== 0);
const failed = keys.filter((_, i) => i % 50 === 5);
for (let i = 0; i < materialized.length; i += 1000) {
  const batch: NewEvent[] = materialized.slice(i, i + 1000).map((partition) => ({
    runId: 'bench-seed',
    type: 'ASSET_MATERIALIZATION',
    assetKey: 'events',
    stepKey: 'events',
    data: { metadata: {}, partition },
  }));
  await storage.storeEvents(batch);
}
await storage.storeEvents([
  {
    runId: 'bench-failed',
    type: 'STEP_START',
    assetKey: 'events',
    stepKey: 'events',
    data: { partitions: failed },
  },
  {
    runId: 'bench-failed',
    type: 'STEP_FAILURE',
    assetKey: 'events',
    stepKey: 'events',
    data: { canceled: false, error: { name: 'Error', message: 'bench' } },
  },
]);
const seedMs = performance.now() - seedStart;

const idleLauncher: Launcher = {
  launch: () => Promise.reject(new Error('not in this benchmark')),
  terminate: async () => ({ outcome: 'unknown' }),
  logFile: (runId) => path.join(tmpdir(), `${runId}.log`),
  close: async () => {},
};
const app = createApp({ workspace: new Workspace([location], 'bench'), instance, launcher: idleLauncher });
const api: number[] = [];
let counts: Record<string, number> = {};
let bytes = 0;
for (let i = 0; i < 16; i++) {
  const t0 = performance.now();
  const res = await app.request('/api/assets/events/partitions');
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200)
    throw new Error(`GET /api/assets/events/partitions: ${res.status} ${text.slice(0, 200)}`);
  if (i === 0) {
    // The first call warms the route up (module code, the query plan); not counted.
    const body = JSON.parse(text) as { keys: string[]; counts: Record<string, number> };
    if (body.keys.length !== COUNT) throw new Error(`expected ${COUNT} partitions, got ${body.keys.length}`);
    counts = body.counts;
    bytes = text.length;
    continue;
  }
  api.push(ms);
}
const queryTimes: number[] = [];
for (let i = 0; i < 15; i++) {
  const t0 = performance.now();
  await storage.getPartitionStatuses('events');
  queryTimes.push(performance.now() - t0);
}

await instance.close();
await stopEmbeddedPostgres(home);
await rm(home, { recursive: true, force: true });

const fmt = (ms: number) => `${Math.round(ms)} ms`;
const n = COUNT.toLocaleString('en-US');
const worstSubmit = Math.max(...submissions.map((s) => s.totalMs));
const worstApi = Math.max(...api);
const command = `node --import tsx bench/partitions/partitions-bench.ts --partitions ${COUNT} --repeat ${REPEAT}`;
const body = `## Partitions: a ${n}-partition backfill, and the status of ${n} partitions (\`bench/partitions/partitions-bench.ts\`)

Command: \`${command}\` (${new Date().toISOString()}; ${machine()}; embedded PostgreSQL on the same cores).
An asset with ${n} daily partitions. **Submission** = \`launchBackfill\` (checks the selection and every key, stores the backfill) and then daemon ticks until every partition has a QUEUED run: the daemon plans the run once and inserts the runs in transactions of 1,000 that also move the backfill's cursor. **Status** = \`GET /api/assets/events/partitions\` in-process: every key and its status (one indexed read of the status table, which \`storeEvents\` keeps up to date), after ${materialized.length.toLocaleString('en-US')} materializations and ${failed.length} failures were stored in batches of 1,000 (${fmt(seedMs)} for all of them).

| measure | runs | result | target | Dagster (from the issue) |
| --- | --- | --- | --- | --- |
| submit a ${n}-partition backfill until every run is queued | ${submissions.map((s) => fmt(s.totalMs)).join(' / ')} (launch ${submissions.map((s) => fmt(s.launchMs)).join(' / ')}; ${submissions[0]!.ticks} daemon tick(s); ${submissions.map((s) => s.queued).join(' / ')} runs queued) | worst ${fmt(worstSubmit)} | < 5 s: **${worstSubmit < 5000 ? 'met' : 'not met'}** | the backfill daemon enqueues about 1 run/s (#28998): ~${Math.round(COUNT / 3600)} h for ${n}; a 2,000-partition backfill stopped its daemon (#16304) |
| partition status of ${n} partitions, API | 15 | median ${fmt(median(api))}, worst ${fmt(worstApi)} (${Math.round(bytes / 1024)} KiB of JSON; the storage read alone: median ${fmt(median(queryTimes))}) | < 300 ms: **${worstApi < 300 ? 'met' : 'not met'}** | the backfill dialog took 5.5 s for 210 partitions (#3783) and 16–18 s for 1,000 (#3459) |

Status counts returned: ${Object.entries(counts)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ')}.
`;
if (!dry) await writeResultsSection('partitions', body);
process.stdout.write(body);
