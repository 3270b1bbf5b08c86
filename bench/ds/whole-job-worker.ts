/**
 * One run of the whole DS job for `bench/ds/whole-job.ts`, in a fresh process so that its peak
 * memory is the job's own. Usage: node --import tsx bench/ds/whole-job-worker.ts '<json>' with
 * { mode: 'local' | 's3', logos, root, adminUrl, s3Endpoint? }.
 *
 * Seeds the source bucket with the corpus PNGs, `logos / 1000` copies under distinct keys
 * (`logos/<copy>/<name>.png`) with the crawler's metadata (channel id, brand), and a `company`
 * table where 9 logos in 10 have their company (matched by channel id); then runs
 * `ds_publish_job` (`ds_r2_download+`: download, convert, finalize) through `executeRun` on a
 * fresh instance database, as the sensor-triggered run does. Prints one JSON line: per-step wall
 * times, finalize's phases, peak RSS of the job's processes (this one and the converter process
 * it starts) sampled every 100 ms, and this process's VmHWM from /proc/self/status. Then runs
 * the job once more over the unchanged files (the re-run: both bucket listings, the target
 * compared with what was published, company and history compared) and checks it did nothing.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DagInstance, executeRun, type RunResult, type StoredEvent, withDatabase } from '@dag/core';
import { createObjectStore, LocalObjectStore, type ObjectStore } from '@dag/object-store';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { S3RVER_ACCESS_KEY_ID } from '../../packages/object-store/test/start-s3rver.ts';
import definitions from '../../pipelines/ds/src/definitions.ts';
import { mapBounded } from '../../pipelines/ds/src/lib/map-bounded.ts';
import { COMPANY_DDL } from '../../pipelines/ds/src/resources/ds-postgres.ts';
import { CORPUS } from './harness.ts';

interface Args {
  mode: 'local' | 's3';
  logos: number;
  root: string;
  adminUrl: string;
  s3Endpoint?: string;
  /** s3rver's process id, to read its CPU time. */
  s3Pid?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const SOURCE = 'ds-logos-src';
const TARGET = 'ds-logos-tgt';

async function createDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: args.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return withDatabase(args.adminUrl, name);
}

function openStore(bucket: string): ObjectStore {
  return args.mode === 's3'
    ? createObjectStore({
        bucket,
        endpoint: args.s3Endpoint,
        accessKeyId: S3RVER_ACCESS_KEY_ID,
        secretAccessKey: 'S3RVER',
      })
    : new LocalObjectStore({ bucket, localRoot: path.join(args.root, 'buckets') });
}

/**
 * Resident memory of this process and every process it started (ds_png2webp's converter), in
 * bytes, from /proc: what the job holds at this moment.
 */
function treeRss(): number {
  const page = 4096;
  let total = process.memoryUsage().rss;
  const children = (pid: number | 'self'): number[] => {
    try {
      return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
        readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      );
    } catch {
      return [];
    }
  };
  const pending = children('self');
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    try {
      total += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * page;
    } catch {
      continue; // exited meanwhile
    }
    pending.push(...children(pid));
  }
  return total;
}

/** VmHWM / VmRSS of this process in bytes. */
async function procStatus(field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const text = await readFile('/proc/self/status', 'utf8');
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  return kb * 1024;
}

const tag = `${args.mode}_${args.logos}_${process.pid}`;
const instanceUrl = await createDatabase(`inst_${tag}`);
const dsUrl = await createDatabase(`ds_${tag}`);

// Source bucket and company rows.
const names = (await readdir(CORPUS)).filter((n) => n.endsWith('.png')).sort();
const copies = Math.ceil(args.logos / names.length);
const logos = Array.from({ length: copies }, (_, copy) => names.map((name, i) => ({ copy, name, i })))
  .flat()
  .slice(0, args.logos)
  .map(({ copy, name, i }) => ({
    key: `logos/${copy}/${name}`,
    file: path.join(CORPUS, name),
    channelId: String(1_000_000 + copy * 10_000 + i),
    brand: `${name.replace(/^\d+_|_\d+_\w+\.png$/g, '')} ${copy}`,
    hasCompany: i % 10 !== 9,
  }));
