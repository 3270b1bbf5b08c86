/**
 * PNG → WebP (quality 80) over the 1,000-logo corpus: the pipeline's own conversion (the
 * ds_png2webp asset's scan, then its converter process at the asset's default concurrency, in a
 * fresh process per round) vs Pillow with multiprocessing.Pool(2) vs `cwebp -q 80` with
 * `xargs -P2`, and Pillow sequential when BENCH_PILLOW_SEQUENTIAL=1. The same conversion run in
 * the asset's own process (how it ran before the converter process) is in the rotation as a
 * reference; BENCH_SKIP_PREVIOUS=1 leaves it out. After each pipeline round, the same command
 * runs again over the unchanged output (the re-run), timed apart. Medians of BENCH_ROUNDS (3)
 * rounds in rotation.
 *
 *   node --import tsx bench/ds/png2webp.ts
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultConvertConcurrency } from '../../pipelines/ds/src/lib/convert-png-to-webp.ts';
import {
  CORPUS,
  type Contender,
  dirBytes,
  machine,
  PYTHON,
  ratio,
  rotate,
  roundWalls,
  runShell,
  type Sample,
  seconds,
  summarize,
  writeResultsSection,
} from './harness.ts';

const rounds = Number(process.env.BENCH_ROUNDS) || 3;
const withSequential = process.env.BENCH_PILLOW_SEQUENTIAL === '1';
const withPrevious = process.env.BENCH_SKIP_PREVIOUS !== '1';
/** BENCH_RUN=run1 writes section `png2webp-run1` instead of `png2webp`, to keep two runs of one day side by side. */
const runLabel = process.env.BENCH_RUN?.replace(/[^\w-]/g, '') || undefined;
const work = await mkdtemp(path.join(tmpdir(), 'bench-png2webp-'));

