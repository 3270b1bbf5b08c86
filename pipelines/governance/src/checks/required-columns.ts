import { type AssetCheckDefinition, assetCheck, md } from '@dag/core';
import { RAW_SCHEMA, type RawTable } from '../sources/load.ts';
import { SRC_CUSTOMER, SRC_PRODUCT } from '../sources/raw-tables.ts';
import { governanceWarehouse } from '../transformer.ts';

/**
 * An asset check that the given columns of a raw table have no missing values (NULL, or an
 * empty string for text). It fails with the count per column and up to 10 ids of offending rows.
 */
export function requiredColumnsCheck(options: {
  asset: string;
  table: RawTable;
  columns: readonly string[];
}): AssetCheckDefinition {
  const { table, columns } = options;
  for (const column of columns) {
    if (!table.columns[column]) throw new Error(`raw table ${table.name} has no column ${column}`);
  }
  const key = table.key ?? 'id';
  return assetCheck(
    {
      name: `${options.asset}_required_columns`,
      asset: options.asset,
      description: `${columns.join(', ')} of ${RAW_SCHEMA}.${table.name} are never missing.`,
      severity: 'ERROR',
      resources: { warehouse: governanceWarehouse },
    },
    async (ctx) => {
      const wh = ctx.resources.warehouse;
      const schema = table.schema ?? RAW_SCHEMA;
      if ((await wh.relationType(schema, table.name)) === null) {
        return { passed: false, description: `${schema}.${table.name} does not exist yet` };
      }
      const relation = wh.relation(schema, table.name);
      const missing = (column: string) => {
        const c = wh.quoteIdentifier(column);
        return table.columns[column] === 'string' ? `(${c} IS NULL OR trim(${c}) = '')` : `${c} IS NULL`;
      };
      const counts = columns.map((c, i) => `SUM(CASE WHEN ${missing(c)} THEN 1 ELSE 0 END) AS m${i}`);
      const { rows } = await wh.query(`SELECT COUNT(*) AS total, ${counts.join(', ')} FROM ${relation}`);
      const byColumn = columns.map((c, i) => [c, Number(rows[0]?.[`m${i}`] ?? 0)] as const);
      const failing = byColumn.filter(([, n]) => n > 0);
      let sample: unknown[] = [];
      if (failing.length > 0) {
        const where = failing.map(([c]) => missing(c)).join(' OR ');
        const q = wh.quoteIdentifier(key);
        sample = (
          await wh.query(`SELECT ${q} AS k FROM ${relation} WHERE ${where} ORDER BY ${q} LIMIT 10`)
        ).rows.map((r) => r.k);
      }
      return {
        passed: failing.length === 0,
        description:
          failing.length === 0
            ? undefined
            : `missing values in ${table.name}: ${failing.map(([c, n]) => `${c} (${n} rows)`).join(', ')}; ${key}s ${sample.join(', ')}`,
        metadata: {
          rows: md.int(Number(rows[0]?.total ?? 0)),
          ...Object.fromEntries(byColumn.map(([c, n]) => [`missing ${c}`, md.int(n)])),
        },
      };
    },
  );
}

/** Customers: id and email are required. */
export const srcCustomerRequiredColumns = requiredColumnsCheck({
  asset: 'src_customer',
  table: SRC_CUSTOMER,
  columns: ['id', 'email'],
});

/** Products: id, name and price are required. */
export const srcProductRequiredColumns = requiredColumnsCheck({
  asset: 'src_product',
  table: SRC_PRODUCT,
  columns: ['id', 'name', 'price'],
});