if (args.mode === 'local') {
  const { createLocalBucket } = await import('@dag/object-store');
  await createLocalBucket(path.join(args.root, 'buckets'), SOURCE);
  await createLocalBucket(path.join(args.root, 'buckets'), TARGET);
}
const source = openStore(SOURCE);
const seedStarted = performance.now();
await mapBounded(logos, 32, (logo) =>
  source.uploadFile(logo.key, logo.file, {
    contentType: 'image/png',
    metadata: { 'channel-id': logo.channelId, 'brand-name': encodeURIComponent(logo.brand) },
  }),
);
const seedMs = performance.now() - seedStarted;
const companies = new pg.Pool({ connectionString: dsUrl, max: 2 });
await companies.query(COMPANY_DDL);
const withCompany = logos.filter((l) => l.hasCompany);
await companies.query(
  `INSERT INTO company (name, naver_channel_id) SELECT * FROM unnest($1::text[], $2::text[])`,
  [withCompany.map((l) => l.brand), withCompany.map((l) => l.channelId)],
);

const instance = await DagInstance.open({ home: path.join(args.root, 'instance'), postgresUrl: instanceUrl });
const env: Record<string, string> = {
  DS_DATA_DIR: path.join(args.root, 'data'),
  DS_DUCKDB_PATH: path.join(args.root, 'ds.duckdb'),
  DS_POSTGRES_URL: dsUrl,
  DS_R2_SOURCE_BUCKET: SOURCE,
  DS_R2_TARGET_BUCKET: TARGET,
  DS_PUBLIC_URL: 'https://img.example.com/',
  ...(args.mode === 's3'
    ? {
        DS_R2_ENDPOINT: args.s3Endpoint ?? '',
        DS_R2_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
        DS_R2_SECRET_ACCESS_KEY: 'S3RVER',
      }
    : { DS_LOCAL_BUCKETS_DIR: path.join(args.root, 'buckets') }),
};

// Peak memory of the run alone: reset the kernel's high-water mark (clear_refs 5), then sample.
const hwmReset = await writeFile('/proc/self/clear_refs', '5').then(
  () => true,
  () => false,
);
let peakRss = treeRss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, treeRss());
}, 100);
const marks: Record<string, number> = {};
/**
 * BENCH_LOG=1: the steps' events and log lines on stderr, with seconds since the run's start;
 * BENCH_LOG=<file>: the same, appended to that file (whole-job.ts keeps a worker's stderr).
 */
const echo = (event: StoredEvent, at: number) => {
  const to = process.env.BENCH_LOG;
  if (!to) return;
  const line = `${(at / 1000).toFixed(3)} ${event.stepKey ?? ''} ${event.type === 'LOG' ? event.message : event.type}\n`;
  if (to === '1') process.stderr.write(line);
  else appendFileSync(to, line);
};
/**
 * CPU time (user + system) of this process and of its children that have exited (ds_png2webp's
 * converter process), in ms, from /proc/self/stat: utime, stime, cutime, cstime.
 */
function treeCpuMs(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks * 10;
}
const cpuStarted = treeCpuMs();
const started = performance.now();
let result: RunResult;
try {
  result = await executeRun({
    instance,
    definitions,
    job: 'ds_publish_job',
    env,
    location: 'ds',
    onEvent: (event) => {
      const at = performance.now() - started;
      echo(event, at);
      if (event.type === 'STEP_START' && event.stepKey) marks[`${event.stepKey}:start`] = at;
      if (event.type === 'LOG' && event.stepKey === 'ds_img_finalize') {
        if (/logo\(s\) to publish/.test(event.message)) marks['finalize:scanned'] = at;
        if (/^uploaded [\d,]+\/[\d,]+ logos \(100%\)/.test(event.message)) marks['finalize:uploaded'] = at;
      }
    },
  });
} finally {
  clearInterval(sampler);
}
const wallMs = performance.now() - started;
peakRss = Math.max(peakRss, treeRss());
const vmHwm = await procStatus('VmHWM');

