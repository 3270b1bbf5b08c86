/** Pure helpers of the run page: merging streamed events, steps and their timeline, filters. */
import { deriveSteps } from '@dag/core/events';
import type { LogLevel, RunRecord, RunStep, StoredEvent } from '../api/types.ts';

export { isTerminalEvent } from '@dag/core/events';

/**
 * Adds events that are new (by id) to a list sorted by id. Returns the same array when nothing
 * was new, so React can skip a render.
 */
export function mergeEvents(existing: StoredEvent[], incoming: readonly StoredEvent[]): StoredEvent[] {
  if (incoming.length === 0) return existing;
  const lastId = existing.length ? existing[existing.length - 1]!.id : Number.NEGATIVE_INFINITY;
  const fresh = incoming.filter((e) => e.id > lastId);
  // Common case: everything new comes after what we have, in order.
  const inOrder =
    fresh.length === incoming.length && fresh.every((e, i) => i === 0 || e.id > fresh[i - 1]!.id);
  if (inOrder) return fresh.length ? existing.concat(fresh) : existing;
  const seen = new Set(existing.map((e) => e.id));
  const added: StoredEvent[] = [];
  for (const e of incoming) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    added.push(e);
  }
  if (added.length === 0) return existing;
  return existing.concat(added).sort((a, b) => a.id - b.id);
}

/**
 * The run's steps: the core's derivation over the events the page holds, once they reach back to
 * the run's start (RUN_START); until then (or if the log's start was purged) the server's,
 * which is the same derivation over the stored log.
 */
export function runSteps(
  apiSteps: readonly RunStep[],
  events: readonly StoredEvent[],
  run: RunRecord | undefined,
  /** Every event of the run has arrived (the stream is done). */
  complete: boolean,
): RunStep[] {
  if (!events.some((e) => e.type === 'RUN_START')) return [...apiSteps];
  // The run record can say the run ended before its last step events reach the page. Until the
  // log is complete, its status must not close the steps still running: they would show as failed.
  return deriveSteps(events, complete ? run : undefined);
}

export interface TimelineBar {
  key: string;
  status: string;
  /** Percent of the run's span. */
  left: number;
  width: number;
  durationMs: number | null;
}

/** Bars of a step timeline over [runStart, runEnd or now]. */
export function timelineBars(
  steps: readonly RunStep[],
  runStart: string | null,
  runEnd: string | null,
  now = Date.now(),
): TimelineBar[] {
  const starts = steps
    .map((s) => (s.startedAt ? Date.parse(s.startedAt) : Number.NaN))
    .filter((t) => !Number.isNaN(t));
  const start = runStart ? Date.parse(runStart) : starts.length ? Math.min(...starts) : now;
  let end = runEnd ? Date.parse(runEnd) : now;
  for (const s of steps) if (s.endedAt) end = Math.max(end, Date.parse(s.endedAt));
  const span = Math.max(1, end - start);
  return steps.map((s) => {
    if (!s.startedAt) return { key: s.key, status: s.status, left: 0, width: 0, durationMs: null };
    const a = Date.parse(s.startedAt);
    const b = s.endedAt ? Date.parse(s.endedAt) : runEnd ? Date.parse(runEnd) : now;
    const left = Math.min(100, Math.max(0, ((a - start) / span) * 100));
    const width = Math.min(100 - left, Math.max(0, ((b - a) / span) * 100));
    return { key: s.key, status: s.status, left, width, durationMs: Math.max(0, b - a) };
  });
}

/** Latest progress of each step (STEP_PROGRESS data: { done, total? }). */
export function progressByStep(
  events: readonly StoredEvent[],
): Map<string, { done: number; total?: number; message: string }> {
  const out = new Map<string, { done: number; total?: number; message: string }>();
  for (const e of events) {
    if (e.type !== 'STEP_PROGRESS' || !e.stepKey) continue;
    const p: { done: number; total?: number; message: string } = { done: e.data.done, message: e.message };
    if (e.data.total !== undefined) p.total = e.data.total;
    out.set(e.stepKey, p);
  }
  return out;
}

export interface EventFilter {
  /** Minimum level shown. */
  level: LogLevel;
  /** 'all' | 'logs' (LOG only) | 'steps' (everything but LOG and STEP_PROGRESS). */
  kind: 'all' | 'logs' | 'steps';
  step: string;
  text: string;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function filterEvents(events: readonly StoredEvent[], filter: EventFilter): StoredEvent[] {
  const text = filter.text.trim().toLowerCase();
  const min = LEVEL_RANK[filter.level] ?? 0;
  return events.filter((e) => {
    if ((LEVEL_RANK[e.level] ?? 1) < min) return false;
    if (filter.kind === 'logs' && e.type !== 'LOG') return false;
    if (filter.kind === 'steps' && (e.type === 'LOG' || e.type === 'STEP_PROGRESS')) return false;
    if (filter.step && e.stepKey !== filter.step) return false;
    if (text && !e.message.toLowerCase().includes(text) && !e.type.toLowerCase().includes(text)) return false;
    return true;
  });
}
