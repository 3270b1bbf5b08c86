/**
 * The whole DS job (what `ds_node_job` runs after its crawl: `ds_publish_job`, i.e. download,
 * convert, finalize) for 1,000 and 10,000 logos, on a local-directory source bucket and on a
 * local s3rver. Crawling 10,000 logos through the replica is not what is measured: the source
 * bucket is seeded instead with the corpus PNGs (10,000 = the 1,000 corpus files × 10 under
 * distinct keys, with the crawler's metadata and matching `company` rows).
 *
 * Each run is a fresh worker process (`whole-job-worker.ts`) on a fresh instance database of one
 * embedded PostgreSQL (which also holds the `company` databases) and a fresh data folder, so its
 * peak RSS is the job's own: its processes' resident memory (the worker and ds_png2webp's
 * converter process) sampled every 100 ms, and the worker's VmHWM at the end. s3rver and PostgreSQL run in their own processes (not counted).
 *
 *   node --import tsx bench/ds/whole-job.ts
 *   BENCH_SIZES=1000 BENCH_MODES=local node --import tsx bench/ds/whole-job.ts
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '@dag/core';
import { startS3rver } from '../../packages/object-store/test/start-s3rver.ts';
import { defaultConvertConcurrency } from '../../pipelines/ds/src/lib/convert-png-to-webp.ts';
import { machine, median, runShell, seconds, writeResultsSection } from './harness.ts';

const rounds = Number(process.env.BENCH_ROUNDS) || 1;
const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const modes = (process.env.BENCH_MODES ?? 'local,s3').split(',') as ('local' | 's3')[];
/** BENCH_RUN=x writes section `whole-job-x` instead of `whole-job`, to keep another run beside it. */
const runLabel = process.env.BENCH_RUN?.replace(/[^\w-]/g, '') || undefined;
const TEN_MINUTES = 10 * 60 * 1000;
const ONE_GB = 1024 ** 3;

interface Report {
  mode: 'local' | 's3';
  logos: number;
  seedMs: number;
  wallMs: number;
  runDurationMs: number;
  steps: { key: string; status: string; durationMs: number }[];
  marks: Record<string, number>;
  peakRss: number;
  vmHwm: number;
  hwmReset: boolean;
  rerunWallMs: number;
  /** CPU of the worker and its converter process during the first run and during the re-run. */
  cpuMs: number;
  rerunCpuMs: number;
  /** s3rver's CPU during the re-run (s3 only). */
  s3rverRerunCpuMs?: number;
  /** The two listings alone (source, then target), straight through the AWS SDK, after the re-run (s3 only). */
  bareListingMs?: number;
  rerunSteps: { key: string; status: string; durationMs: number }[];
  problems: string[];
}

