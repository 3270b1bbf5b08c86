/**
 * One conformance suite for every storage backend: the embedded PostgreSQL the test command
 * starts, and an external server when DAG_TEST_POSTGRES_URL is set.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DagInstance, type InstanceStorage, type RunStatus } from '../src/index.ts';
import { freshInstance, type TestInstance } from './support.ts';

const backends: ('embedded' | 'external')[] = ['embedded'];
if (process.env.DAG_TEST_POSTGRES_URL) backends.push('external');

for (const backend of backends) {
  describe(`storage conformance (${backend})`, () => {
    let t: TestInstance;
    let s: InstanceStorage;
    before(async () => {
      t = await freshInstance(backend);
      s = t.instance.storage;
    });
    after(async () => {
      await t.cleanup();
    });

    const newRun = async (
      fields: { status?: RunStatus; jobName?: string; tags?: Record<string, string> } = {},
    ) =>
      await s.createRun({
        runId: randomUUID(),
        jobName: fields.jobName ?? 'job_a',
        status: fields.status ?? 'STARTED',
        assetSelection: ['x'],
        tags: fields.tags ?? {},
      });

    test('migrations are idempotent and versioned', async () => {
      const again = await s.migrate();
      assert.deepEqual(again.applied, []);
      assert.equal(await s.schemaVersion(), again.version);
      assert.ok(again.version >= 1);
    });

    test('runs: create, get, update, cancel', async () => {
      const run = await newRun({ tags: { team: 'ds' } });
      const got = await s.getRun(run.runId);
      assert.equal(got?.jobName, 'job_a');
      assert.deepEqual(got?.tags, { team: 'ds' });
      assert.deepEqual(got?.assetSelection, ['x']);
      assert.equal(await s.updateRun(run.runId, { status: 'SUCCESS', endedAt: new Date() }), true);
      assert.equal((await s.getRun(run.runId))?.status, 'SUCCESS');
      assert.equal(
        await s.transitionRun(run.runId, { from: ['STARTED'], to: 'CANCELING' }),
        undefined,
        'a finished run never moves',
      );
      assert.equal(await s.updateRun(run.runId, { status: 'FAILURE' }), false, 'not even by updateRun');
      assert.equal((await s.getRun(run.runId))?.status, 'SUCCESS');
      const live = await newRun();
      assert.equal(
        (await s.transitionRun(live.runId, { from: ['STARTED'], to: 'CANCELING' }))?.run.status,
        'CANCELING',
      );
      assert.equal((await s.getRun(live.runId))?.status, 'CANCELING');
      assert.equal(await s.getRun('no-such-run'), undefined);
      assert.equal(await s.updateRun('no-such-run', { status: 'FAILURE' }), false);
    });

    test('a guarded transition: ownership, attempt guard, final event with the status, heartbeat, in-flight runs', async () => {
      const run = await newRun({ status: 'QUEUED' });
      const owner = { attemptId: randomUUID(), pid: 4242, hostname: 'host-a' };
      const started = await s.transitionRun(run.runId, { from: ['QUEUED'], to: 'STARTED', owner });
      assert.equal(started?.run.status, 'STARTED');
      assert.equal(started?.run.attemptId, owner.attemptId);
      assert.equal(started?.run.pid, 4242);
      assert.ok(started?.run.startedAt && started.run.heartbeatAt);
      assert.equal(
        await s.heartbeatRun(run.runId, { attemptId: randomUUID() }),
        undefined,
        'a stale attempt',
      );
      assert.equal(await s.heartbeatRun(run.runId, { attemptId: owner.attemptId }), 'STARTED');
      const inFlight = (await s.getInFlightRuns()).find((r) => r.runId === run.runId);
      assert.ok(inFlight && inFlight.silentMs >= 0 && inFlight.silentMs < 60_000);
      const stale = await s.transitionRun(run.runId, {
        from: ['STARTED'],
        to: 'SUCCESS',
        attemptId: randomUUID(),
        event: { type: 'RUN_SUCCESS', message: 'stale' },
      });
      assert.equal(stale, undefined, 'another attempt cannot finish the run');
      const done = await s.transitionRun(run.runId, {
        from: ['STARTED'],
        to: 'FAILURE',
        attemptId: owner.attemptId,
        error: 'boom',
        event: { type: 'RUN_FAILURE', level: 'error', message: 'boom' },
      });
      assert.equal(done?.run.status, 'FAILURE');
      assert.ok(done?.run.endedAt);
      assert.equal(done?.event?.type, 'RUN_FAILURE');
      assert.deepEqual(
        (await s.getEvents(run.runId)).map((e) => `${e.type}:${e.message}`),
        ['RUN_FAILURE:boom'],
        'the stale attempt stored no event',
      );
      assert.equal(await s.heartbeatRun(run.runId), undefined, 'a finished run has no heartbeat');
      assert.ok(!(await s.getInFlightRuns()).some((r) => r.runId === run.runId));
      const waiting = await newRun({ status: 'QUEUED' });
      await s.setQueueReason(waiting.runId, 'waiting for a slot');
      assert.equal((await s.getRun(waiting.runId))?.queueReason, 'waiting for a slot');
      await s.transitionRun(waiting.runId, { from: ['QUEUED'], to: 'STARTING' });
      assert.equal((await s.getRun(waiting.runId))?.queueReason, null, 'leaving the queue clears the reason');
    });

    test('runs list newest first, filter by status, job and tags, and page by cursor', async () => {
      const created: string[] = [];
      for (let i = 0; i < 7; i++) {
        const run = await newRun({
          jobName: i % 2 ? 'odd_job' : 'even_job',
          status: i === 3 ? 'FAILURE' : 'SUCCESS',
          tags: { i: String(i) },
        });
        created.push(run.runId);
      }
      const first = await s.listRuns({ limit: 3, jobName: 'even_job' });
      assert.equal(first.runs.length, 3);
      assert.ok(first.nextCursor);
      const second = await s.listRuns({ limit: 3, jobName: 'even_job', cursor: first.nextCursor! });
      const ids = [...first.runs, ...second.runs].map((r) => r.runId);
      assert.deepEqual(ids, [created[6], created[4], created[2], created[0]]);
      assert.equal(second.nextCursor, null);
      assert.deepEqual(
        (await s.listRuns({ statuses: ['FAILURE'], jobName: 'odd_job' })).runs.map((r) => r.runId),
        [created[3]],
      );
      assert.deepEqual(
        (await s.listRuns({ tags: { i: '5' } })).runs.map((r) => r.runId),
        [created[5]],
      );
      assert.equal(await s.countRuns({ jobName: 'odd_job' }), 3);
      await assert.rejects(s.listRuns({ cursor: 'garbage' }), /Invalid run list cursor/);
    });

    test('events keep their order; materializations update the latest record in one transaction', async () => {
      const run = await newRun();
      await s.storeEvent({ runId: run.runId, type: 'RUN_START', message: 'start' });
      await s.storeEvent({
        runId: run.runId,
        type: 'LOG',
        message: '로그 한국어 ✓',
        stepKey: 'x',
        level: 'warn',
      });
      const m1 = await s.storeEvent({
        runId: run.runId,
        type: 'ASSET_MATERIALIZATION',
        assetKey: 'conf_asset',
        stepKey: 'conf_asset',
        data: { metadata: { n: { type: 'int', value: 1 } } },
      });
      const m2 = await s.storeEvent({
        runId: run.runId,
        type: 'ASSET_MATERIALIZATION',
        assetKey: 'conf_asset',
        stepKey: 'conf_asset',
        data: { metadata: { n: { type: 'int', value: 2 } } },
      });
      await s.storeEvent({
        runId: run.runId,
        type: 'ASSET_CHECK_EVALUATION',
        assetKey: 'conf_asset',
        data: {
          checkName: 'positive',
          passed: true,
          severity: 'WARN',
          blocking: false,
          description: null,
          metadata: {},
        },
      });
      const events = await s.getEvents(run.runId);
      assert.deepEqual(
        events.map((e) => e.type),
        ['RUN_START', 'LOG', 'ASSET_MATERIALIZATION', 'ASSET_MATERIALIZATION', 'ASSET_CHECK_EVALUATION'],
      );
      assert.equal(events[1]?.message, '로그 한국어 ✓');
      assert.equal(events[1]?.level, 'warn');
      assert.deepEqual((await s.getEvents(run.runId, { afterId: m1.id })).map((e) => e.id)[0], m2.id);
      assert.equal((await s.getEvents(run.runId, { types: ['LOG'] })).length, 1);
      const [record] = await s.getAssetRecords(['conf_asset']);
      assert.equal(record?.lastMaterializationId, m2.id);
      assert.deepEqual(record?.lastMetadata, { n: { type: 'int', value: 2 } });
      assert.deepEqual(
        (await s.getMaterializations('conf_asset')).map((e) => e.id),
        [m2.id, m1.id],
      );
      const checks = await s.getCheckExecutions('conf_asset', { checkName: 'positive' });
      assert.equal(checks.length, 1);
      assert.equal(checks[0]?.severity, 'WARN');
      await assert.rejects(
        s.storeEvent({ runId: run.runId, type: 'ASSET_MATERIALIZATION', data: { metadata: {} } }),
        /has no asset key/,
      );
      assert.equal(
        (await s.getEvents(run.runId)).length,
        5,
        'a failed materialization write leaves nothing behind',
      );
    });

    test('purge deletes old events but keeps the latest materialization of each asset', async () => {
      const run = await newRun();
      const old = new Date(Date.now() - 40 * 86_400_000);
      await s.storeEvent({ runId: run.runId, type: 'LOG', message: 'old log', ts: old });
      const oldMat = await s.storeEvent({
        runId: run.runId,
        type: 'ASSET_MATERIALIZATION',
        assetKey: 'purge_asset',
        ts: old,
        data: { metadata: {} },
      });
      await s.storeEvent({ runId: run.runId, type: 'LOG', message: 'new log' });
      const { deleted } = await s.purgeEvents({ olderThanDays: 30, includeAssetEvents: true });
      assert.ok(deleted >= 1);
      const left = await s.getEvents(run.runId);
      assert.deepEqual(
        left.map((e) => e.message || e.type),
        ['ASSET_MATERIALIZATION', 'new log'],
      );
      assert.equal(left[0]?.id, oldMat.id);
      await assert.rejects(s.purgeEvents({ olderThanDays: -1 }), /olderThanDays must be a number >= 0/);
    });

    test('stats count what is stored', async () => {
      const stats = await s.stats();
      assert.ok(stats.runs > 0 && stats.events > 0 && stats.assets > 0);
      assert.match(stats.databaseSize, /\d/);
    });
  });
}

describe('instance errors', () => {
  test('an unreachable external URL fails fast with the URL masked and how to fix it', async () => {
    await assert.rejects(
      DagInstance.open({ home: '/tmp', postgresUrl: 'postgresql://u:pa55word-xyz@127.0.0.1:1/nope' }),
      (error: Error) => {
        assert.match(
          error.message,
          /Cannot connect to the PostgreSQL instance at postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/nope/,
        );
        assert.doesNotMatch(error.message, /pa55word-xyz/);
        return true;
      },
    );
  });
});
