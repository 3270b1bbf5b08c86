import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, type ServerFixture, serverFixture } from './support.ts';

const KEY = 'pk-7731-a9f2-given-at-launch';
const runConfig = { resources: { payments: { config: { apiKey: KEY } } } };

describe('a secret in the run config of a run launched through the API', () => {
  let fx: ServerFixture;
  before(async () => {
    fx = await serverFixture({ file: path.join(import.meta.dirname, 'fixtures', 'secret-config-defs.ts') });
  });
  after(async () => {
    await fx.close();
  });

  const statusOf = async (runId: string) =>
    (await call<{ run: { status: string; error: string | null } }>(fx.app, `/api/runs/${runId}`)).body.run;

  test('reaches the run process intact and is stored, shown and logged nowhere', async () => {
    const launched = await call<{ runId: string }>(fx.app, '/api/runs', {
      json: { selection: 'charges', runConfig },
    });
    assert.equal(launched.status, 201, launched.text);
    const { runId } = launched.body;
    await fx.launcher.waitFor(runId);
    const run = await statusOf(runId);
    assert.equal(run.status, 'SUCCESS', run.error ?? '');

    const stored = await fx.test.instance.storage.getRun(runId);
    assert.deepEqual(stored?.runConfig, { ops: {}, resources: { payments: { config: { apiKey: '***' } } } });
    const seen = [
      JSON.stringify(await fx.test.instance.storage.getEvents(runId)),
      (await call(fx.app, `/api/runs/${runId}`)).text,
      (await call(fx.app, '/api/runs')).text,
      (await call(fx.app, `/api/runs/${runId}/events`)).text,
      (await call(fx.app, `/api/runs/${runId}/logs`)).text,
      await readFile(fx.launcher.logFile(runId), 'utf8'),
    ];
    for (const text of seen) assert.ok(!text.includes(KEY), `the secret leaked: ${text.slice(0, 300)}`);
    assert.match(seen[0]!, /charging with \*\*\*/);

    // Re-executing it names the field to give again; given, the re-execution runs with it.
    const bare = await call<{ message: string }>(fx.app, `/api/runs/${runId}/reexecute`, { json: {} });
    assert.equal(bare.status, 400, bare.text);
    assert.match(bare.text, /resources\.payments\.config\.apiKey/);
    const again = await call<{ runId: string }>(fx.app, `/api/runs/${runId}/reexecute`, {
      json: { runConfig },
    });
    assert.equal(again.status, 201, again.text);
    await fx.launcher.waitFor(again.body.runId);
    assert.equal((await statusOf(again.body.runId)).status, 'SUCCESS');
    assert.ok(!(await readFile(fx.launcher.logFile(again.body.runId), 'utf8')).includes(KEY));
  });
});
