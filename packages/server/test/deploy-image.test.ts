/**
 * The dag image run as `docker run <image>` (no arguments) on a real Docker engine: `dag dev` on
 * an embedded PostgreSQL, as the image's unprivileged user, with tini as PID 1 and a UI token made
 * once and never printed. The container has its own loopback only (network `none`): the test
 * talks to the server from inside it, with `docker exec`.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type Docker from 'dockerode';
import type { DockerEngine } from '../../../pipelines/ds/test/support/docker-engine.ts';
import { dockerSkip, engineWithDagImage } from './docker-image-support.ts';
import { waitFor } from './support.ts';

const skip =
  process.env.DAG_TEST_DEPLOY === '0'
    ? 'DAG_TEST_DEPLOY=0: the dag image is tested in another pass'
    : dockerSkip();

/** Runs a command in the container; its exit code and output (stdout and stderr). */
async function exec(
  container: Docker.Container,
  docker: Docker,
  cmd: string[],
): Promise<{ code: number; out: string }> {
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.once('end', resolve));
  const { ExitCode } = await e.inspect();
  return { code: ExitCode ?? -1, out: Buffer.concat(chunks).toString('utf8') };
}

describe('docker run <dag image>: the UI on an embedded PostgreSQL', { skip, timeout: 8 * 60_000 }, () => {
  let engine: DockerEngine | undefined;
  let container: Docker.Container | undefined;
  let timings: string[] = [];

  before(async () => {
    let image: string;
    ({ engine, image, timings } = await engineWithDagImage());
    container = await engine.docker.createContainer({ Image: image, HostConfig: { NetworkMode: 'none' } });
    await container.start();
  });

  after(async () => {
    await container?.remove({ force: true }).catch(() => {});
    await engine?.stop();
    console.log(`# ${timings.join('; ')}`);
  });

  test('serves dag dev behind a token it keeps in the instance folder, as uid 1000 under tini', async () => {
    const docker = (engine as DockerEngine).docker;
    const c = container as Docker.Container;
    const ready = async () => {
      const r = await exec(c, docker, [
        'node',
        '/app/deploy/healthcheck.mjs',
        'http',
        'http://127.0.0.1:3000/readyz',
      ]);
      return r.code === 0 ? r : undefined;
    };
    await waitFor('dag dev to be ready on 0.0.0.0:3000', ready, 4 * 60_000).catch(async (error) => {
      const logs = (await c.logs({ stdout: true, stderr: true })).toString('utf8');
      throw new Error(`${(error as Error).message}\n${logs}`);
    });

    const token = await exec(c, docker, [
      'sh',
      '-c',
      'stat -c "%a %u" /var/lib/dag/ui-token && cat /var/lib/dag/ui-token',
    ]);
    assert.equal(token.code, 0, token.out);
    const [mode, secret] = token.out.trim().split('\n');
    assert.equal(mode, '600 1000', 'the token file is the user’s alone');
    assert.match(secret ?? '', /^[0-9a-f]{64}$/);

    const api = (header: string) =>
      exec(c, docker, [
        'node',
        '-e',
        `fetch('http://127.0.0.1:3000/api/instance', { headers: { Authorization: '${header}' } }).then(async (r) => { console.log(r.status); console.log(await r.text()); })`,
      ]);
    assert.match((await api('Bearer wrong-token-0123456789')).out, /^401/);
    const ok = await api(`Bearer ${secret}`);
    assert.match(ok.out, /^200/, ok.out);
    assert.match(ok.out, /"postgres":"17\./, 'the embedded PostgreSQL');

    const ps = await exec(c, docker, ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; id -u']);
    assert.match(ps.out, /^\/usr\/bin\/tini -- /, `PID 1 is tini: ${ps.out}`);
    assert.match(ps.out, /\n1000\n?$/);

    const logs = (await c.logs({ stdout: true, stderr: true })).toString('utf8');
    assert.match(logs, /ui-token/, 'the log says where the token is');
    assert.ok(!logs.includes(secret as string), 'the token itself is never printed');
  });
});
