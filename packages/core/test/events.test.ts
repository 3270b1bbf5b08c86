/**
 * The event vocabulary against what the engine really stores: real runs through the executor on
 * the test PostgreSQL, their stored events read back, and the shared derivations (steps, asset
 * status, freshness) asserted on them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AssetDefinition,
  type AssetStatus,
  asset,
  assetCheck,
  assetFreshness,
  assetStatus,
  Definitions,
  deriveSteps,
  type EventOf,
  executeRun,
  latestAttemptFailed,
  materialize,
  type NewEvent,
  type RunResult,
  type StoredEvent,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

async function eventsOf(runId: string): Promise<StoredEvent[]> {
  return await t.instance.storage.getEvents(runId);
}

/** Step key -> [status, attempts], as the derivation tells it from the stored events. */
async function derived(result: RunResult): Promise<Record<string, [string, number]>> {
  const events = await eventsOf(result.runId);
  const run = (await t.instance.storage.getRun(result.runId))!;
  const withRun = deriveSteps(events, run);
  // The log alone (as the CLI sees it live) gives the same answer as the log with its run record.
  assert.deepEqual(
    deriveSteps(events).map((s) => [s.key, s.status, s.attempts]),
    withRun.map((s) => [s.key, s.status, s.attempts]),
  );
  // And the executor's own account of the run agrees with the derivation from its log.
  assert.deepEqual(
    Object.fromEntries(result.steps.map((s) => [s.key, [s.status, s.attempts]])),
    Object.fromEntries(withRun.map((s) => [s.key, [s.status, s.attempts]])),
  );
  return Object.fromEntries(withRun.map((s) => [s.key, [s.status, s.attempts]]));
}

/** Every event of the instance's runs so far (the history an asset's status is judged on). */
const runIds: string[] = [];
async function history(): Promise<StoredEvent[]> {
  const all = (await Promise.all(runIds.map(eventsOf))).flat();
  return all.sort((a, b) => a.id - b.id);
}

/** An asset's status from the stored events, with the core's rules. */
async function statusFromLog(def: AssetDefinition, now: Date = new Date()): Promise<AssetStatus> {
  const events = await history();
  const latestMaterialization = (key: string) =>
    events.findLast(
      (e): e is EventOf<'ASSET_MATERIALIZATION'> => e.type === 'ASSET_MATERIALIZATION' && e.assetKey === key,
    );
  const mat = latestMaterialization(def.key);
  const failure = events.findLast(
    (e): e is EventOf<'STEP_FAILURE'> => e.type === 'STEP_FAILURE' && e.assetKey === def.key,
  );
  return assetStatus({
    running: false,
    failed: latestAttemptFailed(mat?.id, failure && { id: failure.id, canceled: failure.data.canceled }),
    lastMaterializedAt: mat?.ts,
    freshness: assetFreshness(def.freshness, mat?.ts, now),
    upstreamMaterializedAt: def.deps.map((dep) => latestMaterialization(dep)?.ts),
  });
}

async function run(options: Parameters<typeof materialize>[0]): Promise<RunResult> {
  const result = await materialize(options);
  runIds.push(result.runId);
  return result;
}

