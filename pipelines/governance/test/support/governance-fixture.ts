import assert from 'node:assert/strict';
import { materialize, type RunConfig, type RunResult } from '@dag/core';
import { openWarehouse, type Warehouse } from '@dag/sql';
import { freshInstance, type TestInstance } from '../../../../packages/core/test/support.ts';
import { type RawTable, upsertRows } from '../../src/sources/load.ts';
import * as raw from '../../src/sources/raw-tables.ts';

const T = '2026-11-30 09:00:00';
const L = '2026-12-01 00:00:00';

/**
 * Raw rows as the source assets write them (the `raw.*` contract): customers 1-3, products 100
 * (on sale, in stock), 200 (on sale, out of stock) and 300 (not on sale); orders 1 (Completed),
 * 2 (Shipped), 3 (Awaiting Fulfillment) and 4 (Completed but deleted).
 */
export const RAW_FIXTURE: [RawTable, Record<string, unknown>[]][] = [
  [
    raw.SRC_CUSTOMER,
    [
      { id: 1, email: 'Minji.Kim@example.com ', first_name: '민지', last_name: '김', customer_group_id: 0 },
      { id: 2, email: 'seojun.lee@example.com', first_name: '서준', last_name: '이', company: 'Wisely' },
      {
        id: 3,
        email: 'jiwoo.park@example.com',
        first_name: "Ji'woo",
        last_name: '박',
        phone: '010-1234-5678',
      },
    ].map((c) => ({ date_created: T, date_modified: T, _loaded_at: L, ...c })),
  ],
  [
    raw.SRC_CUSTOMER_METAFIELDS,
    [
      { id: 11, customer_id: 1, namespace: 'wisely', key: 'product_subscription', value: '100' },
      { id: 12, customer_id: 1, namespace: 'other', key: 'product_subscription', value: '200' },
      { id: 21, customer_id: 2, namespace: 'wisely', key: 'product_subscription', value: '100' },
      { id: 22, customer_id: 2, namespace: 'wisely', key: 'product_subscription', value: '200' },
      { id: 31, customer_id: 3, namespace: 'wisely', key: 'product_subscription', value: '300' },
      { id: 32, customer_id: 3, namespace: 'wisely', key: 'favourite_colour', value: '100' },
    ].map((m) => ({ date_created: T, date_modified: T, _loaded_at: L, ...m })),
  ],
  [
    raw.SRC_ORDER,
    [
      {
        id: 1,
        customer_id: 1,
        status_id: 10,
        status: 'Completed',
        total_inc_tax: '180.0000',
        is_deleted: false,
      },
      { id: 2, customer_id: 2, status_id: 2, status: 'Shipped', total_inc_tax: '40.5000', is_deleted: false },
      {
        id: 3,
        customer_id: 3,
        status_id: 11,
        status: 'Awaiting Fulfillment',
        total_inc_tax: '30',
        is_deleted: false,
      },
      { id: 4, customer_id: 1, status_id: 10, status: 'Completed', total_inc_tax: '99', is_deleted: true },
    ].map((o) => ({
      subtotal_inc_tax: o.total_inc_tax,
      total_ex_tax: o.total_inc_tax,
      items_total: 1,
      currency_code: 'KRW',
      payment_method: 'card',
      date_created: T,
      date_modified: T,
      date_shipped: o.status_id === 2 || o.status_id === 10 ? T : null,
      _loaded_at: L,
      ...o,
    })),
  ],
  [
    raw.SRC_ORDER_ITEM,
    [
      { id: 101, order_id: 1, product_id: 100, variant_id: 1001, quantity: 1 },
      { id: 102, order_id: 1, product_id: 200, variant_id: 2001, quantity: 2 },
      { id: 201, order_id: 2, product_id: 100, variant_id: 1002, quantity: 3 },
      { id: 301, order_id: 3, product_id: 300, variant_id: 3001, quantity: 1 },
      { id: 401, order_id: 4, product_id: 100, variant_id: 1001, quantity: 1 },
    ].map((i) => ({
      name: `product ${i.product_id}`,
      sku: `SKU-${i.variant_id}`,
      base_price: '10',
      price_inc_tax: '11',
      total_inc_tax: String(11 * i.quantity),
      quantity_shipped: i.quantity,
      _loaded_at: L,
      ...i,
    })),
  ],
  [
    raw.SRC_SHIPMENT,
    [
      { id: 1, order_id: 1, tracking_number: 'CJ-0001' },
      { id: 2, order_id: 2, tracking_number: 'CJ-0002' },
      { id: 3, order_id: 2, tracking_number: 'CJ-0003' },
      { id: 4, order_id: 4, tracking_number: 'CJ-0004' },
    ].map((s) => ({
      shipping_method: 'Standard',
      shipping_provider: 'cj',
      date_created: T,
      _loaded_at: L,
      ...s,
    })),
  ],
  [
    raw.SRC_PRODUCT,
    [
      { id: 100, name: '루테인 오메가3', price: '100', sale_price: '80', inventory_level: 5 },
      { id: 200, name: '비타민 D', price: '50', sale_price: '40', inventory_level: 0 },
      { id: 300, name: '마그네슘', price: '30', sale_price: '0', inventory_level: 9 },
    ].map((p) => ({
      sku: `P-${p.id}`,
      type: 'physical',
      calculated_price: p.sale_price === '0' ? p.price : p.sale_price,
      inventory_tracking: 'variant',
      is_visible: true,
      availability: 'available',
      date_created: T,
      date_modified: T,
      _loaded_at: L,
      ...p,
    })),
  ],
  [
    raw.SRC_SKU,
    [
      { id: 1001, product_id: 100, price: '100', sale_price: '80', inventory_level: 5 },
      { id: 1002, product_id: 100, price: null, sale_price: null, inventory_level: 0 },
      { id: 2001, product_id: 200, price: '50', sale_price: '40', inventory_level: 0 },
      { id: 3001, product_id: 300, price: '30', sale_price: null, inventory_level: 9 },
    ].map((s) => ({
      sku: `SKU-${s.id}`,
      calculated_price: s.sale_price ?? s.price ?? '100',
      purchasing_disabled: false,
      _loaded_at: L,
      ...s,
    })),
  ],
  [
    raw.BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY,
    [
      {
        product_id: 100,
        variant_id: 1001,
        price: '100',
        sale_price: '80',
        inventory_level: 5,
        is_in_stock: true,
      },
      {
        product_id: 100,
        variant_id: 1002,
        price: '100',
        sale_price: '80',
        inventory_level: 0,
        is_in_stock: false,
      },
      {
        product_id: 200,
        variant_id: 2001,
        price: '50',
        sale_price: '40',
        inventory_level: 0,
        is_in_stock: false,
      },
      {
        product_id: 300,
        variant_id: 3001,
        price: '30',
        sale_price: '30',
        inventory_level: 9,
        is_in_stock: true,
      },
    ].map((v) => ({ sku: `SKU-${v.variant_id}`, observed_at: L, ...v })),
  ],
  [
    raw.SRC_POINT_TRANSACTION,
    [
      { id: 1, customer_id: 1, points: 100, reason: 'signup', deleted_at: null },
      { id: 2, customer_id: 1, points: -20, reason: 'redeem', deleted_at: T },
    ].map((p) => ({ created_at: T, updated_at: T, _loaded_at: L, ...p })),
  ],
  [
    raw.SRC_QUOTATION,
    [{ id: 1, customer_id: 2, product_id: 100, quantity: 3, quoted_price: '75.5', status: 'open' }].map(
      (q) => ({
        created_at: T,
        updated_at: T,
        _loaded_at: L,
        ...q,
      }),
    ),
  ],
];

