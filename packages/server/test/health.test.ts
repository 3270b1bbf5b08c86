import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DagInstance, knownSchemaVersion, type PostgresStorage } from '@dag/core';
import { createApp } from '../src/create-app.ts';
import { call, type ServerFixture, serverFixture } from './support.ts';

const TOKEN = 'health-token-0123456789abcdef';

describe('health probes /healthz and /readyz', () => {
  let fx: ServerFixture;
  before(async () => {
    fx = await serverFixture({ token: TOKEN });
  });
  after(async () => {
    await fx.close();
  });

  test('answer without the token that every other route requires', async () => {
    assert.equal((await call(fx.app, '/api/runs')).status, 401, 'the API still needs the token');
    const live = await call<{ status: string }>(fx.app, '/healthz');
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    const ready = await call<{ status: string; schemaVersion: number }>(fx.app, '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.body.schemaVersion, await knownSchemaVersion());
  });

  test('/readyz is 503 while the schema lags behind, naming dag instance migrate', async () => {
    const storage = fx.test.instance.storage as PostgresStorage;
    const known = await knownSchemaVersion();
    assert.ok(known > 1);
    await storage.pool.query('DELETE FROM dag_migrations WHERE version = $1', [known]);
    try {
      const { rows } = await storage.pool.query<{ v: number }>(
        'SELECT max(version) AS v FROM dag_migrations',
      );
      const res = await call<{ status: string; reason: string }>(fx.app, '/readyz');
      assert.equal(res.status, 503);
      assert.match(
        res.body.reason,
        new RegExp(`version ${rows[0]?.v},.*needs ${known}.*dag instance migrate`),
      );
    } finally {
      await storage.pool.query('INSERT INTO dag_migrations (version) VALUES ($1)', [known]);
    }
    assert.equal((await call(fx.app, '/readyz')).status, 200);
  });

  test('/readyz is 503 when the instance database cannot be reached; the password never shows', async () => {
    const closed = await DagInstance.open({ home: fx.test.home, postgresUrl: fx.test.url, migrate: false });
    await closed.close();
    const app = createApp({ workspace: fx.workspace, instance: closed, launcher: fx.launcher });
    const res = await call<{ status: string; reason: string }>(app, '/readyz');
    assert.equal(res.status, 503);
    assert.match(res.body.reason, /instance database is unreachable/);
    const password = new URL(fx.test.url).password;
    if (password) assert.ok(!res.text.includes(password));
    assert.equal((await call(app, '/healthz')).status, 200, 'the process is still alive');
  });
});
