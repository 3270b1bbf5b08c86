import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  isProcessAlive as alive,
  asset,
  assetCheck,
  ConfigError,
  Definitions,
  defineAssetJob,
  executeRun,
  graphJob,
  MaterializeResult,
  materialize,
  md,
  NonRetriableError,
  op,
  resource,
  type StoredEvent,
  terminateRun,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

describe('execution', () => {
  test('independent steps really run at the same time, bounded by maxConcurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const arrived = new Set<string>();
    const make = (name: string) =>
      asset({ name }, async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        arrived.add(name);
        // Waits until the other step has started too: only possible if both run concurrently.
        const deadline = Date.now() + 5000;
        while (arrived.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (arrived.size < 2) throw new Error('the other step never started');
      });
    const defs = new Definitions({ assets: [make('left'), make('right')] });
    const parallel = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: '*',
      maxConcurrency: 2,
    });
    assert.equal(parallel.status, 'SUCCESS');
    assert.equal(peak, 2);

    peak = 0;
    let concurrentMax = 0;
    let running = 0;
    const slow = (name: string) =>
      asset({ name }, async () => {
        running++;
        concurrentMax = Math.max(concurrentMax, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
      });
    const three = new Definitions({ assets: [slow('s1'), slow('s2'), slow('s3')] });
    const serial = await materialize({
      instance: t.instance,
      definitions: three,
      selection: '*',
      maxConcurrency: 1,
    });
    assert.equal(serial.status, 'SUCCESS');
    assert.equal(concurrentMax, 1);
  });

  test('retries with backoff until success; NonRetriableError stops at once', async () => {
    let calls = 0;
    const flaky = asset(
      { name: 'flaky', retry: { maxRetries: 3, delayMs: 10, jitter: 'none' } },
      async (ctx) => {
        calls++;
        if (ctx.attempt < 3) throw new Error(`transient ${ctx.attempt}`);
        return 'ok';
      },
    );
    let fatalCalls = 0;
    const fatal = asset({ name: 'fatal', retry: { maxRetries: 3, delayMs: 10 } }, async () => {
      fatalCalls++;
      throw new NonRetriableError('bad input, no retry can fix it');
    });
    const defs = new Definitions({ assets: [flaky, fatal] });
    const events: StoredEvent[] = [];
    const result = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: '*',
      onEvent: (e) => events.push(e),
    });
    assert.equal(calls, 3);
    assert.equal(fatalCalls, 1);
    const flakyResult = result.steps.find((s) => s.key === 'flaky')!;
    assert.equal(flakyResult.status, 'success');
    assert.equal(flakyResult.attempts, 3);
    assert.equal(events.filter((e) => e.type === 'STEP_UP_FOR_RETRY' && e.stepKey === 'flaky').length, 2);
    assert.equal(result.steps.find((s) => s.key === 'fatal')!.status, 'failure');
    assert.equal(result.status, 'FAILURE');
  });

  test('a failed step skips its downstream but not unrelated branches; errors name asset, step and run', async () => {
    const a = asset({ name: 'a' }, async () => 1);
    const b = asset({ name: 'b', deps: [a] }, async () => {
      throw new Error('boom in b');
    });
    const c = asset({ name: 'c', deps: [b] }, async () => 3);
    const d = asset({ name: 'd', deps: [a] }, async () => 4);
    const defs = new Definitions({ assets: [a, b, c, d] });
    const result = await materialize({ instance: t.instance, definitions: defs, selection: '*' });
    const status = Object.fromEntries(result.steps.map((s) => [s.key, s.status]));
    assert.deepEqual(status, { a: 'success', b: 'failure', c: 'skipped', d: 'success' });
    assert.equal(result.status, 'FAILURE');
    const error = result.steps.find((s) => s.key === 'b')!.error!;
    assert.match(error, /Error in asset 'b' \(step 'b', run [0-9a-f-]{36}\): boom in b/);
    const run = await t.instance.storage.getRun(result.runId);
    assert.equal(run?.status, 'FAILURE');
    const events = await t.instance.storage.getEvents(result.runId);
    const failure = events.find((e) => e.type === 'STEP_FAILURE');
    assert.equal(failure?.stepKey, 'b');
    assert.match(JSON.stringify(failure?.data), /boom in b/);
    assert.ok(events.some((e) => e.type === 'STEP_SKIPPED' && e.stepKey === 'c'));
  });

  test('a failing blocking ERROR check fails its step and the run, naming the check; a WARN check does not', async () => {
    const src = asset({ name: 'src' }, async () => new MaterializeResult({ metadata: { rows: md.int(0) } }));
    const down = asset({ name: 'down', deps: [src] }, async () => 1);
    const other = asset({ name: 'other' }, async () => 1);
    const otherDown = asset({ name: 'other_down', deps: [other] }, async () => 1);
    const blocking = assetCheck(
      { name: 'has_rows', asset: src, severity: 'ERROR', blocking: true },
      async (ctx) => ({
        passed: (ctx.materializationMetadata.rows as { value: number }).value > 0,
        description: 'no rows',
      }),
    );
    const warn = assetCheck({ name: 'soft', asset: other, severity: 'WARN', blocking: true }, async () => ({
      passed: false,
    }));
    const defs = new Definitions({ assets: [src, down, other, otherDown], assetChecks: [blocking, warn] });
    const result = await materialize({ instance: t.instance, definitions: defs, selection: '*' });
    const status = Object.fromEntries(result.steps.map((s) => [s.key, s.status]));
    assert.deepEqual(status, { src: 'failure', down: 'skipped', other: 'success', other_down: 'success' });
    assert.equal(result.status, 'FAILURE');
    assert.match(result.error ?? '', /src \(blocking check 'has_rows' failed\)/);
    const run = await t.instance.storage.getRun(result.runId);
    assert.equal(run?.status, 'FAILURE');
    assert.match(run?.error ?? '', /has_rows/);
    const events = await t.instance.storage.getEvents(result.runId);
    const failure = events.find((e) => e.type === 'RUN_FAILURE');
    assert.deepEqual(failure?.data?.failedChecks, [{ step: 'src', check: 'has_rows' }]);
    assert.match(events.find((e) => e.type === 'STEP_FAILURE')?.message ?? '', /'has_rows' on asset 'src'/);
    // The asset was materialized all the same, as in Dagster.
    assert.ok(events.some((e) => e.type === 'ASSET_MATERIALIZATION' && e.assetKey === 'src'));
    const checks = await t.instance.storage.getCheckExecutions('src');
    assert.equal(checks[0]?.checkName, 'has_rows');
    assert.equal(checks[0]?.passed, false);
    assert.equal((await t.instance.storage.getCheckExecutions('other'))[0]?.severity, 'WARN');
  });

  test('values flow through the IO manager; materializations carry metadata', async () => {
    const numbers = asset({ name: 'numbers' }, async () => [1, 2, 3]);
    const total = asset({ name: 'total', ins: { xs: numbers } }, async (ctx, { xs }) => {
      ctx.addMetadata({ count: (xs as number[]).length });
      return new MaterializeResult({
        value: 6,
        metadata: { sum: md.int(6), link: md.url('https://example.com') },
      });
    });
    const defs = new Definitions({ assets: [numbers, total] });
    await materialize({ instance: t.instance, definitions: defs, selection: '*' });
    // Only the downstream: its input is loaded from the stored value of the earlier run.
    const again = await materialize({ instance: t.instance, definitions: defs, selection: 'total' });
    assert.equal(again.status, 'SUCCESS');
    const [record] = await t.instance.storage.getAssetRecords(['total']);
    assert.deepEqual(record?.lastMetadata?.sum, { type: 'int', value: 6 });
    assert.deepEqual(record?.lastMetadata?.count, { type: 'int', value: 3 });
    assert.equal((await t.instance.storage.getMaterializations('total')).length, 2);
  });

  test('an input never materialized fails the step with how to fix it', async () => {
    const never = asset({ name: 'never_made' }, async () => 1);
    const needs = asset({ name: 'needs', ins: { v: never } }, async () => 1);
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [never, needs] }),
      selection: 'needs',
    });
    assert.equal(result.status, 'FAILURE');
    assert.match(result.steps[0]!.error!, /never been stored.*include it in the selection/);
  });

  test('config is validated before anything is written, with the field named', async () => {
    const configured = asset(
      {
        name: 'configured',
        config: z.object({ limit: z.number().int(), mode: z.enum(['fast', 'full']).default('fast') }),
      },
      async (ctx) => new MaterializeResult({ metadata: { limit: ctx.config.limit, mode: ctx.config.mode } }),
    );
    const defs = new Definitions({ assets: [configured] });
    const before = await t.instance.storage.countRuns();
    await assert.rejects(
      materialize({
        instance: t.instance,
        definitions: defs,
        selection: '*',
        runConfig: { ops: { configured: { config: { limit: 'ten' } } } },
      }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /field 'limit'/.test(error.message) &&
        /ops\.configured\.config/.test(error.message),
    );
    await assert.rejects(
      materialize({ instance: t.instance, definitions: defs, selection: '*' }),
      /Invalid config for asset 'configured': field 'limit'/,
    );
    await assert.rejects(
      materialize({
        instance: t.instance,
        definitions: defs,
        selection: '*',
        runConfig: { ops: { nope: { config: {} } } },
      }),
      /not a step of this run/,
    );
    await assert.rejects(
      materialize({
        instance: t.instance,
        definitions: defs,
        selection: '*',
        runConfig: { opz: {} } as never,
      }),
      /unsupported key 'opz'; supported keys are: ops, assets, resources/,
    );
    assert.equal(await t.instance.storage.countRuns(), before);
    const ok = await materialize({
      instance: t.instance,
      definitions: defs,
      selection: '*',
      runConfig: { ops: { configured: { config: { limit: 5 } } } },
    });
    assert.deepEqual(ok.steps[0]!.metadata.mode, { type: 'text', value: 'fast' });
  });

  test('secret resource values never reach the event log', async () => {
    const secret = 'sk-test-7c1f0a9e-never-print';
    const api = resource({
      name: 'secret_api',
      config: z.object({ token: z.string() }),
      env: { token: { env: 'EXEC_TEST_TOKEN', secret: true } },
      create: (c) => ({ token: c.token }),
    });
    const leaky = asset({ name: 'leaky', resources: { api } }, async (ctx) => {
      ctx.log.info(`calling with token ${ctx.resources.api.token}`);
      throw new Error(`request failed for token=${ctx.resources.api.token}`);
    });
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [leaky] }),
      selection: '*',
      env: { EXEC_TEST_TOKEN: secret },
    });
    assert.equal(result.status, 'FAILURE');
    const events = await t.instance.storage.getEvents(result.runId);
    const text = JSON.stringify(events) + JSON.stringify(result);
    assert.ok(!text.includes(secret), 'the secret leaked into stored events or the result');
    assert.match(text, /calling with token \*\*\*/);
  });

  test('op graph jobs pass values between ops', async () => {
    const extract = op({ name: 'extract' }, async () => [1, 2, 3]);
    const transform = op(
      { name: 'transform', config: z.object({ factor: z.number() }) },
      async (ctx, rows: number[]) => rows.map((r) => r * ctx.config.factor),
    );
    let loaded: number[] = [];
    const load = op({ name: 'load' }, async (_ctx, rows: number[]) => {
      loaded = rows;
    });
    const job = graphJob({ name: 'etl' }, () => load(transform(extract())));
    const defs = new Definitions({ jobs: [job] });
    const result = await executeRun({
      instance: t.instance,
      definitions: defs,
      job: 'etl',
      runConfig: { ops: { transform: { config: { factor: 10 } } } },
    });
    assert.equal(result.status, 'SUCCESS');
    assert.deepEqual(loaded, [10, 20, 30]);
    assert.equal((await t.instance.storage.getRun(result.runId))?.assetSelection, null);
  });

  test('terminate aborts the step and kills its whole child process tree', async () => {
    const pids: number[] = [];
    let started!: () => void;
    const spawned = new Promise<void>((r) => {
      started = r;
    });
    const long = asset({ name: 'long' }, async (ctx) => {
      await ctx.spawn(
        'sh',
        ['-c', 'sleep 300 & echo pid:$!; (sleep 300 & echo pid:$!; wait) & echo pid:$!; echo pid:$$; wait'],
        {
          onLine: (line) => {
            const m = /^pid:(\d+)$/.exec(line);
            if (m) pids.push(Number(m[1]));
            if (pids.length >= 4) started();
          },
        },
      );
      if (ctx.signal.aborted) throw new Error('terminated');
    });
    const after = asset({ name: 'after_long', deps: [long] }, async () => 1);
    const defs = new Definitions({
      assets: [long, after],
      jobs: [defineAssetJob({ name: 'long_job', selection: '*' })],
    });
    const runId = crypto.randomUUID();
    const running = executeRun({
      instance: t.instance,
      definitions: defs,
      job: 'long_job',
      runId,
      cancelPollMs: 50,
    });
    await spawned;
    assert.ok(pids.every(alive));
    // Terminate the way another process does: through the instance.
    assert.equal((await terminateRun(t.instance.storage, runId)).outcome, 'canceling');
    const result = await running;
    assert.equal(result.status, 'CANCELED');
    const deadline = Date.now() + 5000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(alive), [], 'processes of the run survived');
    assert.equal(result.steps.find((s) => s.key === 'after_long')?.status, 'canceled');
    assert.equal((await t.instance.storage.getRun(runId))?.status, 'CANCELED');
    const types = (await t.instance.storage.getEvents(runId)).map((e) => e.type);
    assert.ok(types.includes('RUN_CANCELING') && types.at(-1) === 'RUN_CANCELED');
  });

  test('events are stored in order as they happen', async () => {
    const seen: string[] = [];
    const logs = asset({ name: 'logs' }, async (ctx) => {
      for (let i = 0; i < 50; i++) ctx.log.info(`line ${i}`);
    });
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [logs] }),
      selection: '*',
      onEvent: (e) => seen.push(e.type),
    });
    const stored = await t.instance.storage.getEvents(result.runId);
    assert.deepEqual(
      stored.map((e) => e.type),
      seen,
    );
    assert.deepEqual(
      stored.filter((e) => e.type === 'LOG').map((e) => e.message),
      Array.from({ length: 50 }, (_, i) => `line ${i}`),
    );
    assert.deepEqual([stored[0]?.type, stored.at(-1)?.type], ['RUN_START', 'RUN_SUCCESS']);
  });
});

test('metadata keeps the order the asset wrote it in', async () => {
  const ordered = asset(
    { name: 'ordered' },
    async () => new MaterializeResult({ metadata: { zebra: 1, apple: 2, 'a much longer key': 3, mango: 4 } }),
  );
  const result = await materialize({
    instance: t.instance,
    definitions: new Definitions({ assets: [ordered] }),
    selection: '*',
  });
  const [event] = await t.instance.storage.getMaterializations('ordered');
  const keys = ['zebra', 'apple', 'a much longer key', 'mango'];
  assert.equal(event?.type, 'ASSET_MATERIALIZATION');
  assert.deepEqual(Object.keys(event.data.metadata), keys);
  assert.deepEqual(
    Object.keys((await t.instance.storage.getAssetRecords(['ordered']))[0]?.lastMetadata ?? {}),
    keys,
  );
  assert.equal(result.status, 'SUCCESS');
});
