import type { WarehouseKind } from './warehouse.ts';

/**
 * Cross-database macros: what differs between DuckDB, PostgreSQL and BigQuery, written once in
 * a model and rendered for the warehouse it runs on. Names and arguments are dbt's
 * (`dbt.dateadd`, `dbt.safe_cast`, `dbt.type_string`...), so a dbt project's portable models
 * port over. Each returns SQL text.
 */
export type Dialect = WarehouseKind;

type SqlArg = unknown;
const s = (value: SqlArg): string => String(value);
const part = (value: SqlArg): string =>
  s(value)
    .replace(/^['"]|['"]$/g, '')
    .toLowerCase();

const DATEPARTS = [
  'microsecond',
  'millisecond',
  'second',
  'minute',
  'hour',
  'day',
  'week',
  'month',
  'quarter',
  'year',
];
/** Whether the cross-database macros accept `value` as a datepart (they throw otherwise). */
export function isDatepart(value: SqlArg): boolean {
  return DATEPARTS.includes(part(value));
}

function datepart(value: SqlArg, macro: string): string {
  const p = part(value);
  if (!isDatepart(p)) {
    throw new Error(`${macro}: unknown datepart '${p}'; use one of ${DATEPARTS.join(', ')}.`);
  }
  return p;
}

/** Postgres has no date_diff: count boundaries crossed, as DuckDB and BigQuery do. */
function postgresDatediff(first: string, second: string, p: string): string {
  const dp = (q: string, x: string) => `date_part('${q}', (${x})::timestamp)`;
  const years = `(${dp('year', second)} - ${dp('year', first)})`;
  const days = `((${second})::date - (${first})::date)`;
  const hours = `(${days} * 24 + ${dp('hour', second)} - ${dp('hour', first)})`;
  const minutes = `(${hours} * 60 + ${dp('minute', second)} - ${dp('minute', first)})`;
  const seconds = `(${minutes} * 60 + floor(${dp('second', second)}) - floor(${dp('second', first)}))`;
  switch (p) {
    case 'year':
      return `cast(${years} as bigint)`;
    case 'quarter':
      return `cast(${years} * 4 + ${dp('quarter', second)} - ${dp('quarter', first)} as bigint)`;
    case 'month':
      return `cast(${years} * 12 + ${dp('month', second)} - ${dp('month', first)} as bigint)`;
    case 'week':
      return `cast(floor((date_trunc('week', (${second})::timestamp)::date - date_trunc('week', (${first})::timestamp)::date) / 7) as bigint)`;
    case 'day':
      return `cast(${days} as bigint)`;
    case 'hour':
      return `cast(${hours} as bigint)`;
    case 'minute':
      return `cast(${minutes} as bigint)`;
    case 'second':
      return `cast(${seconds} as bigint)`;
    default:
      return `cast(floor(extract(epoch from (${second})::timestamp - (${first})::timestamp) * ${p === 'millisecond' ? 1000 : 1000000}) as bigint)`;
  }
}

const TYPES: Record<string, Record<Dialect, string>> = {
  type_string: { duckdb: 'VARCHAR', postgres: 'varchar', bigquery: 'STRING' },
  type_int: { duckdb: 'INTEGER', postgres: 'integer', bigquery: 'INT64' },
  type_bigint: { duckdb: 'BIGINT', postgres: 'bigint', bigquery: 'INT64' },
  type_float: { duckdb: 'DOUBLE', postgres: 'double precision', bigquery: 'FLOAT64' },
  type_numeric: { duckdb: 'DECIMAL(28,6)', postgres: 'numeric(28,6)', bigquery: 'NUMERIC' },
  type_boolean: { duckdb: 'BOOLEAN', postgres: 'boolean', bigquery: 'BOOL' },
  type_timestamp: { duckdb: 'TIMESTAMP', postgres: 'timestamp', bigquery: 'TIMESTAMP' },
  type_date: { duckdb: 'DATE', postgres: 'date', bigquery: 'DATE' },
  type_json: { duckdb: 'JSON', postgres: 'jsonb', bigquery: 'JSON' },
};

/** `$.a.b` or `a.b` → ['a', 'b'] */
function jsonPath(path: SqlArg): string[] {
  return part(path)
    .replace(/^\$\.?/, '')
    .split('.')
    .filter((p) => p !== '');
}

const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** The macros for one dialect, by name. */
export function dialectMacros(dialect: Dialect): Record<string, (...args: SqlArg[]) => string> {
  const pick = (by: Record<Dialect, string>) => by[dialect];
  const macros: Record<string, (...args: SqlArg[]) => string> = {
    dateadd(p, interval, from) {
      const dp = datepart(p, 'dateadd');
      if (dialect === 'bigquery')
        return `datetime_add(cast(${s(from)} as datetime), interval ${s(interval)} ${dp})`;
      return `(${s(from)} + (${s(interval)}) * interval '1 ${dp}')`;
    },
    datediff(first, second, p) {
      const dp = datepart(p, 'datediff');
      if (dialect === 'duckdb') return `date_diff('${dp}', ${s(first)}, ${s(second)})`;
      if (dialect === 'bigquery')
        return `datetime_diff(cast(${s(second)} as datetime), cast(${s(first)} as datetime), ${dp})`;
      return postgresDatediff(s(first), s(second), dp);
    },
    date_trunc(p, date) {
      const dp = datepart(p, 'date_trunc');
      if (dialect === 'bigquery') return `timestamp_trunc(cast(${s(date)} as timestamp), ${dp})`;
      return `date_trunc('${dp}', ${s(date)})`;
    },
    last_day(date, p) {
      const dp = datepart(p, 'last_day');
      if (dialect === 'bigquery') return `last_day(cast(${s(date)} as date), ${dp})`;
      return `cast(date_trunc('${dp}', ${s(date)}) + interval '1 ${dp}' - interval '1 day' as date)`;
    },
    current_timestamp() {
      return pick({ duckdb: 'now()', postgres: 'now()', bigquery: 'current_timestamp()' });
    },
    cast(field, type) {
      return `cast(${s(field)} as ${s(type)})`;
    },
    safe_cast(field, type) {
      if (dialect === 'duckdb') return `try_cast(${s(field)} as ${s(type)})`;
      if (dialect === 'bigquery') return `safe_cast(${s(field)} as ${s(type)})`;
      // PostgreSQL has no non-failing cast; like dbt-postgres, this is a plain cast.
      return `cast(${s(field)} as ${s(type)})`;
    },
    safe_divide(numerator, denominator) {
      if (dialect === 'bigquery') return `safe_divide(${s(numerator)}, ${s(denominator)})`;
      return `((${s(numerator)}) / nullif(${s(denominator)}, 0))`;
    },
    concat(fields) {
      const list = Array.isArray(fields) ? fields.map(s) : [s(fields)];
      if (dialect === 'bigquery') return `concat(${list.join(', ')})`;
      return `(${list.join(' || ')})`;
    },
    length(expr) {
      return `length(${s(expr)})`;
    },
    position(substring, string) {
      if (dialect === 'bigquery') return `strpos(${s(string)}, ${s(substring)})`;
      return `position(${s(substring)} in ${s(string)})`;
    },
    replace(field, oldChars, newChars) {
      return `replace(${s(field)}, ${s(oldChars)}, ${s(newChars)})`;
    },
    split_part(string, delimiter, index) {
      if (dialect === 'bigquery') return `split(${s(string)}, ${s(delimiter)})[safe_offset(${s(index)} - 1)]`;
      return `split_part(${s(string)}, ${s(delimiter)}, ${s(index)})`;
    },
    right(string, length) {
      return `right(${s(string)}, ${s(length)})`;
    },
    hash(field) {
      if (dialect === 'bigquery') return `to_hex(md5(cast(${s(field)} as string)))`;
      return `md5(cast(${s(field)} as ${pick(TYPES.type_string!)}))`;
    },
    string_literal(value) {
      return quoteLiteral(s(value));
    },
    json_extract_scalar(json, path) {
      const keys = jsonPath(path);
      if (dialect === 'postgres')
        return `jsonb_extract_path_text((${s(json)})::jsonb, ${keys.map(quoteLiteral).join(', ')})`;
      const jp = quoteLiteral(`$.${keys.join('.')}`);
      if (dialect === 'bigquery') return `json_value(${s(json)}, ${jp})`;
      return `json_extract_string(${s(json)}, ${jp})`;
    },
    bool_or(expr) {
      if (dialect === 'bigquery') return `logical_or(${s(expr)})`;
      return `bool_or(${s(expr)})`;
    },
    any_value(expr) {
      if (dialect === 'postgres') return `min(${s(expr)})`;
      return `any_value(${s(expr)})`;
    },
  };
  for (const [name, by] of Object.entries(TYPES)) macros[name] = () => pick(by);
  return macros;
}

/** The portable macro names, for the docs and `adapter.dispatch`. */
export const PORTABLE_MACROS = Object.keys(dialectMacros('duckdb'));
