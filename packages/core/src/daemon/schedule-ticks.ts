import type { Cron } from 'croner';
import type { ScheduleDefinition } from '../definitions/automation.ts';
import { DefinitionError } from '../errors.ts';
import { lazyRequire } from '../util/lazy-require.ts';

/** Loaded on first use: only schedules and cron conditions need it. */
const croner = lazyRequire<typeof import('croner')>('croner', import.meta.url);

// Parsed crons by pattern and zone: a daemon asks for the same schedules' ticks every second.
const parsed = new Map<string, Cron>();

function cronFor(schedule: Pick<ScheduleDefinition, 'name' | 'cron' | 'timezone'>): Cron {
  const key = `${schedule.timezone}\u0000${schedule.cron}`;
  const cached = parsed.get(key);
  if (cached) return cached;
  try {
    const cron = new (croner().Cron)(schedule.cron, { timezone: schedule.timezone, paused: true });
    parsed.set(key, cron);
    return cron;
  } catch (error) {
    throw new DefinitionError(
      `Schedule '${schedule.name}': invalid cron '${schedule.cron}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * The next `count` tick times strictly after `after`, in the schedule's time zone (croner
 * handles DST: a local time skipped by the spring-forward change fires at the first valid
 * minute after it; a time repeated in autumn fires once).
 */
export function nextTicks(
  schedule: Pick<ScheduleDefinition, 'name' | 'cron' | 'timezone'>,
  after: Date,
  count: number,
): Date[] {
  return cronFor(schedule).nextRuns(count, after);
}

/** Tick times in (after, until], at most `limit` (oldest first). */
export function ticksBetween(
  schedule: Pick<ScheduleDefinition, 'name' | 'cron' | 'timezone'>,
  after: Date,
  until: Date,
  limit = 1000,
): Date[] {
  const cron = cronFor(schedule);
  const out: Date[] = [];
  let cursor = after;
  while (out.length < limit) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > until.getTime()) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

/** ISO-8601 with the offset of a time zone: 2026-11-23T02:00:00+09:00. */
export function isoWithOffset(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const local = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offsetMinutes = Math.round((local - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}
