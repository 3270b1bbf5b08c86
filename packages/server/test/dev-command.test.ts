import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freshDatabase, spawnWatched, tempDir } from '../../core/test/support.ts';
import { FIXTURE, waitFor } from './support.ts';

const MAIN = path.join(import.meta.dirname, 'fixtures', 'dev-main.ts');

function dev(args: string[], env: NodeJS.ProcessEnv) {
  return spawnWatched(['--import', 'tsx', MAIN, ...args], env);
}

describe('dag dev', () => {
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let home: string;
  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    home = await tempDir('dag-dev-');
    env = { DAG_POSTGRES_URL: db.url, DAG_HOME: home, DAG_UI_TOKEN: '' };
  });
  after(async () => {
    await drop();
    await rm(home, { recursive: true, force: true });
  });

  test('refuses a non-loopback host without DAG_UI_TOKEN', async () => {
    const run = dev(['dev', '--host', '0.0.0.0', '-f', FIXTURE], env);
    assert.equal(await run.exited, 2);
    assert.match(run.output(), /UsageError: Refusing to listen on 0\.0\.0\.0 without a token.*DAG_UI_TOKEN/);
  });

  test('serves, prints the URL, and stops cleanly on SIGINT', async () => {
    const run = dev(['-f', FIXTURE, 'dev', '--port', '0', '--ui-dir', home], env);
    const url = await waitFor('the URL', async () => run.output().match(/listening on (http:\/\/\S+)/)?.[1]);
    const res = await fetch(`${url}api/definitions`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { locations: unknown[] }).locations.length, 1);
    // The daemon runs inside dag dev: its heartbeat shows on the instance page.
    await waitFor('the daemon heartbeat', async () => {
      const info = (await (await fetch(`${url}api/instance`)).json()) as {
        daemon: { daemonId: string } | null;
      };
      return info.daemon?.daemonId;
    });
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /dag dev: stopped/);
  });

  test('with DAG_UI_TOKEN on a non-loopback host: starts, never prints the token', async () => {
    const token = 'dev-command-token-abcdef123456';
    const run = dev(['dev', '--host', '0.0.0.0', '--port', '0', '--ui-dir', home, '-f', FIXTURE], {
      ...env,
      DAG_UI_TOKEN: token,
    });
    const url = await waitFor('the URL', async () => run.output().match(/listening on (http:\/\/\S+)/)?.[1]);
    const port = new URL(url).port;
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/definitions`)).status, 401);
    const ok = await fetch(`http://127.0.0.1:${port}/api/definitions`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(ok.status, 200);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.output());
    assert.ok(!run.output().includes(token));
    assert.match(run.output(), /DAG_UI_TOKEN/);
  });
});
