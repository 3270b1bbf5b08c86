/**
 * The runs list API over 100,000 stored runs (target < 200 ms per page). From the repository root:
 *
 *   node --import tsx bench/ui/runs-api.ts [--runs 100000] [--repeat 15] [--dry]
 *
 * Starts an embedded PostgreSQL in a temporary folder (or uses DAG_BENCH_POSTGRES_URL, an
 * admin URL, to create a fresh database there), inserts the runs with batched INSERTs (5
 * jobs, mixed statuses, tags, 200 days of history), then calls `GET /api/runs` in-process
 * (`app.request`, no port) and reports medians of `--repeat` calls for: the first page,
 * a page halfway down and the last page (reached by following `nextCursor`), and the first
 * and a deep page filtered by status and by job. Also walks every page once through the
 * cursor chain. Writes the `ui-runs-api` section of bench/RESULTS.md (not with --dry).
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DagInstance,
  ensureEmbeddedPostgres,
  type PostgresStorage,
  stopEmbeddedPostgres,
  Workspace,
  withDatabase,
} from '@dag/core';
import { createApp, type Launcher } from '@dag/server';
import pg from 'pg';
import { machine, median, writeResultsSection } from '../ds/harness.ts';

const TARGET_MS = 200;
const BATCH = 2000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const runCount = arg('runs', 100_000);
const repeat = arg('repeat', 15);
const JOBS = [
  'ds_node_job',
  'ds_docker_job',
  'sync_customer',
  'create_product_notification_event',
  '__ASSET_JOB',
];

/** The API never launches anything here. */
const idleLauncher: Launcher = {
  launch: () => Promise.reject(new Error('not in this benchmark')),
  terminate: async () => ({ outcome: 'unknown' }),
  logFile: (runId) => path.join(tmpdir(), `${runId}.log`),
  close: async () => {},
};

async function insertRuns(storage: PostgresStorage, count: number): Promise<number> {
  const started = Date.now();
  const now = Date.now();
  const span = 200 * 86_400_000;
  for (let offset = 0; offset < count; offset += BATCH) {
    const n = Math.min(BATCH, count - offset);
    const cols = {
      id: [] as string[],
      job: [] as string[],
      status: [] as string[],
      selection: [] as string[],
      config: [] as string[],
      tags: [] as string[],
      created: [] as string[],
      ended: [] as string[],
    };
    const tagRows: { run: string[]; key: string[]; value: string[] } = { run: [], key: [], value: [] };
    for (let i = 0; i < n; i++) {
      const k = offset + i;
      const runId = randomUUID();
      const job = JOBS[k % JOBS.length]!;
      const r = (k * 2_654_435_761) % 100;
      const status = r < 85 ? 'SUCCESS' : r < 97 ? 'FAILURE' : 'CANCELED';
      const created = now - span + Math.floor((span * k) / count);
      const tags: Record<string, string> =
        k % 3 === 0 ? { 'dag/schedule': `${job}_schedule` } : { who: 'bench' };
      cols.id.push(runId);
      cols.job.push(job);
      cols.status.push(status);
      cols.selection.push(
        JSON.stringify(['ds_img_r2_node', 'ds_r2_download', 'ds_png2webp', 'ds_img_finalize']),
      );
      cols.config.push(JSON.stringify({ ops: { ds_png2webp: { config: { quality: 80 } } }, resources: {} }));
      cols.tags.push(JSON.stringify(tags));
      cols.created.push(new Date(created).toISOString());
      cols.ended.push(new Date(created + 60_000 + (k % 600) * 1000).toISOString());
      for (const [key, value] of Object.entries(tags)) {
        tagRows.run.push(runId);
        tagRows.key.push(key);
        tagRows.value.push(value);
      }
    }
    await storage.pool.query(
      `INSERT INTO runs (run_id, job_name, location, status, asset_selection, run_config, tags,
                         created_at, updated_at, started_at, ended_at)
       SELECT id, job, 'ds', status, sel::jsonb, cfg::jsonb, tg::jsonb, created, ended, created, ended
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
         AS t(id, job, status, sel, cfg, tg, created, ended)`,
      [cols.id, cols.job, cols.status, cols.selection, cols.config, cols.tags, cols.created, cols.ended],
    );
    await storage.pool.query(
      'INSERT INTO run_tags (run_id, key, value) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
      [tagRows.run, tagRows.key, tagRows.value],
    );
  }
  await storage.pool.query('ANALYZE runs; ANALYZE run_tags');
  return Date.now() - started;
}