describe('the derivation on events the engine stores', () => {
  const source = asset({ name: 'ev_source', freshness: { maximumLagMinutes: 60 } }, async () => 1);
  const derivedAsset = asset({ name: 'ev_derived', deps: [source] }, async () => 2);
  let failNext = true;
  const flaky = asset(
    { name: 'ev_flaky', retry: { maxRetries: 2, delayMs: 1, jitter: 'none' } },
    async () => {
      if (failNext) {
        failNext = false;
        throw new Error('first attempt fails');
      }
      return 3;
    },
  );
  const broken = asset({ name: 'ev_broken' }, async () => {
    throw new Error('source table missing');
  });
  const afterBroken = asset({ name: 'ev_after_broken', deps: [broken] }, async () => 4);
  const checked = asset({ name: 'ev_checked' }, async () => 5);
  const gate = assetCheck(
    { name: 'ev_gate', asset: checked, severity: 'ERROR', blocking: true },
    async () => ({ passed: false, description: 'row count is zero' }),
  );
  const afterChecked = asset({ name: 'ev_after_checked', deps: [checked] }, async () => 6);
  const defs = new Definitions({
    assets: [source, derivedAsset, flaky, broken, afterBroken, checked, afterChecked],
    assetChecks: [gate],
  });

  test('success: every step succeeded once; assets materialized, fresh, then stale by policy', async () => {
    const result = await run({ instance: t.instance, definitions: defs, selection: 'ev_source+' });
    assert.equal(result.status, 'SUCCESS');
    assert.deepEqual(await derived(result), { ev_source: ['success', 1], ev_derived: ['success', 1] });
    assert.equal(await statusFromLog(source), 'materialized');
    assert.equal(await statusFromLog(derivedAsset), 'materialized');
    const materializedAt = (await t.instance.storage.getAssetRecords(['ev_source']))[0]!.lastMaterializedAt!;
    const later = new Date(materializedAt.getTime() + 61 * 60_000);
    assert.equal(await statusFromLog(source, later), 'stale', 'older than its 60-minute policy');
    assert.deepEqual(assetFreshness(source.freshness, materializedAt, later), {
      maximumLagMinutes: 60,
      lagMinutes: 61,
      stale: true,
    });
  });

  test('an upstream materialized after its downstream makes the downstream stale', async () => {
    const result = await run({ instance: t.instance, definitions: defs, selection: 'ev_source' });
    assert.deepEqual(await derived(result), { ev_source: ['success', 1] });
    assert.equal(await statusFromLog(source), 'materialized');
    assert.equal(await statusFromLog(derivedAsset), 'stale');
  });

  test('retry then success: two attempts, one success, materialized', async () => {
    const result = await run({ instance: t.instance, definitions: defs, selection: 'ev_flaky' });
    assert.equal(result.status, 'SUCCESS');
    assert.deepEqual(await derived(result), { ev_flaky: ['success', 2] });
    const types = (await eventsOf(result.runId)).filter((e) => e.stepKey === 'ev_flaky').map((e) => e.type);
    assert.deepEqual(
      types.filter((x) => x.startsWith('STEP_') && x !== 'STEP_PROGRESS'),
      ['STEP_START', 'STEP_UP_FOR_RETRY', 'STEP_RESTARTED', 'STEP_SUCCESS'],
    );
    assert.equal(await statusFromLog(flaky), 'materialized');
  });

  test('failure: the step failed, its downstream was skipped; failed and never materialized', async () => {
    const result = await run({ instance: t.instance, definitions: defs, selection: 'ev_broken+' });
    assert.equal(result.status, 'FAILURE');
    assert.deepEqual(await derived(result), { ev_broken: ['failure', 1], ev_after_broken: ['skipped', 0] });
    const events = await eventsOf(result.runId);
    const failure = events.find((e): e is EventOf<'STEP_FAILURE'> => e.type === 'STEP_FAILURE')!;
    assert.equal(failure.data.canceled, false);
    assert.equal(failure.data.attempts, 1);
    assert.match(failure.data.error.message, /source table missing/);
    const skipped = events.find((e): e is EventOf<'STEP_SKIPPED'> => e.type === 'STEP_SKIPPED')!;
    assert.deepEqual(skipped.data, { reason: "upstream step 'ev_broken' failed", canceled: false });
    assert.equal(await statusFromLog(broken), 'failed');
    assert.equal(await statusFromLog(afterBroken), 'never');
  });

  test('a blocking check failure: the asset materialized, its step failed, its downstream was skipped', async () => {
    const result = await run({ instance: t.instance, definitions: defs, selection: 'ev_checked+' });
    assert.deepEqual(await derived(result), { ev_checked: ['failure', 1], ev_after_checked: ['skipped', 0] });
    const events = await eventsOf(result.runId);
    const evaluation = events.find(
      (e): e is EventOf<'ASSET_CHECK_EVALUATION'> => e.type === 'ASSET_CHECK_EVALUATION',
    )!;
    assert.deepEqual(
      [evaluation.data.checkName, evaluation.data.passed, evaluation.data.severity, evaluation.data.blocking],
      ['ev_gate', false, 'ERROR', true],
    );
    assert.ok(events.some((e) => e.type === 'ASSET_MATERIALIZATION' && e.assetKey === 'ev_checked'));
    assert.equal(await statusFromLog(checked), 'failed');
    assert.equal(await statusFromLog(afterChecked), 'never');
  });

  test('a terminated run: the running step and the one after it are canceled, not failed', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const slow = asset({ name: 'ev_slow' }, async (ctx) => {
      started();
      await new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => reject(new Error('Interrupted')), { once: true }),
      );
    });
    const afterSlow = asset({ name: 'ev_after_slow', deps: [slow] }, async () => 7);
    const controller = new AbortController();
    const execution = executeRun({
      instance: t.instance,
      definitions: new Definitions({ assets: [slow, afterSlow] }),
      selection: '*',
      signal: controller.signal,
    });
    await running;
    controller.abort();
    const result = await execution;
    runIds.push(result.runId);
    assert.equal(result.status, 'CANCELED');
    assert.deepEqual(await derived(result), { ev_slow: ['canceled', 1], ev_after_slow: ['canceled', 0] });
    const events = await eventsOf(result.runId);
    const failure = events.find((e): e is EventOf<'STEP_FAILURE'> => e.type === 'STEP_FAILURE')!;
    assert.equal(failure.data.canceled, true);
    const skipped = events.find((e): e is EventOf<'STEP_SKIPPED'> => e.type === 'STEP_SKIPPED')!;
    assert.equal(skipped.data.canceled, true);
    // A terminate is no failure of the asset: it was simply never materialized.
    assert.equal(await statusFromLog(slow), 'never');
  });

  test('events stored before the `canceled` fields existed read as they were meant', async () => {
    const { runId } = await t.instance.storage.createRun({
      runId: crypto.randomUUID(),
      jobName: '__ASSET_JOB',
      status: 'CANCELED',
      assetSelection: ['old_a', 'old_b'],
    });
    // The shapes an older version wrote: no `canceled` on STEP_SKIPPED, none on a real failure.
    const old = [
      { runId, type: 'RUN_START', data: { steps: ['old_a', 'old_b', 'old_c'], pid: 1 } },
      { runId, type: 'STEP_START', stepKey: 'old_a' },
      {
        runId,
        type: 'STEP_FAILURE',
        stepKey: 'old_a',
        message: 'boom',
        data: { error: { name: 'E', message: 'boom' } },
      },
      { runId, type: 'STEP_SKIPPED', stepKey: 'old_b', data: { reason: "upstream step 'old_a' failed" } },
      { runId, type: 'STEP_SKIPPED', stepKey: 'old_c', data: { reason: 'the run was terminated' } },
      { runId, type: 'RUN_CANCELED' },
    ] as unknown as NewEvent[];
    for (const e of old) await t.instance.storage.storeEvent(e);
    const events = await eventsOf(runId);
    const skips = events.filter((e): e is EventOf<'STEP_SKIPPED'> => e.type === 'STEP_SKIPPED');
    assert.deepEqual(
      skips.map((e) => e.data.canceled),
      [false, true],
    );
    assert.deepEqual(
      deriveSteps(events).map((s) => [s.key, s.status]),
      [
        ['old_a', 'failure'],
        ['old_b', 'skipped'],
        ['old_c', 'canceled'],
      ],
    );
  });
});