/** The models and the notification asset, without the source assets (their rows are loaded directly). */
export const MODELS_AND_NOTIFICATIONS =
  'key:dim/* or key:fct/* or key:mart/* or op_product_notification_event';

/** Writes the fixture rows into `raw` of the warehouse at `url` and closes it again. */
export async function loadRawFixture(url: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const wh = await openWarehouse(url, env);
  try {
    for (const [table, rows] of RAW_FIXTURE) {
      const result = await upsertRows(wh, table, rows);
      assert.deepEqual(result.skipped, [], `fixture rows of ${table.name} were skipped`);
    }
  } finally {
    await wh.close();
  }
}

/** Runs `fn` on the warehouse at `url`, closing it after (DuckDB: one process holds the file). */
export async function withWarehouse<T>(
  url: string,
  fn: (wh: Warehouse) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const wh = await openWarehouse(url, env);
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/** Rows of a query, with numbers and timestamps made comparable across engines. */
export async function rowsOf(url: string, sql: (wh: Warehouse) => string, env?: NodeJS.ProcessEnv) {
  return await withWarehouse(
    url,
    async (wh) =>
      (await wh.query(sql(wh))).rows.map((row) => {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(row)) {
          out[k] = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
        }
        return out;
      }),
    env,
  );
}

export interface GovernanceWorld {
  t: TestInstance;
  run(selection: string, env?: Record<string, string>, runConfig?: RunConfig): Promise<RunResult>;
}

/** A fresh instance and a `materialize` of the real definitions loaded for this process's WAREHOUSE_URL. */
export async function governanceWorld(env: Record<string, string> = {}): Promise<GovernanceWorld> {
  const t = await freshInstance();
  const { default: definitions } = await import('../../src/definitions.ts');
  return {
    t,
    run: (selection, extra = {}, runConfig = {}) =>
      materialize({
        instance: t.instance,
        definitions,
        selection,
        env: { ...process.env, ...env, ...extra },
        runConfig,
      }),
  };
}

