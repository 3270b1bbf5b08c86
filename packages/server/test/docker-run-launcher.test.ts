/**
 * The Docker run launcher on a real Docker engine: each run in its own container of the dag
 * image (built here, see docker-image-support.ts), on the host network so the container reaches
 * the test's PostgreSQL on loopback. The image runs the server's test definitions, which it
 * holds like the rest of the repository.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Workspace } from '@dag/core';
import type { DockerEngine } from '../../../pipelines/ds/test/support/docker-engine.ts';
import { freshInstance, type TestInstance } from '../../core/test/support.ts';
import { createRunLauncher } from '../src/create-run-launcher.ts';
import { DockerRunLauncher, RUN_ID_LABEL } from '../src/docker-run-launcher.ts';
import { dockerSkip, engineWithDagImage } from './docker-image-support.ts';
import { FIXTURE, waitFor } from './support.ts';

/** The fixture definitions at their place in the image (/app is the repository). */
const FIXTURE_IN_IMAGE = '/app/packages/server/test/fixtures/server-defs.ts';

// DAG_TEST_DEPLOY=0 (CI's second pass) leaves the tests of the dag image out, saying so.
const skip =
  process.env.DAG_TEST_DEPLOY === '0'
    ? 'DAG_TEST_DEPLOY=0: the dag image is tested in another pass'
    : dockerSkip();

describe('DockerRunLauncher: a container per run', { skip, timeout: 8 * 60_000 }, () => {
  let engine: DockerEngine | undefined;
  let image = '';
  let timings: string[] = [];
  let t: TestInstance;
  let workspace: Workspace;
  let launcher: DockerRunLauncher;

  const runContainers = async () =>
    (
      await (engine as DockerEngine).docker.listContainers({ all: true, filters: { label: [RUN_ID_LABEL] } })
    ).map((c) => `${c.Names.join(',')} ${c.State}`);

  /** Waits until the `stubborn` step has started blocking its event loop. */
  const blocking = (runId: string) =>
    waitFor(
      'the blocking step to start',
      async () => {
        const events = await t.instance.storage.getEvents(runId, { limit: 1000 });
        return events.some((e) => e.type === 'LOG' && e.message.includes('blocking')) ? true : undefined;
      },
      120_000,
    );

  before(async () => {
    ({ engine, image, timings } = await engineWithDagImage());
    t = await freshInstance();
    workspace = await Workspace.load({ file: FIXTURE });
    launcher = new DockerRunLauncher({
      instance: t.instance,
      workspace,
      image,
      docker: engine.docker,
      codeFile: FIXTURE_IN_IMAGE,
      graceMs: 2000,
    });
  });

  after(async () => {
    await launcher?.close();
    await t?.cleanup();
    await engine?.stop();
    console.log(`# ${timings.join('; ')}`);
  });

  test('DAG_RUN_LAUNCHER=docker selects it; missing settings are named', () => {
    const env = { DAG_RUN_LAUNCHER: 'docker', DAG_DOCKER_IMAGE: image, DAG_DOCKER_FORWARD_ENV: 'A, B' };
    assert.ok(createRunLauncher({ instance: t.instance, workspace }, env) instanceof DockerRunLauncher);
    assert.ok(!(createRunLauncher({ instance: t.instance, workspace }, {}) instanceof DockerRunLauncher));
    assert.throws(
      () => createRunLauncher({ instance: t.instance, workspace }, { DAG_RUN_LAUNCHER: 'docker' }),
      /DAG_DOCKER_IMAGE/,
    );
    assert.throws(
      () => createRunLauncher({ instance: t.instance, workspace }, { DAG_RUN_LAUNCHER: 'k8s' }),
      /DAG_RUN_LAUNCHER must be 'process' or 'docker'/,
    );
  });

  test('a run succeeds in its own container: config over stdin, output in the log file, container removed', async () => {
    const run = await launcher.launch({
      location: workspace.location(),
      job: 'etl',
      runConfig: { ops: { scale: { config: { by: 7 } } } },
    });
    const containers = await runContainers();
    assert.equal(containers.length, 1, `one container while it runs: ${containers}`);
    await launcher.waitFor(run.runId);
    const stored = await t.instance.storage.getRun(run.runId);
    const log = await readFile(launcher.logFile(run.runId), 'utf8');
    assert.equal(stored?.status, 'SUCCESS', log);
    assert.match(log, new RegExp(`starting a container of ${image.replace('.', '\\.')}`));
    assert.match(log, /scale/, 'the run process output is collected');
    assert.match(log, /container exited with code 0/);
    const events = await t.instance.storage.getEvents(run.runId, { limit: 1000 });
    const output = events.find((e) => e.type === 'STEP_SUCCESS' && e.stepKey === 'scale');
    assert.ok(output, 'the run recorded its steps in the instance database');
    assert.deepEqual(await runContainers(), [], 'the container is removed');
  });

  test('terminate stops the container within the grace period even when the run ignores SIGTERM', async () => {
    const run = await launcher.launch({ location: workspace.location(), selection: 'stubborn' });
    await blocking(run.runId);
    const started = Date.now();
    const outcome = await launcher.terminate(run.runId);
    assert.equal(outcome.outcome, 'canceling');
    await launcher.waitFor(run.runId);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000 + 8000, `stopped in ${elapsed} ms (grace 2 s)`);
    const stored = await t.instance.storage.getRun(run.runId);
    assert.equal(stored?.status, 'CANCELED');
    assert.deepEqual(await runContainers(), []);
  });

  test('a container that dies mid-run fails its run, naming the exit code and the log file', async () => {
    const run = await launcher.launch({ location: workspace.location(), selection: 'stubborn' });
    await blocking(run.runId);
    const [container] = await (engine as DockerEngine).docker.listContainers({
      filters: { label: [`${RUN_ID_LABEL}=${run.runId}`] },
    });
    assert.ok(container);
    await (engine as DockerEngine).docker.getContainer(container.Id).kill({ signal: 'SIGKILL' });
    await launcher.waitFor(run.runId);
    const stored = await t.instance.storage.getRun(run.runId);
    assert.equal(stored?.status, 'FAILURE');
    const events = await t.instance.storage.getEvents(run.runId, { limit: 1000 });
    const failure = events.find((e) => e.type === 'RUN_FAILURE');
    assert.match(failure?.message ?? '', /container exited with code 137/);
    assert.ok(failure?.message.includes(launcher.logFile(run.runId)));
  });
});
