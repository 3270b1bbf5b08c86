/**
 * Typed metadata attached to materializations, check results and definitions.
 * Plain values are accepted too and typed by inference (number -> int/float,
 * string -> text, boolean -> bool, anything else -> json).
 */
export type MetadataValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'text'; value: string }
  | { type: 'markdown'; value: string }
  | { type: 'url'; value: string }
  | { type: 'path'; value: string }
  | { type: 'json'; value: unknown }
  | { type: 'duration'; ms: number }
  | { type: 'table'; columns: string[]; rows: unknown[][] }
  | { type: 'images'; images: ImagePreview[] }
  | { type: 'null' };

export interface ImagePreview {
  /** A URL (http, https, data:) or an absolute local path the UI serves as a thumbnail. */
  src: string;
  alt?: string;
}

export type MetadataInput = MetadataValue | string | number | boolean | null | undefined | object;
export type MetadataRecord = Record<string, MetadataValue>;

const tagged = new WeakSet<object>();

function tag<T extends MetadataValue>(value: T): T {
  tagged.add(value);
  return value;
}

/** Builders for typed metadata values: `md.int(3)`, `md.table(rows)`, `md.images([...])`. */
export const md = {
  int: (value: number) => tag({ type: 'int', value: Math.trunc(value) }),
  float: (value: number) => tag({ type: 'float', value }),
  bool: (value: boolean) => tag({ type: 'bool', value }),
  text: (value: string) => tag({ type: 'text', value }),
  markdown: (value: string) => tag({ type: 'markdown', value }),
  url: (value: string) => tag({ type: 'url', value }),
  path: (value: string) => tag({ type: 'path', value }),
  json: (value: unknown) => tag({ type: 'json', value }),
  duration: (ms: number) => tag({ type: 'duration', ms }),
  /** A table from row objects (columns = union of keys, in first-seen order) or explicit columns and rows. */
  table: (rows: Record<string, unknown>[] | { columns: string[]; rows: unknown[][] }) => {
    if (!Array.isArray(rows)) return tag({ type: 'table', columns: rows.columns, rows: rows.rows });
    const columns: string[] = [];
    for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    return tag({ type: 'table', columns, rows: rows.map((row) => columns.map((c) => row[c] ?? null)) });
  },
  images: (images: (ImagePreview | string)[]) =>
    tag({ type: 'images', images: images.map((i) => (typeof i === 'string' ? { src: i } : i)) }),
} satisfies Record<string, (...args: never[]) => MetadataValue>;

export function normalizeMetadataValue(input: MetadataInput): MetadataValue {
  if (input === null || input === undefined) return { type: 'null' };
  if (typeof input === 'object' && tagged.has(input)) return input as MetadataValue;
  switch (typeof input) {
    case 'number':
      return Number.isInteger(input) ? { type: 'int', value: input } : { type: 'float', value: input };
    case 'string':
      return { type: 'text', value: input };
    case 'boolean':
      return { type: 'bool', value: input };
    default:
      return { type: 'json', value: input };
  }
}

export function normalizeMetadata(input: Record<string, MetadataInput> | undefined): MetadataRecord {
  const out: MetadataRecord = {};
  if (!input) return out;
  for (const [key, value] of Object.entries(input)) out[key] = normalizeMetadataValue(value);
  return out;
}

/** A one-line rendering for terminals. */
export function formatMetadataValue(value: MetadataValue): string {
  switch (value.type) {
    case 'int':
    case 'float':
    case 'bool':
    case 'text':
    case 'markdown':
    case 'url':
    case 'path':
      return String(value.value);
    case 'duration':
      return formatDuration(value.ms);
    case 'json':
      return JSON.stringify(value.value);
    case 'table':
      return `table (${value.rows.length} rows: ${value.columns.join(', ')})`;
    case 'images':
      return `${value.images.length} image(s)`;
    case 'null':
      return '-';
  }
}

/** `950ms`, `12.3s`, `4m05s`, `2h07m`; `-` for no number, negative as 0. Shared by the CLI and the UI. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
