import type { DateTime } from 'luxon';
import { lazyRequire } from '../util/lazy-require.ts';

const luxon = lazyRequire<typeof import('luxon')>('luxon', import.meta.url);

import { DefinitionError, UsageError } from '../errors.ts';

/**
 * Partitions split an asset into slices materialized on their own: one per day, per hour, per
 * region, per customer added at run time. A partition is named by its key (a string):
 * `2026-11-03` (daily, weekly, monthly), `2026-11-03-14:00` (hourly), a static or dynamic key,
 * or `2026-11-03|kr` for a multi-dimensional one (dimension keys joined by '|' in the order of
 * the dimension names, as in Dagster).
 */
export type PartitionsDefinition =
  | TimeWindowPartitions
  | StaticPartitions
  | DynamicPartitions
  | MultiPartitions;

/** What resolving keys needs besides the definition: the time now and dynamic keys. */
export interface PartitionKeyContext {
  now: Date;
  /** The keys of a dynamic partitions definition, as stored in the instance. */
  dynamicKeys(name: string): readonly string[];
}

export interface TimeWindow {
  start: Date;
  end: Date;
}

export interface PartitionKeyRange {
  start: string;
  end: string;
}

export type TimeCadence = 'hourly' | 'daily' | 'weekly' | 'monthly';

export interface TimeWindowPartitions {
  readonly kind: 'partitions';
  readonly type: 'time';
  readonly cadence: TimeCadence;
  readonly start: Date;
  /** The first instant after the last partition (fixed end), or undefined (up to now). */
  readonly end: Date | undefined;
  readonly timezone: string;
  readonly endOffset: number;
  /** Weekly: the day a week starts on, 0 = Sunday (Dagster's default) ... 6 = Saturday. */
  readonly dayOfWeek: number;
  /** The key format (luxon tokens): 'yyyy-MM-dd', or 'yyyy-MM-dd-HH:mm' for hourly. */
  readonly format: string;
  readonly description: string;
}

export interface StaticPartitions {
  readonly kind: 'partitions';
  readonly type: 'static';
  readonly keys: readonly string[];
  readonly description: string;
}

export interface DynamicPartitions {
  readonly kind: 'partitions';
  readonly type: 'dynamic';
  /** The name the keys are stored under in the instance (`dag partitions add <name> <key>`). */
  readonly name: string;
  readonly description: string;
}

export interface MultiPartitions {
  readonly kind: 'partitions';
  readonly type: 'multi';
  /** The dimensions, sorted by name (the order of a key's parts). */
  readonly dimensions: readonly {
    name: string;
    partitions: TimeWindowPartitions | StaticPartitions | DynamicPartitions;
  }[];
  readonly description: string;
}

export interface TimeWindowOptions {
  /** The first partition: a date ('2026-11-01'), a date-time in the time zone, or a Date. */
  start: string | Date;
  /** An IANA time zone; windows follow its wall clock across DST. Default 'UTC'. */
  timezone?: string;
  /**
   * Partitions past the last complete window: 0 (default) ends with the last window that has
   * ended; 1 adds the window in progress; -1 leaves out the last complete one.
   */
  endOffset?: number;
  /** A fixed end (exclusive): no partition starts at or after it. */
  end?: string | Date;
}

const FORMATS: Record<TimeCadence, string> = {
  hourly: 'yyyy-MM-dd-HH:mm',
  daily: 'yyyy-MM-dd',
  weekly: 'yyyy-MM-dd',
  monthly: 'yyyy-MM-dd',
};

const KEY_SEPARATOR = '|';

function parseInstant(value: string | Date, zone: string, what: string, field: string): Date {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new DefinitionError(`${what}: '${field}' is an invalid Date.`);
    return value;
  }
  const dt = luxon().DateTime.fromISO(String(value), { zone });
  if (!dt.isValid) {
    throw new DefinitionError(
      `${what}: '${field}' must be a date like '2026-11-01' (or an ISO date-time), got ${JSON.stringify(value)}.`,
    );
  }
  return dt.toJSDate();
}

