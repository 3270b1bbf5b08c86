/** Formatting of times, durations and numbers for the UI (pure). */

/** `950ms`, `12.3s`, `4m05s`, `2h07m`: the core's own (a module with no Node imports), as the CLI prints. */
export { formatDuration } from '@dag/core/metadata';

/** `just now`, `5 min ago`, `3 h ago`, `2 d ago`; future times as `in 5 min`. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const diff = now - t;
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 45_000) return diff >= 0 ? 'just now' : 'in a moment';
  if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.round(abs / 3_600_000)} h`;
  else text = `${Math.round(abs / 86_400_000)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** Local date and time, `2026-11-22 14:03:05`. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '-';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Time of day with milliseconds, for event logs: `14:03:05.123`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Thousands separators: 1234567 → `1,234,567`; floats keep up to 4 significant decimals. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  // Integers by hand: the first toLocaleString of a page costs milliseconds of ICU set-up.
  if (Number.isInteger(value) && Math.abs(value) < 1e21)
    return String(value).replace(/\B(?=(\d{3})+$)/g, ',');
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 2 : abs >= 1 ? 3 : 4;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Duration between two ISO times (end defaults to now), or null when start is missing. */
export function elapsedMs(
  start: string | null | undefined,
  end?: string | null,
  now = Date.now(),
): number | null {
  if (!start) return null;
  const s = Date.parse(start);
  if (Number.isNaN(s)) return null;
  const e = end ? Date.parse(end) : now;
  return Number.isNaN(e) ? null : Math.max(0, e - s);
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
