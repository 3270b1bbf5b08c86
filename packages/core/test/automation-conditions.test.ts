import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asset,
  type CodeLocation,
  Daemon,
  Definitions,
  eager,
  evaluateCondition,
  executeStoredRun,
  ManualClock,
  materialize,
  missing,
  onCron,
  type RunRecord,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

/** A daemon that executes the runs it dequeues, to the end, before its tick returns. */
function daemon(defs: Definitions, clock: ManualClock): Daemon {
  const location: CodeLocation = { name: 'auto', file: 'auto.ts', definitions: defs };
  return new Daemon({
    instance: t.instance,
    locations: [location],
    clock,
    // A restart: a new Daemon object (nothing kept in memory) that takes the same role.
    daemonId: 'automation-test',
    launch: async (run) => {
      await executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId });
    },
  });
}

async function automationRuns(): Promise<RunRecord[]> {
  const { runs } = await t.instance.storage.listRuns({ limit: 1000, tags: { 'dag/automation': 'true' } });
  return runs.reverse();
}

describe('declarative automation', () => {
  test('eager() requests exactly one run per upstream update, across daemon restarts', async () => {
    const src = asset({ name: 'ea_src' }, async () => Date.now());
    const follower = asset({ name: 'ea_follow', deps: [src], automationCondition: eager() }, async () => 1);
    const defs = new Definitions({ assets: [src, follower] });
    const clock = new ManualClock();

    // No upstream data yet: nothing to do, and the evaluation says why.
    await daemon(defs, clock).tick();
    assert.equal((await automationRuns()).length, 0);
    const [first] = await t.instance.storage.getAutomationEvaluations('ea_follow', 1);
    assert.equal(first?.conditionTrue, false);
    assert.match(JSON.stringify(first?.explanation), /upstream 'ea_src' has no data yet/);

    for (let update = 1; update <= 2; update++) {
      await materialize({ instance: t.instance, definitions: defs, selection: 'ea_src' });
      // Three daemons in a row (each a restart) evaluate the same state; one run results.
      for (let restart = 0; restart < 3; restart++) await daemon(defs, clock).tick();
      const runs = await automationRuns();
      assert.equal(runs.length, update, `runs after update ${update}`);
      assert.deepEqual(runs.at(-1)?.assetSelection, ['ea_follow']);
      assert.equal(runs.at(-1)?.status, 'SUCCESS');
    }
    const [latest] = await t.instance.storage.getAutomationEvaluations('ea_follow', 20);
    const requested = (await t.instance.storage.getAutomationEvaluations('ea_follow', 20)).filter(
      (e) => e.requested,
    );
    assert.equal(requested.length, 2);
    assert.match(
      JSON.stringify(requested[0]?.explanation),
      /upstream 'ea_src' updated after its latest materialization/,
    );
    assert.equal(latest?.conditionTrue, false);
  });

  test('a failed run is not requested again by a restarted daemon until the upstream updates again', async () => {
    const src = asset({ name: 'f_src' }, async () => Date.now());
    const broken = asset({ name: 'f_down', deps: [src], automationCondition: eager() }, async () => {
      throw new Error('broken on purpose');
    });
    const defs = new Definitions({ assets: [src, broken] });
    const clock = new ManualClock();
    const mine = async () => (await automationRuns()).filter((r) => r.assetSelection?.[0] === 'f_down');
    await materialize({ instance: t.instance, definitions: defs, selection: 'f_src' });
    for (let restart = 0; restart < 3; restart++) await daemon(defs, clock).tick();
    assert.deepEqual(
      (await mine()).map((r) => r.status),
      ['FAILURE'],
    );
    const [skipped] = await t.instance.storage.getAutomationEvaluations('f_down', 1);
    assert.equal(skipped?.conditionTrue, true);
    assert.equal(
      (skipped?.explanation as { skipReason?: string } | undefined)?.skipReason,
      'a run was already requested for this state',
    );
    await materialize({ instance: t.instance, definitions: defs, selection: 'f_src' });
    for (let restart = 0; restart < 2; restart++) await daemon(defs, clock).tick();
    assert.equal((await mine()).length, 2);
  });

  test('a run requested while one is still queued is not requested again', async () => {
    const src = asset({ name: 'q_src' }, async () => 1);
    const waiting = asset(
      { name: 'q_down', deps: [src], automationCondition: eager().or(missing()) },
      async () => 1,
    );
    const defs = new Definitions({ assets: [src, waiting] });
    await materialize({ instance: t.instance, definitions: defs, selection: 'q_src' });
    const clock = new ManualClock();
    const idle = (d: Definitions) =>
      new Daemon({
        instance: t.instance,
        locations: [{ name: 'auto', file: 'auto.ts', definitions: d }],
        clock,
        daemonId: 'automation-test',
        maxConcurrentRuns: 0,
        launch: async () => {},
      });
    const before = (await automationRuns()).length;
    await idle(defs).tick();
    await idle(defs).tick();
    const runs = await automationRuns();
    assert.equal(runs.length, before + 1);
    assert.equal(runs.at(-1)?.status, 'QUEUED');
    await t.instance.storage.transitionRun(runs.at(-1)!.runId, { from: ['QUEUED'], to: 'CANCELED' });
  });

  test('onCron() with a time zone requests once per tick, at the zone-local time', async () => {
    const report = asset(
      { name: 'cron_report', automationCondition: onCron('0 2 * * *', { timezone: 'Asia/Seoul' }) },
      async () => 1,
    );
    const defs = new Definitions({ assets: [report] });
    const clock = new ManualClock();
    // The latest tick before now has passed and nothing was materialized since: one run.
    await daemon(defs, clock).tick();
    await daemon(defs, clock).tick();
    assert.equal((await automationRuns()).filter((r) => r.assetSelection?.[0] === 'cron_report').length, 1);
    // The next 02:00 in Seoul is 17:00 UTC.
    const next = new Date(clock.now());
    next.setUTCHours(17, 0, 0, 0);
    if (next.getTime() <= clock.now().getTime()) next.setUTCDate(next.getUTCDate() + 1);
    clock.advance(next.getTime() - clock.now().getTime() - 60_000);
    await daemon(defs, clock).tick();
    assert.equal((await automationRuns()).filter((r) => r.assetSelection?.[0] === 'cron_report').length, 1);
    clock.advance(2 * 60_000);
    await daemon(defs, clock).tick();
    await daemon(defs, clock).tick();
    const runs = (await automationRuns()).filter((r) => r.assetSelection?.[0] === 'cron_report');
    assert.equal(runs.length, 2);
    const [evaluation] = (await t.instance.storage.getAutomationEvaluations('cron_report', 20)).filter(
      (e) => e.requested,
    );
    assert.match(
      JSON.stringify(evaluation?.explanation),
      new RegExp(`the tick of ${next.toISOString()} passed`),
    );
  });

  test('onCron() waits until every upstream asset has updated since the tick', () => {
    const node = onCron('0 2 * * *', { timezone: 'Asia/Seoul' }).node;
    const now = Date.parse('2026-11-23T03:00:00+09:00');
    const tick = Date.parse('2026-11-23T02:00:00+09:00');
    const state = (upAt: number) => ({
      key: 'c',
      lastMaterializationId: 1,
      lastMaterializedAt: tick - 3_600_000,
      inProgress: false,
      lastRequestedAt: null,
      upstream: [{ key: 'u', updateId: 2, updatedAt: upAt, newerThanAsset: true, inProgress: false }],
    });
    const waiting = evaluateCondition(node, state(tick - 60_000), now);
    assert.equal(waiting.true, false);
    assert.match(waiting.reason, /waiting for upstream 'u' to update/);
    const ready = evaluateCondition(node, state(tick + 60_000), now);
    assert.equal(ready.true, true);
    assert.equal(
      ready.reason,
      'the tick of 2026-11-22T17:00:00.000Z passed and every upstream asset updated since',
    );
    // Composition: and / not.
    const both = evaluateCondition(
      onCron('0 2 * * *', { timezone: 'Asia/Seoul' }).and(missing().not()).node,
      state(tick + 60_000),
      now,
    );
    assert.equal(both.true, true);
    assert.equal(both.label, "onCron('0 2 * * *', 'Asia/Seoul') and not missing()");
  });
});
