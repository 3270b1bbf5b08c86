import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { materialize } from '@dag/core';
import type { NaverReplica } from '@dag/replica-naver-shopping-live';
import definitions from '../src/definitions.ts';
import {
  type DsFixture,
  dsFixture,
  keysOf,
  logoPng,
  putLogo,
  SOURCE,
  stepOf,
  TARGET,
} from './support/ds-fixture.ts';
import { COMPANY_DDL, fastCrawlEnv, startReplica } from './support/replica-env.ts';

/** Every file under `dir`, relative, hidden ones included. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('terminating a run in the middle of ds_png2webp or ds_img_finalize, then running again', () => {
  let replica: NaverReplica;
  let f: DsFixture;

  before(async () => {
    replica = await startReplica(200, 5);
    f = await dsFixture(fastCrawlEnv(replica, 4));
    await f.pool.query(COMPANY_DDL);
    for (const brand of replica.brands) {
      await f.pool.query('INSERT INTO company (name, naver_channel_id) VALUES ($1, $2)', [
        brand.name,
        String(brand.channelId),
      ]);
    }
  });

  after(async () => {
    await f?.cleanup();
    await replica?.close();
  });

  it('stops mid-conversion leaving no partial file, and the next run completes with no duplicate history', async () => {
    const webpDir = path.join(f.dataDir, TARGET);
    const controller = new AbortController();
    let poll: NodeJS.Timeout | undefined;
    let webpsAtKill = 0;
    const first = await f.job('ds_node_job', {
      signal: controller.signal,
      // One at a time, so the conversion lasts long enough to be caught in the middle.
      runConfig: { ops: { ds_png2webp: { config: { concurrency: 1 } } } },
      onEvent: (event) => {
        if (event.type === 'STEP_START' && event.stepKey === 'ds_png2webp') {
          poll = setInterval(async () => {
            const done = (await walk(webpDir)).filter((p) => p.endsWith('.webp')).length;
            if (done >= 5 && !controller.signal.aborted) {
              webpsAtKill = done;
              controller.abort();
            }
          }, 2);
        }
      },
    });
    clearInterval(poll);
    assert.equal(first.status, 'CANCELED', `expected a terminated run, got ${first.status}: ${first.error}`);
    assert.ok(webpsAtKill >= 5, 'the run was terminated during ds_png2webp');
    assert.equal(stepOf(first, 'ds_png2webp').status, 'canceled');
    assert.equal(stepOf(first, 'ds_img_finalize').status, 'canceled');
    const saved = (await keysOf(f.source)).length;
    const partial = await walk(webpDir);
    assert.ok(partial.length < saved, `conversion was not interrupted (${partial.length} of ${saved})`);
    assert.deepEqual(
      partial.filter((p) => p.endsWith('.part') || path.basename(p).startsWith('.')),
      [],
    );
    assert.deepEqual(await keysOf(f.target), [], 'nothing was published by the terminated run');
    assert.deepEqual(await f.history().catch(() => []), []);

    const second = await f.job('ds_node_job');
    assert.equal(second.status, 'SUCCESS', second.error);
    // Complete: every logo in final/, both buckets agree, every company has its thumbnail.
    const sourceKeys = await keysOf(f.source);
    const finalFiles = (await walk(path.join(f.dataDir, 'final'))).sort();
    assert.deepEqual(
      finalFiles,
      [...sourceKeys, ...sourceKeys.map((k) => k.replace(/\.png$/, '.webp'))].sort(),
    );
    assert.deepEqual(await keysOf(f.target), finalFiles);
    assert.deepEqual(await walk(webpDir), []);
    assert.deepEqual(
      (await walk(path.join(f.dataDir, SOURCE))).filter((p) => !p.startsWith('.')),
      [],
    );
    const missing = await f.pool.query(
      `SELECT naver_channel_id FROM company WHERE naver_channel_id = ANY($1::text[]) AND thumbnail IS NULL`,
      [sourceKeys.map((k) => k.replace(/\.png$/, ''))],
    );
    assert.equal(missing.rowCount, 0);
    // No duplicate history: exactly one row per logo, all from the completing run.
    const history = await f.history();
    assert.equal(history.length, sourceKeys.length);
    assert.equal(new Set(history.map((r) => r.file)).size, history.length);
    assert.ok(history.every((r) => r.status === 'updated' && r.run_id === second.runId));
  });

  it('a run terminated during ds_img_finalize uploads is completed by the next one, history still one row per logo', async () => {
    // Reset the published state so finalize has work again: a new logo for every channel.
    const sourceKeys = await keysOf(f.source);
    for (const [i, key] of sourceKeys.entries()) {
      await putLogo(f.source, key, await logoPng(1000 + i), { channelId: key.replace(/\.png$/, '') });
    }
    const targetDir = path.join(f.bucketsDir, TARGET);
    const controller = new AbortController();
    let poll: NodeJS.Timeout | undefined;
    // Without the crawler: it would put its own logos back over the new ones.
    const first = await materialize({
      instance: f.instance,
      definitions,
      selection: 'ds_r2_download+',
      env: f.env,
      signal: controller.signal,
      runConfig: { ops: { ds_img_finalize: { config: { concurrency: 1 } } } },
      onEvent: (event) => {
        if (event.type === 'STEP_START' && event.stepKey === 'ds_img_finalize') {
          const since = Date.now();
          // The keys exist from the first test: count objects rewritten since finalize started.
          poll = setInterval(async () => {
            let fresh = 0;
            for (const file of await walk(targetDir)) {
              if (file.startsWith('.')) continue;
              const info = await stat(path.join(targetDir, file)).catch(() => undefined);
              if (info && info.mtimeMs >= since) fresh += 1;
            }
            if (fresh >= 6 && !controller.signal.aborted) controller.abort();
          }, 2);
        }
      },
    });
    clearInterval(poll);
    assert.equal(first.status, 'CANCELED', first.error);
    assert.equal(stepOf(first, 'ds_img_finalize').status, 'canceled');
    // Nothing was committed: no thumbnail points at a new upload yet, every new file is still pending.
    const pending = (await walk(path.join(f.dataDir, SOURCE))).filter((p) => !p.startsWith('.'));
    assert.equal(pending.length, sourceKeys.length);

    const second = await f.run('ds_r2_download+');
    assert.equal(second.status, 'SUCCESS', second.error);
    assert.deepEqual(
      (await walk(path.join(f.dataDir, SOURCE))).filter((p) => !p.startsWith('.')),
      [],
    );
    assert.deepEqual(await walk(path.join(f.dataDir, TARGET)), []);
    const history = await f.history();
    // Two versions per logo now (the first crawl's and the new one), each exactly once.
    assert.equal(history.length, 2 * sourceKeys.length);
    assert.equal(new Set(history.map((r) => `${r.file}|${r.png_md5}`)).size, history.length);
    for (const key of sourceKeys) {
      const latest = history.filter((r) => r.file === key && r.run_id === second.runId);
      assert.equal(latest.length, 1, key);
      assert.equal(latest[0]?.png_md5, (await f.source.head(key))?.etag);
    }
    const finalPng = await readFile(path.join(f.dataDir, 'final', sourceKeys[0]!));
    assert.deepEqual(finalPng, await f.source.get(sourceKeys[0]!));
    assert.deepEqual(await f.target.get(sourceKeys[0]!), finalPng);
  });
});
