import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import {
  asset,
  ConfigError,
  Definitions,
  defineAssetJob,
  executeStoredRun,
  reexecutionOptions,
  submitRun,
  UsageError,
} from '../src/index.ts';
import { freshInstance, type TestInstance } from './support.ts';

let t: TestInstance;
before(async () => {
  t = await freshInstance();
});
after(async () => {
  await t.cleanup();
});

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
