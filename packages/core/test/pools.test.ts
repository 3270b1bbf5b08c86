import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import {
  asset,
  type ConcurrencyPools,
  DefinitionError,
  Definitions,
  instancePools,
  materialize,
  multiAsset,
  terminateRun,
} from '../src/index.ts';
import { freshInstance, type TestInstance, waitFor } from './support.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'pool-run.ts');

function runProcess(t: TestInstance, runId: string, args: string[]) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, t.url, t.home, runId, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

/** The most intervals open at one instant. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, d: 1 },
    { at: i.end, d: -1 },
  ]);
  // An end at the same instant as a start is counted first: touching intervals do not overlap.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const e of edges) {
    open += e.d;
    max = Math.max(max, open);
  }
  return max;
}

describe('concurrency pools', () => {
  let t: TestInstance;
  let db: pg.Pool;
  let pools: ConcurrencyPools;

  before(async () => {
    t = await freshInstance();
    db = (t.instance.storage as unknown as { pool: pg.Pool }).pool;
    pools = instancePools(t.instance);
    await db.query(
      'CREATE TABLE pool_probe (id serial PRIMARY KEY, run_id text, step_key text, started_at timestamptz, ended_at timestamptz)',
    );
  });
  after(async () => {
    await pools.close();
    await t.cleanup();
  });

  test('limits are set, listed and deleted; bad names and limits are refused', async () => {
    await pools.setLimit('alpha', 3);
    await pools.setLimit('alpha', 2);
    const listed = await pools.list();
    assert.deepEqual(
      listed.find((p) => p.name === 'alpha'),
      { name: 'alpha', limit: 2, inUse: 0, holders: [] },
    );
    await assert.rejects(pools.setLimit('alpha', -1), /must be a whole number >= 0/);
    await assert.rejects(pools.setLimit('not a name', 1), /Invalid pool name/);
    assert.equal(await pools.deleteLimit('alpha'), true);
    assert.equal(await pools.deleteLimit('alpha'), false);
    assert.throws(() => asset({ name: 'x', pool: 'bad-name' }, async () => {}), DefinitionError);
  });

  test('claims racing for the last slots: exactly the limit succeed', async () => {
    await pools.setLimit('race', 3);
    const runId = randomUUID();
    await t.instance.storage.createRun({ runId, jobName: 'race', status: 'STARTED', assetSelection: null });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pools.tryClaim('race', runId, `s${i}`)),
    );
    assert.equal(outcomes.filter((o) => o.claimed).length, 3);
    assert.equal((await pools.list()).find((p) => p.name === 'race')?.inUse, 3);
    // The run's end frees its slots (a trigger, in the transaction of the final status).
    await t.instance.storage.transitionRun(runId, { from: ['STARTED'], to: 'SUCCESS' });
    assert.equal((await pools.list()).find((p) => p.name === 'race')?.inUse, 0);
    await assert.rejects(pools.tryClaim('race', runId, 'late'), /has already finished/);
  });

  test('four runs in separate processes never exceed the limit, sampled throughout', async () => {
    const limit = 2;
    await pools.setLimit('shared', limit);
    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM concurrency_slots WHERE pool = 'shared'",
        );
        samples.push(rows[0]!.n);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const runIds = Array.from({ length: 4 }, () => randomUUID());
    const procs = runIds.map((runId) => runProcess(t, runId, ['shared', '4', '150']));
    const codes = await Promise.all(procs.map((p) => p.exited));
    sampling = false;
    await sampler;
    assert.deepEqual(codes, [0, 0, 0, 0], procs.map((p) => p.stderr()).join('\n'));
    for (const runId of runIds) assert.equal((await t.instance.storage.getRun(runId))?.status, 'SUCCESS');
    assert.ok(samples.length > 20, `only ${samples.length} samples`);
    assert.ok(Math.max(...samples) <= limit, `sampled ${Math.max(...samples)} slots in use`);
    assert.ok(Math.max(...samples) >= 1, 'the sampler never saw a slot in use');
    // The steps' own record of when they ran (database clock): never more than the limit at once.
    const { rows } = await db.query<{ s: Date; e: Date }>(
      'SELECT started_at AS s, ended_at AS e FROM pool_probe WHERE run_id = ANY($1)',
      [runIds],
    );
    assert.equal(rows.length, 16);
    const overlap = maxOverlap(rows.map((r) => ({ start: r.s.getTime(), end: r.e.getTime() })));
    assert.ok(overlap <= limit && overlap >= 1, `at most ${overlap} steps ran at once`);
    // Steps that found the pool full said so in their run's log.
    const { rows: waits } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM event_logs WHERE run_id = ANY($1) AND message LIKE 'Waiting for a slot of pool ''shared''%'",
      [runIds],
    );
    assert.ok(waits[0]!.n > 0, 'no step logged that it waited');
    assert.equal((await pools.list()).find((p) => p.name === 'shared')?.inUse, 0);
  });

  test('a run process killed while holding the slot: its slot is freed and the next run goes on', async () => {
    await pools.setLimit('killed', 1);
    const deadRun = randomUUID();
    const proc = runProcess(t, deadRun, ['killed', '1', '0', 'hang']);
    await waitFor(`run ${deadRun} to hold the slot (${proc.stderr()})`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`the run process exited early: ${proc.stderr()}`);
      const held = (await pools.list()).find((p) => p.name === 'killed')?.holders ?? [];
      return held.some((h) => h.runId === deadRun) ? true : undefined;
    });
    proc.child.kill('SIGKILL');
    await proc.exited;
    // The next run needing the pool finds it full, sees the holder's process is gone, ends that
    // run (which frees its slot) and takes the slot.
    let ran = false;
    const next = asset({ name: 'after_kill', pool: 'killed' }, async () => {
      ran = true;
    });
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [next] }),
      selection: '*',
    });
    assert.equal(result.status, 'SUCCESS');
    assert.ok(ran);
    const dead = await t.instance.storage.getRun(deadRun);
    assert.equal(dead?.status, 'FAILURE');
    assert.match(dead?.error ?? '', /owner is gone/);
    assert.equal((await pools.list()).find((p) => p.name === 'killed')?.inUse, 0);
  });

  test('a terminated run stops waiting for a slot, holds none, and is CANCELED', async () => {
    await pools.setLimit('paused', 0);
    const runId = randomUUID();
    const waiting = materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [asset({ name: 'never', pool: 'paused' }, async () => {})] }),
      selection: '*',
      runId,
    });
    await waitFor('the step to wait for a slot', async () => {
      const events = await t.instance.storage.getEvents(runId);
      return events.some((e) => e.message.startsWith("Waiting for a slot of pool 'paused' (0 of 0"))
        ? true
        : undefined;
    });
    await terminateRun(t.instance.storage, runId);
    const result = await waiting;
    assert.equal(result.status, 'CANCELED');
    assert.equal((await pools.list()).find((p) => p.name === 'paused')?.inUse, 0);
  });

  test("a multi-asset's outputs share one slot; a raised limit lets a waiting step in", async () => {
    await pools.setLimit('multi', 1);
    const seen: number[] = [];
    const both = multiAsset({ name: 'both', pool: 'multi', outs: { left: {}, right: {} } }, async () => {
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM concurrency_slots WHERE pool = 'multi'",
      );
      seen.push(rows[0]!.n);
      return { left: 1, right: 2 };
    });
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [...both.assets] }),
      selection: '*',
      maxConcurrency: 4,
    });
    assert.equal(result.status, 'SUCCESS');
    assert.deepEqual(seen, [1]);

    // A paused pool (limit 0) and a waiting step: raising the limit wakes it by notification.
    await pools.setLimit('multi', 0);
    const runId = randomUUID();
    const waiting = materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [asset({ name: 'woken', pool: 'multi' }, async () => {})] }),
      selection: '*',
      runId,
    });
    await waitFor('the step to wait', async () =>
      (await t.instance.storage.getEvents(runId)).some((e) => e.message.startsWith('Waiting for a slot'))
        ? true
        : undefined,
    );
    await pools.setLimit('multi', 1);
    assert.equal((await waiting).status, 'SUCCESS');
  });
});
