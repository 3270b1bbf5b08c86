import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asset, Definitions, type MetadataRecord, materialize } from '@dag/core';
import { freshInstance, type TestInstance } from '../../core/test/support.ts';
import { openWarehouse, sqlProject, type Warehouse } from '../src/index.ts';
import { freshWarehouse, normalizeRows, SHOP, type TestWarehouse } from './support.ts';

let t: TestInstance;
before(async () => {
  t = await freshInstance();
});
after(async () => {
  await t.cleanup();
});

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

async function seedOrders(wh: Warehouse, rows: unknown[][]): Promise<void> {
  await wh.ensureSchema('raw');
  await wh.execute(
    'CREATE TABLE IF NOT EXISTS raw.orders (order_id integer, customer_id integer, amount_cents integer, status varchar, updated_at timestamp)',
  );
  for (const r of rows) {
    await wh.execute(
      `INSERT INTO raw.orders VALUES (${r[0]}, ${r[1]}, ${r[2]}, '${r[3]}', timestamp '${r[4]}')`,
    );
  }
}

/** The shop project with its TypeScript loader of raw.customers, on one warehouse. */
function shopDefinitions(url: string) {
  const shop = sqlProject({ dir: SHOP, warehouse: url });
  const srcCustomer = asset(
    { name: 'src_customer', group: 'shop', resources: { warehouse: shop.warehouse }, io: false },
    async (ctx) => {
      const wh = ctx.resources.warehouse;
      await wh.ensureSchema('raw');
      await wh.transaction([
        'DROP TABLE IF EXISTS raw.customers',
        'CREATE TABLE raw.customers (customer_id integer, first_name varchar, last_name varchar, email varchar, status varchar, created_at timestamp)',
        `INSERT INTO raw.customers VALUES ${CUSTOMERS.map((c) => `(${c[0]}, '${c[1]}', '${c[2]}', '${c[3]}', '${c[4]}', timestamp '2026-01-0${c[0]} 00:00:00')`).join(', ')}`,
      ]);
    },
  );
  return {
    shop,
    definitions: new Definitions({ assets: [srcCustomer, ...shop.assets], assetChecks: [...shop.checks] }),
  };
}

const tables: Record<string, Record<string, unknown>[]> = {};

for (const kind of ['duckdb', 'postgres'] as const) {
  describe(`a dbt-layout project on ${kind}`, () => {
    let w: TestWarehouse;
    before(async () => {
      w = await freshWarehouse(kind);
    });
    after(async () => {
      await w.cleanup();
    });

    test('every model materializes as an asset, tests run as checks, metadata describes the result', async () => {
      const seed = await openWarehouse(w.url);
      await seedOrders(seed, ORDERS);
      await seed.close();
      const { definitions } = shopDefinitions(w.url);
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
      assert.equal((meta.relation as { value: string }).value, '"fct"."fct_order"');
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

      const wh = await openWarehouse(w.url);
      try {
        assert.equal(await wh.relationType('mart', 'customer_revenue'), 'view');
        assert.equal(await wh.relationType('dim', 'dim_customer'), 'table');
        const { rows } = await wh.query(
          'SELECT customer_id, full_name, orders, revenue, avg_order, last_order_day FROM mart.customer_revenue ORDER BY customer_id',
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

    test('an ERROR test that fails blocks downstream models; the failing rows are sampled', async () => {
      const wh = await openWarehouse(w.url);
      await wh.execute(`INSERT INTO raw.orders VALUES (10, 1, 1, 'paid', timestamp '2026-03-03 00:00:00')`);
      await wh.close();
      const { definitions } = shopDefinitions(w.url);
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

test('one project gives the same table contents on DuckDB and on PostgreSQL', () => {
  assert.ok(tables.duckdb && tables.postgres, 'both engines ran');
  assert.deepEqual(tables.postgres, tables.duckdb);
});
