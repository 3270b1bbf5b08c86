import { readdirSync, readFileSync } from 'node:fs';
import { descendants, isProcessAlive } from '@dag/core';

/** A process as seen at one moment: its pid and start time, so a reused pid is never mistaken for it. */
export interface ProcessIdentity {
  pid: number;
  /** Clock ticks since boot (Linux /proc field 22); null where /proc is not available. */
  start: number | null;
}

function readStat(pid: number): { ppid: number; start: number; zombie: boolean } | undefined {
  try {
    // Synchronous: /proc is in memory, and a table of a few hundred processes is read in a
    // few milliseconds this way against tens through the thread pool.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) may contain spaces and parentheses: parse after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: Number(fields[19]), zombie: fields[0] === 'Z' };
  } catch {
    return undefined;
  }
}

/** Every descendant of each of `pids` with its start time, from one reading of the process table. */
export async function processTrees(pids: number[]): Promise<Map<number, ProcessIdentity[]>> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    const trees = new Map<number, ProcessIdentity[]>();
    for (const pid of pids)
      trees.set(
        pid,
        (await descendants(pid)).map((p) => ({ pid: p, start: null })),
      );
    return trees;
  }
  const table = new Map<number, { ppid: number; start: number; zombie: boolean }>();
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readStat(Number(e));
    if (stat) table.set(Number(e), stat);
  }
  const children = new Map<number, number[]>();
  for (const [p, { ppid }] of table) {
    const siblings = children.get(ppid);
    if (siblings) siblings.push(p);
    else children.set(ppid, [p]);
  }
  const trees = new Map<number, ProcessIdentity[]>();
  for (const pid of pids) {
    const out: ProcessIdentity[] = [];
    const frontier = [pid];
    while (frontier.length > 0) {
      for (const child of children.get(frontier.pop()!) ?? []) {
        out.push({ pid: child, start: table.get(child)!.start });
        frontier.push(child);
      }
    }
    trees.set(pid, out);
  }
  return trees;
}

/** Every descendant of `pid` with its start time. */
export async function processTree(pid: number): Promise<ProcessIdentity[]> {
  return (await processTrees([pid])).get(pid)!;
}

/** Whether this exact process (same pid and start time) is still running; a zombie is not. */
export async function isSameProcessAlive(p: ProcessIdentity): Promise<boolean> {
  if (!isProcessAlive(p.pid)) return false;
  const stat = readStat(p.pid);
  if (stat === undefined) return p.start === null;
  return !stat.zombie && (p.start === null || stat.start === p.start);
}

/**
 * Kills processes remembered from a run's tree that outlived it (re-parented to init when
 * their parent died, so no longer reachable as descendants): SIGTERM, then SIGKILL.
 */
export async function killSurvivors(processes: Iterable<ProcessIdentity>, graceMs = 2000): Promise<number> {
  const alive: ProcessIdentity[] = [];
  for (const p of processes) if (await isSameProcessAlive(p)) alive.push(p);
  for (const p of alive) signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = alive;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const next: ProcessIdentity[] = [];
    for (const p of left) if (await isSameProcessAlive(p)) next.push(p);
    left = next;
  }
  for (const p of left) signal(p.pid, 'SIGKILL');
  return alive.length;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
