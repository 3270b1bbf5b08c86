import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunConfig, RunResult } from '@dag/core';
import { type BigCommerceReplica, SCOPES, startBigCommerceReplica } from '@dag/replica-bigcommerce';
import { tempDir } from '../../../packages/core/test/support.ts';
import { type GovernanceWorld, governanceWorld, rowsOf } from './support/governance-fixture.ts';
import { watchListenerLeaks } from './support/listener-leaks.ts';

const dir = await tempDir('governance-bigcommerce-');
const url = `duckdb://${path.join(dir, 'warehouse.duckdb')}`;
// A second warehouse, loaded by a full refresh, to compare an incremental load with.
const refreshUrl = `duckdb://${path.join(dir, 'full-refresh.duckdb')}`;
process.env.WAREHOUSE_URL = url;

const TOKEN = 'bc-test-token-7f3a9c2e';
const CUSTOMERS_ONLY = 'bc-test-token-customers-only';
const SIZE = { customers: 1_000, orders: 600, products: 150 };
const SOURCES = ['src_customer', 'src_customer_metafields', 'src_order', 'src_product'];
const ALL = `${SOURCES.join(' or ')} or bigcommerce_onsale_product_inventory`;
/** Raw table -> the columns compared (all but `_loaded_at`, which says when a row was written). */
const TABLES: Record<string, string> = {
  src_customer:
    'id, email, first_name, last_name, company, phone, customer_group_id, date_created, date_modified',
  src_customer_metafields: 'id, customer_id, namespace, key, value, date_created, date_modified',
  src_order:
    'id, customer_id, status_id, status, subtotal_inc_tax, total_ex_tax, total_inc_tax, items_total, currency_code, payment_method, is_deleted, date_created, date_modified, date_shipped',
  src_order_item:
    'id, order_id, product_id, variant_id, name, sku, quantity, base_price, price_inc_tax, total_inc_tax, quantity_shipped',
  src_shipment: 'id, order_id, tracking_number, shipping_method, shipping_provider, date_created',
  src_product:
    'id, name, sku, type, price, sale_price, calculated_price, inventory_level, inventory_tracking, is_visible, availability, date_created, date_modified',
  src_sku: 'id, product_id, sku, price, sale_price, calculated_price, inventory_level, purchasing_disabled',
};

const fullRefresh = (keys: string[]): RunConfig => ({
  ops: Object.fromEntries(keys.map((k) => [k, { config: { full_refresh: true } }])),
});

function metadataInt(result: RunResult, step: string, name: string): number {
  const value = result.steps.find((s) => s.key === step)?.metadata[name];
  assert.ok(value && value.type === 'int', `${step} has no int metadata '${name}'`);
  return value.value;
}

function assertSuccess(result: RunResult): void {
  const failures = result.steps.filter((s) => s.status !== 'success').map((s) => `${s.key}: ${s.error}`);
  assert.equal(result.status, 'SUCCESS', `${result.error}\n${failures.join('\n')}`);
}

const tableRows = (warehouseUrl: string, table: string) =>
  rowsOf(warehouseUrl, (wh) => `SELECT ${TABLES[table]} FROM ${wh.relation('raw', table)} ORDER BY id`, {
    ...process.env,
    WAREHOUSE_URL: warehouseUrl,
  });

const counts = async (warehouseUrl: string) => {
  const out: Record<string, number> = {};
  for (const table of Object.keys(TABLES)) out[table] = (await tableRows(warehouseUrl, table)).length;
  return out;
};

