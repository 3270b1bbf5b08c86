import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  asset,
  assetStaleness,
  Definitions,
  MaterializeResult,
  materialize,
  observableSourceAsset,
  resolveSelectionNow,
  type StaleReason,
} from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

/** The same two assets, as a code change would define them. */
function definitions(options: { code?: string; defaultRows?: number; value?: unknown } = {}) {
  const value = options.value ?? [1, 2, 3];
  const up = asset({ name: 'st_up' }, async () => value);
  const down = asset(
    {
      name: 'st_down',
      ins: { up },
      codeVersion: options.code ?? '1',
      config: z.object({ rows: z.number().default(options.defaultRows ?? 10) }),
    },
    async (ctx, { up: v }) => ({ rows: ctx.config.rows, n: (v as unknown[]).length }),
  );
  return new Definitions({ assets: [up, down] });
}

async function reasons(defs: Definitions): Promise<Record<string, string[]>> {
  const map = await assetStaleness(t.instance.storage, defs);
  return Object.fromEntries([...map].map(([k, r]: [string, StaleReason[]]) => [k, r.map((x) => x.cause)]));
}

describe('code versions and staleness', () => {
  test('a code change, an upstream change and a config change each make an asset stale, with reasons', async () => {
    const base = definitions();
    assert.equal(
      (await materialize({ instance: t.instance, definitions: base, selection: '*' })).status,
      'SUCCESS',
    );
    assert.deepEqual(await reasons(base), { st_up: [], st_down: [] });

    // Code version changed.
    const recoded = definitions({ code: '2' });
    const code = (await assetStaleness(t.instance.storage, recoded)).get('st_down')!;
    assert.deepEqual(
      code.map((r) => [r.cause, r.message]),
      [['code', 'code version changed: 1 -> 2']],
    );

    // Config changed: the default it runs with now differs from the one it ran with.
    assert.deepEqual((await reasons(definitions({ defaultRows: 20 }))).st_down, ['config']);

    // The upstream materialized again with the same value: same data version, not stale.
    await materialize({ instance: t.instance, definitions: base, selection: 'st_up' });
    assert.deepEqual((await reasons(base)).st_down, []);
    // With a new value: stale, naming the upstream.
    const changed = definitions({ value: [9] });
    await materialize({ instance: t.instance, definitions: changed, selection: 'st_up' });
    const upstream = (await assetStaleness(t.instance.storage, changed)).get('st_down')!;
    assert.deepEqual(
      upstream.map((r) => [r.cause, r.assetKey]),
      [['upstream', 'st_up']],
    );

    // stale() selects what is stale, and refreshing it makes it fresh.
    const selection = await resolveSelectionNow(t.instance.storage, changed, 'stale()');
    assert.ok(selection);
    assert.deepEqual(changed.select(selection), ['st_down']);
    const run = await materialize({ instance: t.instance, definitions: changed, selection });
    assert.deepEqual(
      run.steps.map((s) => s.key),
      ['st_down'],
    );
    assert.deepEqual(await reasons(changed), { st_up: [], st_down: [] });
    assert.equal(await resolveSelectionNow(t.instance.storage, changed, 'stale()'), null);
  });

  test('a returned dataVersion is recorded; an observed source drives its downstream staleness', async () => {
    let version = 'etag-1';
    const bucket = observableSourceAsset({ name: 'st_bucket' }, async () => ({
      dataVersion: version,
      metadata: { objects: 3 },
    }));
    const mirror = asset(
      { name: 'st_mirror', deps: [bucket] },
      async () => new MaterializeResult({ dataVersion: `copy-of-${version}` }),
    );
    const defs = new Definitions({ assets: [bucket, mirror] });
    const observed = await materialize({ instance: t.instance, definitions: defs, selection: 'st_bucket' });
    assert.equal(observed.status, 'SUCCESS', observed.error);
    await materialize({ instance: t.instance, definitions: defs, selection: 'st_mirror' });
    const [record] = await t.instance.storage.getAssetVersions(['st_mirror']);
    assert.deepEqual(record?.version?.inputs, { st_bucket: 'etag-1' });
    assert.equal(record?.version?.data, 'copy-of-etag-1');
    assert.deepEqual((await reasons(defs)).st_mirror, []);

    // Observed again, unchanged: still fresh. Changed: stale.
    await materialize({ instance: t.instance, definitions: defs, selection: 'st_bucket' });
    assert.deepEqual((await reasons(defs)).st_mirror, []);
    version = 'etag-2';
    await materialize({ instance: t.instance, definitions: defs, selection: 'st_bucket' });
    assert.deepEqual((await reasons(defs)).st_mirror, ['upstream']);
    // Nothing was materialized for the source itself.
    assert.equal((await t.instance.storage.getMaterializations('st_bucket')).length, 0);
  });

  test('a step records the data version its upstream got earlier in the same run, without reading it back', async () => {
    let value = 1;
    const up = asset({ name: 'st_run_up' }, async () => value);
    const down = asset({ name: 'st_run_down', deps: [up] }, async () => undefined);
    const defs = new Definitions({ assets: [up, down] });
    const storage = t.instance.storage;
    const getAssetVersions = storage.getAssetVersions.bind(storage);
    const asked: string[][] = [];
    storage.getAssetVersions = (keys?: string[]) => {
      asked.push(keys ?? []);
      return getAssetVersions(keys);
    };
    try {
      for (value of [1, 2]) {
        const result = await materialize({ instance: t.instance, definitions: defs, selection: '*' });
        assert.equal(result.status, 'SUCCESS', result.error);
        const [upRecord] = await getAssetVersions(['st_run_up']);
        const [downRecord] = await getAssetVersions(['st_run_down']);
        // The version of this run's materialization of st_run_up, not an earlier one's.
        assert.equal(downRecord?.version?.inputs.st_run_up, upRecord?.version?.data);
      }
    } finally {
      storage.getAssetVersions = getAssetVersions;
    }
    assert.deepEqual(asked, [], 'the upstream version came from the run, not from a query');
    assert.deepEqual(await reasons(defs), { st_run_up: [], st_run_down: [] });
  });
});
