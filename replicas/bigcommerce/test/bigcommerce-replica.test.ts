import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ALL_READ_SCOPES,
  type BcCustomer,
  type BcOrder,
  type BcProduct,
  type BigCommerceReplica,
  type Pagination,
  SUBSCRIPTION_KEY,
  startBigCommerceReplica,
} from '../src/index.ts';

describe('BigCommerce replica', () => {
  let replica: BigCommerceReplica;
  const get = (path: string, token = 'full') =>
    fetch(`${replica.url}/stores/${replica.storeHash}${path}`, { headers: { 'X-Auth-Token': token } });

  before(async () => {
    replica = await startBigCommerceReplica({
      seed: 7,
      size: { customers: 120, orders: 130, products: 40 },
      tokens: { full: ALL_READ_SCOPES, customersOnly: ['store_v2_customers_read_only'] },
      rateLimit: { quota: 1000, windowMs: 60_000 },
    });
  });
  after(() => replica.close());

  it('generates the default size quickly, with Korean names, on-sale products and subscriptions', async () => {
    const started = performance.now();
    const big = await startBigCommerceReplica({ rateLimit: false });
    const elapsed = performance.now() - started;
    try {
      assert.equal(big.store.customerCount, 10_000);
      assert.equal(big.store.orderCount, 50_000);
      assert.equal(big.store.productCount, 2_000);
      assert.ok(elapsed < 10_000, `started in ${elapsed} ms`);
      const customer = big.store.customer(1);
      assert.match(customer.last_name + customer.first_name, /^[가-힣]+$/);
      const onSale = big.store.product(big.store.onSaleProducts[0]!, true);
      assert.ok(onSale.sale_price > 0 && onSale.sale_price < onSale.price);
      assert.ok(big.store.metafields.some((m) => m.key === SUBSCRIPTION_KEY));
    } finally {
      await big.close();
    }
  });

  it('pages v3 lists with meta.pagination and the rate-limit headers', async () => {
    const res = await get('/v3/customers?limit=50&page=3');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: BcCustomer[]; meta: { pagination: Pagination } };
    assert.deepEqual(
      body.data.map((c) => c.id),
      Array.from({ length: 20 }, (_, i) => 101 + i),
    );
    assert.equal(body.meta.pagination.total, 120);
    assert.equal(body.meta.pagination.total_pages, 3);
    assert.equal(body.meta.pagination.links.next, undefined);
    assert.equal(res.headers.get('x-rate-limit-requests-quota'), '1000');
    assert.ok(Number(res.headers.get('x-rate-limit-requests-left')) < 1000);
    assert.equal(res.headers.get('x-rate-limit-time-window-ms'), '60000');
    const past = (await (await get('/v3/customers?limit=50&page=9')).json()) as { data: unknown[] };
    assert.deepEqual(past.data, []);
    assert.equal((await get('/v3/customers?limit=251')).status, 413);
  });

  it('pages v2 lists as bare arrays and answers 204 with no body past the end', async () => {
    const page = (await (await get('/v2/orders?limit=50&page=3')).json()) as BcOrder[];
    assert.equal(page.length, 30);
    assert.match(page[0]!.date_modified, /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000$/);
    const end = await get('/v2/orders?limit=50&page=4');
    assert.equal(end.status, 204);
    assert.equal(await end.text(), '');
    const count = (await (await get('/v2/orders/count')).json()) as { count: number };
    assert.equal(count.count, 130);
    const products = (await (await get('/v2/orders/1/products')).json()) as { order_id: number }[];
    assert.ok(products.length >= 1 && products.every((p) => p.order_id === 1));
  });

  it('filters by date_modified after mutate, in both styles', async () => {
    const since = new Date(Date.now() - 3_600_000);
    const changed = replica.mutate({ customers: 0.05, orders: 0.05 });
    assert.equal(changed.customers.length, 6);
    const v3 = (await (
      await get(`/v3/customers?limit=250&date_modified:min=${since.toISOString().slice(0, 19)}`)
    ).json()) as { data: BcCustomer[] };
    assert.deepEqual(
      v3.data.map((c) => c.id),
      changed.customers,
    );
    const v2 = (await (
      await get(`/v2/orders?limit=250&min_date_modified=${encodeURIComponent(since.toUTCString())}`)
    ).json()) as BcOrder[];
    assert.deepEqual(
      v2.map((o) => o.id),
      changed.orders,
    );
  });

  it('refuses a bad token (401) and a missing scope (403)', async () => {
    assert.equal((await get('/v3/customers', 'wrong')).status, 401);
    const forbidden = await get('/v2/orders', 'customersOnly');
    assert.equal(forbidden.status, 403);
    assert.match(JSON.stringify(await forbidden.json()), /store_v2_orders/);
    assert.equal((await get('/v3/customers', 'customersOnly')).status, 200);
  });

  it('serves products with variants and inventory items', async () => {
    const body = (await (await get('/v3/catalog/products?include=variants&limit=5')).json()) as {
      data: BcProduct[];
    };
    const variant = body.data[0]!.variants![0]!;
    const items = (await (await get(`/v3/inventory/items?variant_id:in=${variant.id}`)).json()) as {
      data: { identity: { variant_id: number }; locations: { available_to_sell: number }[] }[];
    };
    assert.equal(items.data[0]!.identity.variant_id, variant.id);
    assert.equal(items.data[0]!.locations[0]!.available_to_sell, variant.inventory_level);
  });

  it('enforces the quota with 429 and X-Retry-After, then refills', async () => {
    const small = await startBigCommerceReplica({
      size: { customers: 10, orders: 10, products: 5 },
      rateLimit: { quota: 3, windowMs: 60_000 },
    });
    try {
      const call = () =>
        fetch(`${small.url}/stores/${small.storeHash}/v3/customers`, {
          headers: { 'X-Auth-Token': small.token },
        });
      for (let i = 0; i < 3; i++) assert.equal((await call()).status, 200);
      const over = await call();
      assert.equal(over.status, 429);
      assert.equal(over.headers.get('x-rate-limit-requests-left'), '0');
      assert.ok(Number(over.headers.get('x-retry-after')) >= 1);
      assert.ok(Number(over.headers.get('x-rate-limit-time-reset-ms')) > 0);
      small.resetQuota();
      assert.equal((await call()).status, 200);
      assert.equal(small.stats.rateLimited, 1);
    } finally {
      await small.close();
    }
  });

  it('serves 5xx and malformed records on request', async () => {
    replica.setFaults({ serverErrors: 1, malformed: { customers: [2] } });
    assert.equal((await get('/v3/customers?limit=3')).status, 500);
    const body = (await (await get('/v3/customers?limit=3')).json()) as { data: BcCustomer[] };
    assert.equal(body.data[1]!.date_modified, 'not-a-date');
    replica.setFaults({});
  });
});
