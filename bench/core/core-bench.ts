/**
 * The core's overhead benchmark. Each part writes its own section of bench/RESULTS.md:
 *
 *   node --import tsx bench/core/core-bench.ts [runs] [load] [cli] [postgres] [memory] [dev]
 *   (no part named: all of them, about 5 minutes on a quiet 2-core machine)
 *
 * - runs:     no-op chains, fan-outs and lattices of 1,000 and 10,000 assets, in one process
 *             on the embedded PostgreSQL; each step's overhead split into plan, events
 *             (engine CPU), storage and user code.
 * - load:     building and validating 2,000 and 10,000 definitions, and `dag list` over them.
 * - cli:      `node_modules/.bin/dag --help`, `dag list` on the DS workspace, `dag runs`.
 * - postgres: the embedded PostgreSQL's cold start (initdb), warm start, and opening a running one.
 * - memory:   `dag materialize` of a 10,000-asset chain: wall time to exit and peak RSS.
 * - dev:      100 consecutive runs through one `dag dev`: its RSS along the way.
 *
 * Dagster cannot run here (it needs Python packages this machine cannot install): its figures
 * are quoted from its issue tracker, as published, next to ours.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  DagInstance,
  Definitions,
  ensureEmbeddedPostgres,
  type InstanceStorage,
  materialize,
  type NewEvent,
  planRun,
  stopEmbeddedPostgres,
} from '@dag/core';
import { machine, median, REPO_ROOT, writeResultsSection } from '../ds/harness.ts';
import { buildAssets, SHAPES } from './defs.ts';

const run = promisify(execFile);
const DAG = path.join(REPO_ROOT, 'node_modules', '.bin', 'dag');
const DEFS = path.join(REPO_ROOT, 'bench', 'core', 'defs.ts');
const parts = process.argv.slice(2);
const want = (part: string) => parts.length === 0 || parts.includes(part);
const command = (part: string) => `\`node --import tsx bench/core/core-bench.ts ${part}\``;
const ms = (v: number, digits = 0) => v.toFixed(digits);
const us = (v: number) => (v * 1000).toFixed(0);
const fmtInt = (v: number) => v.toLocaleString('en-US');
const loadNote =
  'The machine is shared with other work while this runs (see the load averages): figures are of one loaded run.';

const home = await mkdtemp(path.join(tmpdir(), 'dag-core-bench-'));
await import('node:fs/promises').then((fs) => fs.chmod(home, 0o755));
const env = { ...process.env, DAG_HOME: home, NO_COLOR: '1' };

/**
 * Wall and CPU time (user + system, from /usr/bin/time) of a command, in ms, and its output,
 * run from the repository root. CPU time is the steadier figure on a loaded machine.
 */
async function timeCommand(
  file: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ wallMs: number; cpuMs: number; stdout: string }> {
  const started = performance.now();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'cpu=%U+%S', file, ...args], {
    cwd: REPO_ROOT,
    env: { ...env, ...extraEnv },
    maxBuffer: 64 * 2 ** 20,
  });
  const wallMs = performance.now() - started;
  const m = /cpu=([\d.]+)\+([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no CPU figure from /usr/bin/time: ${stderr.slice(-300)}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, stdout };
}

async function medianOf(
  rounds: number,
  fn: () => Promise<number>,
): Promise<{ median: number; all: number[] }> {
  const all: number[] = [];
  for (let i = 0; i < rounds; i++) all.push(await fn());
  return { median: median(all), all };
}

async function partPostgres(): Promise<void> {
  const fresh = await mkdtemp(path.join(tmpdir(), 'dag-core-bench-pg-'));
  await import('node:fs/promises').then((fs) => fs.chmod(fresh, 0o755));
  try {
    let t = performance.now();
    await ensureEmbeddedPostgres(fresh);
    const cold = performance.now() - t;
    t = performance.now();
    const instance = await DagInstance.open({ home: fresh });
    const firstOpen = performance.now() - t;
    await instance.close();
    const warm: number[] = [];
    const open: number[] = [];
    for (let i = 0; i < 3; i++) {
      await stopEmbeddedPostgres(fresh);
      t = performance.now();
      await ensureEmbeddedPostgres(fresh);
      warm.push(performance.now() - t);
      t = performance.now();
      const again = await DagInstance.open({ home: fresh });
      open.push(performance.now() - t);
      await again.close();
    }
    await writeResultsSection(
      'core-postgres',
      `## Core: the embedded PostgreSQL's start (\`bench/core/core-bench.ts postgres\`)

- Command: ${command('postgres')}
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- ${loadNote}

| what | ms |
| --- | --- |
| cold start: initdb of a new instance folder, then start the server | ${ms(cold)} |
| first open of that instance (connect, migrate the new database) | ${ms(firstOpen)} |
| warm start: start the stopped server of an existing folder (median of 3) | ${ms(median(warm))} (${warm.map((w) => ms(w)).join(' / ')}) |
| open an instance whose server is running (connect, schema check; median of 3) | ${ms(median(open))} |
`,
    );
  } finally {
    await stopEmbeddedPostgres(fresh).catch(() => {});
    await rm(fresh, { recursive: true, force: true });
  }
}