async function freshDir(name: string, round: number): Promise<string> {
  const dir = path.join(work, `${name}-${round}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

async function finish(dir: string, sample: Omit<Sample, 'extra'>, extra: Record<string, number> = {}) {
  const out = await dirBytes(dir, '.webp');
  if (out.files !== 1000) throw new Error(`${dir}: ${out.files} WebP files, expected 1000`);
  await rm(dir, { recursive: true, force: true });
  return { ...sample, extra: { bytes: out.bytes, ...extra } };
}

const PIPELINE = `pipeline (sharp in ds_png2webp's converter process, ${defaultConvertConcurrency()} in flight)`;
const PREVIOUS = 'the same, converting in the run process itself (before the converter process; reference)';
const NAPI = `@napi-rs/image (its own PNG decoder and libwebp), ${defaultConvertConcurrency()} in flight in one process`;
const PILLOW2 = 'Pillow, multiprocessing.Pool(2)';
const CWEBP = 'cwebp -q 80, xargs -P2';
const PILLOW1 = 'Pillow, sequential';

interface WorkerReport {
  todo: number;
  upToDate: number;
  time: { wallMs: number; cpuMs: number };
}

/**
 * One round of the pipeline's conversion in a fresh Node process; then the same command again
 * over the unchanged output (the re-run), which must find every file up to date.
 */
const pipelineRound = (inProcess: boolean) => async (round: number) => {
  const out = await freshDir(inProcess ? 'inprocess' : 'pipeline', round);
  const command = `node --import tsx bench/ds/png2webp-pipeline-worker.ts ${CORPUS} ${out}${inProcess ? ' inprocess' : ''}`;
  const report = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as WorkerReport;
  const first = await runShell(command);
  const firstReport = report(first.stdout);
  if (firstReport.todo !== 1000)
    throw new Error(`first pass converted ${firstReport.todo} files, expected 1000`);
  const rerun = await runShell(command);
  const rerunReport = report(rerun.stdout);
  if (rerunReport.todo !== 0 || rerunReport.upToDate !== 1000) {
    throw new Error(`re-run did not skip every file: ${JSON.stringify(rerunReport)}`);
  }
  // Wall and CPU are the first command's (start-up included; CPU with the converter process's);
  // the in-process wall is its scan and conversion alone.
  return finish(
    out,
    { wallMs: first.wallMs, cpuMs: first.cpuMs },
    {
      inProcessWallMs: firstReport.time.wallMs,
      rerunWallMs: rerun.wallMs,
      rerunCpuMs: rerun.cpuMs,
      rerunInProcessWallMs: rerunReport.time.wallMs,
    },
  );
};

const contenders: Contender[] = [
  { name: PIPELINE, run: pipelineRound(false) },
  ...(withPrevious ? [{ name: PREVIOUS, run: pipelineRound(true) }] : []),
  {
    name: NAPI,
    async run(round) {
      const out = await freshDir('napi', round);
      const r = await runShell(`node --import tsx bench/ds/png2webp-napi-worker.ts ${CORPUS} ${out}`, {
        UV_THREADPOOL_SIZE: String(Math.max(4, defaultConvertConcurrency())),
      });
      return finish(out, { wallMs: r.wallMs, cpuMs: r.cpuMs });
    },
  },
  {
    name: PILLOW2,
    async run(round) {
      const out = await freshDir('pillow2', round);
      const r = await runShell(`${PYTHON} bench/ds/pillow_png2webp.py ${CORPUS} ${out} 2`);
      return finish(out, { wallMs: r.wallMs, cpuMs: r.cpuMs });
    },
  },
  {
    name: CWEBP,
    async run(round) {
      const out = await freshDir('cwebp', round);
      const r = await runShell(
        `find ${CORPUS} -maxdepth 1 -name '*.png' -print0 | xargs -0 -P2 -I{} sh -c 'cwebp -quiet -q 80 "$1" -o "$OUT/$(basename "$1" .png).webp"' _ {}`,
        { OUT: out },
      );
      return finish(out, { wallMs: r.wallMs, cpuMs: r.cpuMs });
    },
  },
];
if (withSequential) {
  contenders.push({
    name: PILLOW1,
    async run(round) {
      const out = await freshDir('pillow1', round);
      const r = await runShell(`${PYTHON} bench/ds/pillow_png2webp.py ${CORPUS} ${out} 0`);
      return finish(out, { wallMs: r.wallMs, cpuMs: r.cpuMs });
    },
  });
}

const date = new Date().toISOString();
try {
  const summary = summarize(await rotate(contenders, rounds));
  const get = (name: string) => summary.find((s) => s.name === name);
  const pipeline = get(PIPELINE);
  const pillow2 = get(PILLOW2);
  const cwebp = get(CWEBP);
  if (!pipeline || !pillow2 || !cwebp) throw new Error('missing results');
  const napi = get(NAPI);
  const best = pillow2.wallMs <= cwebp.wallMs ? pillow2 : cwebp;
  const bytes = (s: { extra: Record<string, number> }) => s.extra.bytes ?? 0;
  const rows = summary.map(
    (s) =>
      `| ${s.name} | ${seconds(s.wallMs)} | ${seconds(s.cpuMs)} | ${bytes(s).toLocaleString('en-US')} | ${ratio(s.wallMs, pipeline.wallMs)} | ${ratio(bytes(s), bytes(best))} | ${roundWalls(s)} |`,
  );
  const inProcess = pipeline.extra.inProcessWallMs ?? 0;
  const rerun = pipeline.extra.rerunWallMs ?? 0;
  const rerunInProcess = pipeline.extra.rerunInProcessWallMs ?? 0;
  const speedOk = pipeline.wallMs <= best.wallMs;
  const sizeDiff = bytes(pipeline) / bytes(best) - 1;
  const body = `## PNG → WebP, quality 80${runLabel ? `, ${runLabel}` : ''} (\`bench/ds/png2webp.ts\`)

- Command: \`${runLabel ? `BENCH_RUN=${runLabel} ` : ''}${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${rounds} ` : ''}${withSequential ? 'BENCH_PILLOW_SEQUENTIAL=1 ' : ''}${withPrevious ? '' : 'BENCH_SKIP_PREVIOUS=1 '}node --import tsx bench/ds/png2webp.ts\`
- Date: ${date}
- Machine: ${machine()}
- Corpus: \`${CORPUS}\` (1,000 PNGs); medians of ${rounds} rounds run in rotation; each round writes into an empty folder.
- Wall and CPU are of the whole command (process start-up included; CPU = user + system of the process and its children).

| contender | wall (s) | CPU (s) | output bytes | wall ÷ pipeline's | bytes ÷ best anchor's | wall per round (s) |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Pipeline: the scan and conversion inside the command took ${seconds(inProcess)} s of its ${seconds(pipeline.wallMs)} s (the rest is Node and tsx starting and stopping). The re-run over the unchanged files, the same command again: ${seconds(rerun)} s wall / ${seconds(pipeline.extra.rerunCpuMs)} s CPU, of which the scan ${rerunInProcess.toFixed(1)} ms (the converter process is not started when nothing needs converting).

${napi ? `@napi-rs/image beside the pipeline's sharp (same run): wall ${(napi.wallMs / pipeline.wallMs).toFixed(2)}×, CPU ${((napi.cpuMs ?? 0) / (pipeline.cpuMs ?? 1)).toFixed(2)}×, output bytes ${((bytes(napi) / bytes(pipeline) - 1) * 100).toFixed(2)}% off the pipeline's.\n\n` : ''}- Target "convert at least as fast as the best of Pillow Pool(2) and cwebp -P2" (best here: ${best.name}, ${seconds(best.wallMs)} s): **${speedOk ? 'met' : 'not met'}** (pipeline ${seconds(pipeline.wallMs)} s, ${(best.wallMs / pipeline.wallMs).toFixed(2)}× the best anchor's speed).
- Target "same output size (±1%)": **${Math.abs(sizeDiff) <= 0.01 ? 'met' : 'not met'}** (${(sizeDiff * 100).toFixed(2)}% vs ${best.name}).
- Target "re-run over unchanged files < 2% of the first run's time": **${rerunInProcess / inProcess < 0.02 ? 'met' : 'not met'}** (the asset's scan and conversion over the unchanged files ${rerunInProcess.toFixed(1)} ms = ${((rerunInProcess / inProcess) * 100).toFixed(2)}% of the same on the first run; whole commands, Node start-up included: ${((rerun / pipeline.wallMs) * 100).toFixed(2)}%).
`;
  await writeResultsSection(runLabel ? `png2webp-${runLabel}` : 'png2webp', body);
  console.log(body);
} finally {
  await rm(work, { recursive: true, force: true });
}
