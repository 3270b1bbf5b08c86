import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asset, Definitions, type MetadataRecord, materialize } from '@dag/core';
import { useFreshInstance } from '../../core/test/support.ts';
import { sqlProject, type Warehouse } from '../src/index.ts';
import {
  type EngineKind,
  freshWarehouse,
  normalizeRows,
  SHOP,
  SOURCE_TYPES,
  type TestWarehouse,
} from './support.ts';

const t = useFreshInstance();

const CUSTOMERS = [
  [1, 'Ada', 'Lovelace', 'ADA@EXAMPLE.COM', 'active'],
  [2, 'Alan', 'Turing', 'alan@example.com', 'inactive'],
  [3, 'Grace', 'Hopper', 'grace@example.com', 'active'],
];
const ORDERS = [
  [10, 1, 1250, 'paid', '2026-03-01 10:00:00'],
  [11, 1, 990, 'paid', '2026-03-01 11:30:00'],
  [12, 2, 5000, 'cancelled', '2026-03-02 09:00:00'],
  [13, 3, 100, 'paid', '2026-03-02 12:00:00'],
  [14, 4, 700, 'paid', '2026-03-02 13:00:00'],
];

/** raw.orders, "written by another system": BigQuery's writes DATETIME, as dbt.dateadd returns. */
async function seedOrders(wh: Warehouse, kind: EngineKind, rows: unknown[][]): Promise<void> {
  const ty = SOURCE_TYPES[kind];
  await wh.ensureSchema('raw');
  const orders = wh.relation('raw', 'orders');
  if ((await wh.relationType('raw', 'orders')) === null) {
    await wh.execute(
      `CREATE TABLE ${orders} (order_id ${ty.int}, customer_id ${ty.int}, amount_cents ${ty.int}, status ${ty.text}, updated_at ${ty.datetime})`,
    );
  }
  await wh.execute(
    `INSERT INTO ${orders} (order_id, customer_id, amount_cents, status, updated_at) VALUES ${rows
      .map((r) => `(${r[0]}, ${r[1]}, ${r[2]}, '${r[3]}', ${ty.datetime} '${r[4]}')`)
      .join(', ')}`,
  );
}

/** The shop project with its TypeScript loader of raw.customers, on one warehouse. */
function shopDefinitions(w: TestWarehouse, vars?: Record<string, unknown>) {
  const shop = sqlProject({ dir: SHOP, warehouse: w.url, env: w.env, ...(vars ? { vars } : {}) });
  const srcCustomer = asset(
    { name: 'src_customer', group: 'shop', resources: { warehouse: shop.warehouse }, io: false },
    async (ctx) => {
      const wh = ctx.resources.warehouse;
      await wh.ensureSchema('raw');
      // Portable SQL, swapped in atomically by each engine.
      const select = CUSTOMERS.map(
        (c, i) =>
          `select ${c[0]}${i === 0 ? ' as customer_id' : ''}, '${c[1]}'${i === 0 ? ' as first_name' : ''}, '${c[2]}'${i === 0 ? ' as last_name' : ''}, '${c[3]}'${i === 0 ? ' as email' : ''}, '${c[4]}'${i === 0 ? ' as status' : ''}, timestamp '2026-01-0${c[0]} 00:00:00'${i === 0 ? ' as created_at' : ''}`,
      ).join('\nunion all\n');
      await wh.replaceRelation('raw', 'customers', 'table', select, {
        existing: await wh.relationType('raw', 'customers'),
        signal: ctx.signal,
      });
    },
  );
  return {
    shop,
    definitions: new Definitions({ assets: [srcCustomer, ...shop.assets], assetChecks: [...shop.checks] }),
  };
}

/** Per engine: the mart after the first run, and fct_order after an incremental run. */
const tables: Record<string, Record<string, unknown>[]> = {};
const afterIncremental: Record<string, Record<string, unknown>[]> = {};

