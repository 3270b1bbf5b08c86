import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { test } from 'node:test';
import {
  claimQueuedRun,
  FINISHED_RUN_STATUSES,
  fromStatuses,
  RUN_STATUSES,
  RUN_TRANSITIONS,
  RunReconciler,
  runLiveness,
  startRun,
  terminateRun,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

/** The pid of a process that has exited (so is surely not alive). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

async function newRun(status: 'QUEUED' | 'NOT_STARTED' = 'QUEUED') {
  return await t.instance.storage.createRun({
    runId: randomUUID(),
    jobName: 'j',
    status,
    assetSelection: ['a'],
  });
}

const liveness = { heartbeatMs: 100, timeoutMs: 1000 };

test('a finished status has no way out, and every transition names its from-states', () => {
  for (const status of FINISHED_RUN_STATUSES) assert.deepEqual(RUN_TRANSITIONS[status], []);
  for (const status of RUN_STATUSES) {
    for (const from of fromStatuses(status)) assert.ok(!FINISHED_RUN_STATUSES.includes(from));
  }
  assert.deepEqual(fromStatuses('STARTING'), ['QUEUED', 'NOT_STARTED']);
});

test('claiming a queued run is a compare-and-set: one claim wins, a canceled run is never claimed', async () => {
  const run = await newRun();
  const claims = await Promise.all([1, 2, 3].map(() => claimQueuedRun(t.instance.storage, run.runId)));
  assert.deepEqual(claims.filter(Boolean).length, 1);
  const canceled = await newRun();
  assert.equal((await terminateRun(t.instance.storage, canceled.runId)).outcome, 'canceled');
  assert.equal(await claimQueuedRun(t.instance.storage, canceled.runId), false);
  const events = await t.instance.storage.getEvents(canceled.runId);
  assert.deepEqual(
    events.map((e) => e.type),
    ['RUN_CANCELED'],
  );
});

test('the reconciler finishes runs whose process on this host is gone: FAILURE, or CANCELED when canceling', async () => {
  const storage = t.instance.storage;
  const owner = () => ({ attemptId: randomUUID(), pid: deadPid(), hostname: hostname() });
  const crashed = await newRun();
  assert.ok(await startRun(storage, crashed.runId, owner()));
  const canceling = await newRun();
  assert.ok(await startRun(storage, canceling.runId, owner()));
  await storage.transitionRun(canceling.runId, { from: ['STARTED'], to: 'CANCELING' });
  const alive = await newRun();
  assert.ok(
    await startRun(storage, alive.runId, { attemptId: randomUUID(), pid: process.pid, hostname: hostname() }),
  );

  const finished = await new RunReconciler(storage, liveness).reconcile();
  assert.deepEqual(finished.map((r) => r.runId).sort(), [crashed.runId, canceling.runId].sort());
  const failed = await storage.getRun(crashed.runId);
  assert.equal(failed?.status, 'FAILURE');
  assert.match(failed?.error ?? '', /owner is gone: its process \d+ on .* exited without finishing it/);
  assert.equal((await storage.getRun(canceling.runId))?.status, 'CANCELED');
  assert.equal((await storage.getRun(alive.runId))?.status, 'STARTED', 'a live owner keeps its run');
  assert.equal((await storage.getEvents(crashed.runId)).at(-1)?.type, 'RUN_FAILURE');
  await storage.transitionRun(alive.runId, { from: ['STARTED'], to: 'SUCCESS' });
});

test('a silent owner on another host is presumed dead only after the timeout, watched while the database answered', async () => {
  const storage = t.instance.storage;
  const run = await newRun();
  const owner = { attemptId: randomUUID(), pid: 1, hostname: 'another-host' };
  assert.ok(await startRun(storage, run.runId, owner));
  const reconciler = new RunReconciler(storage, liveness);
  const ours = async (r: RunReconciler) => (await r.reconcile()).filter((f) => f.runId === run.runId);
  assert.deepEqual(await ours(reconciler), [], 'it just heartbeated');
  // Silent for longer than the timeout, but the reconciler was told the database was down.
  const deadline = Date.now() + 10_000;
  while (
    (await storage.getInFlightRuns()).find((r) => r.runId === run.runId)!.silentMs < liveness.timeoutMs
  ) {
    assert.ok(Date.now() < deadline, 'the heartbeat aged');
    await new Promise((r) => setTimeout(r, 100));
  }
  reconciler.databaseUnreachable();
  assert.deepEqual(await ours(reconciler), [], 'an outage is not the death of every owner');
  // Once it has watched for the whole timeout, the run is finished.
  const later = new RunReconciler(storage, liveness);
  let done: Awaited<ReturnType<RunReconciler['reconcile']>>[number] | undefined;
  while (!done) {
    assert.ok(Date.now() < deadline, 'the reconciler finished the run in time');
    done = (await later.reconcile()).find((r) => r.runId === run.runId);
    if (!done) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(done?.runId, run.runId);
  assert.match(done?.error ?? '', /has not shown it was alive for \d+ s \(heartbeat timeout 1 s\)/);
  // Its stale attempt can no longer heartbeat once the run is finished by the reconciler.
  assert.equal(await storage.heartbeatRun(run.runId, { attemptId: owner.attemptId }), undefined);
});

test('DAG_RUN_HEARTBEAT_MS and DAG_RUN_HEARTBEAT_TIMEOUT_MS are validated, naming the variable', () => {
  assert.deepEqual(runLiveness({}), { heartbeatMs: 5000, timeoutMs: 60_000 });
  assert.throws(
    () => runLiveness({ DAG_RUN_HEARTBEAT_MS: 'soon' }),
    /DAG_RUN_HEARTBEAT_MS must be a positive/,
  );
  assert.throws(
    () => runLiveness({ DAG_RUN_HEARTBEAT_MS: '1000', DAG_RUN_HEARTBEAT_TIMEOUT_MS: '1500' }),
    /at least twice DAG_RUN_HEARTBEAT_MS/,
  );
});
