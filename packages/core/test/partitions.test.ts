import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  allPartitionsMapping,
  asset,
  Definitions,
  dailyPartitions,
  dynamicPartitions,
  hourlyPartitions,
  mapPartitions,
  materialize,
  monthlyPartitions,
  multiPartitions,
  partitionKeys,
  previousPartitionMapping,
  staticPartitionMapping,
  staticPartitions,
  timeWindowOf,
  timeWindowPartitionMapping,
  weeklyPartitions,
} from '../src/index.ts';
import { freshInstance, type TestInstance } from './support.ts';

const at = (iso: string) => ({ now: new Date(iso), dynamicKeys: () => [] as string[] });

describe('partition definitions', () => {
  test('daily partitions in Asia/Seoul: keys up to the last complete day, windows at local midnight', () => {
    const def = dailyPartitions({ start: '2026-11-01', timezone: 'Asia/Seoul' });
    // 2026-11-05 08:00 in Seoul: the 5th is in progress, so the last partition is the 4th.
    const keys = partitionKeys(def, at('2026-11-04T23:00:00Z'));
    assert.deepEqual(keys, ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']);
    const window = timeWindowOf(def, '2026-11-03')!;
    assert.equal(window.start.toISOString(), '2026-11-02T15:00:00.000Z');
    assert.equal(window.end.toISOString(), '2026-11-03T15:00:00.000Z');
    assert.deepEqual(
      partitionKeys({ ...def, endOffset: 1 }, at('2026-11-04T23:00:00Z')).at(-1),
      '2026-11-05',
    );
    assert.equal(timeWindowOf(def, '2026-13-01'), undefined);
  });

  test('America/New_York: days of 23 and 25 hours; the repeated hour is one two-hour partition, the skipped one is none', () => {
    const daily = dailyPartitions({ start: '2026-03-01', timezone: 'America/New_York' });
    const spring = timeWindowOf(daily, '2026-03-08')!;
    assert.equal((spring.end.getTime() - spring.start.getTime()) / 3_600_000, 23);
    const fall = timeWindowOf(daily, '2026-11-01')!;
    assert.equal((fall.end.getTime() - fall.start.getTime()) / 3_600_000, 25);
    assert.equal(fall.start.toISOString(), '2026-11-01T04:00:00.000Z');

    const hourly = hourlyPartitions({ start: '2026-11-01T00:00', timezone: 'America/New_York' });
    const fallHours = partitionKeys(hourly, at('2026-11-01T09:00:00Z')); // 04:00 EST
    assert.deepEqual(fallHours, [
      '2026-11-01-00:00',
      '2026-11-01-01:00',
      '2026-11-01-02:00',
      '2026-11-01-03:00',
    ]);
    const repeated = timeWindowOf(hourly, '2026-11-01-01:00')!;
    assert.equal(repeated.start.toISOString(), '2026-11-01T05:00:00.000Z');
    assert.equal(repeated.end.toISOString(), '2026-11-01T07:00:00.000Z');

    const springHourly = hourlyPartitions({ start: '2026-03-08T00:00', timezone: 'America/New_York' });
    const springHours = partitionKeys(springHourly, at('2026-03-08T08:00:00Z')); // 04:00 EDT
    assert.deepEqual(springHours, ['2026-03-08-00:00', '2026-03-08-01:00', '2026-03-08-03:00']);
    assert.equal(timeWindowOf(springHourly, '2026-03-08-02:00'), undefined);
  });

  test('weekly (Sunday) and monthly keys are the first day of the window', () => {
    const weekly = weeklyPartitions({ start: '2026-11-04', timezone: 'Asia/Seoul' });
    assert.deepEqual(partitionKeys(weekly, at('2026-11-20T00:00:00Z')), ['2026-11-01', '2026-11-08']);
    const monthly = monthlyPartitions({ start: '2026-09-15', timezone: 'America/New_York' });
    assert.deepEqual(partitionKeys(monthly, at('2026-12-03T00:00:00Z')), [
      '2026-09-01',
      '2026-10-01',
      '2026-11-01',
    ]);
  });

  test('static, dynamic and multi keys; bad definitions fail with what to fix', () => {
    const regions = staticPartitions(['kr', 'jp']);
    const multi = multiPartitions({ region: regions, date: dailyPartitions({ start: '2026-11-01' }) });
    assert.deepEqual(partitionKeys(multi, at('2026-11-03T01:00:00Z')), [
      '2026-11-01|kr',
      '2026-11-01|jp',
      '2026-11-02|kr',
      '2026-11-02|jp',
    ]);
    const dyn = dynamicPartitions({ name: 'customers' });
    assert.deepEqual(partitionKeys(dyn, { now: new Date(), dynamicKeys: () => ['acme'] }), ['acme']);
    assert.throws(() => staticPartitions(['a', 'a']), /listed twice/);
    assert.throws(
      () => dailyPartitions({ start: '2026-11-01', timezone: 'Mars/Olympus' }),
      /unknown time zone/,
    );
    assert.throws(() => dailyPartitions({ start: 'yesterday' }), /'start' must be a date/);
  });
});

describe('partition mappings', () => {
  const seoulDaily = dailyPartitions({ start: '2026-11-01', timezone: 'Asia/Seoul' });
  const nyDaily = dailyPartitions({ start: '2026-10-31', timezone: 'America/New_York' });
  const nyHourly = hourlyPartitions({ start: '2026-10-31T00:00', timezone: 'America/New_York' });
  const map = (
    mapping: Parameters<typeof mapPartitions>[0]['mapping'],
    upstream: Parameters<typeof mapPartitions>[0]['upstream'],
    downstream: Parameters<typeof mapPartitions>[0]['downstream'],
    keys: string[],
    now = '2026-11-10T00:00:00Z',
  ) =>
    mapPartitions({
      mapping,
      upstream,
      upstreamKey: 'up',
      downstream,
      downstreamKey: 'down',
      keys,
      ctx: at(now),
    });

  test('a daily partition across the autumn DST change reads its 25 hourly partitions (one of them two hours long)', () => {
    const keys = map(timeWindowPartitionMapping(), nyHourly, nyDaily, ['2026-11-01']);
    assert.equal(keys.length, 24); // 25 hours, the repeated 01:00 is one partition
    assert.equal(keys[0], '2026-11-01-00:00');
    assert.equal(keys.at(-1), '2026-11-01-23:00');
    // An hour reads the day that contains it (coarser upstream).
    assert.deepEqual(map(timeWindowPartitionMapping(), nyDaily, nyHourly, ['2026-11-01-01:00']), [
      '2026-11-01',
    ]);
  });

  test('time windows across zones: a Seoul day overlaps two New York days', () => {
    // 2026-11-03 in Seoul is 2026-11-02 10:00 to 2026-11-03 10:00 in New York (EST).
    assert.deepEqual(map(timeWindowPartitionMapping(), nyDaily, seoulDaily, ['2026-11-03']), [
      '2026-11-02',
      '2026-11-03',
    ]);
  });

  test('previous partition, all partitions and static mapping', () => {
    assert.deepEqual(map(previousPartitionMapping(), seoulDaily, seoulDaily, ['2026-11-03']), ['2026-11-02']);
    // The first partition has no previous one.
    assert.deepEqual(map(previousPartitionMapping(), seoulDaily, seoulDaily, ['2026-11-01']), []);
    // Across the New York spring change the previous day is still the calendar day before.
    const spring = dailyPartitions({ start: '2026-03-01', timezone: 'America/New_York' });
    assert.deepEqual(
      map(previousPartitionMapping(), spring, spring, ['2026-03-09'], '2026-03-20T00:00:00Z'),
      ['2026-03-08'],
    );
    assert.equal(map(allPartitionsMapping(), seoulDaily, undefined, []).length, 9);
    const regions = staticPartitions(['kr', 'jp', 'us']);
    const markets = staticPartitions(['asia', 'americas']);
    assert.deepEqual(
      map(staticPartitionMapping({ kr: 'asia', jp: 'asia', us: 'americas' }), regions, markets, ['asia']),
      ['kr', 'jp'],
    );
  });
});

describe('partitioned runs', () => {
  let t: TestInstance;
  before(async () => {
    t = await freshInstance();
  });
  after(async () => {
    await t.cleanup();
  });

  test('the fixed sample: ctx.partitionKey, values stored per partition, inputs mapped, status per partition', async () => {
    const partitions = dailyPartitions({ start: '2026-11-01', timezone: 'Asia/Seoul' });
    const events = asset({ name: 'events', partitions, codeVersion: '1' }, async (ctx) => ctx.partitionKey);
    const seen: unknown[] = [];
    const running = asset(
      {
        name: 'running',
        partitions,
        ins: { today: events, before: 'running' },
        partitionMappings: { running: previousPartitionMapping() },
      },
      async (ctx, inputs) => {
        seen.push([
          ctx.partitionKey,
          ctx.partitionTimeWindow.start.toISOString(),
          inputs.today,
          inputs.before,
        ]);
        return `${inputs.before ?? ''}+${inputs.today}`;
      },
    );
    const all = asset(
      { name: 'all_days', ins: { e: events } },
      async (_ctx, inputs) => Object.keys(inputs.e as unknown as object).length,
    );
    const defs = new Definitions({ assets: [events, running, all] });
    for (const day of ['2026-11-01', '2026-11-02']) {
      const r = await materialize({
        instance: t.instance,
        definitions: defs,
        selection: 'events or running',
        partition: day,
      });
      assert.equal(r.status, 'SUCCESS', r.error);
    }
    assert.deepEqual(seen, [
      ['2026-11-01', '2026-10-31T15:00:00.000Z', '2026-11-01', undefined],
      ['2026-11-02', '2026-11-01T15:00:00.000Z', '2026-11-02', '+2026-11-01'],
    ]);
    const statuses = await t.instance.storage.getPartitionStatuses('events');
    assert.deepEqual(statuses.map((s) => [s.partitionKey, s.status]).sort(), [
      ['2026-11-01', 'MATERIALIZED'],
      ['2026-11-02', 'MATERIALIZED'],
    ]);
    // The status view's read: the same statuses by key, without the runs and times.
    assert.deepEqual(
      [...(await t.instance.storage.getPartitionStatusMap('events'))].sort(),
      statuses.map((s) => [s.partitionKey, s.status]).sort(),
    );
    // An unpartitioned asset reads every partition, by key; it fails on a missing one.
    const allRun = await materialize({ instance: t.instance, definitions: defs, selection: 'all_days' });
    assert.equal(allRun.status, 'FAILURE');
    assert.match(
      allRun.steps[0]!.error ?? '',
      /'events', partition '2026-11-03', which has never been stored/,
    );
  });

  test('a bad partition key is refused before the run exists, naming the asset and the valid range', async () => {
    const events = asset(
      {
        name: 'events',
        partitions: dailyPartitions({ start: '2026-11-01', timezone: 'Asia/Seoul', end: '2026-11-10' }),
      },
      async () => 1,
    );
    const defs = new Definitions({ assets: [events] });
    const before = await t.instance.storage.countRuns();
    await assert.rejects(
      materialize({ instance: t.instance, definitions: defs, selection: 'events', partition: '2027-01-01' }),
      /Partition '2027-01-01' is not a partition of asset 'events'; valid: 2026-11-01\.\.\.2026-11-09 \(9 partitions\)/,
    );
    await assert.rejects(
      materialize({ instance: t.instance, definitions: defs, selection: 'events' }),
      /is partitioned/,
    );
    assert.equal(await t.instance.storage.countRuns(), before);
  });

  test('a range run: one run, ctx.partitionKeyRange, one materialization per partition; a failure marks the range FAILED', async () => {
    const partitions = staticPartitions(['kr', 'jp', 'us']);
    let fail = false;
    const sales = asset({ name: 'sales', partitions }, async (ctx) => {
      if (fail) throw new Error('source down');
      return Object.fromEntries(ctx.partitionKeys.map((k) => [k, `${ctx.partitionKeyRange.start}-${k}`]));
    });
    const defs = new Definitions({ assets: [sales] });
    const r = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: 'sales',
      partition: 'kr...jp',
    });
    assert.equal(r.status, 'SUCCESS', r.error);
    const run = await t.instance.storage.getRun(r.runId);
    assert.equal(run?.tags['dag/partition_range_start'], 'kr');
    assert.equal(run?.tags['dag/partition_range_end'], 'jp');
    assert.equal((await t.instance.storage.getMaterializations('sales')).length, 2);
    fail = true;
    const failed = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: 'sales',
      partition: 'jp...us',
    });
    assert.equal(failed.status, 'FAILURE');
    const statuses = Object.fromEntries(
      (await t.instance.storage.getPartitionStatuses('sales')).map((s) => [s.partitionKey, s.status]),
    );
    assert.deepEqual(statuses, { kr: 'MATERIALIZED', jp: 'FAILED', us: 'FAILED' });
  });

  test('dynamic partitions: keys added and deleted at run time', async () => {
    const customers = dynamicPartitions({ name: 'customers' });
    const report = asset({ name: 'report', partitions: customers }, async (ctx) =>
      ctx.partitionKey.toUpperCase(),
    );
    const defs = new Definitions({ assets: [report] });
    await assert.rejects(
      materialize({ instance: t.instance, definitions: defs, selection: 'report', partition: 'acme' }),
      /valid: none yet/,
    );
    assert.deepEqual(await t.instance.storage.addDynamicPartitions('customers', ['acme', 'globex', 'acme']), [
      'acme',
      'globex',
    ]);
    const r = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: 'report',
      partition: 'acme',
    });
    assert.equal(r.status, 'SUCCESS', r.error);
    assert.deepEqual(await t.instance.storage.deleteDynamicPartitions('customers', ['globex', 'nope']), [
      'globex',
    ]);
    assert.deepEqual(await t.instance.storage.getDynamicPartitions('customers'), ['acme']);
  });
});
