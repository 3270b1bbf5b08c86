import { execFileSync, spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measurement of one contender in one round. */
export interface Sample {
  wallMs: number;
  /** CPU time (user + system) of the measured work, when it can be measured. */
  cpuMs?: number;
  /** Any other figure worth a median (bytes written, server CPU...). */
  extra?: Record<string, number>;
}

export interface Contender {
  name: string;
  run(round: number): Promise<Sample>;
}

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The shared corpus beside the repository (`../shared/bench-corpus`), or BENCH_CORPUS. */
export const CORPUS =
  process.env.BENCH_CORPUS ?? path.resolve(REPO_ROOT, '..', 'shared', 'bench-corpus', 'logos-1000');
/** Debian's Python, where python3-pil and python3-boto3 are installed (not a pyenv shim). */
export const PYTHON = '/usr/bin/python3';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs the contenders in rotation (A, B, C, A, B, C, ...) and returns every sample by name. */
export async function rotate(
  contenders: readonly Contender[],
  rounds: number,
): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      const sample = await contender.run(round);
      samples.get(contender.name)?.push(sample);
      const cpu = sample.cpuMs === undefined ? '' : `, cpu ${(sample.cpuMs / 1000).toFixed(2)} s`;
      const extra = sample.extra ? ` ${JSON.stringify(sample.extra)}` : '';
      console.error(
        `round ${round + 1} ${contender.name}: wall ${(sample.wallMs / 1000).toFixed(2)} s${cpu}${extra}`,
      );
    }
  }
  return samples;
}

export interface Summary {
  name: string;
  wallMs: number;
  cpuMs?: number;
  extra: Record<string, number>;
  rounds: number;
  /** Every round's wall time, in round order. */
  walls: number[];
}

export function summarize(samples: Map<string, Sample[]>): Summary[] {
  return [...samples].map(([name, list]) => {
    const cpus = list.map((s) => s.cpuMs).filter((v): v is number => v !== undefined);
    const keys = new Set(list.flatMap((s) => Object.keys(s.extra ?? {})));
    const extra: Record<string, number> = {};
    for (const key of keys) {
      extra[key] = median(list.map((s) => s.extra?.[key]).filter((v): v is number => v !== undefined));
    }
    return {
      name,
      wallMs: median(list.map((s) => s.wallMs)),
      ...(cpus.length === list.length ? { cpuMs: median(cpus) } : {}),
      extra,
      rounds: list.length,
      walls: list.map((s) => s.wallMs),
    };
  });
}

/** Wall and CPU (user + system of the command and all its children) of a bash command line. */
export async function runShell(
  command: string,
  env: Record<string, string> = {},
): Promise<{ wallMs: number; cpuMs: number; stdout: string }> {
  const started = performance.now();
  const child = spawn('bash', ['-c', `set -o pipefail\n${command}\nrc=$?\ntimes\nexit $rc`], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`command failed (${code}): ${command}\n${stderr.slice(-2000)}`);
  const lines = stdout.trimEnd().split('\n');
  const childTimes = lines.at(-1) ?? '';
  const parts = [...childTimes.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (parts.length !== 2) throw new Error(`cannot read CPU times from bash 'times': ${childTimes}`);
  return {
    wallMs,
    cpuMs: ((parts[0] as number) + (parts[1] as number)) * 1000,
    stdout: lines.slice(0, -2).join('\n'),
  };
}

/** CPU time of this process (all threads, libuv pool and libvips included) around `fn`. */
export async function timeInProcess(fn: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await fn();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** User + system CPU of another process so far, from /proc. */
export async function processCpuMs(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted after "pid (comm)": indexes 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Direct children of this process whose command line contains `needle`. */
export async function childPids(needle: string): Promise<number[]> {
  const tasks = await readdir(`/proc/${process.pid}/task`);
  const pids: number[] = [];
  for (const task of tasks) {
    const list = await readFile(`/proc/${process.pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const pid of list.trim().split(/\s+/).filter(Boolean).map(Number)) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(needle)) pids.push(pid);
    }
  }
  return pids;
}

/** Total size and count of the regular files directly in `dir` (optionally only names ending in `suffix`). */
export async function dirBytes(dir: string, suffix = ''): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(suffix) || entry.name.startsWith('.')) continue;
    bytes += (await stat(path.join(dir, entry.name))).size;
    files += 1;
  }
  return { bytes, files };
}

export const seconds = (ms: number | undefined): string =>
  ms === undefined ? 'n/a' : (ms / 1000).toFixed(2);
export const ratio = (value: number, base: number): string => `${(value / base).toFixed(2)}×`;

const startLoad = loadavg()[0] ?? 0;

/** The machine, and the 1-minute load average when the bench started and now (others share this machine). */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}; 1-min load average ${startLoad.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`;
}

/** Each round's wall time in seconds, for the tables. */
export const roundWalls = (s: { walls: number[] }): string =>
  s.walls.map((w) => (w / 1000).toFixed(2)).join(' / ');

/** Replaces (or appends) the section `name` of bench/RESULTS.md, between generated markers. */
export async function writeResultsSection(name: string, body: string): Promise<void> {
  const file = path.join(REPO_ROOT, 'bench', 'RESULTS.md');
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    text =
      '# Benchmark results\n\nEvery section below is written by its benchmark script (`bench/ds/*.ts`); numbers are never edited by hand.\nThe machine drifts ±20% between runs: compare only figures from the same section (same run).\n';
  }
  const section = `${start}\n${body.trimEnd()}\n${end}`;
  const at = text.indexOf(start);
  const stop = text.indexOf(end);
  text =
    at >= 0 && stop > at
      ? text.slice(0, at) + section + text.slice(stop + end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(file, text);
  // Tables come out as the repository's formatter lays them out, so `npm run lint` stays green.
  execFileSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', file], {
    stdio: 'ignore',
  });
}
