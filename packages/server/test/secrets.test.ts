import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../src/create-app.ts';
import { call, readSse, type ServerFixture, serverFixture } from './support.ts';

// Known secret values, set before the instance opens (it registers secret-looking variables).
const VAULT_KEY = 'sekret-vault-key-7d3f9a';
const WAREHOUSE_PASSWORD = 'pg-pass-5555-zz';
const UI_TOKEN = 'ui-token-for-secrets-test-0042';
process.env.SERVER_TEST_VAULT_KEY = VAULT_KEY;
// Not marked secret in the resource: shown by describe(), but its password is a URL password.
process.env.SERVER_TEST_VAULT_URL = `postgres://wh:${WAREHOUSE_PASSWORD}@db.example:5432/wh`;
process.env.SERVER_TEST_WAREHOUSE_URL = `postgres://wh:${WAREHOUSE_PASSWORD}@db.example:5432/wh`;

describe('secrets never leave the server', () => {
  let fx: ServerFixture;
  let secrets: string[];
  before(async () => {
    fx = await serverFixture();
    // The instance's own database password (a DAG_POSTGRES_URL in production).
    const dbPassword = decodeURIComponent(new URL(fx.test.url).password);
    secrets = [VAULT_KEY, WAREHOUSE_PASSWORD, UI_TOKEN, ...(dbPassword ? [dbPassword] : [])];
  });
  after(async () => {
    await fx.close();
  });

  test('no response body contains a known secret value', async () => {
    const app = createApp({
      workspace: fx.workspace,
      instance: fx.test.instance,
      launcher: fx.launcher,
      token: UI_TOKEN,
      streamPollMs: 50,
    });
    const auth = { Authorization: `Bearer ${UI_TOKEN}` };
    const bodies: [string, string][] = [];
    const get = async (route: string) => {
      const res = await call(app, route, { headers: auth });
      bodies.push([route, res.text]);
      return res;
    };

    // A run whose asset logs its secret, puts it in metadata, prints it and throws it; and a
    // launch whose run config carries a secret as a resource override.
    const launched = await call<{ runId: string }>(app, '/api/runs', {
      json: { selection: 'leaky', runConfig: { resources: { vault: { config: { apiKey: VAULT_KEY } } } } },
      headers: auth,
    });
    assert.equal(launched.status, 201, launched.text);
    bodies.push(['POST /api/runs', launched.text]);
    const { runId } = launched.body;
    const stream = await app.request(`http://localhost/api/runs/${runId}/events/stream`, { headers: auth });
    let sse = '';
    for await (const m of readSse(stream)) sse += `${m.event} ${m.data}\n`;
    bodies.push(['SSE', sse]);
    await fx.launcher.waitFor(runId);

    const run = await get(`/api/runs/${runId}`);
    assert.equal((run.body as { run: { status: string } }).run.status, 'FAILURE');
    for (const route of [
      '/api/definitions',
      '/api/assets',
      '/api/graph',
      '/api/assets/leaky',
      '/api/assets/leaky/materializations',
      '/api/assets/leaky/checks',
      '/api/runs',
      `/api/runs/${runId}/events`,
      `/api/runs/${runId}/logs`,
      '/api/instance',
      '/api/schedules',
      '/api/sensors',
      '/',
      `/api/runs?cursor=${VAULT_KEY}`,
      `/api/graph?selection=${VAULT_KEY}`,
      `/api/assets/${VAULT_KEY}`,
    ]) {
      await get(route);
    }
    const badLaunch = await call(app, '/api/runs', { json: { selection: VAULT_KEY }, headers: auth });
    bodies.push(['bad launch', badLaunch.text]);

    for (const [route, text] of bodies) {
      for (const secret of secrets)
        assert.ok(!text.includes(secret), `${route} leaks a secret: ${text.slice(0, 300)}`);
    }
    // The leaks were attempted, and redacted.
    assert.match(sse, /the key is \*\*\*/);
    assert.match(bodies.find(([r]) => r === '/api/definitions')![1], /postgres:\/\/wh:\*\*\*@db\.example/);

    // The run's raw log file on disk: user code's own prints are redacted in the run process.
    const log = await readFile(fx.launcher.logFile(runId), 'utf8');
    assert.match(log, /stdout: \*\*\*/);
    for (const secret of secrets) assert.ok(!log.includes(secret), `the log file leaks a secret:\n${log}`);
  });
});