async function partRuns(): Promise<void> {
  const instance = await DagInstance.open({ home });
  const rows: string[] = [];
  const storage = instance.storage as InstanceStorage;
  const storeEvents = storage.storeEvents.bind(storage);
  let storageMs = 0;
  let batches = 0;
  let events = 0;
  storage.storeEvents = async (batch: readonly NewEvent[]) => {
    const t = performance.now();
    try {
      return await storeEvents(batch);
    } finally {
      storageMs += performance.now() - t;
      batches++;
      events += batch.length;
    }
  };
  const walls: Record<string, number> = {};
  const perStep: Record<string, number> = {};
  try {
    for (const n of [1_000, 10_000]) {
      for (const shape of SHAPES) {
        const starts = new Float64Array(n);
        let userMs = 0;
        const definitions = new Definitions({
          assets: buildAssets(shape, n, (i) => {
            const t = performance.now();
            starts[i] = t;
            userMs += performance.now() - t;
          }),
        });
        let t = performance.now();
        planRun(definitions, { selection: '*' });
        const planMs = performance.now() - t;
        storageMs = 0;
        batches = 0;
        events = 0;
        const cpu = process.cpuUsage();
        t = performance.now();
        const result = await materialize({ instance, definitions, selection: '*' });
        const wall = performance.now() - t;
        const cpuMs = (() => {
          const d = process.cpuUsage(cpu);
          return (d.user + d.system) / 1000;
        })();
        if (result.status !== 'SUCCESS')
          throw new Error(`${shape} ${n}: run ${result.runId} ${result.status}`);
        // Intervals between consecutive step starts: the whole cost of one step, user code a no-op.
        const sorted = [...starts].sort((a, b) => a - b);
        const gaps = sorted.slice(1).map((v, i) => v - sorted[i]!);
        const gap = median(gaps);
        perStep[`${shape}-${n}`] = gap;
        perStep[`${shape}-${n}-wall`] = wall / n;
        walls[`${shape}-${n}`] = wall;
        rows.push(
          `| ${shape} | ${fmtInt(n)} | ${(wall / 1000).toFixed(2)} | ${ms(gap, 3)} | ${ms(wall / n, 3)} | ${us(planMs / n)} | ${us((cpuMs - planMs - userMs) / n)} | ${us(storageMs / n)} (${fmtInt(events)} events in ${fmtInt(batches)} batches) | ${us(userMs / n)} |`,
        );
        process.stderr.write(`${rows.at(-1)}\n`);
      }
    }
  } finally {
    storage.storeEvents = storeEvents;
    await instance.close();
  }
  const growth = SHAPES.map((s) => `${s} ${(walls[`${s}-10000`]! / walls[`${s}-1000`]!).toFixed(1)}×`).join(
    ', ',
  );
  await writeResultsSection(
    'core-runs',
    `## Core: no-op runs of 1,000 and 10,000 assets (\`bench/core/core-bench.ts runs\`)

- Command: ${command('runs')}
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- ${loadNote}
- One process, the instance on the embedded PostgreSQL (synchronous commits, as shipped), default concurrency (CPU count), every event stored.
- *step interval*: median time between two consecutive step starts (user code is a no-op, so this is the engine's whole cost of a step). *wall ÷ steps* includes the run's start and end.
- The split of a step's cost: *plan* is planning the run once, divided by its steps; *engine CPU* is the run process's CPU (scheduling, building, redacting and queueing events) less plan and user code; *storage* is the wall time of the event batches' round trips (they overlap the steps, so they add to the wall only where the run waits for them: at its end); *user code* is the time inside the assets' functions.

| shape | assets | wall (s) | step interval, median (ms) | wall ÷ steps (ms) | plan (µs/step) | engine CPU (µs/step) | storage (µs/step) | user code (µs/step) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

- Target "per-step overhead ≤ 1 ms median, with storage writes, on a 10,000-asset chain and fan-out", judged on the stricter figure, wall ÷ steps (every event stored before the run ends): chain ${ms(perStep['chain-10000-wall']!, 3)} ms, fan-out ${ms(perStep['fanout-10000-wall']!, 3)} ms: **${perStep['chain-10000-wall']! <= 1 && perStep['fanout-10000-wall']! <= 1 ? 'met' : 'not met'}** (the engine's own step interval: chain ${ms(perStep['chain-10000']!, 3)} ms, fan-out ${ms(perStep['fanout-10000']!, 3)} ms; the rest is the event log's writes, which the run waits for at its end).
- Wall of 10,000 assets ÷ wall of 1,000 (linear would be 10×): ${growth}. The operation counts behind the claim are tested in \`packages/core/test/scale.test.ts\`.
- Anchor (published, not run here): Dagster's multiprocess executor spends 1–10 s per step (dagster-io/dagster #6439, #25780).
`,
  );
}