function timeWindowPartitions(cadence: TimeCadence, options: TimeWindowOptions & { dayOfWeek?: number }) {
  const what = `${cadence}Partitions`;
  if (!options || typeof options !== 'object' || options.start === undefined) {
    throw new DefinitionError(`${what} needs a start, e.g. ${what}({ start: '2026-11-01' }).`);
  }
  const timezone = options.timezone ?? 'UTC';
  if (!luxon().IANAZone.isValidZone(timezone)) {
    throw new DefinitionError(
      `${what}: unknown time zone ${JSON.stringify(timezone)}; use an IANA name like 'Asia/Seoul'.`,
    );
  }
  const endOffset = options.endOffset ?? 0;
  if (!Number.isInteger(endOffset)) {
    throw new DefinitionError(
      `${what}: endOffset must be an integer, got ${JSON.stringify(options.endOffset)}.`,
    );
  }
  const dayOfWeek = options.dayOfWeek ?? 0;
  if (!Number.isInteger(dayOfWeek) || dayOfWeek < 0 || dayOfWeek > 6) {
    throw new DefinitionError(
      `${what}: dayOfWeek must be 0 (Sunday) to 6 (Saturday), got ${JSON.stringify(options.dayOfWeek)}.`,
    );
  }
  const def: TimeWindowPartitions = {
    kind: 'partitions',
    type: 'time',
    cadence,
    timezone,
    endOffset,
    dayOfWeek,
    format: FORMATS[cadence],
    start: new Date(0),
    end: undefined,
    description: '',
  };
  // The first window is the one that contains the start (a start inside a window rounds down).
  const start = windowStartOf(def, parseInstant(options.start, timezone, what, 'start'));
  const end = options.end === undefined ? undefined : parseInstant(options.end, timezone, what, 'end');
  if (end && end.getTime() <= start.getTime()) {
    throw new DefinitionError(`${what}: end must be after start.`);
  }
  return {
    ...def,
    start,
    end,
    description: `${cadence} from ${formatKey(def, start)} (${timezone})${endOffset ? `, endOffset ${endOffset}` : ''}`,
  } satisfies TimeWindowPartitions;
}

/** One partition per day, midnight to midnight in the time zone; keys 'yyyy-MM-dd'. */
export function dailyPartitions(options: TimeWindowOptions): TimeWindowPartitions {
  return timeWindowPartitions('daily', options);
}
/** One partition per hour of the time zone's wall clock; keys 'yyyy-MM-dd-HH:mm'. */
export function hourlyPartitions(options: TimeWindowOptions): TimeWindowPartitions {
  return timeWindowPartitions('hourly', options);
}
/** One partition per week starting on `dayOfWeek` (0 = Sunday); keys are the first day. */
export function weeklyPartitions(options: TimeWindowOptions & { dayOfWeek?: number }): TimeWindowPartitions {
  return timeWindowPartitions('weekly', options);
}
/** One partition per calendar month; keys are the first day ('2026-11-01'). */
export function monthlyPartitions(options: TimeWindowOptions): TimeWindowPartitions {
  return timeWindowPartitions('monthly', options);
}

function assertValidKey(key: unknown, what: string): asserts key is string {
  if (
    typeof key !== 'string' ||
    key === '' ||
    key.includes(KEY_SEPARATOR) ||
    key.includes('...') ||
    key.trim() !== key
  ) {
    throw new DefinitionError(
      `${what}: partition key ${JSON.stringify(key)} is invalid; keys are non-empty strings without '|', '...' or surrounding spaces.`,
    );
  }
}

/** A fixed list of partitions: `staticPartitions(['kr', 'jp', 'us'])`. */
export function staticPartitions(keys: readonly string[]): StaticPartitions {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new DefinitionError(
      `staticPartitions needs a non-empty array of keys, e.g. staticPartitions(['kr', 'jp']).`,
    );
  }
  const seen = new Set<string>();
  for (const key of keys) {
    assertValidKey(key, 'staticPartitions');
    if (seen.has(key)) throw new DefinitionError(`staticPartitions: key '${key}' is listed twice.`);
    seen.add(key);
  }
  return { kind: 'partitions', type: 'static', keys: [...keys], description: `static (${keys.length})` };
}

/**
 * Partitions whose keys are added and removed at run time (a sensor, the API, or
 * `dag partitions add <name> <key>`), stored in the instance under `name`.
 */
export function dynamicPartitions(options: { name: string }): DynamicPartitions {
  const name = options?.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new DefinitionError(
      `dynamicPartitions needs a name of letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}.`,
    );
  }
  return { kind: 'partitions', type: 'dynamic', name, description: `dynamic '${name}'` };
}

