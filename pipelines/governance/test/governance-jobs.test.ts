import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, executeRun, ManualClock, planRun } from '@dag/core';
import { type SlackReplica, startSlackReplica } from '@dag/replica-slack';
import { freshInstance, type TestInstance, tempDir } from '../../../packages/core/test/support.ts';

const TOKEN = 'xoxb-4001-5002-governancejobstesttoken';
const dir = await tempDir('governance-jobs-');
process.env.WAREHOUSE_URL = `duckdb://${path.join(dir, 'warehouse.duckdb')}`;
// The failure alert starts RUNNING when the token is set where the definitions load.
process.env.SLACK_BOT_TOKEN = TOKEN;
// The BigCommerce resource's config must be complete for a run to be planned; no test here calls the
// store (the failing run stops at its warehouse first).
process.env.BIGCOMMERCE_ACCESS_TOKEN = 'bc-jobs-test-token';
process.env.BIGCOMMERCE_STORE_HASH = 'jobstest';
process.env.BIGCOMMERCE_API_URL = 'http://127.0.0.1:9';
const { default: definitions } = await import('../src/definitions.ts');

const CUSTOMER_SYNC = ['src_customer', 'src_customer_metafields', 'dim/dim_customer'];

describe('governance jobs, schedules and the failure alert', () => {
  let replica: SlackReplica;
  let t: TestInstance;

  before(async () => {
    replica = await startSlackReplica({ token: TOKEN });
    process.env.SLACK_API_URL = replica.url;
    t = await freshInstance();
  });

  after(async () => {
    await t?.cleanup();
    await replica?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sync_customer and create_product_notification_event select exactly their assets, in order', () => {
    const steps = (job: string) => planRun(definitions, { job }).steps.map((s) => s.key);
    assert.deepEqual(steps('sync_customer').sort(), [...CUSTOMER_SYNC].sort());
    const notification = steps('create_product_notification_event');
    assert.deepEqual(
      [...notification].sort(),
      [
        ...CUSTOMER_SYNC,
        'bigcommerce_onsale_product_inventory',
        'fct/fct_onsale_product_inventory',
        'op_product_notification_event',
      ].sort(),
    );
    assert.equal(notification.at(-1), 'op_product_notification_event');
    assert.ok(notification.indexOf('dim/dim_customer') > notification.indexOf('src_customer'));
  });

  it('schedules run daily at 02:00 and hourly in Asia/Seoul, both off by default', () => {
    const byName = definitions.schedules;
    const daily = byName.get('daily_customer_sync');
    const hourly = byName.get('hourly_product_notification');
    assert.deepEqual(
      [daily?.cron, daily?.timezone, daily?.jobName, daily?.defaultStatus],
      ['0 2 * * *', 'Asia/Seoul', 'sync_customer', 'STOPPED'],
    );
    assert.deepEqual(
      [hourly?.cron, hourly?.timezone, hourly?.jobName, hourly?.defaultStatus],
      ['0 * * * *', 'Asia/Seoul', 'create_product_notification_event', 'STOPPED'],
    );
  });

  it('the lineage runs from the source assets through the models to the mart', () => {
    const deps = (key: string) => [...(definitions.assets.find((a) => a.key === key)?.deps ?? [])];
    assert.deepEqual(deps('dim/dim_customer').sort(), ['src_customer', 'src_customer_metafields']);
    assert.ok(deps('fct/fct_order_item').includes('src_order'));
    assert.ok(deps('dim/dim_sku').includes('src_product'));
    assert.deepEqual(deps('fct/fct_onsale_product_inventory'), ['bigcommerce_onsale_product_inventory']);
    assert.deepEqual(deps('fct/fct_point_transaction'), ['src_point_transaction']);
    assert.deepEqual(deps('fct/fct_quotation'), ['src_quotation']);
    assert.deepEqual(deps('mart/mart_complete_purchase_order').sort(), [
      'dim/dim_customer',
      'fct/fct_order',
      'fct/fct_order_item',
      'fct/fct_shipment',
    ]);
  });

  it('a failed sync_customer run posts one alert to #data-alerts, without the token', async () => {
    const clock = new ManualClock(Date.now());
    const daemon = new Daemon({
      instance: t.instance,
      locations: [{ name: 'governance', file: 'definitions.ts', definitions }],
      clock,
      launch: async () => {},
      uiUrl: 'http://127.0.0.1:3000',
      log: () => {},
    });
    await daemon.tick(); // the sensor starts watching
    // An unwritable warehouse makes the run fail whatever the sources do: its folder would have
    // to be made under a regular file. (Not under /proc: Node's recursive mkdir retries an
    // ENOENT there forever.)
    const notAFolder = path.join(dir, 'not-a-folder');
    await writeFile(notAFolder, '');
    const failed = await executeRun({
      instance: t.instance,
      definitions,
      job: 'sync_customer',
      runConfig: {
        resources: {
          transformer_warehouse: { config: { url: `duckdb://${path.join(notAFolder, 'w.duckdb')}` } },
        },
      },
    });
    assert.equal(failed.status, 'FAILURE');
    clock.advance(20_000);
    await daemon.tick();
    assert.equal(replica.messages.length, 1, 'exactly one message');
    const message = replica.messages[0]!;
    assert.equal(message.channelName, 'data-alerts');
    assert.match(message.text, /sync_customer failed/);
    assert.ok(JSON.stringify(message.blocks).includes(`/runs/${failed.runId}`));
    const ticks = await t.instance.storage.getTicks('sensor', 'governance_slack_on_failure', 10);
    assert.ok(!JSON.stringify({ ticks, message }).includes(TOKEN));
  });
});
