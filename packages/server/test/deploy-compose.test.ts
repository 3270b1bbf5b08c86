/**
 * deploy/compose.yaml on a real Docker engine: the dag image is built here (on a base image
 * imported from this machine's files: there is no registry), `docker-compose up` brings up
 * PostgreSQL, the migration, the web server, the daemon and two workers, every health check
 * turns healthy, a run launched through the API finishes SUCCESS on a worker, and `down -v`
 * removes it all. The private engine has no bridge network: the test runs compose.yaml as it is
 * but for two things, every service on the host network (listening on loopback only) and so no
 * published port.
 *
 * DAG_TEST_DOCKER_CACHE_DIR keeps the engine's images between test files and runs (the image
 * is then built once). DAG_TEST_DEPLOY=0 leaves this file out, saying so (CI's second pass:
 * the image's Node is the base image's, not the Node running the tests).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { type DockerEngine, REPO_ROOT } from '../../../pipelines/ds/test/support/docker-engine.ts';
import { dockerSkip, engineWithDagImage, freePort } from './docker-image-support.ts';
import { waitFor } from './support.ts';

const run = promisify(execFile);

const skip =
  process.env.DAG_TEST_DEPLOY === '0'
    ? 'DAG_TEST_DEPLOY=0: the compose deployment is tested in another pass'
    : dockerSkip(['docker-compose']);

describe('deploy/compose.yaml on a real Docker engine', { skip, timeout: 8 * 60_000 }, () => {
  let engine: DockerEngine | undefined;
  const project = `dagdeploy${process.pid}`;
  const token = randomBytes(24).toString('hex');
  const password = randomBytes(18).toString('hex');
  let env: NodeJS.ProcessEnv = {};
  let webUrl = '';
  let up = false;

  let composeFile = '';
  const compose = async (...args: string[]) =>
    await run('docker-compose', ['-f', composeFile, '-p', project, ...args], {
      cwd: REPO_ROOT,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });

  /** Name -> { state, health, exit code } of the project's containers, by compose service. */
  const services = async () => {
    const docker = (engine as DockerEngine).docker;
    const list = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${project}`] },
    });
    const out: Record<string, { state: string; health: string | undefined; exitCode: number }> = {};
    for (const c of list) {
      const info = await docker.getContainer(c.Id).inspect();
      out[c.Labels['com.docker.compose.service'] as string] = {
        state: info.State.Status,
        health: info.State.Health?.Status,
        exitCode: info.State.ExitCode,
      };
    }
    return out;
  };

  let timings: string[] = [];

  before(async () => {
    const started = await engineWithDagImage();
    engine = started.engine;
    timings = started.timings;
    const image = { tag: started.image };
    // compose.yaml on the host network: no bridge, no published ports (host networking has none).
    const spec = parse(await readFile(path.join(REPO_ROOT, 'deploy/compose.yaml'), 'utf8'), {
      merge: true,
    }) as {
      services: Record<string, Record<string, unknown>>;
    };
    for (const service of Object.values(spec.services)) {
      service.network_mode = 'host';
      delete service.ports;
    }
    composeFile = path.join(engine.dir, 'compose.yaml');
    // As JSON (YAML too): compose's YAML 1.1 would read an unquoted `no` as false.
    await writeFile(composeFile, JSON.stringify(spec, null, 2));
    const webPort = await freePort();
    webUrl = `http://127.0.0.1:${webPort}`;
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DOCKER_HOST: engine.host,
      DAG_IMAGE: image.tag,
      DAG_POSTGRES_PASSWORD: password,
      DAG_POSTGRES_HOST: '127.0.0.1',
      DAG_POSTGRES_PORT: String(await freePort()),
      DAG_POSTGRES_LISTEN: '127.0.0.1',
      DAG_WEB_LISTEN: '127.0.0.1',
      DAG_WEB_PORT: String(webPort),
      DAG_UI_TOKEN: token,
      DAG_WORKER_CONCURRENCY: '2',
    };
  });

  after(async () => {
    try {
      if (up) {
        const { stdout, stderr } = await compose('down', '-v', '--timeout', '20');
        assert.deepEqual(Object.keys(await services()), [], `down left containers: ${stdout}${stderr}`);
      }
    } finally {
      await engine?.stop();
      console.log(`# ${timings.join('; ')}`);
    }
  });

  test('comes up healthy, runs a job launched through the API on a worker, and goes down', async () => {
    const logs = async () => (await compose('logs', '--no-color', '--tail', '60').catch((e) => e)).stdout;
    let started = Date.now();
    up = true;
    await compose('up', '-d');
    try {
      const states = await waitFor(
        'every service healthy (migrate exited 0)',
        async () => {
          const s = await services();
          const ok =
            s.migrate?.state === 'exited' &&
            s.migrate.exitCode === 0 &&
            ['postgres', 'web', 'worker-1', 'worker-2'].every((name) => s[name]?.health === 'healthy') &&
            s.daemon?.state === 'running';
          if (s.migrate?.state === 'exited' && s.migrate.exitCode !== 0) {
            throw new Error(`the migration failed (exit ${s.migrate.exitCode})`);
          }
          return ok ? s : undefined;
        },
        4 * 60_000,
      );
      timings.push(`compose up to all healthy in ${Date.now() - started} ms`);
      assert.equal(Object.keys(states).length, 6, JSON.stringify(states));

      // The probes answer without the token; the API needs it.
      assert.equal((await fetch(`${webUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${webUrl}/readyz`)).status, 200);
      assert.equal((await fetch(`${webUrl}/api/runs`)).status, 401);

      started = Date.now();
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
      const launched = await fetch(`${webUrl}/api/runs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ location: 'quickstart', job: 'etl_job' }),
      });
      const body = (await launched.json()) as { runId: string };
      assert.equal(launched.status, 201, JSON.stringify(body));
      const finished = await waitFor(
        `run ${body.runId} finished`,
        async () => {
          const res = await fetch(`${webUrl}/api/runs/${body.runId}`, { headers });
          const { run } = (await res.json()) as { run: Record<string, unknown> & { status: string } };
          return ['SUCCESS', 'FAILURE', 'CANCELED'].includes(run.status) ? run : undefined;
        },
        2 * 60_000,
      );
      timings.push(`run ${finished.status} in ${Date.now() - started} ms`);
      assert.equal(finished.status, 'SUCCESS', JSON.stringify(finished));
      // A worker ran it: the run names it, and it is one of the two the instance knows.
      const { stdout } = await compose('exec', '-T', 'web', 'dag', 'worker', 'list', '--json');
      const { workers } = JSON.parse(stdout) as { workers: { workerId: string; alive: boolean }[] };
      assert.equal(workers.filter((w) => w.alive).length, 2, stdout);
      assert.ok(
        workers.some((w) => w.workerId === finished.workerId),
        `run ${body.runId} names its worker (${String(finished.workerId)}), one of ${stdout}`,
      );
    } catch (error) {
      console.log(`# compose logs:\n${await logs()}`);
      throw error;
    }
  });
});
