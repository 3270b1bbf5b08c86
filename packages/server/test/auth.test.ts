import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '@dag/core';
import { createApp } from '../src/create-app.ts';
import { tokensEqual } from '../src/http/token-auth.ts';
import { checkBinding, isLoopbackAddress, startServer } from '../src/start-server.ts';
import { call, type ServerFixture, serverFixture } from './support.ts';

const TOKEN = 'test-token-0123456789abcdef-secret';

describe('authentication', () => {
  let fx: ServerFixture;
  before(async () => {
    fx = await serverFixture();
  });
  after(async () => {
    await fx.close();
  });

  test('a non-loopback bind without a token refuses to start, naming DAG_UI_TOKEN', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      await assert.rejects(
        startServer({
          workspace: fx.workspace,
          instance: fx.test.instance,
          launcher: fx.launcher,
          host,
          port: 0,
        }),
        (error: Error) =>
          error instanceof UsageError && /DAG_UI_TOKEN/.test(error.message) && error.message.includes(host),
      );
    }
    assert.throws(() => checkBinding('0.0.0.0', 'short'), /at least 16/);
    assert.doesNotThrow(() => checkBinding('127.0.0.1', undefined));
    assert.doesNotThrow(() => checkBinding('0.0.0.0', TOKEN));
    assert.ok(isLoopbackAddress('localhost') && isLoopbackAddress('127.0.0.2') && isLoopbackAddress('[::1]'));
    assert.ok(!isLoopbackAddress('0.0.0.0') && !isLoopbackAddress('::'));
  });

  test('with a token: 401 without it, 200 with the bearer header or the cookie', async () => {
    const app = createApp({
      workspace: fx.workspace,
      instance: fx.test.instance,
      launcher: fx.launcher,
      token: TOKEN,
    });
    const none = await call<{ error: { name: string; message: string } }>(app, '/api/definitions');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.name, 'Unauthorized');
    assert.ok(!none.text.includes(TOKEN));
    assert.equal(
      (await call(app, '/api/runs', { headers: { Authorization: 'Bearer wrong-token' } })).status,
      401,
    );
    assert.equal(
      (await call(app, '/api/runs', { json: { selection: 'raw' } })).status,
      401,
      'no launch without it',
    );
    assert.equal(
      (await call(app, '/api/definitions', { headers: { Authorization: `Bearer ${TOKEN}` } })).status,
      200,
    );
    assert.equal(
      (await call(app, '/api/definitions', { headers: { Cookie: `dag_token=${TOKEN}` } })).status,
      200,
    );
    // The UI's files too.
    assert.equal((await call(app, '/')).status, 401);
    assert.equal((await call(app, '/runs/x')).status, 401);
    assert.equal((await call(app, '/', { headers: { Cookie: `dag_token=${TOKEN}` } })).status, 200);
  });

  test('GET /?token= sets an HttpOnly SameSite=Strict cookie and redirects to /', async () => {
    const app = createApp({
      workspace: fx.workspace,
      instance: fx.test.instance,
      launcher: fx.launcher,
      token: TOKEN,
    });
    const res = await app.request(`http://localhost/?token=${encodeURIComponent(TOKEN)}`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('Location'), '/');
    const cookie = res.headers.get('Set-Cookie') ?? '';
    assert.match(cookie, new RegExp(`^dag_token=${TOKEN}`));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    assert.equal((await app.request('http://localhost/?token=nope')).status, 401);
  });

  test('tokens compare in constant time whatever their lengths', () => {
    assert.ok(tokensEqual(TOKEN, TOKEN));
    assert.ok(!tokensEqual(`${TOKEN}x`, TOKEN));
    assert.ok(!tokensEqual('', TOKEN));
  });

  test('a real server on a non-loopback address with a token: 401 without, 200 with; close', async () => {
    const server = await startServer({
      workspace: fx.workspace,
      instance: fx.test.instance,
      launcher: fx.launcher,
      host: '0.0.0.0',
      port: 0,
      token: TOKEN,
    });
    try {
      const url = `http://127.0.0.1:${server.port}/api/instance`;
      assert.equal((await fetch(url)).status, 401);
      const ok = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.ok(!(await ok.text()).includes(TOKEN));
    } finally {
      await server.close();
    }
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/api/instance`));
  });
});