async function partLoad(): Promise<void> {
  const rows: string[] = [];
  for (const n of [2_000, 10_000]) {
    const build = await medianOf(3, async () => {
      const t = performance.now();
      new Definitions({ assets: buildAssets('lattice', n) });
      return performance.now() - t;
    });
    const cpu: number[] = [];
    const list = await medianOf(3, async () => {
      const r = await timeCommand(DAG, ['-f', DEFS, 'list'], {
        BENCH_ASSETS: String(n),
        BENCH_SHAPE: 'lattice',
      });
      if (!r.stdout.includes(`a${n - 1}`)) throw new Error(`dag list did not list a${n - 1}`);
      cpu.push(r.cpuMs);
      return r.wallMs;
    });
    rows.push(
      `| ${fmtInt(n)} | ${ms(build.median, 1)} | ${ms(list.median)} (${list.all.map((v) => ms(v)).join(' / ')}) | ${ms(median(cpu))} |`,
    );
  }
  await writeResultsSection(
    'core-load',
    `## Core: loading 2,000 and 10,000 definitions (\`bench/core/core-bench.ts load\`)

- Command: ${command('load')}
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- ${loadNote}
- A lattice of no-op assets (\`bench/core/defs.ts\`). *build*: creating the asset definitions and \`new Definitions\` (graph validation, cycles, topological order) in a running process. *dag list*: the whole command, \`node_modules/.bin/dag -f bench/core/defs.ts list\`, process start to exit (median of 3).

| definitions | build (ms) | \`dag list\` wall (ms) | \`dag list\` CPU (ms) |
| --- | --- | --- | --- |
${rows.join('\n')}

- Anchor (published, not run here): Dagster users report 20–90 s to load large code locations (dagster-io/dagster #16129, #22709).
`,
  );
}

