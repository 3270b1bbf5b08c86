/**
 * Daemon benchmark: 200 sensors and 200 schedules on one daemon.
 *
 *   node --import tsx bench/daemon/daemon-bench.ts latency [--minutes 3]
 *     Real clock. Every schedule fires every minute ('* * * * *'), every sensor every 30 s.
 *     Reports, per tick, how late it was against its due time (schedules: commit time of the
 *     tick minus the cron time; sensors: evaluation start minus (previous start + interval)).
 *
 *   node --import tsx bench/daemon/daemon-bench.ts soak [--minutes 30] [--speed 60]
 *   (run the soak with `node --expose-gc` so that samples are taken after a full collection)
 *     Accelerated clock (`speed` simulated seconds per wall second). Samples RSS and heap
 *     every wall minute; reports the first and last samples and the growth.
 *
 * Runs that the schedules and sensors request go through the daemon's queue to a launcher
 * that marks them finished at once, so the queue never fills up.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  asset,
  Daemon,
  DagInstance,
  Definitions,
  defineAssetJob,
  ensureEmbeddedPostgres,
  ManualClock,
  schedule,
  sensor,
  stopEmbeddedPostgres,
  systemClock,
} from '@dag/core';
import { writeResultsSection } from '../ds/harness.ts';

const [mode = 'latency', ...rest] = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const COUNT = 200;

const home = await mkdtemp(path.join(tmpdir(), 'dag-daemon-bench-'));
await chmod(home, 0o755);
await ensureEmbeddedPostgres(home);
const instance = await DagInstance.open({ home });

const sensorCalls = new Map<string, number[]>();
const target = asset({ name: 'target' }, async () => {});
const job = defineAssetJob({ name: 'bench_job', selection: 'target' });
const sensors = Array.from({ length: COUNT }, (_, i) =>
  sensor({
    name: `sensor_${i}`,
    job,
    minimumIntervalSeconds: 30,
    defaultStatus: 'RUNNING',
    fn: ({ cursor }) => {
      // Evaluation times are kept for the latency report only: in a soak they would be the
      // process's one growing structure (720,000 numbers in 30 minutes at 60×).
      if (mode === 'latency') {
        const calls = sensorCalls.get(`sensor_${i}`) ?? [];
        calls.push(Date.now());
        sensorCalls.set(`sensor_${i}`, calls);
      }
      const n = Number(cursor ?? 0) + 1;
      // One sensor in ten requests a run on each evaluation; the others skip.
      return i % 10 === 0
        ? { runRequests: [{ runKey: `r${n}` }], cursor: String(n) }
        : { cursor: String(n), skipReason: 'nothing new' };
    },
  }),
);
const schedules = Array.from({ length: COUNT }, (_, i) =>
  schedule({ name: `schedule_${i}`, cron: '* * * * *', job, defaultStatus: 'RUNNING' }),
);
const definitions = new Definitions({ assets: [target], jobs: [job], sensors, schedules });
const clock = new ManualClock(Date.now());
const daemon = new Daemon({
  instance,
  locations: [{ name: 'bench', file: 'bench', definitions }],
  clock: mode === 'soak' ? clock : systemClock,
  maxConcurrentRuns: 1000,
  launch: async (run) => {
    await instance.storage.updateRun(run.runId, { status: 'SUCCESS', endedAt: new Date() });
  },
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

try {
  if (mode === 'latency') {
    const minutes = flag('minutes', 3);
    const controller = new AbortController();
    const started = new Date();
    const running = daemon.run(controller.signal, { idleMs: 1000 });
    await new Promise((r) => setTimeout(r, minutes * 60_000));
    controller.abort();
    await running;
    const pool = (instance.storage as unknown as { pool: import('pg').Pool }).pool;
    const { rows } = await pool.query<{ lateness_ms: number }>(
      `SELECT extract(epoch FROM created_at - tick_time) * 1000 AS lateness_ms FROM ticks
       WHERE type = 'schedule' AND status <> 'SKIPPED' AND tick_time > $1`,
      [started],
    );
    const scheduleLate = rows.map((r) => Number(r.lateness_ms));
    const sensorLate: number[] = [];
    for (const calls of sensorCalls.values()) {
      for (let i = 1; i < calls.length; i++) sensorLate.push(calls[i]! - (calls[i - 1]! + 30_000));
    }
    const report = {
      mode,
      minutes,
      schedules: COUNT,
      sensors: COUNT,
      scheduleTicks: scheduleLate.length,
      scheduleLatenessMs: {
        p50: percentile(scheduleLate, 50),
        p99: percentile(scheduleLate, 99),
        max: Math.max(...scheduleLate),
      },
      sensorEvaluations: sensorLate.length + sensorCalls.size,
      sensorLatenessMs: {
        p50: percentile(sensorLate, 50),
        p99: percentile(sensorLate, 99),
        max: Math.max(...sensorLate),
      },
      allWithin1s: Math.max(...scheduleLate, ...sensorLate) < 1000,
    };
    console.log(JSON.stringify(report, null, 2));
    const ms = (v: number) => `${Math.round(v)} ms`;
    await writeResultsSection(
      'daemon-latency',
      [
        `## Daemon tick latency, ${COUNT} schedules + ${COUNT} sensors on one daemon (\`bench/daemon/daemon-bench.ts\`)`,
        '',
        `Command: \`node --import tsx bench/daemon/daemon-bench.ts latency --minutes ${minutes}\` (${new Date().toISOString()}, 2 cores, embedded PostgreSQL 17).`,
        'Every schedule fires every minute; every sensor every 30 s (one in ten requests a run each time). Lateness = how long after its due time a tick was committed (schedules) or evaluated (sensors).',
        '',
        '| | ticks | p50 | p99 | max |',
        '|---|---|---|---|---|',
        `| schedules | ${report.scheduleTicks} | ${ms(report.scheduleLatenessMs.p50)} | ${ms(report.scheduleLatenessMs.p99)} | ${ms(report.scheduleLatenessMs.max)} |`,
        `| sensors | ${report.sensorEvaluations} | ${ms(report.sensorLatenessMs.p50)} | ${ms(report.sensorLatenessMs.p99)} | ${ms(report.sensorLatenessMs.max)} |`,
        '',
        `Target (every tick within 1 s of its due time): **${report.allWithin1s ? 'met' : 'not met'}**.`,
      ].join('\n'),
    );
  } else {
    const minutes = flag('minutes', 30);
    const speed = flag('speed', 60);
    const samples: { wallMinute: number; simulatedHours: number; rssMb: number; heapMb: number }[] = [];
    const start = Date.now();
    const simStart = clock.now().getTime();
    let nextSample = start;
    while (Date.now() - start < minutes * 60_000) {
      const wallBefore = Date.now();
      await daemon.tick();
      await new Promise((r) => setTimeout(r, 100));
      // Simulated time moves `speed`x faster than the wall clock.
      clock.advance((Date.now() - wallBefore) * speed);
      if (Date.now() >= nextSample) {
        global.gc?.();
        const mem = process.memoryUsage();
        samples.push({
          wallMinute: Math.round((Date.now() - start) / 60_000),
          simulatedHours: Number(((clock.now().getTime() - simStart) / 3_600_000).toFixed(1)),
          rssMb: Math.round(mem.rss / 1e6),
          heapMb: Math.round(mem.heapUsed / 1e6),
        });
        nextSample += 60_000;
      }
    }
    const stats = await instance.storage.stats();
    const first = samples[1] ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    console.log(
      JSON.stringify(
        {
          mode,
          minutes,
          speed,
          samples,
          runsCreated: stats.runs,
          heapGrowthMb: last.heapMb - first.heapMb,
          rssGrowthMb: last.rssMb - first.rssMb,
        },
        null,
        2,
      ),
    );
    await writeResultsSection(
      'daemon-soak',
      [
        `## Daemon memory over a ${minutes}-minute soak, accelerated clock (\`bench/daemon/daemon-bench.ts\`)`,
        '',
        `Command: \`node --expose-gc --import tsx bench/daemon/daemon-bench.ts soak --minutes ${minutes} --speed ${speed}\` (${new Date().toISOString()}, 2 cores).`,
        `${COUNT} schedules (every minute) and ${COUNT} sensors (every 30 s) on a clock running ${speed}× faster than the wall: ${last.simulatedHours} simulated hours, ${stats.runs} runs created. Samples after a full GC, once a wall minute (the first minute is warm-up).`,
        '',
        '| wall minute | simulated hours | RSS (MB) | heap used (MB) |',
        '|---|---|---|---|',
        ...samples.map((x) => `| ${x.wallMinute} | ${x.simulatedHours} | ${x.rssMb} | ${x.heapMb} |`),
        '',
        `Growth from minute ${first.wallMinute} to ${last.wallMinute}: RSS ${last.rssMb - first.rssMb} MB, heap ${last.heapMb - first.heapMb} MB.`,
      ].join('\n'),
    );
  }
} finally {
  await instance.close();
  await stopEmbeddedPostgres(home);
  await rm(home, { recursive: true, force: true });
}
