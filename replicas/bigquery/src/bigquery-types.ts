import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { TableCell, TableFieldSchema } from './bigquery-shapes.ts';

/**
 * DuckDB types and values in BigQuery's REST shapes. BigQuery's REST API names types by their
 * legacy names (`INTEGER`, `FLOAT`, `BOOLEAN`, `RECORD`) in schemas, so the replica does too.
 */
export function bigQueryField(name: string, type: DuckDBType): TableFieldSchema {
  if (type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.ARRAY) {
    const element = bigQueryField(name, (type as unknown as { valueType: DuckDBType }).valueType);
    return { ...element, mode: 'REPEATED' };
  }
  if (type.typeId === DuckDBTypeId.STRUCT) {
    const struct = type as unknown as { entryNames: readonly string[]; entryTypes: readonly DuckDBType[] };
    return {
      name,
      type: 'RECORD',
      mode: 'NULLABLE',
      fields: struct.entryNames.map((entry, i) => bigQueryField(entry, struct.entryTypes[i] as DuckDBType)),
    };
  }
  return { name, type: scalarTypeName(type), mode: 'NULLABLE' };
}

function scalarTypeName(type: DuckDBType): string {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'BOOLEAN';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return 'INTEGER';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'FLOAT';
    case DuckDBTypeId.DECIMAL:
      return (type as unknown as { scale: number }).scale > 9 ? 'BIGNUMERIC' : 'NUMERIC';
    case DuckDBTypeId.BLOB:
      return 'BYTES';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_TZ:
      return 'TIME';
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'TIMESTAMP';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'DATETIME';
    case DuckDBTypeId.INTERVAL:
      return 'INTERVAL';
    case DuckDBTypeId.VARCHAR:
      return type.alias?.toUpperCase() === 'JSON' ? 'JSON' : 'STRING';
    case DuckDBTypeId.MAP:
      return 'JSON';
    default:
      return 'STRING';
  }
}

/** The DuckDB column type for a BigQuery schema field (tables.insert, load job schemas). */
export function duckDbColumnType(field: TableFieldSchema): string {
  const type = (field.type ?? 'STRING').toUpperCase();
  let base: string;
  if (type === 'RECORD' || type === 'STRUCT') {
    const fields = field.fields ?? [];
    if (fields.length === 0) throw new Error(`Field ${field.name} is type RECORD but has no schema`);
    base = `STRUCT(${fields.map((f) => `"${f.name.replace(/"/g, '""')}" ${duckDbColumnType(f)}`).join(', ')})`;
  } else {
    const mapped = FIELD_TYPES[type];
    if (!mapped) throw new Error(`Invalid field type ${field.type} for field ${field.name}`);
    base = mapped;
  }
  return field.mode?.toUpperCase() === 'REPEATED' ? `${base}[]` : base;
}

const FIELD_TYPES: Record<string, string> = {
  STRING: 'VARCHAR',
  BYTES: 'BLOB',
  INTEGER: 'BIGINT',
  INT64: 'BIGINT',
  FLOAT: 'DOUBLE',
  FLOAT64: 'DOUBLE',
  NUMERIC: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,9)',
  BOOLEAN: 'BOOLEAN',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'TIMESTAMP',
  JSON: 'JSON',
  GEOGRAPHY: 'VARCHAR',
};

export interface CellFormat {
  /** TIMESTAMP cells: int64 microseconds (the client's default), float seconds, or ISO 8601. */
  timestamp: 'int64' | 'float' | 'iso';
}

function pad(n: number | bigint, width = 2): string {
  return String(n).padStart(width, '0');
}

function microsToIso(micros: bigint, zone: boolean): string {
  const ms = micros / 1000n;
  const rest = Number(((micros % 1000n) + 1000n) % 1000n);
  const date = new Date(Number(ms));
  const base = date.toISOString().replace('Z', '');
  const withMicros = rest ? `${base}${pad(rest, 3)}` : base.replace(/\.000$/, '');
  return zone ? `${withMicros}Z` : withMicros;
}

/** One value in the REST `f`/`v` encoding: scalars as strings. */
export function cellValue(value: DuckDBValue, field: TableFieldSchema, format: CellFormat): TableCell['v'] {
  // A REPEATED field is never NULL in BigQuery: an empty array stands for it.
  if ((value === null || value === undefined) && field.mode === 'REPEATED') return [];
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') {
    const items = value instanceof DuckDBListValue ? value.items : [];
    return items.map((item) => ({ v: cellValue(item, { ...field, mode: 'NULLABLE' }, format) }));
  }
  if (field.type === 'RECORD') {
    const entries = value instanceof DuckDBStructValue ? value.entries : {};
    return { f: (field.fields ?? []).map((f) => ({ v: cellValue(entries[f.name] ?? null, f, format) })) };
  }
  switch (field.type) {
    case 'TIMESTAMP': {
      const micros = value instanceof DuckDBTimestampTZValue ? value.micros : BigInt(String(value));
      if (format.timestamp === 'int64') return micros.toString();
      if (format.timestamp === 'iso') return microsToIso(micros, true);
      return (Number(micros) / 1e6).toString();
    }
    case 'DATETIME':
      return value instanceof DuckDBTimestampValue ? microsToIso(value.micros, false) : String(value);
    case 'DATE':
      return value instanceof DuckDBDateValue ? value.toString() : String(value);
    case 'TIME':
      return value instanceof DuckDBTimeValue ? value.toString() : String(value);
    case 'BYTES':
      return value instanceof DuckDBBlobValue ? Buffer.from(value.bytes).toString('base64') : String(value);
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return value instanceof DuckDBDecimalValue ? value.toString() : String(value);
    case 'FLOAT': {
      const n = Number(value);
      if (Number.isNaN(n)) return 'NaN';
      if (n === Number.POSITIVE_INFINITY) return 'Infinity';
      if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
      return String(n);
    }
    case 'BOOLEAN':
      return value ? 'true' : 'false';
    default:
      return typeof value === 'string' ? value : String(value);
  }
}