// The re-run over unchanged files, destination check included: the same job again, which lists
// both buckets, compares the target's listing with what was published, re-matches every logo
// against company and compares the history, and must find nothing to do.
const cpuMs = treeCpuMs() - cpuStarted;
/** s3rver's CPU time (user + system) in ms, from /proc/<pid>/stat; undefined without it. */
function s3rverCpuMs(): number | undefined {
  if (!args.s3Pid) return undefined;
  try {
    const text = readFileSync(`/proc/${args.s3Pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
const s3rverCpuAtRerunStart = s3rverCpuMs();
const rerunCpuStarted = treeCpuMs();
const rerunStarted = performance.now();
const rerun = await executeRun({
  instance,
  definitions,
  job: 'ds_publish_job',
  env,
  location: 'ds',
  onEvent: (event) => echo(event, performance.now() - rerunStarted),
});
const rerunWallMs = performance.now() - rerunStarted;
const rerunCpuMs = treeCpuMs() - rerunCpuStarted;
const s3rverRerunCpuMs =
  s3rverCpuAtRerunStart === undefined ? undefined : (s3rverCpuMs() ?? 0) - s3rverCpuAtRerunStart;

// The floor of the re-run on this server: the same two listings (every page of the source
// bucket, then of the target bucket) and nothing else, straight through the AWS SDK.
let bareListingMs: number | undefined;
if (args.mode === 's3') {
  const { ListObjectsV2Command, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: 'auto',
    endpoint: args.s3Endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_ACCESS_KEY_ID, secretAccessKey: 'S3RVER' },
  });
  const listAll = async (bucket: string) => {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: token }),
      );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  };
  const bareStarted = performance.now();
  await listAll(SOURCE);
  await listAll(TARGET);
  bareListingMs = performance.now() - bareStarted;
  client.destroy();
}

// The outcome, checked: every logo published, the right companies updated, one history row each.
const int = (step: string, label: string, of: RunResult = result) => {
  const value = of.steps.find((s) => s.key === step)?.metadata[label];
  return value?.type === 'int' ? value.value : -1;
};
const expected = {
  downloaded: args.logos,
  converted: args.logos,
  processed: args.logos,
  companies: withCompany.length,
};
const got = {
  downloaded: int('ds_r2_download', 'PNGs downloaded'),
  converted: int('ds_png2webp', 'WebP files converted'),
  processed: int('ds_img_finalize', 'files processed'),
  companies: int('ds_img_finalize', 'companies updated'),
};
const thumbnails = Number(
  (await companies.query('SELECT count(*) AS n FROM company WHERE thumbnail IS NOT NULL')).rows[0]?.n,
);
let targetObjects = 0;
for await (const _ of openStore(TARGET).list()) targetObjects += 1;
const duck = await DuckDBInstance.create(env.DS_DUCKDB_PATH ?? '');
const connection = await duck.connect();
const history = (
  await connection.runAndReadAll(
    'SELECT count(*) AS n, count(DISTINCT (file, png_md5)) AS versions FROM ds_logo_updates',
  )
).getRowObjectsJS()[0];
connection.closeSync();
duck.closeSync();
await companies.end();
await instance.close();

const problems: string[] = [];
if (result.status !== 'SUCCESS') problems.push(`run ${result.status}: ${result.error}`);
for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
  if (got[key] !== expected[key]) problems.push(`${key}: ${got[key]}, expected ${expected[key]}`);
}
if (thumbnails !== withCompany.length)
  problems.push(`thumbnails: ${thumbnails}, expected ${withCompany.length}`);
if (targetObjects !== 2 * args.logos)
  problems.push(`target objects: ${targetObjects}, expected ${2 * args.logos}`);
if (Number(history?.n) !== args.logos || Number(history?.versions) !== args.logos) {
  problems.push(`history rows: ${history?.n} (${history?.versions} versions), expected ${args.logos}`);
}

if (rerun.status !== 'SUCCESS') problems.push(`re-run ${rerun.status}: ${rerun.error}`);
for (const [step, label] of [
  ['ds_r2_download', 'PNGs downloaded'],
  ['ds_png2webp', 'WebP files converted'],
  ['ds_img_finalize', 'files processed'],
  ['ds_img_finalize', 'objects republished'],
  ['ds_img_finalize', 'companies updated'],
  ['ds_img_finalize', 'history rows repaired'],
] as const) {
  if (int(step, label, rerun) !== 0) problems.push(`re-run: ${label} ${int(step, label, rerun)}, expected 0`);
}
if (int('ds_img_finalize', 'target objects checked', rerun) !== 2 * args.logos) {
  problems.push(`re-run: target objects checked ${int('ds_img_finalize', 'target objects checked', rerun)}`);
}

process.stdout.write(
  `${JSON.stringify({
    mode: args.mode,
    logos: args.logos,
    seedMs,
    wallMs,
    runDurationMs: result.durationMs,
    steps: result.steps.map((s) => ({ key: s.key, status: s.status, durationMs: s.durationMs })),
    marks,
    peakRss,
    vmHwm,
    hwmReset,
    rerunWallMs,
    cpuMs,
    rerunCpuMs,
    s3rverRerunCpuMs,
    bareListingMs,
    rerunSteps: rerun.steps.map((s) => ({ key: s.key, status: s.status, durationMs: s.durationMs })),
    problems,
  })}\n`,
);
process.exit(0);
