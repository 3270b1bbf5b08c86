/**
 * Partitions at 10,000: submitting a backfill until every run is queued, and the status of
 * every partition of an asset through the API and the UI. From the repository root:
 *
 *   node --import tsx bench/partitions/partitions-bench.ts [--partitions 10000] [--repeat 3] [--dry] [--no-ui]
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
 * 3. The Partitions page in headless Chromium (not with --no-ui): `dag dev`'s server on a free
 *    loopback port with the built UI, `#/partitions/events` opened in a fresh browser context
 *    `--repeat` + 2 times (the first not counted). Measured in the page: from the start of the
 *    status request to the first grid cells drawn (fetch, JSON, render), and from the click on
 *    a status filter to the filtered grid drawn.
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
import { createApp, type Launcher, startServer } from '@dag/server';
import { buildUiInto } from '../../packages/ui/test/support/build-ui.ts';
import { launchChromium, newContext } from '../../packages/ui/test/support/chromium.ts';
import { machine, median, writeResultsSection } from '../ds/harness.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}
const COUNT = arg('partitions', 10_000);
const REPEAT = arg('repeat', 3);
const dry = process.argv.includes('--dry');
const withUi = !process.argv.includes('--no-ui');

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
const apiCompact: number[] = [];
let counts: Record<string, number> = {};
let bytes = 0;
let compactBytes = 0;
for (const compact of [false, true]) {
  const route = `/api/assets/events/partitions${compact ? '?format=compact' : ''}`;
  for (let i = 0; i < 16; i++) {
    const t0 = performance.now();
    const res = await app.request(route);
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`GET ${route}: ${res.status} ${text.slice(0, 200)}`);
    if (i === 0) {
      // The first call warms the route up (module code, the query plan); not counted.
      const body = JSON.parse(text) as { keys: string[]; counts: Record<string, number> };
      if (body.keys.length !== COUNT)
        throw new Error(`expected ${COUNT} partitions, got ${body.keys.length}`);
      counts = body.counts;
      if (compact) compactBytes = text.length;
      else bytes = text.length;
      continue;
    }
    (compact ? apiCompact : api).push(ms);
  }
}
const queryTimes: number[] = [];
for (let i = 0; i < 15; i++) {
  const t0 = performance.now();
  await storage.getPartitionStatusMap('events');
  queryTimes.push(performance.now() - t0);
}

// 3. The Partitions page in Chromium.
interface UiRound {
  /** Status request started -> its response ended -> first cells drawn, in page time. */
  requestMs: number;
  drawnMs: number;
  /** From the navigation's start (the page's time origin) to the first cells drawn. */
  openedMs: number;
  cells: number;
  /** Boxes of the strip, and the status request (its URL, its body's bytes). */
  boxes: number;
  url: string;
  bytes: number;
  filterMs: number;
}
const uiRounds: UiRound[] = [];
/**
 * What the measure costs in CPU, which load does not stretch: the page's main thread from the
 * status request's start to the first cells drawn (the thread time of its tasks, from a trace),
 * and this process's CPU for the whole round (the server, the storage client, the browser's driver).
 */
let cpuEstimate: { pageMs: number; nodeMs: number } | undefined;

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  tdur?: number;
  pid: number;
  tid: number;
  args?: { data?: { url?: string } };
}

