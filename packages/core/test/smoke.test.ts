import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asset, Definitions, MaterializeResult, materialize, md } from '../src/index.ts';
import { freshInstance } from './support.ts';

test('materializes two assets and stores the run', async () => {
  const t = await freshInstance();
  try {
    const raw = asset({ name: 'raw', group: 'demo' }, async (ctx) => {
      ctx.log.info('loading');
      return [1, 2, 3];
    });
    const clean = asset({ name: 'clean', group: 'demo', ins: { rows: raw } }, async (_ctx, { rows }) => {
      return new MaterializeResult({
        value: (rows as number[]).map((r) => r * 2),
        metadata: { n: md.int(3) },
      });
    });
    const defs = new Definitions({ assets: [raw, clean] });
    const result = await materialize({ instance: t.instance, definitions: defs, selection: '*' });
    assert.equal(result.status, 'SUCCESS');
    const run = await t.instance.storage.getRun(result.runId);
    assert.equal(run?.status, 'SUCCESS');
    const records = await t.instance.storage.getAssetRecords();
    assert.deepEqual(
      records.map((r) => r.assetKey),
      ['clean', 'raw'],
    );
  } finally {
    await t.cleanup();
  }
});
