import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type BigQueryReplica, startBigQueryReplica } from '@dag/replica-bigquery';
import { runTest } from '@dag/sql';
import { upsertRows } from '../src/sources/load.ts';
import {
  EXPECTED_MART,
  loadRawFixture,
  RAW_FIXTURE,
  rowsOf,
  withWarehouse,
} from './support/governance-fixture.ts';

const replica: BigQueryReplica = await startBigQueryReplica({ location: 'asia-northeast3' });
const url = 'bigquery://wisely-test/wisely?location=asia-northeast3';
// The SQL project compiles for the warehouse named when it loads.
process.env.WAREHOUSE_URL = url;
process.env.BIGQUERY_EMULATOR_HOST = replica.url;
// Imported after WAREHOUSE_URL is set: the project compiles for BigQuery.
const { transformer } = await import('../src/transformer.ts');
const { findNotificationCandidates } = await import('../src/assets/op-product-notification-event.ts');

/**
 * The whole transformer on the BigQuery replica: the raw rows loaded through `upsertRows`, every
 * model's SQL as @dag/sql compiles it for BigQuery, every schema test through @dag/sql's
 * `runTest`, and the notification query. Each model is built with `CREATE OR REPLACE TABLE ...
 * AS <compiled SQL>` (BigQuery's own atomic replace): @dag/sql's table swap (DROP + RENAME in a
 * transaction) is refused by BigQuery, see docs/sql.md, "BigQuery status".
 */
describe('the transformer on the BigQuery replica', () => {
  after(async () => {
    await replica.close();
  });

  it('loads raw rows idempotently, builds every model, passes every schema test, finds the subscribers', async () => {
    await loadRawFixture(url);
    await withWarehouse(url, async (wh) => {
      // Loading the same rows again replaces them by id: nothing is duplicated.
      const [table, rows] = RAW_FIXTURE[0]!;
      assert.equal((await upsertRows(wh, table, rows)).upserted, rows.length);
      const { rows: counted } = await wh.query(`SELECT count(*) AS n FROM ${wh.relation('raw', table.name)}`);
      assert.equal(Number(counted[0]?.n), rows.length);

      const files = transformer.files;
      const built = new Set<string>();
      const build = async (name: string): Promise<void> => {
        if (built.has(name)) return;
        for (const upstream of files.upstreamModels(name)) await build(upstream);
        const model = files.models.get(name)!;
        const [compiled] = await transformer.compile([model.key]);
        await wh.ensureSchema(model.schema);
        await wh.execute(`CREATE OR REPLACE TABLE ${compiled!.relation} AS\n${compiled!.sql}`);
        built.add(name);
      };
      for (const name of files.models.keys()) await build(name);
      assert.equal(built.size, 10);

      assert.ok(files.tests.length >= 30);
      for (const test of files.tests) {
        const result = await runTest(files, wh, test);
        assert.equal(result.failures, 0, `${test.name} failed on BigQuery: ${result.sql}`);
      }

      const candidates = await findNotificationCandidates(wh);
      assert.deepEqual(
        candidates.map((c) => [c.customer_id, c.product_id, Number(c.sale_price)]),
        [
          [1, 100, 80],
          [2, 100, 80],
        ],
      );
    });
    const mart = await rowsOf(
      url,
      (wh) =>
        `SELECT order_id, customer_id, email, item_count, quantity, shipment_count FROM ${wh.relation('mart', 'mart_complete_purchase_order')} ORDER BY order_id`,
    );
    assert.deepEqual(mart, EXPECTED_MART);
  });
});