const home = await mkdtemp(path.join(tmpdir(), 'bench-whole-job-'));
// 0755: as root the embedded server runs as another OS user that must reach this folder.
await chmod(home, 0o755);
const date = new Date().toISOString();
const reports: Report[] = [];
try {
  const server = await ensureEmbeddedPostgres(path.join(home, 'pg'));
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    for (const logos of sizes) {
      for (const mode of modes) {
        const root = path.join(home, `run-${++n}`);
        await mkdir(root, { recursive: true });
        await chmod(root, 0o755);
        const s3 = mode === 's3' ? await startS3rver(['ds-logos-src', 'ds-logos-tgt']) : undefined;
        try {
          const spec = JSON.stringify({
            mode,
            logos,
            root,
            adminUrl: server.url,
            s3Endpoint: s3?.endpoint,
            s3Pid: s3?.pid,
          });
          // BENCH_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) go to the worker process.
          const shell = await runShell(
            `node ${process.env.BENCH_NODE_FLAGS ?? ''} --import tsx bench/ds/whole-job-worker.ts '${spec}'`,
          );
          const report = JSON.parse(shell.stdout.trim().split('\n').at(-1) ?? '{}') as Report;
          if (report.problems.length > 0) {
            throw new Error(`${mode} ${logos}: the job's outcome is wrong: ${report.problems.join('; ')}`);
          }
          reports.push(report);
          const steps = report.steps.map((s) => `${s.key} ${seconds(s.durationMs)} s`).join(', ');
          console.error(
            `round ${round + 1} ${mode} ${logos}: ${seconds(report.wallMs)} s (${steps}), peak RSS ${(report.peakRss / 2 ** 20).toFixed(0)} MiB, VmHWM ${(report.vmHwm / 2 ** 20).toFixed(0)} MiB`,
          );
        } finally {
          await s3?.close();
          await rm(root, { recursive: true, force: true });
        }
      }
    }
  }

  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)}`;
  const percent = (ratio: number) => `${(ratio * 100).toFixed(2)}%`;
  const rows: string[] = [];
  const rerunRows: string[] = [];
  const verdicts: string[] = [];
  for (const logos of sizes) {
    for (const mode of modes) {
      const runs = reports.filter((r) => r.logos === logos && r.mode === mode);
      if (runs.length === 0) continue;
      const step = (key: string) =>
        median(runs.map((r) => r.steps.find((s) => s.key === key)?.durationMs ?? Number.NaN));
      const mark = (r: Report, a: string, b: string) =>
        (r.marks[b] ?? Number.NaN) - (r.marks[a] ?? Number.NaN);
      const scan = median(runs.map((r) => mark(r, 'ds_img_finalize:start', 'finalize:scanned')));
      const upload = median(runs.map((r) => mark(r, 'finalize:scanned', 'finalize:uploaded')));
      const finalize = step('ds_img_finalize');
      const wall = median(runs.map((r) => r.wallMs));
      const peak = Math.max(...runs.map((r) => r.peakRss));
      const hwm = Math.max(...runs.map((r) => r.vmHwm));
      rows.push(
        `| ${logos.toLocaleString('en-US')} | ${mode === 's3' ? 's3rver' : 'local directory'} | ${seconds(wall)} | ${seconds(step('ds_r2_download'))} | ${seconds(step('ds_png2webp'))} | ${seconds(finalize)} (scan ${seconds(scan)}, uploads ${seconds(upload)}, database + history + moves ${seconds(finalize - scan - upload)}) | ${mib(peak)} | ${mib(hwm)} | ${((logos / wall) * 1000).toFixed(1)} |`,
      );
      const rerun = median(runs.map((r) => r.rerunWallMs));
      const cpu = median(runs.map((r) => r.cpuMs));
      const rerunCpu = median(runs.map((r) => r.rerunCpuMs));
      const rerunStep = (key: string) =>
        median(runs.map((r) => r.rerunSteps.find((s) => s.key === key)?.durationMs ?? Number.NaN));
      const where = mode === 's3' ? 's3rver' : 'local directory';
      const s3rverCpu = median(runs.map((r) => r.s3rverRerunCpuMs ?? Number.NaN));
      const bare = median(runs.map((r) => r.bareListingMs ?? Number.NaN));
      const orDash = (ms: number) => (Number.isNaN(ms) ? '–' : seconds(ms));
      rerunRows.push(
        `| ${logos.toLocaleString('en-US')} | ${where} | ${seconds(wall)} | ${seconds(rerun)} | ${seconds(rerunStep('ds_r2_download'))} | ${seconds(rerunStep('ds_png2webp'))} | ${seconds(rerunStep('ds_img_finalize'))} | ${percent(rerun / wall)} | ${seconds(cpu)} | ${seconds(rerunCpu)} | ${percent(rerunCpu / cpu)} | ${orDash(s3rverCpu)} | ${orDash(bare)}${Number.isNaN(bare) ? '' : ` (${percent(bare / wall)})`} |`,
      );
      verdicts.push(
        `- Target "re-run over unchanged files, destination check included, < 2% of the first run" (${where}, ${logos.toLocaleString('en-US')} logos): **${rerun / wall < 0.02 ? 'met' : 'not met'}** (${percent(rerun / wall)} of the wall time; ${percent(rerunCpu / cpu)} of the CPU time${Number.isNaN(bare) ? '' : `; the two listings alone take ${percent(bare / wall)} on this server`}).`,
      );
      if (logos >= 10_000) {
        verdicts.push(
          `- Target "10,000 logos in < 10 minutes" (${mode === 's3' ? 's3rver' : 'local directory'} bucket): **${wall < TEN_MINUTES ? 'met' : 'not met'}** (${seconds(wall)} s = ${(wall / 60_000).toFixed(1)} min).`,
          `- Target "peak RSS < 1 GB" (${mode === 's3' ? 's3rver' : 'local directory'} bucket, 10,000 logos): **${Math.max(peak, hwm) < ONE_GB ? 'met' : 'not met'}** (sampled ${mib(peak)} MiB, VmHWM ${mib(hwm)} MiB).`,
        );
      }
    }
  }
  const hwmNote = reports.every((r) => r.hwmReset)
    ? "VmHWM (the worker process's alone) was reset (`/proc/self/clear_refs` 5) just before the run, so it covers the run alone, not the seeding."
    : 'VmHWM could not be reset before the run: it also covers the seeding before it.';
  const body = `## The whole job, ${sizes.map((n) => n.toLocaleString('en-US')).join(' and ')} logos${runLabel ? `, ${runLabel}` : ''} (\`bench/ds/whole-job.ts\`)

