import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import {
  asset,
  ConfigError,
  Definitions,
  defineAssetJob,
  executeStoredRun,
  reexecutionOptions,
  submitRun,
  terminateRun,
  UsageError,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

let failOnce = true;
const first = asset({ name: 'first' }, async () => 1);
const middle = asset({ name: 'middle', deps: [first], config: z.object({ n: z.number() }) }, async () => {
  if (failOnce) throw new Error('middle fails the first time');
});
const last = asset({ name: 'last', deps: [middle] }, async () => 3);
const defs = new Definitions({
  assets: [first, middle, last],
  jobs: [defineAssetJob({ name: 'chain', selection: '*' })],
});

test('a submitted run is stored NOT_STARTED and executed later; invalid input stores nothing', async () => {
  await assert.rejects(submitRun(t.instance, defs, { job: 'chain' }), ConfigError);
  assert.equal(await t.instance.storage.countRuns(), 0);
  const run = await submitRun(t.instance, defs, {
    job: 'chain',
    location: 'here',
    runConfig: { ops: { middle: { config: { n: 1 } } } },
    tags: { who: 'test' },
  });
  assert.equal(run.status, 'NOT_STARTED');
  const result = await executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId });
  assert.equal(result.runId, run.runId);
  assert.equal(result.status, 'FAILURE');
  assert.deepEqual(
    result.steps.map((s) => [s.key, s.status]),
    [
      ['first', 'success'],
      ['middle', 'failure'],
      ['last', 'skipped'],
    ],
  );
  await assert.rejects(
    executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId }),
    UsageError,
  );

  // Re-execute from failure: only the steps that did not succeed, with the same config.
  failOnce = false;
  const options = await reexecutionOptions(t.instance, run.runId, { fromFailure: true });
  assert.deepEqual(options.stepKeys, ['middle', 'last']);
  const child = await submitRun(t.instance, defs, options);
  assert.equal(child.parentRunId, run.runId);
  assert.equal(child.rootRunId, run.runId);
  const rerun = await executeStoredRun({ instance: t.instance, definitions: defs, runId: child.runId });
  assert.equal(rerun.status, 'SUCCESS');
  assert.deepEqual(
    rerun.steps.map((s) => s.key),
    ['middle', 'last'],
  );
  await assert.rejects(reexecutionOptions(t.instance, child.runId, { fromFailure: true }), /succeeded/);
});

test('an ad-hoc selection run keeps its selection for re-execution', async () => {
  const run = await submitRun(t.instance, defs, { selection: 'first' });
  assert.deepEqual(run.assetSelection, ['first']);
  assert.equal(
    (await executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId })).status,
    'SUCCESS',
  );
  const again = await reexecutionOptions(t.instance, run.runId);
  assert.equal(again.selection, 'first');
});

test('a stored run that no longer validates is marked failed with the reason', async () => {
  const run = await submitRun(t.instance, defs, { selection: 'first' });
  const changed = new Definitions({ assets: [asset({ name: 'renamed' }, async () => {})] });
  await assert.rejects(
    executeStoredRun({ instance: t.instance, definitions: changed, runId: run.runId }),
    /Unknown asset/,
  );
  const stored = await t.instance.storage.getRun(run.runId);
  assert.equal(stored?.status, 'FAILURE');
  assert.match(stored?.error ?? '', /could not start: Unknown asset 'first'/);
});

test('re-executing an op job from failure loads the outputs of ops that succeeded in the parent run', async () => {
  const { graphJob, op } = await import('../src/index.ts');
  let extractCalls = 0;
  let transformFails = true;
  const extract = op({ name: 'extract' }, async () => {
    extractCalls++;
    return [1, 2, 3];
  });
  const transform = op({ name: 'transform' }, async (_ctx, rows: number[]) => {
    if (transformFails) throw new Error('transform fails once');
    return rows.map((r) => r + 1);
  });
  let loaded: number[] = [];
  const load = op({ name: 'load' }, async (_ctx, rows: number[]) => {
    loaded = rows;
  });
  const opDefs = new Definitions({
    jobs: [graphJob({ name: 'etl', description: 'ops' }, () => load(transform(extract())))],
  });
  const parent = await submitRun(t.instance, opDefs, { job: 'etl' });
  assert.equal(
    (await executeStoredRun({ instance: t.instance, definitions: opDefs, runId: parent.runId })).status,
    'FAILURE',
  );
  transformFails = false;
  const child = await submitRun(
    t.instance,
    opDefs,
    await reexecutionOptions(t.instance, parent.runId, { fromFailure: true }),
  );
  const result = await executeStoredRun({ instance: t.instance, definitions: opDefs, runId: child.runId });
  assert.equal(result.status, 'SUCCESS');
  assert.deepEqual(loaded, [2, 3, 4]);
  assert.equal(extractCalls, 1, 'extract was not run again');
});

test('a run terminated before it starts ends CANCELED without running a step (even if the request races its start)', async () => {
  let ran = false;
  const never = asset({ name: 'never_runs' }, async () => {
    ran = true;
  });
  const d = new Definitions({ assets: [never] });
  const run = await submitRun(t.instance, d, { selection: 'never_runs' });
  assert.equal((await terminateRun(t.instance.storage, run.runId)).outcome, 'canceled');
  const result = await executeStoredRun({ instance: t.instance, definitions: d, runId: run.runId });
  assert.equal(result.status, 'CANCELED');
  assert.equal(ran, false);
  assert.equal((await t.instance.storage.getRun(run.runId))?.status, 'CANCELED');
  // The race: the terminate lands after the status check, before the run is marked STARTED.
  const { executeRun } = await import('../src/index.ts');
  const raced = await submitRun(t.instance, d, { selection: 'never_runs' });
  await terminateRun(t.instance.storage, raced.runId);
  const racedResult = await executeRun({
    instance: t.instance,
    definitions: d,
    runId: raced.runId,
    existingRun: true,
    selection: 'never_runs',
  });
  assert.equal(racedResult.status, 'CANCELED');
  assert.equal(ran, false);
});

test('a step whose child process is killed by a terminate is not recorded as a success', async () => {
  let started!: () => void;
  const spawned = new Promise<void>((r) => {
    started = r;
  });
  const careless = asset({ name: 'careless' }, async (ctx) => {
    // Ignores the exit code on purpose.
    await ctx.spawn('sh', ['-c', 'echo up; sleep 300'], { onLine: () => started() });
  });
  const d = new Definitions({ assets: [careless] });
  const run = await submitRun(t.instance, d, { selection: 'careless' });
  const running = executeStoredRun({
    instance: t.instance,
    definitions: d,
    runId: run.runId,
    cancelPollMs: 50,
  });
  await spawned;
  await terminateRun(t.instance.storage, run.runId);
  const result = await running;
  assert.equal(result.status, 'CANCELED');
  assert.equal(result.steps[0]?.status, 'canceled');
  assert.equal(
    (await t.instance.storage.getAssetRecords(['careless'])).length,
    0,
    'no materialization was recorded',
  );
});
