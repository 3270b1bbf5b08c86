/**
 * Metadata values (the `md.*` shapes of @dag/core) as the UI shows them: pure helpers that the
 * metadata view renders, kept apart so they are unit-tested.
 */
import type { MetadataValue } from '../api/types.ts';
import { formatDuration, formatNumber } from './format.ts';

const KNOWN_TYPES = new Set([
  'int',
  'float',
  'bool',
  'text',
  'markdown',
  'url',
  'path',
  'json',
  'duration',
  'table',
  'images',
  'null',
]);

/** A value as the API sent it, checked; anything unexpected becomes a JSON value (never throws). */
export function toMetadataValue(raw: unknown): MetadataValue {
  if (raw === null || raw === undefined) return { type: 'null' };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    if (typeof raw === 'number')
      return Number.isInteger(raw) ? { type: 'int', value: raw } : { type: 'float', value: raw };
    if (typeof raw === 'string') return { type: 'text', value: raw };
    if (typeof raw === 'boolean') return { type: 'bool', value: raw };
    return { type: 'json', value: raw };
  }
  const v = raw as Record<string, unknown>;
  const type = v.type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) return { type: 'json', value: raw };
  switch (type) {
    case 'int':
    case 'float':
      return typeof v.value === 'number' ? { type, value: v.value } : { type: 'json', value: raw };
    case 'bool':
      return typeof v.value === 'boolean' ? { type, value: v.value } : { type: 'json', value: raw };
    case 'text':
    case 'markdown':
    case 'url':
    case 'path':
      return typeof v.value === 'string' ? { type, value: v.value } : { type: 'json', value: raw };
    case 'json':
      return { type: 'json', value: v.value };
    case 'duration':
      return typeof v.ms === 'number' ? { type, ms: v.ms } : { type: 'json', value: raw };
    case 'table': {
      if (!Array.isArray(v.columns) || !Array.isArray(v.rows)) return { type: 'json', value: raw };
      const columns = v.columns.map((c) => String(c));
      const rows = v.rows.map((r) => (Array.isArray(r) ? r : [r]));
      return { type, columns, rows };
    }
    case 'images': {
      // `images: [{ src, alt }]` (md.images); `value: [...]` and `path`/`url` items are accepted too.
      const list = Array.isArray(v.images) ? v.images : Array.isArray(v.value) ? v.value : null;
      if (!list) return { type: 'json', value: raw };
      const images: { src: string; alt?: string }[] = [];
      for (const item of list) {
        if (typeof item === 'string') {
          images.push({ src: item });
          continue;
        }
        if (!item || typeof item !== 'object') continue;
        const i = item as { src?: unknown; path?: unknown; url?: unknown; alt?: unknown };
        const src = [i.src, i.path, i.url].find((s): s is string => typeof s === 'string');
        if (!src) continue;
        images.push(typeof i.alt === 'string' ? { src, alt: i.alt } : { src });
      }
      return { type, images };
    }
    default:
      return { type: 'null' };
  }
}

/** Entries of a metadata record (as the API sent it), in their stored order. */
export function metadataEntries(record: unknown): [string, MetadataValue][] {
  if (!record || typeof record !== 'object' || Array.isArray(record)) return [];
  return Object.entries(record as Record<string, unknown>).map(([k, v]) => [k, toMetadataValue(v)]);
}

/** One line of text for a value (catalog cells, titles, tooltips). */
export function formatMetadataInline(value: MetadataValue): string {
  switch (value.type) {
    case 'int':
    case 'float':
      return formatNumber(value.value);
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'text':
    case 'url':
    case 'path':
      return value.value;
    case 'markdown':
      return (
        value.value
          .split('\n')
          .find((l) => l.trim())
          ?.replace(/^#+\s*/, '') ?? ''
      );
    case 'duration':
      return formatDuration(value.ms);
    case 'json':
      return compactJson(value.value);
    case 'table':
      return `table: ${formatNumber(value.rows.length)} row${value.rows.length === 1 ? '' : 's'} × ${value.columns.length} column${value.columns.length === 1 ? '' : 's'}`;
    case 'images':
      return `${value.images.length} image${value.images.length === 1 ? '' : 's'}`;
    case 'null':
      return '-';
  }
}

/** JSON on one line, cut at `max` characters. */
export function compactJson(value: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** JSON indented by two spaces (strings that hold JSON are shown parsed). */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') {
    const t = value.trim();
    if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
      try {
        return JSON.stringify(JSON.parse(t), null, 2);
      } catch {}
    }
  }
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The text of one table cell. */
export function cellText(cell: unknown): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return formatNumber(cell);
  if (typeof cell === 'string') return cell;
  if (typeof cell === 'boolean') return cell ? 'true' : 'false';
  return compactJson(cell, 200);
}

/** Cells that are numbers are right-aligned. */
export function isNumericColumn(rows: unknown[][], column: number): boolean {
  let seen = false;
  for (const row of rows) {
    const cell = row[column];
    if (cell === null || cell === undefined || cell === '') continue;
    if (typeof cell !== 'number') return false;
    seen = true;
  }
  return seen;
}

/**
 * An href that is safe to put in a link: http(s), mailto, or relative; anything else
 * (javascript:, vbscript:, data:, file:) gives null and is shown as text.
 */
export function safeHref(url: string): string | null {
  const trimmed = url.trim();
  if (!trimmed) return null;
  // Control characters and whitespace inside a scheme are tricks to smuggle `javascript:`.
  const compact = trimmed.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(compact);
  if (!scheme) return trimmed;
  const name = scheme[1]!.toLowerCase();
  return name === 'http' || name === 'https' || name === 'mailto' ? trimmed : null;
}

/** An image source a thumbnail may load: http(s), data:image/ (not SVG), or a local absolute path. */
export function isSafeImageSrc(src: string): boolean {
  const s = src.trim();
  if (/^https?:\/\//i.test(s)) return true;
  if (/^data:image\/(png|jpe?g|gif|webp|avif|bmp);/i.test(s)) return true;
  if (s.startsWith('file://')) return true;
  return s.startsWith('/') && !s.startsWith('//');
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|webp|avif|bmp)$/i;

/** A path metadata value that points at an image gets a preview. */
export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.test(path) && path.startsWith('/');
}

/** The last segment of a path or URL, for captions. */
export function baseName(src: string): string {
  const clean = src.split(/[?#]/)[0] ?? src;
  const parts = clean.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? src;
}