- Command: \`${runLabel ? `BENCH_RUN=${runLabel} ` : ''}${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${rounds} ` : ''}${process.env.BENCH_SIZES ? `BENCH_SIZES=${process.env.BENCH_SIZES} ` : ''}${process.env.BENCH_MODES ? `BENCH_MODES=${process.env.BENCH_MODES} ` : ''}node --import tsx bench/ds/whole-job.ts\`
- Date: ${date}
- Machine: ${machine()}
- What runs: \`ds_publish_job\` (\`ds_r2_download+\`, what \`ds_node_job\` runs after its crawl) through \`executeRun\` on a fresh instance database, in a fresh worker process per row, with the assets' default settings (downloads 64 in flight, ${defaultConvertConcurrency()} conversions in flight, uploads 16 in flight). The source bucket is seeded beforehand (not timed) with the corpus PNGs, ×10 under distinct keys for 10,000, with the crawler's metadata; 9 logos in 10 have a \`company\` row (matched by channel id). Every run is checked: all logos downloaded, converted and published (PNG + WebP in the target bucket), the matched companies' thumbnails set, one history row per logo.
- s3rver (single-threaded, shares the 2 cores with the job) and PostgreSQL run in their own processes; their memory is not counted. Peak RSS: the resident memory of the job's processes (the worker and ds_png2webp's converter process, summed) sampled every 100 ms; ${hwmNote}
- ${rounds} round(s); medians of wall times, maximum of memory.

| logos | source / target bucket | whole job (s) | ds_r2_download (s) | ds_png2webp (s) | ds_img_finalize (s) | peak RSS, sampled (MiB) | VmHWM (MiB) | logos/s |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

The re-run over unchanged files (the same job once more in the same worker, right after): it lists the source bucket and checks each local copy, finds nothing to convert, lists the target bucket once and compares every published PNG and WebP with it by size and MD5 etag (the MD5s recorded in \`final-digests.json\`, not read again), matches every published logo against \`company\` again (read once; no UPDATE is sent when every thumbnail is already right) and compares its history row; the bucket listing, \`final/\`, \`company\` and the history are read at once. Each listing is sent at its step's start, before the local work it overlaps; the asset checks list one key of each bucket. CPU: user + system time of the worker and of its exited children (ds_png2webp's converter process), from \`/proc/self/stat\`; s3rver's during the re-run is its own column, PostgreSQL's is not counted. "Listings alone" is the floor of a re-run on this server, measured in the same worker right after it: every page of the source bucket, then of the target bucket, through the AWS SDK and nothing else (s3rver reads each listed object's metadata from its own files, and each page walks the bucket's folder from its start). Every re-run is checked: nothing downloaded, converted, processed or re-published, no company or history row changed, every target object checked.

| logos | source / target bucket | first run (s) | re-run (s) | ds_r2_download (s) | ds_png2webp (s) | ds_img_finalize (s) | re-run ÷ first run | first run CPU (s) | re-run CPU (s) | re-run CPU ÷ first run CPU | s3rver CPU in the re-run (s) | listings alone (s, ÷ first run) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rerunRows.join('\n')}

${verdicts.join('\n')}
`;
  await writeResultsSection(runLabel ? `whole-job-${runLabel}` : 'whole-job', body);
  console.log(body);
} finally {
  await stopEmbeddedPostgres(path.join(home, 'pg')).catch(() => undefined);
  await rm(home, { recursive: true, force: true });
}
