/**
 * PNG → WebP (quality 80) over the 1,000-logo corpus: the pipeline's own conversion
 * (convertPngToWebp + mapBounded at the ds_png2webp asset's default concurrency, in a fresh
 * process per round) vs Pillow with multiprocessing.Pool(2) vs `cwebp -q 80` with `xargs -P2`,
 * and Pillow sequential when BENCH_PILLOW_SEQUENTIAL=1. The implementation the pipeline had before
 * (three reads per PNG, 4 in flight: `reference/convert-png-to-webp-previous.ts`) runs in the same
 * rotation as a reference; BENCH_SKIP_PREVIOUS=1 leaves it out. Medians of BENCH_ROUNDS (3)
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

const PIPELINE = `pipeline (sharp, convertPngToWebp: one read per PNG, ${defaultConvertConcurrency()} in flight)`;
const PREVIOUS = 'previous pipeline (three reads per PNG, 4 in flight; reference)';
const PILLOW2 = 'Pillow, multiprocessing.Pool(2)';
const CWEBP = 'cwebp -q 80, xargs -P2';
const PILLOW1 = 'Pillow, sequential';

/** One round of the pipeline's conversion (or the previous one) in a fresh Node process. */
const pipelineRound = (previous: boolean) => async (round: number) => {
  const out = await freshDir(previous ? 'previous' : 'pipeline', round);
  const result = await runShell(
    `node --import tsx bench/ds/png2webp-pipeline-worker.ts ${CORPUS} ${out}${previous ? ' previous' : ''}`,
  );
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as {
    firstTime: { wallMs: number; cpuMs: number };
    second: { todo: number; upToDate: number };
    secondTime: { wallMs: number; cpuMs: number };
  };
  if (report.second.todo !== 0 || report.second.upToDate !== 1000) {
    throw new Error(`re-run did not skip every file: ${JSON.stringify(report.second)}`);
  }
  // The process's wall and CPU include Node/tsx start-up and the re-run; the in-process
  // figures are the first pass alone.
  return finish(
    out,
    { wallMs: result.wallMs, cpuMs: result.cpuMs },
    {
      inProcessWallMs: report.firstTime.wallMs,
      inProcessCpuMs: report.firstTime.cpuMs,
      rerunWallMs: report.secondTime.wallMs,
      rerunCpuMs: report.secondTime.cpuMs,
    },
  );
};

const contenders: Contender[] = [
  { name: PIPELINE, run: pipelineRound(false) },
  ...(withPrevious ? [{ name: PREVIOUS, run: pipelineRound(true) }] : []),
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
  const best = pillow2.wallMs <= cwebp.wallMs ? pillow2 : cwebp;
  const bytes = (s: { extra: Record<string, number> }) => s.extra.bytes ?? 0;
  const rows = summary.map(
    (s) =>
      `| ${s.name} | ${seconds(s.wallMs)} | ${seconds(s.cpuMs)} | ${bytes(s).toLocaleString('en-US')} | ${ratio(s.wallMs, pipeline.wallMs)} | ${ratio(bytes(s), bytes(best))} | ${roundWalls(s)} |`,
  );
  const inProcess = pipeline.extra.inProcessWallMs ?? 0;
  const rerun = pipeline.extra.rerunWallMs ?? 0;
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

Pipeline, inside its process: first pass ${seconds(inProcess)} s wall / ${seconds(pipeline.extra.inProcessCpuMs)} s CPU; re-run over the unchanged files (the asset's up-to-date scan, then nothing to convert) ${(rerun).toFixed(1)} ms wall / ${(pipeline.extra.rerunCpuMs ?? 0).toFixed(1)} ms CPU = ${((rerun / inProcess) * 100).toFixed(2)}% of the first pass.

- Target "convert at least as fast as the best of Pillow Pool(2) and cwebp -P2" (best here: ${best.name}, ${seconds(best.wallMs)} s): **${speedOk ? 'met' : 'not met'}** (pipeline ${seconds(pipeline.wallMs)} s, ${(best.wallMs / pipeline.wallMs).toFixed(2)}× the best anchor's speed).
- Target "same output size (±1%)": **${Math.abs(sizeDiff) <= 0.01 ? 'met' : 'not met'}** (${(sizeDiff * 100).toFixed(2)}% vs ${best.name}).
- Target "re-run over unchanged files < 2% of the first run's time": **${rerun / inProcess < 0.02 ? 'met' : 'not met'}** (${((rerun / inProcess) * 100).toFixed(2)}%; measured by calling the asset's scan and conversion functions twice on one output folder, not by materializing the asset).
`;
  await writeResultsSection(runLabel ? `png2webp-${runLabel}` : 'png2webp', body);
  console.log(body);
} finally {
  await rm(work, { recursive: true, force: true });
}
