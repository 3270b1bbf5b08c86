import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { materialize, type RunRecord, type StoredEvent } from '@dag/core';
import { tempDir } from '../../core/test/support.ts';
import type { CompactGraphResponse } from '../../ui/src/api/types.ts';
import { decodeGraph } from '../../ui/src/graph/compact-graph.ts';
import { createApp } from '../src/create-app.ts';
import {
  call,
  openGate,
  readSse,
  type ServerFixture,
  type SseMessage,
  serverFixture,
  useGates,
} from './support.ts';

process.env.SERVER_TEST_VAULT_KEY = 'vault-key-for-api-tests-123';
process.env.SERVER_TEST_VAULT_URL = 'https://vault.example';

type Json = Record<string, unknown>;
interface ErrorBody {
  error: { name: string; message: string; position?: number };
}

describe('HTTP API', () => {
  let fx: ServerFixture;
  let demoRunId: string;
  let flakyRunId: string;

  let removeGates: () => Promise<void>;

  before(async () => {
    removeGates = await useGates();
    fx = await serverFixture();
    const { definitions } = fx.workspace.locations[0]!;
    const demo = await materialize({
      instance: fx.test.instance,
      definitions,
      selection: 'group:demo',
      location: fx.workspace.locations[0]!.name,
    });
    assert.equal(demo.status, 'SUCCESS');
    demoRunId = demo.runId;
    const flaky = await materialize({
      instance: fx.test.instance,
      definitions,
      selection: 'raw or flaky',
      location: fx.workspace.locations[0]!.name,
    });
    assert.equal(flaky.status, 'FAILURE');
    flakyRunId = flaky.runId;
  });
  after(async () => {
    await fx.close();
    await removeGates();
  });

  test('GET /api/definitions: assets, jobs with config schemas, schedules, sensors, resources', async () => {
    const res = await call<{ locations: Json[] }>(fx.app, '/api/definitions');
    assert.equal(res.status, 200);
    assert.equal(res.body.locations.length, 1);
    const loc = res.body.locations[0] as {
      name: string;
      file: string;
      assets: Json[];
      jobs: Json[];
      schedules: Json[];
      sensors: Json[];
      resources: Json[];
    };
    assert.equal(loc.name, fx.workspace.locations[0]!.name);
    assert.match(loc.file, /server-defs\.ts$/);
    const clean = loc.assets.find((a) => a.key === 'clean')!;
    assert.deepEqual(clean, {
      key: 'clean',
      group: 'demo',
      deps: ['raw'],
      kinds: [],
      tags: { tier: 'silver' },
      owners: [],
      description: 'Cleaned rows.',
      checks: [{ name: 'clean_ok', severity: 'ERROR', blocking: true, description: 'rows exist' }],
      hasConfig: true,
      freshness: { maximumLagMinutes: 60 },
      partitions: null,
    });
    const demoJob = loc.jobs.find((j) => j.name === 'demo_job') as Json & {
      configSchema: { properties: { ops: { properties: Record<string, Json>; required?: string[] } } };
    };
    assert.equal(demoJob.type, 'assets');
    assert.equal(demoJob.selection, 'group:demo');
    assert.deepEqual(demoJob.steps, ['raw', 'clean', 'report']);
    const cleanConfig = demoJob.configSchema.properties.ops.properties.clean as {
      properties: { config: { properties: Record<string, { type: string; default?: unknown }> } };
    };
    assert.deepEqual(cleanConfig.properties.config.properties.factor, { type: 'number', default: 2 });
    assert.equal(
      demoJob.configSchema.properties.ops.required,
      undefined,
      'every demo config field has a default',
    );
    const etl = loc.jobs.find((j) => j.name === 'etl') as Json & {
      configSchema: { required: string[]; properties: { ops: { required: string[] } } };
    };
    assert.equal(etl.type, 'graph');
    assert.equal(etl.selection, null);
    assert.deepEqual(etl.steps, ['extract', 'scale']);
    assert.deepEqual(etl.configSchema.required, ['ops']);
    assert.deepEqual(etl.configSchema.properties.ops.required, ['scale']);
    assert.equal(loc.schedules[0]!.cron, '0 2 * * *');
    assert.equal(loc.schedules[0]!.timezone, 'Asia/Seoul');
    assert.equal(loc.sensors[0]!.name, 'demo_sensor');
    const vault = loc.resources.find((r) => r.name === 'vault') as { config: Record<string, Json> };
    assert.deepEqual(vault.config.apiKey, {
      value: '***',
      env: 'SERVER_TEST_VAULT_KEY',
      secret: true,
      set: true,
    });
    assert.equal(vault.config.url!.value, 'https://vault.example');
  });

  test('GET /api/assets: latest materialization, last run status and freshness of every asset', async () => {
    const res = await call<{ assets: Json[] }>(fx.app, '/api/assets');
    assert.equal(res.status, 200);
    const byKey = new Map(res.body.assets.map((a) => [a.key as string, a]));
    assert.equal(byKey.size, 10);
    const clean = byKey.get('clean')! as Json & { latest: Json; freshness: Json };
    assert.equal(clean.location, fx.workspace.locations[0]!.name);
    assert.equal(clean.latest.runId, demoRunId);
    assert.deepEqual(clean.latest.metadata, {
      n: { type: 'int', value: 3 },
      preview: { type: 'markdown', value: '**ok**' },
    });
    assert.equal(clean.lastRunStatus, 'SUCCESS');
    const { lagMinutes, ...freshness } = clean.freshness as { lagMinutes: number };
    assert.deepEqual(freshness, { maximumLagMinutes: 60, stale: false });
    assert.ok(lagMinutes >= 0 && lagMinutes < 60, `lag ${lagMinutes} min since the fixture's run`);
    // The catalog's status is the graph's (clean is stale: raw was materialized after it).
    assert.equal(clean.status, 'stale');
    assert.equal(byKey.get('chatty')!.status, 'never');
    assert.equal(byKey.get('flaky')!.lastRunStatus, 'FAILURE');
    assert.equal(byKey.get('chatty')!.latest, null);
    assert.equal(byKey.get('chatty')!.lastRunStatus, null);
    assert.equal(byKey.get('chatty')!.freshness, null);
  });

  test('GET /api/graph: nodes with status, edges, groups; selections; selection errors are 400', async () => {
    const res = await call<{ nodes: Json[]; edges: Json[]; groups: Json[] }>(fx.app, '/api/graph');
    assert.equal(res.status, 200);
    const status = Object.fromEntries(res.body.nodes.map((n) => [n.key, n.status]));
    // raw was materialized again by the flaky run, after clean: clean is stale.
    assert.equal(status.raw, 'materialized');
    assert.equal(status.clean, 'stale');
    assert.equal(status.flaky, 'failed');
    assert.equal(status.chatty, 'never');
    assert.ok(res.body.edges.some((e) => e.from === 'raw' && e.to === 'clean'));
    assert.deepEqual(
      res.body.groups.find((g) => g.group === 'demo'),
      { location: fx.workspace.locations[0]!.name, group: 'demo', count: 3 },
    );

    const sel = await call<{ nodes: Json[]; edges: Json[] }>(
      fx.app,
      `/api/graph?selection=${encodeURIComponent('+report')}`,
    );
    assert.deepEqual(sel.body.nodes.map((n) => n.key).sort(), ['clean', 'raw', 'report']);
    assert.deepEqual(sel.body.edges, [
      { from: 'raw', to: 'clean' },
      { from: 'clean', to: 'report' },
    ]);

    const bad = await call<ErrorBody>(fx.app, `/api/graph?selection=${encodeURIComponent('group:demo and')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.name, 'SelectionError');
    assert.match(bad.body.error.message, /position 14/);
    assert.equal(bad.body.error.position, 14);
    const unknown = await call<ErrorBody>(fx.app, '/api/graph?selection=claen');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /Did you mean 'clean'/);
  });

  test('GET /api/graph?format=compact: the same graph as indices, with its layout; ETag and 304', async () => {
    const objects = await call<Json>(fx.app, '/api/graph');
    const res = await call<CompactGraphResponse>(fx.app, '/api/graph?format=compact');
    assert.equal(res.status, 200);
    assert.equal(res.body.format, 'compact/1');
    const decoded = decodeGraph(res.body);
    assert.deepEqual(decoded.graph, objects.body);
    // Laid out: every asset inside its group's box.
    for (const n of decoded.graph.nodes) {
      const p = decoded.layout.positions.get(n.key)!;
      const box = decoded.layout.groups.find((g) => g.id === `${n.location}/${n.group}`)!;
      assert.ok(p.x >= box.x && p.x < box.x + box.width && p.y >= box.y && p.y < box.y + box.height, n.key);
    }

    // Unchanged: a 304 without a body; the object form has its own ETag.
    const etag = res.headers.get('ETag');
    assert.match(etag ?? '', /^"[\w-]+"$/);
    assert.notEqual(objects.headers.get('ETag'), etag);
    const again = await call(fx.app, '/api/graph?format=compact', { headers: { 'If-None-Match': etag! } });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    const other = await call(fx.app, '/api/graph?format=compact', {
      headers: { 'If-None-Match': '"stale"' },
    });
    assert.equal(other.status, 200);

    const selected = decodeGraph(
      (
        await call<CompactGraphResponse>(
          fx.app,
          `/api/graph?format=compact&selection=${encodeURIComponent('+report')}`,
        )
      ).body,
    );
    assert.deepEqual(selected.graph.edges, [
      { from: 'raw', to: 'clean' },
      { from: 'clean', to: 'report' },
    ]);

    const bad = await call<ErrorBody>(fx.app, '/api/graph?format=arrays');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /Unknown graph format 'arrays': use format=compact/);
  });

  test('GET /api/assets/:key, materializations and checks; unknown asset is 404', async () => {
    const res = await call<{ asset: Json & { checks: Json[]; latest: Json; configSchema: Json } }>(
      fx.app,
      '/api/assets/clean',
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.asset.key, 'clean');
    assert.deepEqual(res.body.asset.dependents, ['report']);
    assert.equal(res.body.asset.latest.runId, demoRunId);
    assert.deepEqual((res.body as Json).latest, res.body.asset.latest);
    assert.equal((res.body.asset.checks[0]!.latest as Json).passed, true);
    assert.equal((res.body.asset.configSchema as { type: string }).type, 'object');

    const missing = await call<ErrorBody>(fx.app, '/api/assets/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.name, 'NotFound');
    assert.match(missing.body.error.message, /Unknown asset 'nope'/);

    const mats = await call<{ materializations: StoredEvent[] }>(
      fx.app,
      '/api/assets/raw/materializations?limit=1',
    );
    assert.equal(mats.status, 200);
    assert.equal(mats.body.materializations.length, 1);
    assert.equal(mats.body.materializations[0]!.runId, flakyRunId);
    const older = await call<{ materializations: StoredEvent[] }>(
      fx.app,
      `/api/assets/raw/materializations?before=${mats.body.materializations[0]!.id}`,
    );
    assert.deepEqual(
      older.body.materializations.map((m) => m.runId),
      [demoRunId],
    );
    const badLimit = await call<ErrorBody>(fx.app, '/api/assets/raw/materializations?limit=abc');
    assert.equal(badLimit.status, 400);
    assert.match(badLimit.body.error.message, /'limit'/);

    const checks = await call<{ executions: Json[] }>(fx.app, '/api/assets/clean/checks?limit=5');
    assert.equal(checks.status, 200);
    assert.equal(checks.body.executions.length, 1);
    assert.equal(checks.body.executions[0]!.checkName, 'clean_ok');
  });

  test('GET /api/runs: filters and keyset paging; GET /api/runs/:id: steps; events', async () => {
    const all = await call<{ runs: RunRecord[]; nextCursor: string | null }>(fx.app, '/api/runs');
    assert.equal(all.status, 200);
    assert.ok(all.body.runs.length >= 2);
    const page1 = await call<{ runs: RunRecord[]; nextCursor: string }>(fx.app, '/api/runs?limit=1');
    assert.equal(page1.body.runs.length, 1);
    assert.ok(page1.body.nextCursor);
    const page2 = await call<{ runs: RunRecord[] }>(
      fx.app,
      `/api/runs?limit=1&cursor=${encodeURIComponent(page1.body.nextCursor)}`,
    );
    assert.notEqual(page2.body.runs[0]!.runId, page1.body.runs[0]!.runId);
    const failed = await call<{ runs: RunRecord[] }>(fx.app, '/api/runs?status=FAILURE');
    assert.ok(failed.body.runs.every((r) => r.status === 'FAILURE'));
    assert.ok(failed.body.runs.some((r) => r.runId === flakyRunId));
    const byJob = await call<{ runs: RunRecord[] }>(fx.app, '/api/runs?job=no_such_job');
    assert.deepEqual(byJob.body.runs, []);
    assert.equal((await call(fx.app, '/api/runs?status=DONE')).status, 400);
    assert.equal((await call(fx.app, '/api/runs?cursor=garbage')).status, 400);
    assert.equal((await call(fx.app, '/api/runs?limit=0')).status, 400);

    const detail = await call<{ run: RunRecord; steps: Json[] }>(fx.app, `/api/runs/${flakyRunId}`);
    assert.equal(detail.status, 200);
    assert.equal(detail.body.run.status, 'FAILURE');
    const steps = Object.fromEntries(detail.body.steps.map((s) => [s.key, s]));
    assert.equal(steps.raw!.status, 'success');
    assert.equal(steps.raw!.attempts, 1);
    assert.ok(steps.raw!.startedAt && steps.raw!.endedAt);
    assert.equal(steps.flaky!.status, 'failure');
    assert.match(steps.flaky!.error as string, /flaky failed on purpose/);
    assert.equal((await call<ErrorBody>(fx.app, '/api/runs/nope')).status, 404);

    const events = await call<{ events: StoredEvent[] }>(fx.app, `/api/runs/${demoRunId}/events?limit=3`);
    assert.equal(events.body.events.length, 3);
    assert.equal(events.body.events[0]!.type, 'RUN_START');
    const rest = await call<{ events: StoredEvent[] }>(
      fx.app,
      `/api/runs/${demoRunId}/events?after=${events.body.events[2]!.id}`,
    );
    assert.ok(rest.body.events.every((e) => e.id > events.body.events[2]!.id));
    assert.equal(rest.body.events.at(-1)!.type, 'RUN_SUCCESS');
  });

  test('POST /api/runs rejects invalid launches with 400 and stores nothing', async () => {
    const before = (await fx.test.instance.storage.countRuns()) as number;
    const badConfig = await call<ErrorBody>(fx.app, '/api/runs', {
      json: { job: 'demo_job', runConfig: { ops: { clean: { config: { factor: 'two' } } } } },
    });
    assert.equal(badConfig.status, 400);
    assert.equal(badConfig.body.error.name, 'ConfigError');
    assert.match(badConfig.body.error.message, /field 'factor'/);
    const missing = await call<ErrorBody>(fx.app, '/api/runs', { json: { job: 'etl' } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /op 'scale'/);
    const unknownJob = await call<ErrorBody>(fx.app, '/api/runs', { json: { job: 'demo_jbo' } });
    assert.equal(unknownJob.status, 400);
    assert.match(unknownJob.body.error.message, /Did you mean 'demo_job'/);
    const badSelection = await call<ErrorBody>(fx.app, '/api/runs', { json: { selection: 'group:' } });
    assert.equal(badSelection.status, 400);
    assert.equal(badSelection.body.error.name, 'SelectionError');
    const badKey = await call<ErrorBody>(fx.app, '/api/runs', { json: { job: 'demo_job', config: {} } });
    assert.equal(badKey.status, 400);
    assert.match(badKey.body.error.message, /unsupported key 'config'/);
    const nothing = await call<ErrorBody>(fx.app, '/api/runs', { json: {} });
    assert.equal(nothing.status, 400);
    const notJson = await call<ErrorBody>(fx.app, '/api/runs', { method: 'POST', body: '{nope' });
    assert.equal(notJson.status, 400);
    assert.equal(await fx.test.instance.storage.countRuns(), before);
  });

  test('a launched run streams its events over SSE before it ends; logs; resume; 204 when done', async () => {
    const launched = await call<{ runId: string }>(fx.app, '/api/runs', {
      json: { selection: 'chatty', tags: { who: 'test' } },
    });
    assert.equal(launched.status, 201, launched.text);
    const { runId } = launched.body;
    const res = await fx.app.request(`http://localhost/api/runs/${runId}/events/stream`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('Content-Type') ?? '', /text\/event-stream/);
    const messages: SseMessage[] = [];
    // The step waits until this test has received its first line over the stream: the run
    // cannot end before, so a line that arrives at all arrived live.
    for await (const message of readSse(res)) {
      messages.push(message);
      if (message.event === 'LOG' && message.data.includes('first line')) await openGate(`chatty-${runId}`);
      if (message.event === 'end') break;
    }
    const events = messages.filter((m) => m.event !== 'end');
    const first = events.find((m) => m.event === 'LOG' && m.data.includes('first line'));
    const success = events.find((m) => m.event === 'RUN_SUCCESS');
    assert.ok(first && success, messages.map((m) => m.event).join(' '));
    assert.ok(events.indexOf(first) < events.indexOf(success));
    assert.ok(events.some((m) => m.event === 'LOG' && m.data.includes('second line')));
    const parsed = JSON.parse(first.data) as StoredEvent;
    assert.equal(String(parsed.id), first.id);
    assert.equal(parsed.runId, runId);
    const ids = events.map((m) => Number(m.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    const end = messages.at(-1)!;
    assert.deepEqual(JSON.parse(end.data).status, 'SUCCESS');

    // Resuming from the first log line replays only what came after it.
    const resumed = await fx.app.request(`http://localhost/api/runs/${runId}/events/stream`, {
      headers: { 'Last-Event-ID': first.id! },
    });
    const replay: SseMessage[] = [];
    for await (const m of readSse(resumed)) replay.push(m);
    assert.ok(replay.filter((m) => m.event !== 'end').every((m) => Number(m.id) > Number(first.id)));
    assert.equal(replay.at(-1)!.event, 'end');
    // Nothing left after the terminal event: 204 stops the browser's EventSource.
    const done = await fx.app.request(`http://localhost/api/runs/${runId}/events/stream`, {
      headers: { 'Last-Event-ID': success.id! },
    });
    assert.equal(done.status, 204);

    await fx.launcher.waitFor(runId);
    const run = await call<{ run: RunRecord }>(fx.app, `/api/runs/${runId}`);
    assert.equal(run.body.run.status, 'SUCCESS');
    assert.deepEqual(run.body.run.tags, { who: 'test' });
    const logs = await call(fx.app, `/api/runs/${runId}/logs`);
    assert.equal(logs.status, 200);
    assert.match(logs.headers.get('Content-Type') ?? '', /text\/plain/);
    assert.match(logs.text, /\[dag dev\] .* starting: dag -f .*server-defs\.ts execute-run/);
    assert.match(logs.text, /first line/);
    assert.match(logs.text, /run process exited with code 0/);
    const tail = await call(
      fx.app,
      `/api/runs/${runId}/logs?offset=${Number(logs.headers.get('X-Log-Size')) - 10}`,
    );
    assert.equal(tail.text.length, 10);

    const terminate = await call<ErrorBody>(fx.app, `/api/runs/${runId}/terminate`, { method: 'POST' });
    assert.equal(terminate.status, 409);
    assert.equal((await call(fx.app, '/api/runs/nope/terminate', { method: 'POST' })).status, 404);
    assert.equal((await call(fx.app, '/api/runs/nope/events/stream')).status, 404);
  });

  test('POST /api/runs/:id/reexecute: all steps, or from failure only the failed and skipped ones', async () => {
    const launched = await call<{ runId: string }>(fx.app, '/api/runs', { json: { job: 'flaky_job' } });
    assert.equal(launched.status, 201, launched.text);
    const parentId = launched.body.runId;
    await fx.launcher.waitFor(parentId);
    const parent = await call<{ run: RunRecord; steps: Json[] }>(fx.app, `/api/runs/${parentId}`);
    assert.equal(parent.body.run.status, 'FAILURE');
    assert.deepEqual(
      parent.body.steps.map((s) => [s.key, s.status]),
      [
        ['raw', 'success'],
        ['flaky', 'failure'],
        ['after_flaky', 'skipped'],
      ],
    );

    process.env.SERVER_TEST_FLAKY_OK = '1';
    try {
      const retry = await call<{ runId: string; parentRunId: string }>(
        fx.app,
        `/api/runs/${parentId}/reexecute`,
        {
          json: { fromFailure: true },
        },
      );
      assert.equal(retry.status, 201, retry.text);
      assert.equal(retry.body.parentRunId, parentId);
      await fx.launcher.waitFor(retry.body.runId);
      const child = await call<{ run: RunRecord; steps: Json[] }>(fx.app, `/api/runs/${retry.body.runId}`);
      assert.equal(child.body.run.status, 'SUCCESS');
      assert.equal(child.body.run.parentRunId, parentId);
      assert.equal(child.body.run.rootRunId, parentId);
      assert.equal(child.body.run.jobName, 'flaky_job');
      assert.deepEqual(
        child.body.steps.map((s) => s.key),
        ['flaky', 'after_flaky'],
      );

      const all = await call<{ runId: string }>(fx.app, `/api/runs/${parentId}/reexecute`, {
        method: 'POST',
      });
      assert.equal(all.status, 201, all.text);
      await fx.launcher.waitFor(all.body.runId);
      const full = await call<{ run: RunRecord; steps: Json[] }>(fx.app, `/api/runs/${all.body.runId}`);
      assert.deepEqual(
        full.body.steps.map((s) => s.key),
        ['raw', 'flaky', 'after_flaky'],
      );
      const fromSuccess = await call<ErrorBody>(fx.app, `/api/runs/${all.body.runId}/reexecute`, {
        json: { fromFailure: true },
      });
      assert.equal(fromSuccess.status, 400);
      assert.match(fromSuccess.body.error.message, /succeeded/);
    } finally {
      delete process.env.SERVER_TEST_FLAKY_OK;
    }
    assert.equal((await call(fx.app, '/api/runs/nope/reexecute', { method: 'POST' })).status, 404);
  });

  test('GET /api/instance, /api/schedules, /api/sensors', async () => {
    const res = await call<{ info: Json; versions: Json; daemon: unknown }>(fx.app, '/api/instance');
    assert.equal(res.status, 200);
    assert.equal(res.body.info.storage, 'postgres');
    assert.match(res.body.info.url as string, /:\*\*\*@/);
    assert.ok((res.body.info.runs as number) >= 2);
    assert.equal(res.body.versions.node, process.version);
    assert.match(res.body.versions.dag as string, /^\d+\.\d+\.\d+/, JSON.stringify(res.body.versions));
    assert.match(res.body.versions.postgres as string, /^\d+/);
    assert.equal(res.body.daemon, null);

    const schedules = await call<{ schedules: Json[] }>(fx.app, '/api/schedules');
    assert.equal(schedules.body.schedules[0]!.name, 'demo_daily');
    assert.equal(schedules.body.schedules[0]!.job, 'demo_job');
    assert.equal(schedules.body.schedules[0]!.location, fx.workspace.locations[0]!.name);
    assert.equal(schedules.body.schedules[0]!.defaultStatus, 'STOPPED');
    assert.equal(schedules.body.schedules[0]!.status, 'STOPPED');
    assert.equal(schedules.body.schedules[0]!.lastTick, null);
    assert.equal(schedules.body.schedules[0]!.nextTickAt, null);
    const started = await call(fx.app, '/api/schedules/demo_daily/start', { method: 'POST' });
    assert.deepEqual(started.body, { name: 'demo_daily', type: 'schedule', status: 'RUNNING' });
    const running = await call<{ schedules: Json[] }>(fx.app, '/api/schedules');
    assert.equal(running.body.schedules[0]!.status, 'RUNNING');
    assert.equal(running.body.schedules[0]!.statusStored, true);
    // 02:00 in Seoul is 17:00 UTC.
    assert.match(running.body.schedules[0]!.nextTickAt as string, /T17:00:00\.000Z$/);
    assert.equal((await call(fx.app, '/api/schedules/nope/start', { method: 'POST' })).status, 404);
    assert.equal((await call(fx.app, '/api/sensors/demo_sensor/stop', { method: 'POST' })).status, 200);
    const sensors = await call<{ sensors: Json[] }>(fx.app, '/api/sensors');
    assert.equal(sensors.body.sensors[0]!.name, 'demo_sensor');
    assert.equal(sensors.body.sensors[0]!.minimumIntervalSeconds, 30);
  });

  test('unknown API routes are JSON 404s; other sites may not POST; non-loopback Host is refused', async () => {
    const res = await call<ErrorBody>(fx.app, '/api/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.name, 'NotFound');
    const csrf = await call<ErrorBody>(fx.app, '/api/runs', {
      json: { selection: 'raw' },
      headers: { Origin: 'https://evil.example' },
    });
    assert.equal(csrf.status, 403);
    const rebinding = await fx.app.request('http://attacker.example/api/definitions');
    assert.equal(rebinding.status, 403);
  });

  test('GET /*: the built UI with SPA fallback, or a page saying how to build it', async () => {
    const notBuilt = await call(createApp({ ...appParts(fx), uiDir: path.join(fx.test.home, 'no-ui') }), '/');
    assert.equal(notBuilt.status, 200);
    assert.match(notBuilt.text, /npm run build -w @dag\/ui/);

    const ui = await tempDir('dag-ui-');
    try {
      await mkdir(path.join(ui, 'assets'));
      await writeFile(path.join(ui, 'index.html'), '<!doctype html><div id="root"></div>');
      await writeFile(path.join(ui, 'assets', 'app-123.js'), 'console.log(1)');
      const app = createApp({ ...appParts(fx), uiDir: ui });
      const index = await call(app, '/');
      assert.equal(index.text, '<!doctype html><div id="root"></div>');
      assert.match(index.headers.get('Content-Type') ?? '', /text\/html/);
      const js = await call(app, '/assets/app-123.js');
      assert.equal(js.text, 'console.log(1)');
      assert.match(js.headers.get('Content-Type') ?? '', /javascript/);
      assert.match(js.headers.get('Cache-Control') ?? '', /immutable/);
      const route = await call(app, '/runs/some-run-id');
      assert.equal(route.text, '<!doctype html><div id="root"></div>');
      assert.equal((await call(app, '/assets/missing.js')).status, 404);
      const traversal = await call(app, '/..%2f..%2f..%2fetc%2fpasswd');
      assert.doesNotMatch(traversal.text, /root:/);
    } finally {
      await rm(ui, { recursive: true, force: true });
    }
  });
});

function appParts(fx: ServerFixture) {
  return { workspace: fx.workspace, instance: fx.test.instance, launcher: fx.launcher };
}
