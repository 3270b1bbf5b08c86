import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import {
  asset,
  claimQueuedRun,
  Definitions,
  defineAssetJob,
  executeStoredRun,
  type PostgresStorage,
  storedRunPlan,
  submitRun,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

const one = asset({ name: 'one' }, async (ctx) => {
  ctx.log.info('working');
  return { rows: 1 };
});
const defs = new Definitions({
  assets: [one],
  jobs: [defineAssetJob({ name: 'one_job', selection: 'one' })],
});

/**
 * Counts the transactions the storage's connections run from now on: a statement outside
 * BEGIN ... COMMIT is one, a BEGIN ... COMMIT block is one.
 */
function countTransactions(storage: PostgresStorage): { count: () => number; statements: string[] } {
  const seen = new WeakSet<object>();
  let transactions = 0;
  const statements: string[] = [];
  storage.pool.on('acquire', (client: pg.PoolClient) => {
    if (seen.has(client)) return;
    seen.add(client);
    let open = false;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text);
      const verb = text.trim().split(/\s+/)[0]!.toUpperCase();
      statements.push(text.trim().slice(0, 60));
      if (verb === 'BEGIN') {
        open = true;
        transactions++;
      } else if (verb === 'COMMIT' || verb === 'ROLLBACK') open = false;
      else if (!open) transactions++;
      return query(...args);
    };
  });
  return { count: () => transactions, statements };
}

test('a run process stores a one-asset run in two transactions: its start (with RUN_START) and its end (step events, final event, status)', async () => {
  const storage = t.instance.storage as PostgresStorage;
  const counter = countTransactions(storage);
  for (let i = 0; i < 3; i++) {
    const submitted = await submitRun(t.instance, defs, { job: 'one_job', status: 'QUEUED' });
    assert.ok(await claimQueuedRun(storage, submitted.runId));
    // What a worker does: assign the run, then hand its record to the run process.
    const assigned = await storage.assignRunToWorker(submitted.runId, 'worker-1');
    assert.ok(assigned);
    const before = counter.count();
    const from = counter.statements.length;
    const result = await executeStoredRun({
      instance: t.instance,
      definitions: defs,
      location: undefined,
      runId: submitted.runId,
      run: storedRunPlan(assigned),
      // However slow this machine is, the step's events wait for the run's end.
      eventLingerMs: 60_000,
    });
    assert.equal(result.status, 'SUCCESS');
    const used = counter.count() - before;
    assert.ok(used <= 2, `the run took ${used} transactions: ${counter.statements.slice(from).join(' | ')}`);
    // Nothing left out: every event, in order, and the asset's latest materialization.
    const events = await storage.getEvents(submitted.runId);
    assert.deepEqual(
      events.map((e) => e.type),
      ['RUN_START', 'STEP_START', 'LOG', 'ASSET_MATERIALIZATION', 'STEP_SUCCESS', 'RUN_SUCCESS'],
    );
    const run = await storage.getRun(submitted.runId);
    assert.equal(run?.status, 'SUCCESS');
    assert.equal(run?.workerId, 'worker-1');
    const [record] = await storage.getAssetRecords(['one']);
    assert.equal(record?.lastRunId, submitted.runId);
  }
});

test('without the record handed over, a run process reads it once more', async () => {
  const storage = t.instance.storage as PostgresStorage;
  const counter = countTransactions(storage);
  const submitted = await submitRun(t.instance, defs, { job: 'one_job' });
  const before = counter.count();
  const result = await executeStoredRun({
    instance: t.instance,
    definitions: defs,
    location: undefined,
    runId: submitted.runId,
    eventLingerMs: 60_000,
  });
  assert.equal(result.status, 'SUCCESS');
  assert.ok(
    counter.count() - before <= 3,
    `the run took ${counter.count() - before} transactions: ${counter.statements.slice(-8).join(' | ')}`,
  );
});