interface Page {
  runs: { runId: string }[];
  nextCursor: string | null;
}

async function main(): Promise<void> {
  const home = await mkdtemp(path.join(tmpdir(), 'dag-bench-runs-'));
  await chmod(home, 0o755);
  let adminUrl = process.env.DAG_BENCH_POSTGRES_URL;
  const embedded = !adminUrl;
  if (!adminUrl) adminUrl = (await ensureEmbeddedPostgres(home)).url;
  const dbName = `bench_runs_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const instance = await DagInstance.open({ home, postgresUrl: withDatabase(adminUrl, dbName) });
  try {
    const storage = instance.storage as PostgresStorage;
    console.error(`inserting ${runCount.toLocaleString('en-US')} runs...`);
    const insertMs = await insertRuns(storage, runCount);
    console.error(`inserted in ${(insertMs / 1000).toFixed(1)} s`);

    const workspace = new Workspace([], 'bench');
    const app = createApp({ workspace, instance, launcher: idleLauncher });
    const get = async (query: string): Promise<{ ms: number; page: Page }> => {
      const t = performance.now();
      const res = await app.request(`http://localhost/api/runs${query}`);
      const page = (await res.json()) as Page;
      const ms = performance.now() - t;
      if (res.status !== 200) throw new Error(`GET /api/runs${query}: ${res.status} ${JSON.stringify(page)}`);
      return { ms, page };
    };
    const timed = async (query: string) => {
      await get(query); // warm-up
      const times: number[] = [];
      for (let i = 0; i < repeat; i++) times.push((await get(query)).ms);
      return { median: median(times), max: Math.max(...times) };
    };

    // Walk the whole cursor chain once (50 per page), keeping cursors to re-time deep pages.
    const cursors: string[] = [];
    const walk: number[] = [];
    let cursor: string | null = null;
    let seen = 0;
    const walkStarted = Date.now();
    do {
      const { ms, page }: { ms: number; page: Page } = await get(
        `?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      walk.push(ms);
      seen += page.runs.length;
      cursor = page.nextCursor;
      if (cursor) cursors.push(cursor);
    } while (cursor);
    const walkMs = Date.now() - walkStarted;
    if (seen !== runCount) throw new Error(`the cursor walk saw ${seen} runs, expected ${runCount}`);

    const middle = cursors[Math.floor(cursors.length / 2)]!;
    const last = cursors[cursors.length - 1]!;
    const failurePages: string[] = [];
    let fc: string | null = null;
    for (let i = 0; i < 100; i++) {
      const { page }: { page: Page } = await get(
        `?status=FAILURE&limit=50${fc ? `&cursor=${encodeURIComponent(fc)}` : ''}`,
      );
      fc = page.nextCursor;
      if (!fc) break;
      failurePages.push(fc);
    }
    const jobPages: string[] = [];
    let jc: string | null = null;
    for (let i = 0; i < 200; i++) {
      const { page }: { page: Page } = await get(
        `?job=sync_customer&limit=50${jc ? `&cursor=${encodeURIComponent(jc)}` : ''}`,
      );
      jc = page.nextCursor;
      if (!jc) break;
      jobPages.push(jc);
    }

    const rows: [string, string, { median: number; max: number }][] = [
      ['first page', '`?limit=50`', await timed('?limit=50')],
      [
        `page ${Math.floor(cursors.length / 2) + 2} of ${cursors.length + 1} (halfway)`,
        '`?limit=50&cursor=…`',
        await timed(`?limit=50&cursor=${encodeURIComponent(middle)}`),
      ],
      [
        `last page (${cursors.length + 1})`,
        '`?limit=50&cursor=…`',
        await timed(`?limit=50&cursor=${encodeURIComponent(last)}`),
      ],
      ['first page, 1,000 runs', '`?limit=1000`', await timed('?limit=1000')],
      ['status=FAILURE, first page', '`?status=FAILURE`', await timed('?status=FAILURE&limit=50')],
      [
        `status=FAILURE, page ${failurePages.length + 1}`,
        '`?status=FAILURE&cursor=…`',
        await timed(`?status=FAILURE&limit=50&cursor=${encodeURIComponent(failurePages.at(-1)!)}`),
      ],
      ['job=sync_customer, first page', '`?job=sync_customer`', await timed('?job=sync_customer&limit=50')],
      [
        `job=sync_customer, page ${jobPages.length + 1}`,
        '`?job=sync_customer&cursor=…`',
        await timed(`?job=sync_customer&limit=50&cursor=${encodeURIComponent(jobPages.at(-1)!)}`),
      ],
      ['tag who=bench, first page', '`?tag=who=bench`', await timed('?tag=who%3Dbench&limit=50')],
    ];
    const plan = await storage.pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM runs WHERE (created_at, run_id) < (now(), '') ORDER BY created_at DESC, run_id DESC LIMIT 51`,
    );
    const planLine = plan.rows.map((r) => r['QUERY PLAN'].trim()).find((l) => /Index|Seq Scan/.test(l)) ?? '';
    const worst = Math.max(...rows.map((r) => r[2].median));
    const walkSorted = [...walk].sort((a, b) => a - b);
    const p95 = walkSorted[Math.floor(walkSorted.length * 0.95)]!;

    const table = rows
      .map(([what, query, t]) => `| ${what} | ${query} | ${t.median.toFixed(1)} | ${t.max.toFixed(1)} |`)
      .join('\n');
    const body = `## bench/ui: runs list API (\`bench/ui/runs-api.ts\`)

- Command: \`node --import tsx bench/ui/runs-api.ts\` (--runs ${runCount} --repeat ${repeat})
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- Data: ${runCount.toLocaleString('en-US')} runs in a fresh database (${embedded ? 'embedded PostgreSQL' : 'DAG_BENCH_POSTGRES_URL'}), inserted with batched INSERTs of ${BATCH.toLocaleString('en-US')} in ${(insertMs / 1000).toFixed(1)} s; 5 jobs, 85% SUCCESS / 12% FAILURE / 3% CANCELED, one tag per run, 200 days of history.
- Measured: \`GET /api/runs\` called in-process (\`app.request\`, no port), from the request to the parsed JSON body (storage keyset query, JSON, redaction); median and max of ${repeat} calls after one warm-up.

| page | query | median (ms) | max (ms) |
|---|---|---|---|
${table}

Walking the whole cursor chain once (${walk.length} pages of 50, ${runCount.toLocaleString('en-US')} runs): ${(walkMs / 1000).toFixed(1)} s, median ${median(walk).toFixed(1)} ms per page, p95 ${p95.toFixed(1)} ms, max ${Math.max(...walk).toFixed(1)} ms.
Query plan of a page: \`${planLine}\`.

- Target "runs list API over 100,000 stored runs < 200 ms per page": **${worst < TARGET_MS ? 'met' : 'not met'}** (slowest median above ${worst.toFixed(1)} ms).
`;
    console.log(body);
    if (!process.argv.includes('--dry')) await writeResultsSection('ui-runs-api', body);
  } finally {
    await instance.close();
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
    if (embedded) await stopEmbeddedPostgres(home);
    await rm(home, { recursive: true, force: true });
  }
}

await main();