async function partCli(): Promise<void> {
  const contenders: [string, string, string[]][] = [
    ['`node -e 0` (Node itself; reference)', process.execPath, ['-e', '0']],
    ['`node_modules/.bin/dag --help`', DAG, ['--help']],
    [
      '`DAG_FROM_SOURCE=1 node_modules/.bin/dag --help` (TypeScript sources through tsx, as before the build; reference)',
      'env',
      ['DAG_FROM_SOURCE=1', DAG, '--help'],
    ],
    [
      '`node_modules/.bin/dag -f pipelines/ds/src/definitions.ts list` (the DS code location)',
      DAG,
      ['-f', path.join('pipelines', 'ds', 'src', 'definitions.ts'), 'list'],
    ],
    ['`node_modules/.bin/dag list` (the repository workspace: DS, quickstart, governance)', DAG, ['list']],
    ['`node_modules/.bin/dag runs`', DAG, ['runs']],
  ];
  // The instance's server is running, as it is between commands.
  await ensureEmbeddedPostgres(home);
  await timeCommand(DAG, ['list']);
  const results = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  const cpus = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  for (let round = 0; round < 5; round++) {
    for (const [name, file, args] of contenders) {
      const r = await timeCommand(file, args);
      results.get(name)!.push(r.wallMs);
      cpus.get(name)!.push(r.cpuMs);
    }
  }
  const base = median(results.get(contenders[0]![0])!);
  const cpuBase = median(cpus.get(contenders[0]![0])!);
  const rows = contenders.map(([name]) => {
    const all = results.get(name)!;
    const cpu = median(cpus.get(name)!);
    return `| ${name} | ${ms(median(all))} | ${(median(all) / base).toFixed(2)}× | ${ms(cpu)} | ${(cpu / cpuBase).toFixed(2)}× | ${all.map((v) => ms(v)).join(' / ')} |`;
  });
  const help = median(results.get(contenders[1]![0])!);
  const list = median(results.get(contenders[3]![0])!);
  await writeResultsSection(
    'core-cli',
    `## Core: CLI start-up (\`bench/core/core-bench.ts cli\`)

- Command: ${command('cli')}
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- ${loadNote}
- Whole commands from the repository root, process start to exit, medians of 5 rounds run in rotation; the instance's server already running. CPU is user + system time of the command (\`/usr/bin/time\`), steadier than wall on a loaded machine.
- \`dag list\` imports each definitions file's TypeScript from its compile cache (\`node_modules/.cache/dag-ts\`, compiled once before the rounds; no loader thread, see docs/cli.md). The DS row loads the DS code location alone; the workspace row every code location of \`workspace.yaml\` (DS, quickstart, governance). Their heavy clients (AWS SDK, dockerode, DuckDB, sharp, pg, the Slack SDK) load only when an asset or resource uses them, but each location still imports zod (about 95 ES modules) and its own modules. The CLI's own start is the \`--help\` row; the packages' \`dist/\` entries are bundled (a few files per package, see docs/cli.md).

| command | wall (ms) | wall ÷ \`node -e 0\` | CPU (ms) | CPU ÷ \`node -e 0\` | wall per round (ms) |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

- Target "\`dag --help\` and \`dag list\` on the DS workspace < 300 ms", wall: --help ${ms(help)} ms, list of the DS location ${ms(list)} ms: **${help < 300 && list < 300 ? 'met' : 'not met'}** (CPU: --help ${ms(median(cpus.get(contenders[1]![0])!))} ms, DS list ${ms(median(cpus.get(contenders[3]![0])!))} ms; the whole repository workspace ${ms(median(results.get(contenders[4]![0])!))} ms wall, ${ms(median(cpus.get(contenders[4]![0])!))} ms CPU).
`,
  );
}

