/**
 * Time-travel tests of the daemon: an injected clock, no sleeping.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import {
  asset,
  type CodeLocation,
  Daemon,
  type DaemonOptions,
  Definitions,
  defineAssetJob,
  executeStoredRun,
  freshnessSensor,
  isoWithOffset,
  ManualClock,
  nextTicks,
  type RunRecord,
  runStatusSensor,
  type SensorResult,
  schedule,
  sensor,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();
beforeEach(async () => {
  // Each test starts from an empty instance: no runs, ticks, cursors or heartbeats.
  const pool = (t.instance.storage as unknown as { pool: import('pg').Pool }).pool;
  await pool.query(
    'TRUNCATE runs, run_tags, event_logs, asset_keys, ticks, instigators, run_keys, daemon_heartbeats, asset_freshness CASCADE',
  );
});

const noop = async () => {};
const a = asset({ name: 'a', freshness: { maximumLagMinutes: 60 } }, noop);
const failing = asset({ name: 'failing' }, async () => {
  throw new Error('it broke');
});
const job = defineAssetJob({ name: 'a_job', selection: 'a' });
const failingJob = defineAssetJob({ name: 'failing_job', selection: 'failing' });

function location(defs: Definitions): CodeLocation {
  return { name: 'test', file: 'test.ts', definitions: defs };
}

function daemon(defs: Definitions, clock: ManualClock, extra: Partial<DaemonOptions> = {}): Daemon {
  return new Daemon({
    instance: t.instance,
    locations: [location(defs)],
    clock,
    launch: async () => {},
    ...extra,
  });
}

async function runs(): Promise<RunRecord[]> {
  return (await t.instance.storage.listRuns({ limit: 1000 })).runs.reverse();
}

describe('schedules', () => {
  test('preview gives ISO times with the zone offset, across a DST change', () => {
    const s = schedule({ name: 'ny', cron: '30 2 * * *', timezone: 'America/New_York', job });
    const ticks = nextTicks(s, new Date('2026-03-06T12:00:00Z'), 4).map((d) =>
      isoWithOffset(d, 'America/New_York'),
    );
    // 2026-03-08 02:30 does not exist in New York (clocks jump 02:00 -> 03:00).
    assert.deepEqual(ticks, [
      '2026-03-07T02:30:00-05:00',
      '2026-03-08T03:00:00-04:00',
      '2026-03-09T02:30:00-04:00',
      '2026-03-10T02:30:00-04:00',
    ]);
    const seoul = schedule({ name: 'seoul', cron: '0 2 * * *', timezone: 'Asia/Seoul', job });
    assert.equal(
      isoWithOffset(nextTicks(seoul, new Date('2026-11-22T00:00:00Z'), 1)[0]!, 'Asia/Seoul'),
      '2026-11-23T02:00:00+09:00',
    );
  });

  test('ticks fire once per due time across spring-forward and fall-back in America/New_York', async () => {
    const clock = new ManualClock('2026-03-07T00:00:00Z');
    const s = schedule({
      name: 'nightly',
      cron: '30 1 * * *',
      timezone: 'America/New_York',
      job,
      defaultStatus: 'RUNNING',
    });
    const defs = new Definitions({ assets: [a], jobs: [job], schedules: [s] });
    const d = daemon(defs, clock);
    await d.tick();
    // Walk an hour at a time across both DST changes of 2026, as a live daemon would.
    for (const [from, to] of [
      ['2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'],
      ['2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'],
    ] as const) {
      clock.set(from);
      await d.tick();
      for (let now = new Date(from).getTime(); now <= new Date(to).getTime(); now += 3_600_000) {
        clock.set(now);
        await d.tick();
      }
    }
    const ticks = (await runs()).map((r) => isoWithOffset(new Date(r.tags['dag/tick']!), 'America/New_York'));
    assert.deepEqual(ticks, [
      '2026-03-07T01:30:00-05:00',
      '2026-03-08T01:30:00-05:00',
      '2026-03-09T01:30:00-04:00',
      // Jumping the clock from March to October: the missed ticks collapse into one (catchUp: one).
      '2026-10-30T01:30:00-04:00',
      '2026-10-31T01:30:00-04:00',
      '2026-11-01T01:30:00-04:00', // 01:30 happens twice on 2026-11-01; it fires once
      '2026-11-02T01:30:00-05:00',
    ]);
  });

  for (const [catchUp, expected] of [
    ['one', 1],
    ['all', 3],
    ['none', 0],
  ] as const) {
    test(`a daemon down for three hours catches up with policy '${catchUp}'`, async () => {
      const clock = new ManualClock('2026-11-22T00:10:00Z');
      const s = schedule({ name: 'hourly', cron: '0 * * * *', job, defaultStatus: 'RUNNING', catchUp });
      const defs = new Definitions({ assets: [a], jobs: [job], schedules: [s] });
      await daemon(defs, clock).tick();
      // Down from 00:10 to 03:20: the ticks of 01:00, 02:00 and 03:00 were missed.
      clock.set('2026-11-22T03:20:00Z');
      const summary = await daemon(defs, clock).tick();
      assert.equal(summary.runsRequested.length, expected);
      assert.equal((await runs()).length, expected);
      const [latest] = await t.instance.storage.getTicks('schedule', 'hourly', 1);
      assert.equal(latest?.tickTime.toISOString(), '2026-11-22T03:00:00.000Z');
      if (catchUp !== 'all') assert.match(latest?.skipReason ?? '', /missed tick/);
      // The cursor moved past the missed ticks: another tick requests nothing more.
      assert.equal((await daemon(defs, clock).tick()).runsRequested.length, 0);
    });
  }
});

describe('sensors', () => {
  test('run keys dedupe forever, across daemon restarts; the cursor persists', async () => {
    const clock = new ManualClock('2026-11-22T00:00:00Z');
    const cursors: (string | undefined)[] = [];
    const s = sensor({
      name: 'watch',
      job,
      minimumIntervalSeconds: 30,
      defaultStatus: 'RUNNING',
      fn: ({ cursor }) => {
        cursors.push(cursor);
        return { runRequests: [{ runKey: 'file-1' }], cursor: String(Number(cursor ?? 0) + 1) };
      },
    });
    const defs = new Definitions({ assets: [a], jobs: [job], sensors: [s] });
    await daemon(defs, clock).tick();
    clock.advance(31_000);
    await daemon(defs, clock).tick(); // a new daemon: a restart
    clock.advance(31_000);
    await daemon(defs, clock).tick();
    assert.deepEqual(cursors, [undefined, '1', '2']);
    assert.equal((await runs()).length, 1);
    assert.equal((await runs())[0]?.tags['dag/run_key'], 'file-1');
  });

  test('the minimum interval is honoured', async () => {
    const clock = new ManualClock('2026-11-22T00:00:00Z');
    let calls = 0;
    const s = sensor({
      name: 'slowpoll',
      job,
      minimumIntervalSeconds: 60,
      defaultStatus: 'RUNNING',
      fn: () => ({}),
    });
    const counted = { ...s, fn: () => ({ skipReason: String(++calls) }) };
    const defs = new Definitions({ assets: [a], jobs: [job], sensors: [counted] });
    const d = daemon(defs, clock);
    await d.tick();
    clock.advance(30_000);
    await d.tick();
    assert.equal(calls, 1);
    clock.advance(31_000);
    await d.tick();
    assert.equal(calls, 2);
  });

  test('a crash between evaluation and commit neither loses the cursor nor duplicates the run', async () => {
    const clock = new ManualClock('2026-11-22T00:00:00Z');
    const seen: (string | undefined)[] = [];
    const s = sensor({
      name: 'files',
      job,
      defaultStatus: 'RUNNING',
      fn: ({ cursor }): SensorResult => {
        seen.push(cursor);
        return { runRequests: [{ runKey: 'batch-1' }], cursor: 'after-batch-1' };
      },
    });
    const defs = new Definitions({ assets: [a], jobs: [job], sensors: [s] });
    const storage = t.instance.storage;
    const real = storage.commitTick.bind(storage);
    storage.commitTick = async () => {
      throw new Error('process killed before the tick was committed');
    };
    try {
      await daemon(defs, clock).tick();
    } finally {
      storage.commitTick = real;
    }
    assert.equal((await runs()).length, 0);
    clock.advance(60_000);
    await daemon(defs, clock).tick(); // restarted daemon
    clock.advance(60_000);
    await daemon(defs, clock).tick();
    assert.deepEqual(seen, [undefined, undefined, 'after-batch-1']);
    assert.equal((await runs()).length, 1);
  });

  test('a throwing sensor records a failed tick and keeps its schedule; others are unaffected', async () => {
    const clock = new ManualClock('2026-11-22T00:00:00Z');
    let healthyCalls = 0;
    const broken = sensor({
      name: 'broken',
      job,
      defaultStatus: 'RUNNING',
      minimumIntervalSeconds: 30,
      fn: () => {
        throw new Error('the API is down');
      },
    });
    const healthy = sensor({
      name: 'healthy',
      job,
      defaultStatus: 'RUNNING',
      minimumIntervalSeconds: 30,
      fn: () => ({ runRequests: [{ runKey: `k${++healthyCalls}` }] }),
    });
    const defs = new Definitions({ assets: [a], jobs: [job], sensors: [broken, healthy] });
    const d = daemon(defs, clock);
    const first = await d.tick();
    assert.deepEqual(first.failedTicks, ['sensor:broken']);
    clock.advance(31_000);
    await d.tick();
    const ticks = await t.instance.storage.getTicks('sensor', 'broken');
    assert.equal(ticks.length, 2);
    assert.ok(ticks.every((tick) => tick.status === 'FAILURE' && /the API is down/.test(tick.error ?? '')));
    assert.equal(healthyCalls, 2);
  });

  test('a slow sensor delays no other sensor', async () => {
    const clock = new ManualClock('2026-11-22T00:00:00Z');
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let fastCalls = 0;
    const slow = sensor({
      name: 'slow',
      job,
      defaultStatus: 'RUNNING',
      minimumIntervalSeconds: 30,
      fn: async () => {
        await gate;
        return {};
      },
    });
    const fast = sensor({
      name: 'fast',
      job,
      defaultStatus: 'RUNNING',
      minimumIntervalSeconds: 30,
      fn: () => ({ skipReason: String(++fastCalls) }),
    });
    const d = daemon(new Definitions({ assets: [a], jobs: [job], sensors: [slow, fast] }), clock);
    // Ticks (no time passes) until the fast sensor has been evaluated `calls` times: a tick
    // while its previous evaluation is still finishing skips it, the next one starts it.
    const tickUntilFastEvaluated = async (calls: number) => {
      const deadline = Date.now() + 60_000;
      while (fastCalls < calls) {
        if (Date.now() > deadline) throw new Error(`the fast sensor ran ${fastCalls} times, not ${calls}`);
        await d.tick({ waitForSensors: false });
      }
    };
    await tickUntilFastEvaluated(1);
    for (let i = 0; i < 3; i++) {
      clock.advance(31_000);
      await tickUntilFastEvaluated(i + 2);
    }
    assert.equal(fastCalls, 4, 'the fast sensor ran at every interval while the slow one was still running');
    release();
    await d.settle();
  });

  test('a run-status sensor sees each failed run of its jobs once', async () => {
    const clock = new ManualClock(Date.now());
    const seen: string[] = [];
    const onFailure = runStatusSensor({
      name: 'on_failure',
      runStatus: 'FAILURE',
      monitoredJobs: [failingJob],
      defaultStatus: 'RUNNING',
      fn: async ({ run, runUrl, events }) => {
        const failure = (await events()).find((e) => e.type === 'STEP_FAILURE');
        seen.push(`${run.jobName} ${failure?.stepKey} ${runUrl.endsWith(run.runId)}`);
        return undefined;
      },
    });
    const defs = new Definitions({ assets: [a, failing], jobs: [job, failingJob], sensors: [onFailure] });
    const d = daemon(defs, clock);
    await d.tick(); // starts watching from now
    const { submitRun } = await import('../src/index.ts');
    for (const name of ['failing_job', 'a_job']) {
      const run = await submitRun(t.instance, defs, { job: name });
      await executeStoredRun({ instance: t.instance, definitions: defs, runId: run.runId });
    }
    clock.set(Date.now() + 10_000);
    await d.tick();
    clock.advance(10_000);
    await d.tick();
    assert.deepEqual(seen, ['failing_job failing true']);
  });
});

describe('run queue, freshness and leadership', () => {
  test('queued runs start oldest first within the run limit and tag limits, and survive a restart', async () => {
    const clock = new ManualClock('2026-11-22T00:00:00Z');
    const defs = new Definitions({ assets: [a], jobs: [job] });
    const { submitRun } = await import('../src/index.ts');
    const ids: string[] = [];
    for (const tags of [{ db: 'x' }, { db: 'x' }, { db: 'y' }, {}] as Record<string, string>[]) {
      ids.push((await submitRun(t.instance, defs, { job: 'a_job', tags, status: 'QUEUED' })).runId);
      clock.advance(1);
    }
    const launched: string[] = [];
    const opts = {
      maxConcurrentRuns: 3,
      tagConcurrencyLimits: [{ key: 'db', limit: 1 }],
      launch: async (run: RunRecord) => {
        launched.push(run.runId);
      },
    };
    await daemon(defs, clock, opts).tick();
    // x#1 starts; x#2 waits for the db=x limit; y and the untagged run start.
    assert.deepEqual(launched, [ids[0], ids[2], ids[3]]);
    // A new daemon (restart) still finds x#2 queued, and starts it once x#1 is done.
    await t.instance.storage.updateRun(ids[0]!, { status: 'SUCCESS' });
    clock.advance(31_000); // the old daemon's heartbeat goes stale; the restarted one takes over
    await daemon(defs, clock, opts).tick();
    assert.deepEqual(launched, [ids[0], ids[2], ids[3], ids[1]]);
    assert.equal((await t.instance.storage.getRun(ids[1]!))?.status, 'STARTING');
  });

  test('an asset past its maximum lag is marked stale and the freshness sensor is told once', async () => {
    const clock = new ManualClock(Date.now());
    const alerts: string[] = [];
    const watch = freshnessSensor({
      name: 'freshness_alerts',
      defaultStatus: 'RUNNING',
      fn: ({ assetKey, stale }) => {
        alerts.push(`${assetKey}:${stale ? 'stale' : 'fresh'}`);
      },
    });
    const defs = new Definitions({ assets: [a], jobs: [job], sensors: [watch] });
    const { materialize } = await import('../src/index.ts');
    await materialize({ instance: t.instance, definitions: defs, selection: 'a' });
    const d = daemon(defs, clock);
    await d.tick();
    assert.equal((await t.instance.storage.getFreshness())[0]?.stale, false);
    clock.advance(61 * 60_000);
    await d.tick();
    clock.advance(60_000);
    await d.tick();
    const [record] = await t.instance.storage.getFreshness();
    assert.equal(record?.stale, true);
    assert.ok((record?.lagMinutes ?? 0) > 60);
    assert.deepEqual(alerts, ['a:stale']);
  });

  test('a second daemon stands by, and takes over when the first stops heartbeating', async () => {
    const clock = new ManualClock('2026-11-22T00:00:00Z');
    const defs = new Definitions({ assets: [a], jobs: [job] });
    const first = daemon(defs, clock, { daemonId: 'first', heartbeatStaleMs: 30_000 });
    const second = daemon(defs, clock, { daemonId: 'second', heartbeatStaleMs: 30_000 });
    assert.equal((await first.tick()).leader, true);
    assert.equal((await second.tick()).leader, false);
    clock.advance(10_000);
    assert.equal((await first.tick()).leader, true);
    assert.equal((await second.tick()).leader, false);
    // The first daemon dies: no heartbeat for more than 30 s.
    clock.advance(31_000);
    assert.equal((await second.tick()).leader, true);
    assert.equal((await first.tick()).leader, false);
    assert.equal((await t.instance.storage.getDaemonHeartbeat('daemon'))?.daemonId, 'second');
  });
});