/** The main thread's CPU (trace `tdur`, µs) in the window from the status request to the cells. */
function pageCpuMs(trace: { traceEvents: TraceEvent[] }, timing: { start: number; cellsAt: number }): number {
  const events = trace.traceEvents;
  const send = events.find(
    (e) => e.name === 'ResourceSendRequest' && e.args?.data?.url?.includes('/api/assets/events/partitions'),
  );
  if (!send) throw new Error('the trace has no status request');
  const end = send.ts + (timing.cellsAt - timing.start) * 1000;
  let us = 0;
  for (const e of events) {
    if (e.pid !== send.pid || e.tid !== send.tid || e.ph !== 'X' || e.name !== 'RunTask') continue;
    const from = Math.max(e.ts, send.ts);
    const to = Math.min(e.ts + (e.dur ?? 0), end);
    // A task cut by the window counts in proportion.
    if (to > from && e.dur) us += ((e.tdur ?? e.dur) * (to - from)) / e.dur;
  }
  return us / 1000;
}
if (withUi) {
  const uiDir = await buildUiInto('dag-partitions-bench-ui-');
  const server = await startServer({
    workspace: new Workspace([location], 'bench'),
    instance,
    launcher: idleLauncher,
    host: '127.0.0.1',
    port: 0,
    uiDir,
  });
  const browser = await launchChromium();
  const missing = counts.MISSING ?? 0;
  try {
    // Rounds: a warm-up, REPEAT + 1 measured, and one traced (not timed: tracing slows it).
    for (let r = 0; r < REPEAT + 3; r++) {
      const traced = r === REPEAT + 2;
      const context = await newContext(browser, { viewport: { width: 1280, height: 900 } });
      // The moment the first grid cell is in the document, seen by a MutationObserver.
      await context.addInitScript({
        content: `new MutationObserver((_, o) => {
          if (document.querySelector('.partition-cell')) { globalThis.__cellsAt = performance.now(); o.disconnect(); }
        }).observe(document, { childList: true, subtree: true });`,
      });
      const page = await context.newPage();
      if (traced)
        await browser.startTracing(page, {
          categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'],
        });
      const cpu0 = process.cpuUsage();
      await page.goto(`${server.url.replace(/\/$/, '')}/#/partitions/events`);
      await page.waitForSelector(`[data-testid="partition-grid"][data-shown="${COUNT}"] .partition-cell`, {
        timeout: 60_000,
      });
      const timing = await page.evaluate(() => {
        const entry = performance
          .getEntriesByType('resource')
          .find((e) => e.name.includes('/api/assets/events/partitions')) as PerformanceResourceTiming;
        return {
          url: entry.name,
          bytes: entry.encodedBodySize,
          start: entry.startTime,
          end: entry.responseEnd,
          cellsAt: (globalThis as unknown as { __cellsAt: number }).__cellsAt,
          cells: document.querySelectorAll('.partition-cell').length,
          boxes: document.querySelectorAll('.partition-strip button').length,
        };
      });
      const filterMs = await page.evaluate(
        (shown) =>
          new Promise<number>((resolve) => {
            const t0 = performance.now();
            (document.querySelector('button[data-filter="MISSING"]') as HTMLButtonElement).click();
            const check = () => {
              if (
                document.querySelector(
                  `[data-testid="partition-grid"][data-shown="${shown}"] .partition-cell`,
                )
              )
                resolve(performance.now() - t0);
              else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
          }),
        missing,
      );
      if (traced) {
        const cpu = process.cpuUsage(cpu0);
        cpuEstimate = {
          pageMs: pageCpuMs(JSON.parse((await browser.stopTracing()).toString('utf8')), timing),
          nodeMs: (cpu.user + cpu.system) / 1000,
        };
        await context.close();
        continue;
      }
      await context.close();
      // The first round compiles the page's code and warms the route up: not counted.
      if (r === 0) continue;
      uiRounds.push({
        requestMs: timing.end - timing.start,
        drawnMs: timing.cellsAt - timing.start,
        openedMs: timing.cellsAt,
        cells: timing.cells,
        boxes: timing.boxes,
        url: timing.url,
        bytes: timing.bytes,
        filterMs,
      });
    }
  } finally {
    await browser.close();
    await server.close();
    await rm(uiDir, { recursive: true, force: true });
  }
}

await instance.close();
await stopEmbeddedPostgres(home);
await rm(home, { recursive: true, force: true });

const fmt = (ms: number) => `${Math.round(ms)} ms`;
const n = COUNT.toLocaleString('en-US');
const worstSubmit = Math.max(...submissions.map((s) => s.totalMs));
const worstApi = Math.max(...api);
const worstUi = uiRounds.length > 0 ? Math.max(...uiRounds.map((u) => u.drawnMs)) : 0;
const cpu = process.cpuUsage();
const cpuMs = (cpu.user + cpu.system) / 1000;
const command = `node --import tsx bench/partitions/partitions-bench.ts --partitions ${COUNT} --repeat ${REPEAT}${withUi ? '' : ' --no-ui'}`;
const body = `## Partitions: a ${n}-partition backfill, and the status of ${n} partitions (\`bench/partitions/partitions-bench.ts\`)

Command: \`${command}\` (${new Date().toISOString()}; ${machine()}; embedded PostgreSQL on the same cores).
An asset with ${n} daily partitions. **Submission** = \`launchBackfill\` (checks the selection and every key, stores the backfill) and then daemon ticks until every partition has a QUEUED run: the daemon plans the run once and inserts the runs in transactions of 1,000 that also move the backfill's cursor. **Status** = \`GET /api/assets/events/partitions\` in-process: every key and its status (one indexed read of the status table, which \`storeEvents\` keeps up to date), after ${materialized.length.toLocaleString('en-US')} materializations and ${failed.length} failures were stored in batches of 1,000 (${fmt(seedMs)} for all of them).

| measure | runs | result | target | Dagster (from the issue) |
| --- | --- | --- | --- | --- |
| submit a ${n}-partition backfill until every run is queued | ${submissions.map((s) => fmt(s.totalMs)).join(' / ')} (launch ${submissions.map((s) => fmt(s.launchMs)).join(' / ')}; ${submissions[0]!.ticks} daemon tick(s); ${submissions.map((s) => s.queued).join(' / ')} runs queued) | worst ${fmt(worstSubmit)} | < 5 s: **${worstSubmit < 5000 ? 'met' : 'not met'}** | the backfill daemon enqueues about 1 run/s (#28998): ~${Math.round(COUNT / 3600)} h for ${n}; a 2,000-partition backfill stopped its daemon (#16304) |
| partition status of ${n} partitions, API | 15 | median ${fmt(median(api))}, worst ${fmt(worstApi)} (${Math.round(bytes / 1024)} KiB of JSON; the storage read alone: median ${fmt(median(queryTimes))}) | < 300 ms: **${worstApi < 300 ? 'met' : 'not met'}** | the backfill dialog took 5.5 s for 210 partitions (#3783) and 16–18 s for 1,000 (#3459) |
| the same, compact form (\`?format=compact\`, what the UI reads) | 15 | median ${fmt(median(apiCompact))}, worst ${fmt(Math.max(...apiCompact))} (${Math.round(compactBytes / 1024)} KiB of JSON) | < 300 ms: **${Math.max(...apiCompact) < 300 ? 'met' : 'not met'}** | |

${
  uiRounds.length > 0
    ? `**UI** = the Partitions page (\`#/partitions/events\`) in headless Chromium against \`dag dev\`'s server on loopback (the built UI, ${uiRounds.length} rounds after a warm-up, a fresh browser context each): from the start of the status request (\`${uiRounds[0]!.url.replace(/^https?:\/\/[^/]+/, '')}\`, ${Math.round(uiRounds[0]!.bytes / 1024)} KiB) to the first cells of the grid in the document (the request itself, its decoding, the render; the grid draws only the cells on screen: ${uiRounds[0]!.cells} of ${n}; the strip above it ${uiRounds[0]!.boxes} boxes), and from a click on the "missing" filter to the grid of the ${(counts.MISSING ?? 0).toLocaleString('en-US')} missing partitions drawn. Node's CPU time for the whole benchmark: ${Math.round(cpuMs)} ms (the browser's is not counted).

| measure | runs | result | target |
| --- | --- | --- | --- |
| partition status of ${n} partitions, UI: request start → grid drawn | ${uiRounds.map((u) => fmt(u.drawnMs)).join(' / ')} | median ${fmt(median(uiRounds.map((u) => u.drawnMs)))}, worst ${fmt(worstUi)} (of which the request: median ${fmt(median(uiRounds.map((u) => u.requestMs)))}) | < 300 ms: **${median(uiRounds.map((u) => u.drawnMs)) < 300 ? 'met' : 'not met'}** (median) |
| CPU of that, one traced round (quiet-machine estimate) | 1 | the page's main thread ${cpuEstimate ? fmt(cpuEstimate.pageMs) : '?'} from request start to grid drawn; this process (server, storage client, browser driver) ${cpuEstimate ? fmt(cpuEstimate.nodeMs) : '?'} for the whole page load | |
| the page opened (navigation start) → grid drawn | ${uiRounds.map((u) => fmt(u.openedMs)).join(' / ')} | median ${fmt(median(uiRounds.map((u) => u.openedMs)))} | |
| filter ${n} partitions by status, click → grid drawn | ${uiRounds.map((u) => fmt(u.filterMs)).join(' / ')} | median ${fmt(median(uiRounds.map((u) => u.filterMs)))} | |

`
    : ''
}Status counts returned: ${Object.entries(counts)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ')}.
`;
if (!dry) await writeResultsSection('partitions', body);
process.stdout.write(body);