for (const kind of ['duckdb', 'postgres', 'bigquery'] as const) {
  describe(`a dbt-layout project on ${kind}`, () => {
    let w: TestWarehouse;
    before(async () => {
      w = await freshWarehouse(kind);
    });
    after(async () => {
      await w.cleanup();
    });

    test('every model materializes as an asset, tests run as checks, metadata describes the result', async () => {
      const seed = await w.open();
      await seedOrders(seed, kind, ORDERS);
      await seed.close();
      const { definitions } = shopDefinitions(w);
      const result = await materialize({ instance: t.instance, definitions, selection: '*' });
      assert.equal(result.status, 'SUCCESS', result.error);
      const byKey = new Map(result.steps.map((s) => [s.key, s]));
      assert.deepEqual([...byKey.keys()].sort(), [
        'dim/dim_customer',
        'fct/fct_order',
        'mart/customer_revenue',
        'src_customer',
      ]);
      const fct = byKey.get('fct/fct_order')!;
      const meta = fct.metadata as MetadataRecord;
      assert.deepEqual(meta.row_count, { type: 'int', value: 5 });
      const wh = await w.open();
      assert.equal((meta.relation as { value: string }).value, wh.relation('fct', 'fct_order'));
      assert.match((meta.sql as { value: string }).value, /with __dbt__cte__stg_orders as/);
      const cols = meta.columns as { type: 'table'; rows: unknown[][] };
      assert.deepEqual(
        cols.rows.map((r) => r[0]),
        ['order_id', 'customer_id', 'full_name', 'amount', 'status', 'updated_at'],
      );
      // Checks: the relationships test (warn) finds customer 4, which has no dim row.
      const checks = Object.fromEntries(result.steps.flatMap((s) => s.checks.map((c) => [c.name, c])));
      assert.equal(checks.unique_fct_order_order_id?.passed, true);
      assert.equal(checks.not_null_dim_customer_customer_id?.passed, true);
      assert.equal(checks.accepted_values_dim_customer_status?.passed, true);
      assert.deepEqual(checks.relationships_fct_order_customer_id__customer_id__dim_customer, {
        name: 'relationships_fct_order_customer_id__customer_id__dim_customer',
        passed: false,
        severity: 'WARN',
      });
      assert.equal(checks.assert_revenue_not_negative?.passed, true);
      assert.equal(
        byKey.get('mart/customer_revenue')!.status,
        'success',
        'a warn test does not block downstream',
      );

      try {
        assert.equal(await wh.relationType('mart', 'customer_revenue'), 'view');
        assert.equal(await wh.relationType('dim', 'dim_customer'), 'table');
        const { rows } = await wh.query(
          `SELECT customer_id, full_name, orders, revenue, avg_order, last_order_day FROM ${wh.relation('mart', 'customer_revenue')} ORDER BY customer_id`,
        );
        tables[kind] = normalizeRows(rows);
        assert.deepEqual(tables[kind]![0], {
          customer_id: 1,
          full_name: 'Ada Lovelace',
          orders: 2,
          revenue: 22.4,
          avg_order: 11.2,
          last_order_day: '2026-03-01T00:00:00.000Z',
        });
        assert.equal(tables[kind]!.length, 3, 'the cancelled order of customer 2 is left out');
      } finally {
        await wh.close();
      }
    });

    test('an incremental run merges new and changed rows; a failed model leaves the table whole', async () => {
      // Order 13 changes, order 15 arrives; 12 and 14 fall in the 12-hour lookback again.
      const seed = await w.open();
      await seed.execute(
        `UPDATE ${seed.relation('raw', 'orders')} SET amount_cents = 200, updated_at = ${SOURCE_TYPES[kind].datetime} '2026-03-02 15:00:00' WHERE order_id = 13`,
      );
      await seedOrders(seed, kind, [[15, 3, 300, 'paid', '2026-03-02 14:00:00']]);
      await seed.close();
      const result = await materialize({
        instance: t.instance,
        definitions: shopDefinitions(w).definitions,
        selection: 'fct/fct_order+',
      });
      assert.equal(result.status, 'SUCCESS', result.error);
      const meta = result.steps.find((s) => s.key === 'fct/fct_order')!.metadata as MetadataRecord;
      assert.deepEqual(meta.materialized, { type: 'text', value: 'incremental (merged)' });
      assert.deepEqual(meta.rows_affected, { type: 'int', value: 4 });
      const read = async () => {
        const wh = await w.open();
        try {
          const { rows } = await wh.query(
            `SELECT order_id, customer_id, amount, status FROM ${wh.relation('fct', 'fct_order')} ORDER BY order_id`,
          );
          return { rows: normalizeRows(rows), tmp: await wh.relationType('fct', 'fct_order__dag_tmp') };
        } finally {
          await wh.close();
        }
      };
      afterIncremental[kind] = (await read()).rows;
      assert.deepEqual(
        afterIncremental[kind]!.map((r) => [r.order_id, r.amount]),
        [
          [10, 12.5],
          [11, 9.9],
          [12, 50],
          [13, 2],
          [14, 7],
          [15, 3],
        ],
      );

      // The same model with SQL the warehouse rejects: the step fails, the table is whole.
      const failed = await materialize({
        instance: t.instance,
        definitions: shopDefinitions(w, { lookback_hours: 'not a number' }).definitions,
        selection: 'fct/fct_order',
      });
      assert.equal(failed.status, 'FAILURE');
      assert.match(
        failed.steps.find((s) => s.key === 'fct/fct_order')?.error ?? '',
        /Model 'fct\/fct_order' \(models\/fct\/fct_order\.sql\): \w+ rejected the compiled SQL/,
      );
      assert.deepEqual(await read(), { rows: afterIncremental[kind], tmp: null });
    });

    test('an ERROR test that fails blocks downstream models; the failing rows are sampled', async () => {
      const wh = await w.open();
      await seedOrders(wh, kind, [[10, 1, 1, 'paid', '2026-03-03 00:00:00']]);
      await wh.close();
      const { definitions } = shopDefinitions(w);
      // fct_order rebuilt in full: order 10 now twice in the source, so the unique test fails.
      const result = await materialize({
        instance: t.instance,
        definitions,
        selection: 'fct/fct_order+',
        runConfig: { ops: { 'fct/fct_order': { config: { full_refresh: true } } } },
      });
      const fct = result.steps.find((s) => s.key === 'fct/fct_order')!;
      // The model was built; its failed blocking ERROR test fails its step and the run.
      assert.equal(fct.status, 'failure');
      assert.equal(result.status, 'FAILURE');
      assert.match(result.error ?? '', /unique_fct_order_order_id/);
      assert.deepEqual(
        fct.checks.find((c) => c.name === 'unique_fct_order_order_id'),
        { name: 'unique_fct_order_order_id', passed: false, severity: 'ERROR' },
      );
      assert.equal(result.steps.find((s) => s.key === 'mart/customer_revenue')?.status, 'skipped');
      const events = await t.instance.storage.getEvents(result.runId);
      const evaluation = events.find(
        (e) =>
          e.type === 'ASSET_CHECK_EVALUATION' &&
          (e.data as { checkName?: string }).checkName === 'unique_fct_order_order_id',
      )!;
      const metadata = (evaluation.data as { metadata: MetadataRecord }).metadata;
      assert.deepEqual(metadata.failing_rows, { type: 'int', value: 1 });
      const sample = metadata.sample as { columns: string[]; rows: unknown[][] };
      assert.deepEqual(sample.columns, ['unique_field', 'n_records']);
      assert.deepEqual(normalizeRows([{ a: sample.rows[0]![0], b: sample.rows[0]![1] }]), [{ a: 10, b: 2 }]);
    });
  });
}

test('one project gives the same table contents on DuckDB, PostgreSQL and BigQuery', () => {
  assert.ok(tables.duckdb && tables.postgres && tables.bigquery, 'every engine ran');
  assert.deepEqual(tables.postgres, tables.duckdb);
  assert.deepEqual(tables.bigquery, tables.duckdb);
  assert.ok(afterIncremental.duckdb && afterIncremental.postgres && afterIncremental.bigquery);
  assert.deepEqual(afterIncremental.postgres, afterIncremental.duckdb);
  assert.deepEqual(afterIncremental.bigquery, afterIncremental.duckdb);
});
