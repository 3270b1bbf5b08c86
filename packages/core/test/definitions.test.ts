import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  asset,
  assetCheck,
  DefinitionError,
  Definitions,
  defineAssetJob,
  graphJob,
  op,
  planRun,
  resource,
  schedule,
  sensor,
} from '../src/index.ts';

const noop = async () => {};

describe('definitions validation', () => {
  test('the API of the README example builds', () => {
    const raw = asset({ name: 'raw', group: 'demo' }, async (ctx) => {
      ctx.log.info('loading');
    });
    const clean = asset(
      { name: 'clean', group: 'demo', deps: [raw], retry: { maxRetries: 2, delayMs: 100 } },
      noop,
    );
    const cleanOk = assetCheck(
      { name: 'clean_ok', asset: clean, severity: 'ERROR', blocking: true },
      async () => ({
        passed: true,
      }),
    );
    const defs = new Definitions({
      assets: [raw, clean],
      assetChecks: [cleanOk],
      jobs: [defineAssetJob({ name: 'demo_job', selection: 'group:demo' })],
    });
    assert.deepEqual(defs.select('group:demo'), ['raw', 'clean']);
    assert.equal(defs.checksFor('clean')[0]?.name, 'clean_ok');
    assert.deepEqual(clean.deps, ['raw']);
  });

  test('deps accept key strings', () => {
    const defs = new Definitions({
      assets: [asset({ name: 'x', deps: ['y'] }, noop), asset({ name: 'y' }, noop)],
    });
    assert.deepEqual(defs.graph.order, ['y', 'x']);
  });

  test('a cycle is reported with its path', () => {
    assert.throws(
      () =>
        new Definitions({
          assets: [
            asset({ name: 'a', deps: ['c'] }, noop),
            asset({ name: 'b', deps: ['a'] }, noop),
            asset({ name: 'c', deps: ['b'] }, noop),
            asset({ name: 'free' }, noop),
          ],
        }),
      (error: unknown) => {
        assert.ok(error instanceof DefinitionError);
        assert.match(
          error.message,
          /Dependency cycle between assets: (a|b|c) -> (a|b|c) -> (a|b|c) -> (a|b|c)/,
        );
        assert.doesNotMatch(error.message, /free/);
        return true;
      },
    );
  });

  test('duplicate keys, unknown deps and self deps are named', () => {
    assert.throws(
      () => new Definitions({ assets: [asset({ name: 'a' }, noop), asset({ name: 'a' }, noop)] }),
      /Duplicate asset key 'a'/,
    );
    assert.throws(
      () =>
        new Definitions({
          assets: [asset({ name: 'orders', deps: ['order'] }, noop), asset({ name: 'orderz' }, noop)],
        }),
      /Asset 'orders' depends on unknown asset 'order'\. Did you mean 'orderz'\?/,
    );
    assert.throws(() => asset({ name: 'a', deps: ['a'] }, noop), /depends on itself/);
  });

  test('invalid names and shapes are rejected with how to fix', () => {
    assert.throws(
      () => asset({ name: 'bad-name' }, noop),
      /Invalid asset name "bad-name".*letters, digits and underscores/,
    );
    assert.throws(() => asset({ name: 'x', group: 'has space' }, noop), /Invalid group of asset 'x' name/);
    // @ts-expect-error: a function instead of an asset
    assert.throws(() => new Definitions({ assets: [noop] }), /assets\[0\] is not an asset definition/);
    assert.throws(
      () =>
        assetCheck({ name: 'c', asset: 'a', severity: 'FATAL' as 'ERROR' }, async () => ({ passed: true })),
      /severity must be 'WARN' or 'ERROR'/,
    );
  });

  test('checks on unknown assets, duplicate jobs and bad job selections are rejected', () => {
    const a = asset({ name: 'a' }, noop);
    assert.throws(
      () =>
        new Definitions({
          assets: [a],
          assetChecks: [assetCheck({ name: 'c', asset: 'b' }, async () => ({ passed: true }))],
        }),
      /targets unknown asset 'b'/,
    );
    assert.throws(
      () =>
        new Definitions({
          assets: [a],
          jobs: [
            defineAssetJob({ name: 'j', selection: 'a' }),
            defineAssetJob({ name: 'j', selection: 'a' }),
          ],
        }),
      /Duplicate job name 'j'/,
    );
    assert.throws(
      () => new Definitions({ assets: [a], jobs: [defineAssetJob({ name: 'j', selection: 'group:(' })] }),
      /Job 'j' has an invalid selection/,
    );
    assert.throws(
      () =>
        new Definitions({ assets: [a], jobs: [defineAssetJob({ name: 'j', selection: 'group:nothing' })] }),
      /matches no assets/,
    );
  });

  test('schedules and sensors validate cron, time zone and job', () => {
    const a = asset({ name: 'a' }, noop);
    const job = defineAssetJob({ name: 'j', selection: 'a' });
    assert.throws(() => schedule({ name: 's', cron: '0 2 * *', job }), /must have 5 fields/);
    assert.throws(
      () => schedule({ name: 's', cron: '0 2 * * *', timezone: 'Mars/Base', job }),
      /unknown time zone/,
    );
    assert.throws(
      () =>
        new Definitions({
          assets: [a],
          jobs: [job],
          schedules: [schedule({ name: 's', cron: '0 2 * * *', job: 'nope' })],
        }),
      /Schedule 's' targets unknown job 'nope'/,
    );
    const defs = new Definitions({
      assets: [a],
      jobs: [job],
      schedules: [schedule({ name: 'daily', cron: '0 2 * * *', timezone: 'Asia/Seoul', job })],
      sensors: [sensor({ name: 'watch', job, fn: () => ({}) })],
    });
    assert.equal(defs.schedules.get('daily')?.timezone, 'Asia/Seoul');
    assert.equal(defs.sensors.get('watch')?.minimumIntervalSeconds, 30);
  });

  test('op graphs record nodes, repeated ops get unique keys, ops outside graphs throw', () => {
    const extract = op({ name: 'extract' }, async () => [1]);
    const transform = op({ name: 'transform' }, async (_ctx, rows: number[]) => rows);
    const load = op({ name: 'load' }, async () => {});
    const job = graphJob({ name: 'etl' }, () => load(transform(transform(extract()))));
    assert.deepEqual(
      job.nodes.map((n) => [n.key, n.inputs]),
      [
        ['extract', []],
        ['transform', ['extract']],
        ['transform_2', ['transform']],
        ['load', ['transform_2']],
      ],
    );
    assert.throws(() => extract(), /called outside a graph/);
    assert.throws(() => graphJob({ name: 'empty' }, () => {}), /has no ops/);
  });

  test('two different resources with one name are rejected; resources describe themselves without secrets', () => {
    const mk = () =>
      resource({
        name: 'db',
        config: z.object({ url: z.string(), user: z.string().default('app') }),
        env: { url: { env: 'TEST_DB_URL', secret: true }, user: 'TEST_DB_USER' },
        create: (c) => c,
      });
    const r1 = mk();
    const r2 = mk();
    assert.throws(
      () =>
        new Definitions({
          assets: [
            asset({ name: 'a', resources: { db: r1 } }, noop),
            asset({ name: 'b', resources: { db: r2 } }, noop),
          ],
        }),
      /Two different resources are named 'db'/,
    );
    const description = r1.describe({ TEST_DB_URL: 'postgres://u:hunter2@h/db', TEST_DB_USER: 'me' });
    assert.equal(description.config.url?.value, '***');
    assert.equal(description.config.user?.value, 'me');
    assert.doesNotMatch(JSON.stringify(description), /hunter2/);
    assert.throws(
      () => r1.resolveConfig({}, {}),
      /Invalid config for resource 'db': field 'url'.*\(set environment variable TEST_DB_URL\)/,
    );
  });

  test('an unknown option of any definition is an error naming it and the option meant', () => {
    const a = asset({ name: 'a' }, noop);
    const job = defineAssetJob({ name: 'j', selection: 'a' });
    const cases: [() => unknown, RegExp][] = [
      [
        () => asset({ name: 'b', dep: [a] } as never, noop),
        /Asset 'b': unknown option 'dep'\. Did you mean 'deps'\?/,
      ],
      [
        () => assetCheck({ name: 'c', asset: a, bloking: true } as never, async () => ({ passed: true })),
        /Asset check 'c': unknown option 'bloking'\. Did you mean 'blocking'\?/,
      ],
      [
        () => op({ name: 'o', rety: { maxRetries: 1 } } as never, noop),
        /Op 'o': unknown option 'rety'\. Did you mean 'retry'\?/,
      ],
      [
        () => defineAssetJob({ name: 'j2', selections: 'a' } as never),
        /Job 'j2': unknown option 'selections'\. Did you mean 'selection'\?/,
      ],
      [
        () => graphJob({ name: 'g', tag: {} } as never, () => op({ name: 'x' }, noop)()),
        /Job 'g': unknown option 'tag'\. Did you mean 'tags'\?/,
      ],
      [
        () => schedule({ name: 's', cron: '0 2 * * *', job, timeZone: 'Asia/Seoul' } as never),
        /Schedule 's': unknown option 'timeZone'\. Did you mean 'timezone'\?/,
      ],
      [
        () => sensor({ name: 'n', job, minimumIntervalSecond: 5, fn: async () => ({}) } as never),
        /Sensor 'n': unknown option 'minimumIntervalSecond'\. Did you mean 'minimumIntervalSeconds'\?/,
      ],
      [
        () => resource({ name: 'r', create: () => 1, disposer: () => {} } as never),
        /Resource 'r': unknown option 'disposer'\. Did you mean 'dispose'\?/,
      ],
      [
        () => new Definitions({ asset: [a] } as never),
        /Definitions: unknown option 'asset'\. Did you mean 'assets'\?/,
      ],
    ];
    for (const [make, message] of cases)
      assert.throws(make, (e: unknown) => e instanceof DefinitionError && message.test(e.message));
  });

  test('an unknown run config field is an error with the field meant, not a silent default', () => {
    const orders = asset(
      {
        name: 'orders',
        config: z.object({
          minAmount: z.number().default(0),
          filter: z.object({ country: z.string().default('KR') }).optional(),
          extra: z.looseObject({}).optional(),
        }),
      },
      noop,
    );
    const db = resource({
      name: 'db',
      config: z.object({ url: z.string().default('x'), poolSize: z.number().default(2) }),
      create: (c) => c,
    });
    const user = asset({ name: 'user', resources: { db } }, noop);
    const defs = new Definitions({ assets: [orders, user] });
    const plan = (runConfig: unknown) => planRun(defs, { selection: '*', runConfig: runConfig as never });
    assert.throws(
      () => plan({ ops: { orders: { config: { minAmont: 100 } } } }),
      /Invalid config for asset 'orders': unknown field 'minAmont'\. Did you mean 'minAmount'\?.*ops\.orders\.config/,
    );
    assert.throws(
      () => plan({ ops: { orders: { config: { filter: { contry: 'US' } } } } }),
      /unknown field 'filter\.contry'\. Did you mean 'country'\?/,
    );
    assert.throws(
      () => plan({ resources: { db: { config: { poolsize: 5 } } } }),
      /Invalid config for resource 'db': unknown field 'poolsize'\. Did you mean 'poolSize'\?.*resources\.db\.config/,
    );
    // A loose object takes any key; known fields still apply.
    const ok = plan({ ops: { orders: { config: { minAmount: 100, extra: { anything: 1 } } } } });
    assert.deepEqual(ok.steps.find((s) => s.key === 'orders')?.config, {
      minAmount: 100,
      extra: { anything: 1 },
    });
  });
});
