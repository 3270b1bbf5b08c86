/**
 * One answer for the same events: runs made by the real `dag` CLI, then the step states its
 * live output printed, the server API's steps, and the UI's step derivation (its module
 * imported in Node, fed the API's JSON) compared; and the catalog's asset status against the
 * graph's.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DagInstance, type StepStatus, Workspace } from '@dag/core';
import { createApp, RunLauncher } from '@dag/server';
import type { Hono } from 'hono';
import { freshDatabase, tempDir } from '../../core/test/support.ts';
import type { RunRecord, RunStep, StoredEvent } from '../../ui/src/api/types.ts';
import { runSteps } from '../../ui/src/lib/run-events.ts';
import { stepIcon, stripAnsi } from '../src/format.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'packages/cli/bin/dag.js');
const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'event-vocabulary.ts');
const STATUSES: StepStatus[] = ['pending', 'running', 'success', 'failure', 'skipped', 'canceled'];

interface CliRun {
  code: number | null;
  stderr: string;
  runId: string;
}

/** Runs `dag -f FIXTURE materialize --select <selection>`; `interruptWhen` sends SIGINT once stderr matches. */
function materialize(selection: string, env: NodeJS.ProcessEnv, interruptWhen?: RegExp): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [bin, '-f', FIXTURE, 'materialize', '--select', selection],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: '1', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dag materialize ${selection} did not finish in 120 s:\n${stderr}`));
    }, 120_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
      if (interruptWhen && !interrupted && interruptWhen.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const runId = /Run ([0-9a-f-]{36}) /.exec(stderr)?.[1];
      if (!runId) reject(new Error(`no run id in the output:\n${stderr}`));
      else resolve({ code, stderr, runId });
    });
  });
}

/** The last state the live output showed for each step (before the summary table). */
function cliStates(stderr: string): Record<string, StepStatus> {
  const live = stripAnsi(stderr).split(/\nSTEP\s+STATUS/)[0]!;
  const byIcon = new Map(STATUSES.map((s) => [stepIcon(s), s]));
  const out: Record<string, StepStatus> = {};
  for (const line of live.split('\n')) {
    const m = /^(\S) (\S+) /.exec(line);
    const status = m && byIcon.get(m[1]!);
    if (status) out[m[2]!] = status;
  }
  return out;
}

async function get<T>(app: Hono, route: string): Promise<T> {
  const res = await app.request(`http://localhost${route}`);
  assert.equal(res.status, 200, route);
  return (await res.json()) as T;
}

describe('the CLI, the server API and the UI read the same events the same way', () => {
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let home: string;
  let instance: DagInstance;
  let launcher: RunLauncher;
  let app: Hono;

  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    home = await tempDir('dag-events-');
    env = { DAG_POSTGRES_URL: db.url, DAG_HOME: home };
    const workspace = await Workspace.load({ file: FIXTURE });
    instance = await DagInstance.open({ home, postgresUrl: db.url });
    launcher = new RunLauncher({ instance, workspace });
    app = createApp({ workspace, instance, launcher });
  });
  after(async () => {
    await launcher.close();
    await instance.close();
    await drop();
    await rm(home, { recursive: true, force: true });
  });

  /** Step key -> status from each reader; asserts they agree and returns the answer. */
  async function agreed(cli: CliRun): Promise<Record<string, string>> {
    const detail = await get<{ run: RunRecord; steps: RunStep[] }>(app, `/api/runs/${cli.runId}`);
    const { events } = await get<{ events: StoredEvent[] }>(app, `/api/runs/${cli.runId}/events?limit=1000`);
    const api = Object.fromEntries(detail.steps.map((s) => [s.key, s.status]));
    const ui = Object.fromEntries(runSteps([], events, detail.run, true).map((s) => [s.key, s.status]));
    assert.deepEqual(ui, api, 'the UI derives what the API says');
    assert.deepEqual(cliStates(cli.stderr), api, 'the CLI printed what the API says');
    // The attempts too, between the API and the UI.
    assert.deepEqual(
      runSteps([], events, detail.run, true).map((s) => s.attempts),
      detail.steps.map((s) => s.attempts),
    );
    return api;
  }

  async function assetStatuses(): Promise<Record<string, string>> {
    const catalog = await get<{ assets: { key: string; status: string }[] }>(app, '/api/assets');
    const graph = await get<{ nodes: { key: string; status: string }[] }>(app, '/api/graph');
    const fromCatalog = Object.fromEntries(catalog.assets.map((a) => [a.key, a.status]));
    assert.deepEqual(fromCatalog, Object.fromEntries(graph.nodes.map((n) => [n.key, n.status])));
    return fromCatalog;
  }

  test('a run with a success, a retry, a failure, skips and a blocking check failure', async () => {
    const run = await materialize('group:mixed', env);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(await agreed(run), {
      ok_source: 'success',
      ok_down: 'success',
      flaky: 'success',
      broken: 'failure',
      after_broken: 'skipped',
      // A failed blocking ERROR check fails its step (the asset is materialized all the same).
      checked: 'failure',
      after_checked: 'skipped',
    });
    const detail = await get<{ steps: RunStep[] }>(app, `/api/runs/${run.runId}`);
    assert.equal(detail.steps.find((s) => s.key === 'flaky')?.attempts, 2);
    // The run failed, but the assets it materialized are materialized in the catalog and the graph.
    const statuses = await assetStatuses();
    assert.deepEqual(
      [statuses.ok_source, statuses.ok_down, statuses.flaky],
      ['materialized', 'materialized', 'materialized'],
    );
    // The checked asset's latest step failed (its blocking check), after its materialization.
    assert.deepEqual(
      [statuses.broken, statuses.after_broken, statuses.checked, statuses.after_checked],
      ['failed', 'never', 'failed', 'never'],
    );
  });

  test('a terminated run: canceled steps everywhere, and no asset failed', async () => {
    const run = await materialize('group:terminate', env, /▶ slow started/);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(await agreed(run), { slow: 'canceled', after_slow: 'canceled' });
    const statuses = await assetStatuses();
    assert.deepEqual([statuses.slow, statuses.after_slow], ['never', 'never']);
  });

  test('an upstream materialized again makes its downstream stale in the catalog and the graph', async () => {
    const run = await materialize('ok_source', env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await agreed(run), { ok_source: 'success' });
    const statuses = await assetStatuses();
    assert.deepEqual([statuses.ok_source, statuses.ok_down], ['materialized', 'stale']);
  });
});
