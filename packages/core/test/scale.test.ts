/**
 * The engine at scale, without timing anything: the event log of a long run is complete and
 * in order, a kill -9 at random points leaves a run the instance can reconcile with no event
 * half-written, and planning and scheduling cost grows linearly with the graph (counted in
 * operations and plan size, never in wall-clock time).
 *
 * Sized for CI: runs of 2,000 steps here; bench/core runs the 10,000-step graphs.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildAssets, SHAPES, type Shape } from '../../../bench/core/defs.ts';
import { StepScheduler } from '../src/execution/scheduler.ts';
import {
  Definitions,
  type InstanceStorage,
  materialize,
  type NewEvent,
  planRun,
  RunReconciler,
  type StoredEvent,
} from '../src/index.ts';
import { useFreshInstance, waitFor } from './support.ts';

const t = useFreshInstance();

const STEP_EVENTS = ['STEP_START', 'ASSET_MATERIALIZATION', 'STEP_SUCCESS'] as const;

/** Asserts each step's events are a prefix of START, MATERIALIZATION, SUCCESS, in id order. */
function assertStepSequences(events: readonly StoredEvent[], complete: boolean): Map<string, string[]> {
  const byStep = new Map<string, string[]>();
  let lastId = 0;
  for (const e of events) {
    assert.ok(e.id > lastId, `event ids ascend (${e.id} after ${lastId})`);
    lastId = e.id;
    if (!e.stepKey) continue;
    const seq = byStep.get(e.stepKey) ?? [];
    seq.push(e.type);
    byStep.set(e.stepKey, seq);
  }
  for (const [step, seq] of byStep) {
    const expected = complete ? STEP_EVENTS : STEP_EVENTS.slice(0, seq.length);
    assert.deepEqual(seq, [...expected], `events of step '${step}' in order`);
  }
  return byStep;
}

describe('the event log of a long run', () => {
  for (const shape of ['chain', 'fanout'] as const) {
    test(`a ${shape} of 2,000 assets: every step's events are stored, in order, in batches`, async () => {
      const n = 2_000;
      const storage = t.instance.storage as InstanceStorage;
      const storeEvents = storage.storeEvents.bind(storage);
      let batches = 0;
      storage.storeEvents = (events: readonly NewEvent[]) => {
        batches++;
        return storeEvents(events);
      };
      // Every upstream asset is materialized by the run itself: no step reads versions back.
      const getAssetVersions = storage.getAssetVersions.bind(storage);
      let versionReads = 0;
      storage.getAssetVersions = (keys?: string[]) => {
        versionReads++;
        return getAssetVersions(keys);
      };
      let result: Awaited<ReturnType<typeof materialize>>;
      try {
        const definitions = new Definitions({ assets: buildAssets(shape, n) });
        result = await materialize({ instance: t.instance, definitions, selection: '*' });
      } finally {
        storage.storeEvents = storeEvents;
        storage.getAssetVersions = getAssetVersions;
      }
      assert.equal(result.status, 'SUCCESS');
      assert.equal(versionReads, 0, 'no round trip per step for the versions of upstream assets');
      const events = await storage.getEvents(result.runId, { limit: 100_000 });
      assert.equal(events[0]?.type, 'RUN_START');
      assert.equal(events.at(-1)?.type, 'RUN_SUCCESS');
      const byStep = assertStepSequences(events, true);
      assert.equal(byStep.size, n, 'every step has its events');
      // RUN_START + 3 per step (the final event is stored with the run's status).
      assert.equal(events.length, 2 + 3 * n);
      // One round trip per event would be 6,001; batching stores many per round trip.
      assert.ok(batches < (3 * n) / 4, `${batches} batches for ${3 * n + 1} events`);
      if (shape === 'chain') {
        const starts = events.filter((e) => e.type === 'STEP_START').map((e) => e.stepKey);
        assert.deepEqual(
          starts,
          Array.from({ length: n }, (_, i) => `a${i}`),
          'a chain starts its steps in order',
        );
      }
      const records = await storage.getAssetRecords(Array.from({ length: n }, (_, i) => `a${i}`));
      assert.equal(records.length, n);
      assert.ok(records.every((r) => r.lastRunId === result.runId));
    });
  }
});

