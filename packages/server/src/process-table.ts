import { readdir, readFile } from 'node:fs/promises';
import { descendants, isProcessAlive } from '@dag/core';

/** A process as seen at one moment: its pid and start time, so a reused pid is never mistaken for it. */
export interface ProcessIdentity {
  pid: number;
  /** Clock ticks since boot (Linux /proc field 22); null where /proc is not available. */
  start: number | null;
}

async function readStat(pid: number): Promise<{ ppid: number; start: number; zombie: boolean } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) may contain spaces and parentheses: parse after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: Number(fields[19]), zombie: fields[0] === 'Z' };
  } catch {
    return undefined;
  }
}

/** Every descendant of `pid` with its start time. */
export async function processTree(pid: number): Promise<ProcessIdentity[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return (await descendants(pid)).map((p) => ({ pid: p, start: null }));
  }
  const table = new Map<number, { ppid: number; start: number; zombie: boolean }>();
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const stat = await readStat(Number(e));
        if (stat) table.set(Number(e), stat);
      }),
  );
  const children = new Map<number, number[]>();
  for (const [p, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), p]);
  const out: ProcessIdentity[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    for (const child of children.get(frontier.pop()!) ?? []) {
      out.push({ pid: child, start: table.get(child)!.start });
      frontier.push(child);
    }
  }
  return out;
}

/** Whether this exact process (same pid and start time) is still running; a zombie is not. */
export async function isSameProcessAlive(p: ProcessIdentity): Promise<boolean> {
  if (!isProcessAlive(p.pid)) return false;
  const stat = await readStat(p.pid);
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
