import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  asset,
  assetCheck,
  Daemon,
  type DagInstance,
  Definitions,
  defineAssetJob,
  executeRun,
  ManualClock,
  MaterializeResult,
  md,
} from '@dag/core';
import { type SlackReplica, startSlackReplica } from '@dag/replica-slack';
import { freshInstance, type TestInstance } from '../../core/test/support.ts';
import { slackOnRunFailure } from '../src/index.ts';
import { TOKEN } from './support.ts';

/**
 * End to end: a real job fails on a real instance; the daemon's run-failure sensor posts
 * exactly one Slack message to the replica, waiting out a 429, and the token leaks nowhere.
 */
let replica: SlackReplica;
let t: TestInstance;
const saved: Record<string, string | undefined> = {};

before(async () => {
  replica = await startSlackReplica({ token: TOKEN });
  t = await freshInstance();
  for (const [k, v] of Object.entries({ SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: replica.url })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

after(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await t.cleanup();
  await replica.close();
});

/** A daemon on a manual clock over one code location, its log kept: the alerts' sensors tick in it. */
function alertDaemon(instance: DagInstance, definitions: Definitions) {
  const logs: string[] = [];
  const clock = new ManualClock(Date.now());
  const daemon = new Daemon({
    instance,
    locations: [{ name: 'orders', file: 'definitions.ts', definitions }],
    clock,
    launch: async () => {},
    uiUrl: 'http://127.0.0.1:3000',
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  return { daemon, clock, logs };
}

it('a failing job posts exactly one alert with its step, error and link, after a 429', async () => {
  const extract = asset({ name: 'extract' }, async () => [1, 2, 3]);
  const load = asset({ name: 'load', deps: [extract] }, async () => {
    throw new Error('적재 실패: orders 테이블이 잠겨 있습니다 (lock timeout 30s)');
  });
  const ok = asset({ name: 'ok' }, async () => 1);
  const ordersDaily = defineAssetJob({ name: 'orders_daily', selection: 'extract+' });
  const okJob = defineAssetJob({ name: 'ok_job', selection: 'ok' });
  const alerts = slackOnRunFailure({ monitoredJobs: [ordersDaily], defaultStatus: 'RUNNING' });
  const definitions = new Definitions({
    assets: [extract, load, ok],
    jobs: [ordersDaily, okJob],
    sensors: [alerts],
  });
  const { daemon, clock, logs } = alertDaemon(t.instance, definitions);
  await daemon.tick(); // the sensor starts watching

  const failed = await executeRun({ instance: t.instance, definitions, job: 'orders_daily' });
  assert.equal(failed.status, 'FAILURE');
  assert.equal((await executeRun({ instance: t.instance, definitions, job: 'ok_job' })).status, 'SUCCESS');
  replica.setFaults({ rateLimited: 1, retryAfterSeconds: 1 });
  clock.set(Date.now() + 20_000);
  const started = Date.now();
  await daemon.tick();
  assert.ok(Date.now() - started >= 1000, 'the 429 was waited out for Retry-After');
  clock.advance(20_000);
  await daemon.tick();

  assert.equal(replica.messages.length, 1, 'exactly one message');
  const message = replica.messages[0]!;
  assert.equal(message.channelName, 'data-alerts');
  assert.match(
    message.text,
    /of orders_daily failed in step load: Error: 적재 실패: orders 테이블이 잠겨 있습니다/,
  );
  const blocks = JSON.stringify(message.blocks);
  assert.ok(blocks.includes(`http://127.0.0.1:3000/runs/${failed.runId}`), blocks);
  assert.equal(
    replica.requests.filter((r) => r.apiMethod === 'chat.postMessage').length,
    2,
    'one 429, one success',
  );

  const ticks = await t.instance.storage.getTicks('sensor', 'slack_on_run_failure', 10);
  const everything = JSON.stringify({
    logs,
    ticks,
    events: await t.instance.storage.getEvents(failed.runId),
  });
  assert.ok(!everything.includes(TOKEN), 'the bot token leaked into a log, tick or event');
  assert.ok(logs.some((l) => l.includes('posted the failure of run')));
});

it('a run failed only by a blocking ERROR check fires the alert, which names the check', async (ctx) => {
  // Its own instance: the first test's daemon still leads the shared one.
  const own = await freshInstance();
  ctx.after(() => own.cleanup());
  // The asset itself succeeds (and is materialized); only its blocking check fails.
  const orders = asset(
    { name: 'orders' },
    async () => new MaterializeResult({ metadata: { rows: md.int(0) } }),
  );
  const hasRows = assetCheck(
    { name: 'orders_has_rows', asset: orders, severity: 'ERROR', blocking: true },
    async (check) => ({ passed: (check.materializationMetadata.rows as { value: number }).value > 0 }),
  );
  const ordersJob = defineAssetJob({ name: 'orders_checked', selection: 'orders' });
  const alerts = slackOnRunFailure({
    name: 'slack_on_check_failure',
    monitoredJobs: [ordersJob],
    defaultStatus: 'RUNNING',
  });
  const definitions = new Definitions({
    assets: [orders],
    assetChecks: [hasRows],
    jobs: [ordersJob],
    sensors: [alerts],
  });
  const { daemon, clock, logs } = alertDaemon(own.instance, definitions);
  assert.ok((await daemon.tick()).leader); // the sensor starts watching
  const before = replica.messages.length;

  const failed = await executeRun({ instance: own.instance, definitions, job: 'orders_checked' });
  assert.equal(failed.status, 'FAILURE');
  const events = await own.instance.storage.getEvents(failed.runId);
  assert.ok(events.some((e) => e.type === 'ASSET_MATERIALIZATION' && e.assetKey === 'orders'));
  assert.deepEqual(events.find((e) => e.type === 'RUN_FAILURE')?.data?.failedChecks, [
    { step: 'orders', check: 'orders_has_rows' },
  ]);

  clock.set(Date.now() + 20_000);
  await daemon.tick();
  assert.ok(
    logs.some((l) => l.includes(`posted the failure of run ${failed.runId}`)),
    `the sensor fired for the run: ${logs.join('\n')}`,
  );
  const ticks = await own.instance.storage.getTicks('sensor', 'slack_on_check_failure', 10);
  assert.ok(
    ticks.every((tick) => tick.status !== 'FAILURE'),
    `no tick failed: ${JSON.stringify(ticks)}`,
  );
  assert.equal(replica.messages.length, before + 1, 'exactly one message');
  const message = replica.messages[before]!;
  assert.match(
    message.text,
    /of orders_checked failed in step orders: .*'orders_has_rows' on asset 'orders'/,
  );
  const blocks = JSON.stringify(message.blocks);
  assert.ok(blocks.includes('orders_has_rows'), blocks);
  assert.ok(blocks.includes(failed.runId), blocks);
});