async function partMemory(): Promise<void> {
  await ensureEmbeddedPostgres(home);
  const n = 10_000;
  const { stderr } = await run(
    '/usr/bin/time',
    ['-f', 'wall=%e rss_kb=%M cpu=%U+%S', DAG, '-f', DEFS, 'materialize', '-s', '*', '-q'],
    {
      cwd: REPO_ROOT,
      env: { ...env, BENCH_ASSETS: String(n), BENCH_SHAPE: 'chain' },
      maxBuffer: 64 * 2 ** 20,
    },
  );
  const m = /wall=([\d.]+) rss_kb=(\d+) cpu=([\d.]+)\+([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no figures from /usr/bin/time: ${stderr.slice(-500)}`);
  const wall = Number(m[1]);
  const rssMb = Number(m[2]) / 1024;
  const cpu = Number(m[3]) + Number(m[4]);
  // The run's own duration, as the CLI's summary reports it: the rest is start-up and exit.
  const runTook = /SUCCESS in (\S+?)\.(?:\s|$)/.exec(stderr)?.[1];
  await writeResultsSection(
    'core-memory',
    `## Core: a 10,000-asset run from the CLI (\`bench/core/core-bench.ts memory\`)

- Command: ${command('memory')}
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- ${loadNote}
- \`/usr/bin/time dag -f bench/core/defs.ts materialize -s '*' -q\` with BENCH_ASSETS=10000 (a chain of no-op assets), the instance's server already running: process start to exit, and the process's peak RSS.

| what | figure |
| --- | --- |
| wall, \`dag materialize\` to exit | ${wall.toFixed(2)} s |
| CPU of the \`dag\` process (user + system) | ${cpu.toFixed(2)} s |
| the run itself, as its summary reports it | ${runTook ?? '-'} |
| peak RSS | ${rssMb.toFixed(0)} MB |

- Target "a 10,000-asset run ends in < 15 s": **${wall < 15 ? 'met' : 'not met'}**. Target "peaks below 300 MB of RSS": **${rssMb < 300 ? 'met' : 'not met'}**.
`,
  );
}

async function rssMb(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The live heap of a process started with heap-probe.mjs: a full collection, then its usage. */
async function heapAfterGcMb(pid: number, file: string, count: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const usage = text ? (JSON.parse(text) as { n: number; heapUsed: number }) : undefined;
    if (usage && usage.n === count) return usage.heapUsed / 1024 / 1024;
    if (Date.now() > deadline) throw new Error(`dag dev did not answer heap probe ${count} in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function partDev(): Promise<void> {
  await ensureEmbeddedPostgres(home);
  const uiDir = await mkdtemp(path.join(tmpdir(), 'dag-core-bench-ui-'));
  const probeFile = path.join(uiDir, 'heap.json');
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      pathToFileURL(path.join(REPO_ROOT, 'bench', 'core', 'heap-probe.mjs')).href,
      path.join(REPO_ROOT, 'packages', 'cli', 'bin', 'dag.js'),
      'dev',
      '-f',
      DEFS,
      '--port',
      '0',
      '--ui-dir',
      uiDir,
      '--no-watch',
    ],
    {
      cwd: REPO_ROOT,
      env: { ...env, BENCH_ASSETS: '20', BENCH_SHAPE: 'lattice', HEAP_PROBE_FILE: probeFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      log += d;
      const m = /listening on (http:\/\/\S+)/.exec(log);
      if (m) resolve(m[1]!.replace(/\/$/, ''));
    });
    child.once('exit', (code) => reject(new Error(`dag dev exited (${code}): ${log}`)));
  });
  const samples: [number, number, number][] = [];
  try {
    for (let i = 1; i <= 100; i++) {
      const res = await fetch(`${url}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ selection: '*' }),
      });
      if (res.status !== 201) throw new Error(`POST /api/runs: ${res.status} ${await res.text()}`);
      const { runId } = (await res.json()) as { runId: string };
      for (;;) {
        const r = (await (await fetch(`${url}/api/runs/${runId}`)).json()) as {
          run?: { status: string };
          status?: string;
        };
        const status = r.run?.status ?? r.status;
        if (status === 'SUCCESS') break;
        if (status === 'FAILURE' || status === 'CANCELED') throw new Error(`run ${runId} ${status}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (i === 1 || i % 10 === 0) {
        const heap = await heapAfterGcMb(child.pid!, probeFile, samples.length + 1);
        samples.push([i, await rssMb(child.pid!), heap]);
      }
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(uiDir, { recursive: true, force: true });
  }
  const first = samples.find(([i]) => i === 10)![1];
  const last = samples.at(-1)![1];
  const firstHeap = samples.find(([i]) => i === 10)![2];
  const lastHeap = samples.at(-1)![2];
  await writeResultsSection(
    'core-dev',
    `## Core: 100 consecutive runs in one \`dag dev\` (\`bench/core/core-bench.ts dev\`)

- Command: ${command('dev')}
- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- ${loadNote}
- \`dag dev -f bench/core/defs.ts\` (a lattice of 20 no-op assets); 100 runs launched one after another through \`POST /api/runs\`, each awaited to SUCCESS; the RSS of the \`dag dev\` process (each run has its own process), and its live heap: what V8's heap holds right after a full collection (\`bench/core/heap-probe.mjs\`, loaded into \`dag dev\` with \`--expose-gc\`; each sample forces a collection, so the RSS figures are taken after one too).

| after run | ${samples.map(([i]) => i).join(' | ')} |
| --- | ${samples.map(() => '---').join(' | ')} |
| RSS (MB) | ${samples.map(([, v]) => v.toFixed(0)).join(' | ')} |
| live heap after a full GC (MB) | ${samples.map(([, , h]) => h.toFixed(1)).join(' | ')} |

- Growth from run 10 to run 100: RSS ${(last - first).toFixed(1)} MB (${(((last - first) / first) * 100).toFixed(1)}%); live heap ${(lastHeap - firstHeap).toFixed(1)} MB (${(((lastHeap - firstHeap) / firstHeap) * 100).toFixed(1)}%).
`,
  );
}

try {
  if (want('postgres')) await partPostgres();
  await ensureEmbeddedPostgres(home);
  if (want('runs')) await partRuns();
  if (want('load')) await partLoad();
  if (want('cli')) await partCli();
  if (want('memory')) await partMemory();
  if (want('dev')) await partDev();
} finally {
  await stopEmbeddedPostgres(home).catch(() => {});
  await rm(home, { recursive: true, force: true });
}