/** Every step succeeded and every check passed. */
export function assertAllGreen(result: RunResult): void {
  const failures = result.steps.filter((s) => s.status !== 'success').map((s) => `${s.key}: ${s.error}`);
  assert.equal(result.status, 'SUCCESS', `${result.error}\n${failures.join('\n')}`);
  for (const step of result.steps) {
    assert.equal(step.status, 'success', `${step.key}: ${step.error}`);
    for (const check of step.checks) assert.ok(check.passed, `check ${check.name} of ${step.key} failed`);
  }
}

/** The expected rows of mart/mart_complete_purchase_order, in order_id order. */
export const EXPECTED_MART = [
  {
    order_id: 1,
    customer_id: 1,
    email: 'minji.kim@example.com',
    item_count: 2,
    quantity: 3,
    shipment_count: 1,
  },
  {
    order_id: 2,
    customer_id: 2,
    email: 'seojun.lee@example.com',
    item_count: 1,
    quantity: 3,
    shipment_count: 2,
  },
];

/**
 * Runs the transformer and the notifications on the fixture in the warehouse at `url` and checks
 * the marts, the schema tests and the notification events (twice: never duplicated).
 */
export async function assertTransformerOnFixture(world: GovernanceWorld, url: string): Promise<void> {
  await loadRawFixture(url);
  const first = await world.run(MODELS_AND_NOTIFICATIONS);
  assertAllGreen(first);
  const keys = first.steps.map((s) => s.key).sort();
  assert.deepEqual(keys, [
    'dim/dim_customer',
    'dim/dim_product',
    'dim/dim_sku',
    'fct/fct_onsale_product_inventory',
    'fct/fct_order',
    'fct/fct_order_item',
    'fct/fct_point_transaction',
    'fct/fct_quotation',
    'fct/fct_shipment',
    'mart/mart_complete_purchase_order',
    'op_product_notification_event',
  ]);
  const checks = first.steps.flatMap((s) => s.checks);
  assert.ok(checks.length >= 30, `only ${checks.length} schema tests ran`);

  const mart = await rowsOf(
    url,
    (wh) =>
      `SELECT order_id, customer_id, email, item_count, quantity, shipment_count FROM ${wh.relation('mart', 'mart_complete_purchase_order')} ORDER BY order_id`,
  );
  assert.deepEqual(mart, EXPECTED_MART);

  const dims = await rowsOf(
    url,
    (wh) => `SELECT
      (SELECT count(*) FROM ${wh.relation('dim', 'dim_customer')}) AS customers,
      (SELECT subscribed_product_count FROM ${wh.relation('dim', 'dim_customer')} WHERE customer_id = 2) AS c2_subscriptions,
      (SELECT count(*) FROM ${wh.relation('dim', 'dim_product')} WHERE is_on_sale) AS products_on_sale,
      (SELECT price FROM ${wh.relation('dim', 'dim_sku')} WHERE sku_id = 1002) AS inherited_price,
      (SELECT count(*) FROM ${wh.relation('fct', 'fct_order')}) AS orders,
      (SELECT count(*) FROM ${wh.relation('fct', 'fct_order_item')}) AS order_items,
      (SELECT count(*) FROM ${wh.relation('fct', 'fct_shipment')}) AS shipments,
      (SELECT count(*) FROM ${wh.relation('fct', 'fct_onsale_product_inventory')}) AS on_sale_variants,
      (SELECT count(*) FROM ${wh.relation('fct', 'fct_point_transaction')}) AS point_transactions,
      (SELECT quoted_total FROM ${wh.relation('fct', 'fct_quotation')} WHERE quotation_id = 1) AS quoted_total`,
  );
  assert.deepEqual(dims, [
    {
      customers: 3,
      c2_subscriptions: 2,
      products_on_sale: 2,
      inherited_price: 100,
      orders: 3,
      order_items: 4,
      shipments: 3,
      on_sale_variants: 3,
      point_transactions: 1,
      quoted_total: 226.5,
    },
  ]);

  const eventsSql = (wh: Warehouse) =>
    `SELECT event_id, customer_id, product_id, sale_price FROM ${wh.relation('mart', 'product_notification_event')} ORDER BY customer_id, product_id`;
  const events = await rowsOf(url, eventsSql);
  assert.deepEqual(
    events.map((e) => [e.customer_id, e.product_id, e.sale_price]),
    [
      [1, 100, 80],
      [2, 100, 80],
    ],
  );
  const stepOf = (r: RunResult) => r.steps.find((s) => s.key === 'op_product_notification_event')!;
  assert.deepEqual(stepOf(first).metadata['events created'], { type: 'int', value: 2 });

  // A second run finds the same pairs and writes nothing new.
  const second = await world.run('op_product_notification_event');
  assertAllGreen(second);
  assert.deepEqual(stepOf(second).metadata['events created'], { type: 'int', value: 0 });
  assert.deepEqual(stepOf(second).metadata['already notified'], { type: 'int', value: 2 });
  assert.deepEqual(await rowsOf(url, eventsSql), events);
}