/** Partitions over two or more dimensions: `multiPartitions({ date: dailyPartitions(...), region: staticPartitions([...]) })`. */
export function multiPartitions(
  dimensions: Record<string, TimeWindowPartitions | StaticPartitions | DynamicPartitions>,
): MultiPartitions {
  const entries = Object.entries(dimensions ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length < 2) {
    throw new DefinitionError(
      'multiPartitions needs at least two dimensions, e.g. { date: dailyPartitions(...), region: staticPartitions([...]) }.',
    );
  }
  if (entries.filter(([, p]) => p?.type === 'time').length > 1) {
    throw new DefinitionError('multiPartitions: at most one dimension can be a time window.');
  }
  for (const [name, p] of entries) {
    if (p?.kind !== 'partitions' || (p.type as string) === 'multi') {
      throw new DefinitionError(
        `multiPartitions: dimension '${name}' must be daily/hourly/weekly/monthly, static or dynamic partitions.`,
      );
    }
  }
  return {
    kind: 'partitions',
    type: 'multi',
    dimensions: entries.map(([name, partitions]) => ({ name, partitions })),
    description: entries.map(([n, p]) => `${n}: ${p.description}`).join(' × '),
  };
}

/** Validates an `asset({ partitions })` option. */
export function assertPartitionsDefinition(
  value: unknown,
  owner: string,
): asserts value is PartitionsDefinition {
  const v = value as { kind?: unknown } | null;
  if (!v || typeof v !== 'object' || v.kind !== 'partitions') {
    throw new DefinitionError(
      `${owner}: partitions must be built with dailyPartitions, hourlyPartitions, weeklyPartitions, monthlyPartitions, staticPartitions, dynamicPartitions or multiPartitions.`,
    );
  }
}

// ---- time windows ------------------------------------------------------------------------

function local(def: TimeWindowPartitions, instant: Date): DateTime {
  return luxon().DateTime.fromJSDate(instant, { zone: def.timezone });
}

/** The start of the window that contains `instant`. */
export function windowStartOf(def: TimeWindowPartitions, instant: Date): Date {
  const dt = local(def, instant);
  let start: DateTime;
  switch (def.cadence) {
    case 'hourly':
      start = dt.startOf('hour');
      break;
    case 'daily':
      start = dt.startOf('day');
      break;
    case 'weekly': {
      const day = dt.startOf('day');
      const back = (day.weekday % 7) - def.dayOfWeek; // luxon: 1 = Monday ... 7 = Sunday
      start = day.minus({ days: (back + 7) % 7 }).startOf('day');
      break;
    }
    case 'monthly':
      start = dt.startOf('month');
      break;
  }
  return start.toJSDate();
}

/**
 * The start of the window after the one starting at `start`. Calendar arithmetic in the zone:
 * a day is 23 or 25 hours across a DST change, and an hour repeated when clocks go back is one
 * partition (its key cannot tell the two apart), two hours long.
 */
export function nextWindowStart(def: TimeWindowPartitions, start: Date): Date {
  const dt = local(def, start);
  switch (def.cadence) {
    case 'hourly': {
      const key = dt.toFormat(def.format);
      let next = dt.plus({ hours: 1 });
      while (next.toFormat(def.format) === key) next = next.plus({ hours: 1 });
      return next.toJSDate();
    }
    case 'daily':
      return dt.plus({ days: 1 }).startOf('day').toJSDate();
    case 'weekly':
      return dt.plus({ weeks: 1 }).startOf('day').toJSDate();
    case 'monthly':
      return dt.plus({ months: 1 }).startOf('month').toJSDate();
  }
}

export function formatKey(def: TimeWindowPartitions, start: Date): string {
  return local(def, start).toFormat(def.format);
}

/** The window a key names, or undefined when the key is not of this definition's format. */
export function parseTimeKey(def: TimeWindowPartitions, key: string): TimeWindow | undefined {
  const dt = luxon().DateTime.fromFormat(key, def.format, { zone: def.timezone });
  if (!dt.isValid) return undefined;
  let start = dt.toJSDate();
  // A wall time repeated when clocks go back names the window from its first occurrence.
  const hourBefore = () => new Date(start.getTime() - 3_600_000);
  while (def.cadence === 'hourly' && formatKey(def, hourBefore()) === key) start = hourBefore();
  // Only the start of a window is a key (a weekly key is the week's first day).
  if (formatKey(def, windowStartOf(def, start)) !== key) return undefined;
  return { start, end: nextWindowStart(def, start) };
}

/** The exclusive end of the last partition, given the time now. */
function timeKeysEnd(def: TimeWindowPartitions, now: Date): Date {
  // The window in progress starts at windowStartOf(now); complete windows end there.
  let end = windowStartOf(def, now);
  for (let i = 0; i < def.endOffset; i++) end = nextWindowStart(def, end);
  for (let i = 0; i > def.endOffset; i--) end = previousWindowStart(def, end);
  if (def.end && def.end.getTime() < end.getTime()) end = windowStartOf(def, def.end);
  return end;
}