describe('kill -9 in the middle of a run', () => {
  test('at three random points: no event half-written, and the instance reconciles the run', async () => {
    const n = 2_000;
    const fixture = path.join(import.meta.dirname, 'fixtures', 'chain-run.ts');
    const storage = t.instance.storage;
    const pool = (storage as unknown as { pool: import('pg').Pool }).pool;
    for (let round = 0; round < 3; round++) {
      // Steps 0..n-2 store 3 events each; the last one never ends.
      const killAfter = randomInt(1, 3 * (n - 1));
      const runId = randomUUID();
      const child: ChildProcess = spawn(
        process.execPath,
        ['--import', 'tsx', fixture, t.url, t.home, runId, String(n)],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await waitFor(
          `run ${runId} to store ${killAfter} events (stderr: ${stderr})`,
          async () => {
            if (child.exitCode !== null) throw new Error(`the run process exited early: ${stderr}`);
            const { rows } = await pool.query<{ n: string }>(
              'SELECT count(*) AS n FROM event_logs WHERE run_id = $1',
              [runId],
            );
            return Number(rows[0]!.n) >= killAfter ? true : undefined;
          },
          120_000,
        );
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const context = `round ${round}, killed after at least ${killAfter} events`;
      const before = await storage.getRun(runId);
      assert.equal(before?.status, 'STARTED', context);
      const events = await storage.getEvents(runId, { limit: 100_000 });
      assert.equal(events[0]?.type, 'RUN_START', context);
      const byStep = assertStepSequences(events, false);
      // Stored in order: the steps that have events are a prefix of the chain.
      const keys = [...byStep.keys()];
      assert.deepEqual(
        keys,
        keys.map((_, i) => `c${i}`),
        context,
      );
      // Every stored materialization is the asset's latest record: the two are written together.
      const mats = events.filter((e) => e.type === 'ASSET_MATERIALIZATION');
      const records = await storage.getAssetRecords(mats.map((e) => e.assetKey!));
      const latest = new Map(records.map((r) => [r.assetKey, r.lastMaterializationId]));
      for (const m of mats)
        assert.equal(latest.get(m.assetKey!), m.id, `${context}: record of ${m.assetKey}`);
      // The instance finishes the run whose process is gone.
      const finished = await new RunReconciler(storage).reconcile();
      assert.ok(
        finished.some((r) => r.runId === runId),
        context,
      );
      const after = await storage.getRun(runId);
      assert.equal(after?.status, 'FAILURE', context);
      const last = (await storage.getEvents(runId, { afterId: events.at(-1)!.id })).at(-1);
      assert.equal(last?.type, 'RUN_FAILURE', context);
    }
  });
});

describe('planning and scheduling grow linearly (counted operations, not time)', () => {
  /** Operations of scheduling a whole successful run of the graph, step by step. */
  function scheduleOperations(shape: Shape, n: number): number {
    const definitions = new Definitions({ assets: buildAssets(shape, n) });
    const plan = planRun(definitions, { selection: '*' });
    assert.equal(plan.steps.length, n);
    const scheduler = new StepScheduler(plan.steps);
    let ran = 0;
    for (let step = scheduler.next(); step; step = scheduler.next()) {
      ran++;
      scheduler.succeeded(step.key);
    }
    assert.equal(ran, n, 'every step ran once');
    return scheduler.operations;
  }

  for (const shape of SHAPES) {
    test(`a ${shape}: 10,000 assets cost about 10× 1,000 assets, not 100×`, () => {
      const small = scheduleOperations(shape, 1_000);
      const large = scheduleOperations(shape, 10_000);
      const ratio = large / small;
      // A log factor (the ready heap) allows up to 10 × log(10,000)/log(1,000) ≈ 13.3.
      assert.ok(ratio >= 9 && ratio <= 14, `${shape}: ${small} → ${large} operations (${ratio.toFixed(1)}×)`);
    });
  }

  test('the plan of a graph is as large as the graph: one step per asset, one dep per edge', () => {
    for (const shape of SHAPES) {
      for (const n of [1_000, 10_000]) {
        const assets = buildAssets(shape, n);
        const edges = assets.reduce((sum, a) => sum + a.deps.length, 0);
        const plan = planRun(new Definitions({ assets }), { selection: '*' });
        assert.equal(plan.steps.length, n);
        assert.equal(
          plan.steps.reduce((sum, s) => sum + s.deps.length, 0),
          edges,
        );
        assert.ok(edges < 2 * n, `${shape}: ${edges} edges for ${n} assets`);
      }
    }
  });

  test('a failed step skips its downstream by walking only that part of the graph', () => {
    const definitions = new Definitions({ assets: buildAssets('fanout', 10_000) });
    const plan = planRun(definitions, { selection: '*' });
    const scheduler = new StepScheduler(plan.steps);
    const first = scheduler.next()!;
    const before = scheduler.operations;
    const skipped = scheduler.notSucceeded(first.key);
    assert.equal(skipped.length, 9_999);
    assert.equal(scheduler.next(), undefined, 'nothing left to run');
    assert.ok(scheduler.operations - before <= 10_000, `${scheduler.operations - before} operations`);
  });
});
