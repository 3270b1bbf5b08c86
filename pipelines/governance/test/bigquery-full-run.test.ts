import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BigCommerceReplica, SCOPES, startBigCommerceReplica } from '@dag/replica-bigcommerce';
import { type BigQueryReplica, startBigQueryReplica } from '@dag/replica-bigquery';
import pg from 'pg';
import { freshDatabase } from '../../../packages/core/test/support.ts';
import { seedSourceDatabase } from '../src/sources/source-databases.ts';
import {
  assertAllGreen,
  type GovernanceWorld,
  governanceWorld,
  rowsOf,
} from './support/governance-fixture.ts';

const bigquery: BigQueryReplica = await startBigQueryReplica({ location: 'asia-northeast3' });
const url = 'bigquery://wisely-run/wisely?location=asia-northeast3';
// The SQL project compiles for the warehouse named when the definitions load.
process.env.WAREHOUSE_URL = url;
process.env.BIGQUERY_EMULATOR_HOST = bigquery.url;

const TOKEN = 'bc-bigquery-run-token';

/**
 * One full run of the whole pipeline through the orchestrator with the warehouse on the BigQuery
 * replica: the BigCommerce sources (from its replica), the read-only PostgreSQL sources, every
 * model with its schema tests as asset checks, and the notification events.
 */
describe('a full governance run on the BigQuery replica', () => {
  let bigcommerce: BigCommerceReplica;
  let wise: { url: string; drop: () => Promise<void> };
  let commerce: { url: string; drop: () => Promise<void> };
  let world: GovernanceWorld;

  before(async () => {
    bigcommerce = await startBigCommerceReplica({
      storeHash: 'wiselybq',
      size: { customers: 200, orders: 150, products: 60 },
      tokens: { [TOKEN]: Object.values(SCOPES).map((s) => `${s}_read_only`) },
      rateLimit: false,
    });
    wise = await freshDatabase();
    commerce = await freshDatabase();
    for (const [db, table] of [
      [wise, 'point_transaction'],
      [commerce, 'quotation'],
    ] as const) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await seedSourceDatabase(client, table, { rows: 50, customers: 200, products: 60 });
      await client.end();
    }
    world = await governanceWorld({
      BIGCOMMERCE_API_URL: bigcommerce.url,
      BIGCOMMERCE_ACCESS_TOKEN: TOKEN,
      BIGCOMMERCE_STORE_HASH: 'wiselybq',
      WISE_POSTGRES_URL: wise.url,
      COMMERCE_POSTGRES_URL: commerce.url,
    });
  });

  after(async () => {
    await world?.t.cleanup();
    await bigcommerce?.close();
    await wise?.drop();
    await commerce?.drop();
    await bigquery.close();
  });

  it('materializes every asset, passes every check, and notifies each subscriber once', async () => {
    const sources = ['src_customer', 'src_customer_metafields', 'src_order', 'src_product'];
    const result = await world.run(
      '*',
      {},
      {
        ops: Object.fromEntries(sources.map((k) => [k, { config: { full_refresh: true } }])),
      },
    );
    assertAllGreen(result);
    assert.ok(result.steps.length >= 17, `${result.steps.length} steps`);
    assert.ok(result.steps.reduce((n, s) => n + s.checks.length, 0) >= 40);
    const count = async (schema: string, table: string) =>
      Number((await rowsOf(url, (wh) => `SELECT count(*) AS n FROM ${wh.relation(schema, table)}`))[0]?.n);
    assert.equal(await count('raw', 'src_customer'), 200);
    assert.equal(await count('raw', 'src_order'), 150);
    assert.equal(await count('dim', 'dim_customer'), 200);
    assert.ok((await count('mart', 'mart_complete_purchase_order')) > 0);
    const events = await count('mart', 'product_notification_event');
    assert.ok(events > 0);
    // The hourly job again: nobody is notified twice.
    const again = await world.run('op_product_notification_event');
    assertAllGreen(again);
    assert.equal(await count('mart', 'product_notification_event'), events);
  });
});