export function previousWindowStart(def: TimeWindowPartitions, start: Date): Date {
  // The window containing the instant just before this one's start.
  return windowStartOf(def, new Date(start.getTime() - 1));
}

/** Window starts in [from, to), oldest first. */
export function windowStartsBetween(def: TimeWindowPartitions, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (let s = windowStartOf(def, from); s.getTime() < to.getTime(); s = nextWindowStart(def, s)) out.push(s);
  return out;
}

const keysCache = new WeakMap<TimeWindowPartitions, { end: number; keys: string[] }>();

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * The keys from the definition's start up to `end`, without one luxon computation per key:
 * daily, weekly and monthly keys are consecutive calendar dates (whatever the zone), so they
 * step in UTC calendar arithmetic up to the key of `end`; hourly keys step one real hour at a
 * time and take the zone's offset at each (a repeated hour gives one key, a skipped one none).
 */
function timeKeysBetween(def: TimeWindowPartitions, end: Date): string[] {
  const out: string[] = [];
  const field = (date: Date) =>
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  if (def.cadence === 'hourly') {
    const zone = luxon().IANAZone.create(def.timezone);
    // The offset is asked once a day, and every hour only on a day it changes.
    let dayEnd = Number.NEGATIVE_INFINITY;
    let steady: number | undefined;
    const offset = (ms: number) => {
      if (ms >= dayEnd) {
        const o = zone.offset(ms);
        dayEnd = ms + 86_400_000;
        steady = zone.offset(dayEnd) === o ? o : undefined;
      }
      return steady ?? zone.offset(ms);
    };
    let previous = '';
    for (let ms = def.start.getTime(); ms < end.getTime(); ms += 3_600_000) {
      const wall = new Date(ms + offset(ms) * 60_000);
      const key = `${field(wall)}-${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}`;
      if (key !== previous) out.push(key);
      previous = key;
    }
    return out;
  }
  const endKey = formatKey(def, end);
  const first = local(def, def.start);
  const year = first.year;
  let month = first.month - 1;
  let day = first.day;
  for (;;) {
    const key = field(new Date(Date.UTC(year, month, day)));
    if (key >= endKey) break;
    out.push(key);
    if (def.cadence === 'daily') day += 1;
    else if (def.cadence === 'weekly') day += 7;
    else month += 1;
  }
  return out;
}

// ---- keys of any definition --------------------------------------------------------------

/** Every partition key of a definition now, in order (time: oldest first). */
export function partitionKeys(def: PartitionsDefinition, ctx: PartitionKeyContext): string[] {
  switch (def.type) {
    case 'time': {
      const end = timeKeysEnd(def, ctx.now);
      if (end.getTime() <= def.start.getTime()) return [];
      // The keys change only when a window closes: computed once per end, per definition.
      const cached = keysCache.get(def);
      if (cached?.end === end.getTime()) return [...cached.keys];
      const keys = timeKeysBetween(def, end);
      keysCache.set(def, { end: end.getTime(), keys });
      return [...keys];
    }
    case 'static':
      return [...def.keys];
    case 'dynamic':
      return [...ctx.dynamicKeys(def.name)];
    case 'multi': {
      let out: string[] = [''];
      def.dimensions.forEach((d, i) => {
        const keys = partitionKeys(d.partitions, ctx);
        out = out.flatMap((prefix) => keys.map((k) => (i === 0 ? k : `${prefix}${KEY_SEPARATOR}${k}`)));
      });
      return out;
    }
  }
}

/** The dimension keys of a multi-partition key, by dimension name. */
export function splitMultiKey(def: MultiPartitions, key: string): Record<string, string> | undefined {
  const parts = key.split(KEY_SEPARATOR);
  if (parts.length !== def.dimensions.length) return undefined;
  return Object.fromEntries(def.dimensions.map((d, i) => [d.name, parts[i]!]));
}

export function joinMultiKey(def: MultiPartitions, parts: Record<string, string>): string {
  return def.dimensions.map((d) => parts[d.name]).join(KEY_SEPARATOR);
}

/** The time window of a key (a time definition, or the time dimension of a multi one). */
export function timeWindowOf(def: PartitionsDefinition, key: string): TimeWindow | undefined {
  if (def.type === 'time') return parseTimeKey(def, key);
  if (def.type === 'multi') {
    const time = def.dimensions.find((d) => d.partitions.type === 'time');
    const parts = splitMultiKey(def, key);
    if (!time || !parts) return undefined;
    return parseTimeKey(time.partitions as TimeWindowPartitions, parts[time.name]!);
  }
  return undefined;
}