describe('the BigCommerce sources against the replica', () => {
  let replica: BigCommerceReplica;
  let world: GovernanceWorld;
  let env: Record<string, string>;
  // Over the whole file: the clients' listeners on a step's signal are bounded, and must not
  // set off "possible EventTarget memory leak".
  let leaks: ReturnType<typeof watchListenerLeaks> | undefined;

  before(async () => {
    leaks = watchListenerLeaks();
    replica = await startBigCommerceReplica({
      storeHash: 'wiselytest',
      size: SIZE,
      tokens: {
        [TOKEN]: Object.values(SCOPES).map((s) => `${s}_read_only`),
        [CUSTOMERS_ONLY]: [`${SCOPES.customers}_read_only`],
      },
      // The real quota's size per a shorter window, so the test takes seconds.
      rateLimit: { quota: 150, windowMs: 1_000 },
    });
    env = {
      BIGCOMMERCE_API_URL: replica.url,
      BIGCOMMERCE_ACCESS_TOKEN: TOKEN,
      BIGCOMMERCE_STORE_HASH: 'wiselytest',
    };
    world = await governanceWorld(env);
  });

  after(async () => {
    const warned = leaks?.stop() ?? [];
    await world?.t.cleanup();
    await replica?.close();
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(warned, [], 'no listener-leak warning');
  });

  it('a full load reads every record into raw, paced inside the quota with no 429', async () => {
    const result = await world.run(ALL, {}, fullRefresh(SOURCES));
    assertSuccess(result);
    const store = replica.store;
    let items = 0;
    let shipments = 0;
    for (let id = 1; id <= SIZE.orders; id++) {
      items += store.orderProducts(id).length;
      shipments += store.shipments(id).length;
    }
    let skus = 0;
    for (let id = 1; id <= SIZE.products; id++) skus += store.variantCount(id);
    assert.deepEqual(await counts(url), {
      src_customer: SIZE.customers,
      src_customer_metafields: store.metafields.length,
      src_order: SIZE.orders,
      src_order_item: items,
      src_shipment: shipments,
      src_product: SIZE.products,
      src_sku: skus,
    });
    const onSale = await rowsOf(
      url,
      (wh) => `SELECT DISTINCT product_id FROM ${wh.relation('raw', 'bigcommerce_onsale_product_inventory')}`,
    );
    assert.deepEqual(
      onSale.map((r) => r.product_id).sort((a, b) => Number(a) - Number(b)),
      [...store.onSaleProducts].sort((a, b) => a - b),
    );
    assert.equal(metadataInt(result, 'src_order', 'rows read'), SIZE.orders);
    // Order details: one request each for products and shipments, plus the list's pages.
    assert.ok(metadataInt(result, 'src_order', 'requests') >= 2 * SIZE.orders);
    for (const step of SOURCES) assert.equal(metadataInt(result, step, 'rate limited (429)'), 0, step);
    assert.equal(replica.stats.rateLimited, 0);
  });

  it('an incremental run after 1% of customers and orders changed equals a full refresh, nothing duplicated', async () => {
    const changed = replica.mutate({ customers: 0.01, orders: 0.01 });
    assert.equal(changed.customers.length, SIZE.customers / 100);
    assert.equal(changed.orders.length, SIZE.orders / 100);
    const config: RunConfig = {
      ops: Object.fromEntries(SOURCES.map((k) => [k, { config: { hours_lookback: 1 } }])),
    };
    const incremental = await world.run(SOURCES.join(' or '), {}, config);
    assertSuccess(incremental);
    assert.equal(metadataInt(incremental, 'src_customer', 'rows read'), changed.customers.length);
    assert.equal(metadataInt(incremental, 'src_order', 'rows read'), changed.orders.length);
    const refresh = await world.run(
      SOURCES.join(' or '),
      { WAREHOUSE_URL: refreshUrl },
      fullRefresh(SOURCES),
    );
    assertSuccess(refresh);
    for (const table of Object.keys(TABLES)) {
      const rows = await tableRows(url, table);
      assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, `${table} has duplicate ids`);
      assert.deepEqual(rows, await tableRows(refreshUrl, table), `${table} differs from a full refresh`);
    }
    // The changes did land (a changed order moves on: its status or date_modified differ).
    const customer = changed.customers[0]!;
    const [row] = (await tableRows(url, 'src_customer')).filter((r) => r.id === customer);
    assert.equal(row?.email, replica.store.customer(customer).email);
  });

  it('a wrong token (401) fails with a named error, shows no token, and leaves raw intact', async () => {
    const before = await counts(url);
    const result = await world.run(
      'src_customer',
      { BIGCOMMERCE_ACCESS_TOKEN: 'Wr0ngTokenNotPrinted' },
      fullRefresh(['src_customer']),
    );
    assert.equal(result.status, 'FAILURE');
    const error = result.steps.find((s) => s.key === 'src_customer')?.error ?? '';
    assert.match(error, /BIGCOMMERCE_ACCESS_TOKEN was refused by BigCommerce \(401/);
    assert.match(error, /wiselytest/);
    assert.ok(!JSON.stringify(result).includes('Wr0ngTokenNotPrinted'));
    assert.deepEqual(await counts(url), before);
  });

  it('a token without the orders scope (403) names the scope to add, and leaves raw intact', async () => {
    const before = await tableRows(url, 'src_order');
    const result = await world.run(
      'src_order',
      { BIGCOMMERCE_ACCESS_TOKEN: CUSTOMERS_ONLY },
      fullRefresh(['src_order']),
    );
    assert.equal(result.status, 'FAILURE');
    const error = result.steps.find((s) => s.key === 'src_order')?.error ?? '';
    assert.match(error, /403/);
    assert.match(error, /lacks the scope store_v2_orders_read_only \(Orders: read-only\)/);
    assert.deepEqual(await tableRows(url, 'src_order'), before);
  });

  it('malformed records are skipped and counted, the run goes on, and the rest is loaded', async () => {
    replica.setFaults({ malformed: { customers: [3, 7], orders: [5] } });
    try {
      const before = await tableRows(url, 'src_customer');
      const result = await world.run(
        'src_customer or src_order',
        {},
        fullRefresh(['src_customer', 'src_order']),
      );
      assertSuccess(result);
      assert.equal(metadataInt(result, 'src_customer', 'rows read'), SIZE.customers - 2);
      assert.equal(metadataInt(result, 'src_customer', 'rows skipped'), 2);
      assert.equal(metadataInt(result, 'src_order', 'rows skipped'), 1);
      const skipped = result.steps.find((s) => s.key === 'src_customer')?.metadata[
        'malformed records skipped'
      ];
      assert.deepEqual(skipped, { type: 'json', value: { customer: 2 } });
      // What an earlier run loaded for the malformed records stays as it was.
      assert.deepEqual(await tableRows(url, 'src_customer'), before);
    } finally {
      replica.setFaults({});
    }
  });
});
