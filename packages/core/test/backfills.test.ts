/**
 * Backfills through the daemon: submission in transactional chunks, resumed after a daemon
 * restart without running a partition twice, self-dependent chains in order, cancellation,
 * single-run ranges, from-failure, and partitioned schedules and sensors.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import {
  asset,
  BACKFILL_TAG,
  buildScheduleFromPartitionedJob,
  type CodeLocation,
  cancelBackfill,
  Daemon,
  type DaemonOptions,
  Definitions,
  dailyPartitions,
  defineAssetJob,
  dynamicPartitions,
  executeStoredRun,
  finishRun,
  getBackfillProgress,
  launchBackfill,
  ManualClock,
  materialize,
  PARTITION_TAG,
  previousPartitionMapping,
  type RunRecord,
  sensor,
  staticPartitions,
} from '../src/index.ts';
import { useFreshInstance, waitFor } from './support.ts';

const t = useFreshInstance();
beforeEach(async () => {
  const pool = (t.instance.storage as unknown as { pool: import('pg').Pool }).pool;
  await pool.query(
    'TRUNCATE runs, run_tags, event_logs, asset_keys, ticks, instigators, run_keys, daemon_heartbeats, backfills, asset_partitions, dynamic_partitions CASCADE',
  );
});

const days = dailyPartitions({ start: '2026-11-01', timezone: 'Asia/Seoul', end: '2026-11-11' });
const location = (definitions: Definitions): CodeLocation => ({ name: 'test', file: 'test.ts', definitions });
const daemon = (definitions: Definitions, extra: Partial<DaemonOptions> = {}) =>
  new Daemon({ instance: t.instance, locations: [location(definitions)], launch: async () => {}, ...extra });

async function backfillRuns(id: string): Promise<RunRecord[]> {
  return (await t.instance.storage.listRuns({ tags: { [BACKFILL_TAG]: id }, limit: 1000 })).runs.reverse();
}

describe('backfills', () => {
  test('a backfill interrupted by a daemon restart resumes where it stopped; no partition is submitted twice', async () => {
    const events = asset({ name: 'events', partitions: days }, async (ctx) => ctx.partitionKey);
    const defs = new Definitions({ assets: [events] });
    const backfill = await launchBackfill({
      storage: t.instance.storage,
      definitions: defs,
      location: 'test',
      selection: 'events',
      partitions: '2026-11-01...2026-11-10',
    });
    assert.equal(backfill.partitionKeys.length, 10);
    // The first daemon submits one chunk of 3, then dies (its heartbeat row is gone).
    const first = daemon(defs, { backfillChunkSize: 3, backfillChunksPerTick: 1, maxConcurrentRuns: 0 });
    await first.tick();
    assert.equal((await t.instance.storage.getBackfill(backfill.backfillId))?.submitted, 3);
    await t.instance.storage.releaseDaemon('daemon', first.daemonId);
    // A submission racing on the same cursor (a second daemon, a retried commit) stores nothing.
    const raced = await Promise.all([
      t.instance.storage.submitBackfillRuns(backfill.backfillId, 3, 4, []),
      t.instance.storage.submitBackfillRuns(backfill.backfillId, 3, 4, []),
    ]);
    assert.deepEqual(raced.sort(), [false, true]);
    // The cursor moved to 4 with no run for that partition: put it back as the daemon left it.
    const pool = (t.instance.storage as unknown as { pool: import('pg').Pool }).pool;
    await pool.query('UPDATE backfills SET submitted = 3 WHERE backfill_id = $1', [backfill.backfillId]);
    // The restarted daemon resumes at partition 4 and finishes.
    const second = daemon(defs, { backfillChunkSize: 3, backfillChunksPerTick: 1, maxConcurrentRuns: 0 });
    for (let i = 0; i < 3; i++) await second.tick();
    const runs = await backfillRuns(backfill.backfillId);
    const partitions = runs.map((r) => r.tags[PARTITION_TAG]);
    assert.deepEqual(partitions, backfill.partitionKeys);
    assert.ok(runs.every((r) => r.status === 'QUEUED'));
    const progress = await getBackfillProgress(t.instance.storage, backfill.backfillId);
    assert.equal(progress.partitionCounts.submitted, 10);
    assert.equal(progress.partitionCounts.queued, 10);
    assert.equal(progress.status, 'REQUESTED');
  });

  test('self-dependent partitions run in order, each once the previous succeeded, without waiting for the next daemon tick', async () => {
    const order: string[] = [];
    const total = asset(
      {
        name: 'total',
        partitions: days,
        ins: { before: 'total' },
        partitionMappings: { total: previousPartitionMapping() },
      },
      async (ctx, inputs) => {
        order.push(ctx.partitionKey);
        return ((inputs.before as number | undefined) ?? 0) + 1;
      },
    );
    const defs = new Definitions({ assets: [total] });
    const backfill = await launchBackfill({
      storage: t.instance.storage,
      definitions: defs,
      location: 'test',
      selection: 'total',
      partitions: '2026-11-01...2026-11-06',
    });
    const stop = new AbortController();
    const d: Daemon = daemon(defs, {
      launch: async (run) => {
        // As dag daemon does: the run executes elsewhere, and its end wakes the daemon.
        void executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId }).then(() =>
          d.wake(),
        );
      },
    });
    // An hour between ticks: only the wake-ups can move the chain along.
    const running = d.run(stop.signal, { idleMs: 3_600_000 });
    try {
      await waitFor('the backfill to complete', async () => {
        const b = await t.instance.storage.getBackfill(backfill.backfillId);
        return b?.status === 'COMPLETED' ? b : undefined;
      });
    } finally {
      stop.abort();
      await running;
    }
    assert.deepEqual(order, backfill.partitionKeys);
    const statuses = await t.instance.storage.getPartitionStatuses('total');
    assert.equal(statuses.filter((s) => s.status === 'MATERIALIZED').length, 6);
  });

  test('cancel: no more runs are submitted and queued ones are canceled', async () => {
    const events = asset({ name: 'events', partitions: days }, async () => 1);
    const defs = new Definitions({ assets: [events] });
    const backfill = await launchBackfill({
      storage: t.instance.storage,
      definitions: defs,
      location: 'test',
      selection: 'events',
    });
    const d = daemon(defs, { backfillChunkSize: 4, backfillChunksPerTick: 1, maxConcurrentRuns: 0 });
    await d.tick();
    await cancelBackfill(t.instance.storage, backfill.backfillId);
    await d.tick();
    await d.tick();
    const progress = await getBackfillProgress(t.instance.storage, backfill.backfillId);
    assert.equal(progress.status, 'CANCELED');
    assert.equal(progress.submitted, 4);
    assert.deepEqual(progress.runCounts, { CANCELED: 4 });
    await assert.rejects(
      cancelBackfill(t.instance.storage, backfill.backfillId),
      /only a REQUESTED backfill/,
    );
  });

  test('cancel terminates the running runs too: they end CANCELED and never change again', async () => {
    const storage = t.instance.storage;
    // Each run blocks until it is terminated: only a cancel can end it.
    const started = new Set<string>();
    const events = asset({ name: 'events', partitions: days }, async (ctx) => {
      started.add(ctx.partitionKey);
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      throw new Error(`${ctx.partitionKey} was stopped`);
    });
    const defs = new Definitions({ assets: [events] });
    const backfill = await launchBackfill({
      storage,
      definitions: defs,
      location: 'test',
      selection: 'events',
      partitions: '2026-11-01...2026-11-04',
    });
    const executions: Promise<unknown>[] = [];
    const d = daemon(defs, {
      maxConcurrentRuns: 2,
      launch: async (run) => {
        executions.push(
          executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId, cancelPollMs: 50 }),
        );
      },
    });
    await d.tick();
    await waitFor('two partitions to be running', async () => (started.size === 2 ? true : undefined));
    const before = await backfillRuns(backfill.backfillId);
    assert.deepEqual(before.map((r) => r.status).sort(), ['QUEUED', 'QUEUED', 'STARTED', 'STARTED']);
    const progress = await cancelBackfill(storage, backfill.backfillId);
    assert.equal(progress.status, 'CANCELING');
    // The queued runs are canceled at once; the running ones end CANCELED once their step stops.
    await waitFor('every run of the backfill to be canceled', async () => {
      const runs = await backfillRuns(backfill.backfillId);
      return runs.every((r) => r.status === 'CANCELED') ? runs : undefined;
    });
    await Promise.all(executions);
    await d.tick();
    const done = await getBackfillProgress(storage, backfill.backfillId);
    assert.equal(done.status, 'CANCELED');
    assert.deepEqual(done.runCounts, { CANCELED: 4 });
    assert.equal(done.submitted, 4);
    // Nothing moves afterwards: more daemon ticks submit nothing, a late finish is refused.
    await d.tick();
    await d.tick();
    const after = await backfillRuns(backfill.backfillId);
    assert.equal(after.length, 4);
    assert.ok(after.every((r) => r.status === 'CANCELED'));
    assert.equal(
      await finishRun(storage, after[0]!.runId, { status: 'SUCCESS', message: 'late' }),
      undefined,
    );
    assert.equal((await storage.getRun(after[0]!.runId))?.status, 'CANCELED');
    assert.equal((await getBackfillProgress(storage, backfill.backfillId)).status, 'CANCELED');
    assert.deepEqual([...started].sort(), ['2026-11-01', '2026-11-02']);
    // A terminated partition goes back to how it was (never materialized: missing).
    const statuses = await storage.getPartitionStatuses('events');
    assert.ok(
      statuses.every((s) => s.status !== 'IN_PROGRESS' && s.status !== 'MATERIALIZED'),
      JSON.stringify(statuses),
    );
  });

  test('single run over the range, and from failure only the failed or missing partitions', async () => {
    let failOn = '';
    const sales = asset(
      { name: 'sales', partitions: staticPartitions(['kr', 'jp', 'us', 'de']) },
      async (ctx) => {
        if (ctx.partitionKeys.includes(failOn)) throw new Error(`no data for ${failOn}`);
      },
    );
    const defs = new Definitions({ assets: [sales] });
    const storage = t.instance.storage;
    const single = await launchBackfill({
      storage,
      definitions: defs,
      location: 'test',
      selection: 'sales',
      partitions: 'kr...us',
      singleRun: true,
    });
    const d = daemon(defs, {
      launch: async (run) => {
        await executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId });
      },
    });
    await d.tick();
    await d.tick();
    const [run] = await backfillRuns(single.backfillId);
    assert.equal(run?.tags['dag/partition_range_start'], 'kr');
    assert.equal(run?.tags['dag/partition_range_end'], 'us');
    assert.equal((await storage.getBackfill(single.backfillId))?.status, 'COMPLETED');
    failOn = 'jp';
    assert.equal(
      (await materialize({ instance: t.instance, definitions: defs, selection: 'sales', partition: 'jp' }))
        .status,
      'FAILURE',
    );
    const redo = await launchBackfill({
      storage,
      definitions: defs,
      location: 'test',
      selection: 'sales',
      fromFailure: true,
    });
    assert.deepEqual(redo.partitionKeys, ['jp', 'de']);
    await assert.rejects(
      launchBackfill({
        storage,
        definitions: defs,
        location: 'test',
        selection: 'sales',
        partitions: 'kr...xx',
      }),
      /Partition 'xx' is not a partition of asset 'sales'; valid: kr, jp, us, de/,
    );
  });

  test('a schedule of a partitioned job runs the partition that just closed; a sensor requests partitions and adds dynamic ones', async () => {
    const events = asset({ name: 'events', partitions: days }, async () => 1);
    const customers = dynamicPartitions({ name: 'customers' });
    const report = asset({ name: 'report', partitions: customers }, async () => 1);
    const job = defineAssetJob({ name: 'events_job', selection: 'events', partitions: days });
    const reportJob = defineAssetJob({ name: 'report_job', selection: 'report', partitions: customers });
    const nightly = buildScheduleFromPartitionedJob({ job, defaultStatus: 'RUNNING' });
    assert.equal(nightly.cron, '0 0 * * *');
    assert.equal(nightly.timezone, 'Asia/Seoul');
    const signups = sensor({
      name: 'signups',
      job: reportJob,
      defaultStatus: 'RUNNING',
      fn: async () => ({
        dynamicPartitionsRequests: [{ name: 'customers', add: ['acme'] }],
        runRequests: [{ partitionKey: 'acme', runKey: 'acme' }],
      }),
    });
    const defs = new Definitions({
      assets: [events, report],
      jobs: [job, reportJob],
      schedules: [nightly],
      sensors: [signups],
    });
    // 2026-11-03 23:59 in Seoul, then a minute later the 3rd has closed.
    const clock = new ManualClock(new Date('2026-11-03T14:59:00Z'));
    const d = daemon(defs, { clock, maxConcurrentRuns: 0 });
    await d.tick();
    clock.advance(60_000);
    await d.tick();
    const runs = (await t.instance.storage.listRuns({ limit: 100 })).runs;
    const scheduled = runs.filter((r) => r.jobName === 'events_job');
    assert.deepEqual(
      scheduled.map((r) => r.tags[PARTITION_TAG]),
      ['2026-11-03'],
    );
    const sensed = runs.filter((r) => r.jobName === 'report_job');
    assert.deepEqual(
      sensed.map((r) => r.tags[PARTITION_TAG]),
      ['acme'],
    );
    assert.deepEqual(await t.instance.storage.getDynamicPartitions('customers'), ['acme']);
  });
});