/** A short description of the valid keys, for errors: "2026-11-01...2026-12-02 (32 partitions)". */
export function describeKeys(keys: readonly string[]): string {
  if (keys.length === 0) return 'none yet';
  if (keys.length <= 5) return keys.join(', ');
  return `${keys[0]}...${keys[keys.length - 1]} (${keys.length} partitions)`;
}

/**
 * The keys of a range 'A...B' (inclusive) or a comma-separated list, checked against the
 * definition's keys. `owner` names the asset in errors.
 */
export function resolvePartitionSelection(
  keys: readonly string[],
  selection: string,
  owner: string,
): string[] {
  const index = new Map(keys.map((k, i) => [k, i]));
  const check = (key: string) => {
    const i = index.get(key);
    if (i === undefined) {
      throw new UsageError(
        `Partition '${key}' is not a partition of ${owner}; valid: ${describeKeys(keys)}.`,
      );
    }
    return i;
  };
  const out: string[] = [];
  for (const part of selection
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const range = part.split('...');
    if (range.length === 2) {
      const a = check(range[0]!.trim());
      const b = check(range[1]!.trim());
      if (b < a) throw new UsageError(`Partition range '${part}' of ${owner} ends before it starts.`);
      out.push(...keys.slice(a, b + 1));
    } else if (range.length === 1) {
      out.push(keys[check(part)]!);
    } else {
      throw new UsageError(`Partition selection '${part}' is not a key or a range 'A...B'.`);
    }
  }
  if (out.length === 0) throw new UsageError(`The partition selection of ${owner} is empty.`);
  return [...new Set(out)];
}

/** Whether two definitions have the same partitions (identity mapping applies). */
export function samePartitions(a: PartitionsDefinition, b: PartitionsDefinition): boolean {
  if (a === b) return true;
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'time': {
      const t = b as TimeWindowPartitions;
      return (
        a.cadence === t.cadence &&
        a.timezone === t.timezone &&
        a.dayOfWeek === t.dayOfWeek &&
        a.start.getTime() === t.start.getTime()
      );
    }
    case 'static': {
      const s = b as StaticPartitions;
      return a.keys.length === s.keys.length && a.keys.every((k, i) => k === s.keys[i]);
    }
    case 'dynamic':
      return a.name === (b as DynamicPartitions).name;
    case 'multi': {
      const m = b as MultiPartitions;
      return (
        a.dimensions.length === m.dimensions.length &&
        a.dimensions.every(
          (d, i) =>
            d.name === m.dimensions[i]!.name && samePartitions(d.partitions, m.dimensions[i]!.partitions),
        )
      );
    }
  }
}

/** The names of dynamic definitions a definition reads (to load their keys once). */
export function dynamicNames(def: PartitionsDefinition): string[] {
  if (def.type === 'dynamic') return [def.name];
  if (def.type === 'multi') return def.dimensions.flatMap((d) => dynamicNames(d.partitions));
  return [];
}

/** The cron of a time definition's windows (for a schedule that runs each closed partition). */
export function cadenceCron(def: TimeWindowPartitions): string {
  switch (def.cadence) {
    case 'hourly':
      return '0 * * * *';
    case 'daily':
      return '0 0 * * *';
    case 'weekly':
      return `0 0 * * ${def.dayOfWeek}`;
    case 'monthly':
      return '0 0 1 * *';
  }
}

/** The names of the dynamic partitions a definition uses (itself, or dimensions of a multi). */
export function dynamicPartitionNames(def: PartitionsDefinition): string[] {
  const dims = def.type === 'multi' ? def.dimensions.map((d) => d.partitions) : [def];
  return dims.flatMap((d) => (d.type === 'dynamic' ? [d.name] : []));
}

/**
 * A plain description of a definition (API, CLI), with `dynamic`: the names of the dynamic
 * partitions whose keys are managed at run time, when it uses some, and a multi-partitions'
 * `dimensions`.
 */
export function describePartitions(def: PartitionsDefinition): {
  type: string;
  description: string;
  dynamic?: string[];
  /** Of multi-partitions: the dimension names, in the order of the parts of a key. */
  dimensions?: string[];
} {
  const dynamic = dynamicPartitionNames(def);
  return {
    type: def.type === 'time' ? def.cadence : def.type,
    description: def.description,
    ...(dynamic.length > 0 ? { dynamic } : {}),
    ...(def.type === 'multi' ? { dimensions: def.dimensions.map((d) => d.name) } : {}),
  };
}
