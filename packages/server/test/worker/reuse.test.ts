import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type Definitions, submitRun, Workspace } from '@dag/core';
import { freshInstance, type TestInstance } from '../../../core/test/support.ts';
import { waitFor } from '../support.ts';
import {
  startDispatchingDaemon,
  startWorker,
  stopWorker,
  WORKER_FIXTURE,
  WORKER_TEST_ENV,
  type WorkerProcess,
} from './support.ts';

Object.assign(process.env, WORKER_TEST_ENV);
// An environment that asks for colour (as CI does): a run's log must stay plain text all the same.
process.env.FORCE_COLOR = '1';

describe('run processes reused by a worker', () => {
  let test: TestInstance;
  let definitions: Definitions;
  let daemon: Awaited<ReturnType<typeof startDispatchingDaemon>>;
  const workers: WorkerProcess[] = [];
  // A module of the fixture's package written during the test: a change of its code on disk.
  const changed = path.join(path.dirname(WORKER_FIXTURE), `reuse-change-${process.pid}.ts`);

  before(async () => {
    test = await freshInstance();
    definitions = (await Workspace.load({ file: WORKER_FIXTURE })).locations[0]!.definitions;
    daemon = await startDispatchingDaemon(test.instance);
  });

  after(async () => {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await daemon.stop();
    await test.cleanup();
    await rm(changed, { force: true });
  });

  /** A worker that stops when the test ends, passed or not: the next test's runs must not reach it. */
  const spawnWorker = async (t: TestContext, args: string[]) => {
    const w = startWorker(test, { concurrency: 1, args: ['--prestart', '0', ...args] });
    workers.push(w);
    t.after(() => stopWorker(w));
    await waitFor('the worker registered', async () => w.id(), 60_000);
    return w;
  };
  /** Runs `job` to its end on the worker; its status and the pid of the process that executed it. */
  const runToEnd = async (job: string) => {
    const { runId } = await submitRun(test.instance, definitions, { job, status: 'QUEUED' });
    const run = await waitFor(
      `run ${runId} of ${job} finished`,
      async () => {
        const r = await test.instance.storage.getRun(runId);
        return r && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(r.status) ? r : undefined;
      },
      60_000,
    );
    return { runId, status: run.status, pid: run.pid };
  };

  it('executes runs one after another in one process, each with its own log; retires it after a failed run and when the code changes on disk', async (t) => {
    const w = await spawnWorker(t, []);
    const a = await runToEnd('noop_job');
    const b = await runToEnd('noop_job');
    assert.equal(a.status, 'SUCCESS');
    assert.equal(b.status, 'SUCCESS');
    assert.ok(a.pid !== null);
    assert.equal(b.pid, a.pid, 'the second run went to the process of the first');
    const logB = await readFile(path.join(test.home, 'logs', `${b.runId}.log`), 'utf8');
    assert.match(logB, /run 2 of that process/);
    assert.match(logB, new RegExp(`Run ${b.runId} SUCCESS`));
    assert.doesNotMatch(logB, /\x1b\[/, 'no terminal colour codes in a log file');
    assert.doesNotMatch(logB, new RegExp(a.runId), "the first run's output is not in the second's log");

    // A run that fails: its process is retired, the next run gets a new one.
    const c = await runToEnd('fails_job');
    assert.equal(c.status, 'FAILURE');
    assert.equal(c.pid, a.pid);
    const logC = await readFile(path.join(test.home, 'logs', `${c.runId}.log`), 'utf8');
    assert.match(logC, /retired: its run ended FAILURE/);
    const d = await runToEnd('noop_job');
    assert.equal(d.status, 'SUCCESS');
    assert.notEqual(d.pid, a.pid);

    // The code changes on disk: the idle process that loaded the old code is retired.
    await waitFor('the worker watches the code', async () =>
      w.output().includes('Watching the code locations for changes') ? true : undefined,
    );
    await writeFile(changed, 'export const changed = 1;\n');
    await waitFor('the worker saw the change', async () =>
      // The process of run d may still be on its way back to the idle ones (its run is stored
      // as ended first): retired now or when it comes back, it runs nothing more.
      w.output().includes(`${changed} changed: `) ? true : undefined,
    );
    const e = await runToEnd('noop_job');
    assert.equal(e.status, 'SUCCESS');
    assert.notEqual(e.pid, d.pid);
    await stopWorker(w);
  });

  it('--max-runs-per-process retires a process after that many runs; --fresh-process-per-run starts one per run', async (t) => {
    const w = await spawnWorker(t, ['--max-runs-per-process', '2']);
    const [a, b, c] = [await runToEnd('noop_job'), await runToEnd('noop_job'), await runToEnd('noop_job')];
    assert.deepEqual([a.status, b.status, c.status], ['SUCCESS', 'SUCCESS', 'SUCCESS']);
    assert.equal(b.pid, a.pid);
    assert.notEqual(c.pid, b.pid);
    await stopWorker(w);

    const fresh = await spawnWorker(t, ['--fresh-process-per-run']);
    const [x, y] = [await runToEnd('noop_job'), await runToEnd('noop_job')];
    assert.deepEqual([x.status, y.status], ['SUCCESS', 'SUCCESS']);
    assert.notEqual(x.pid, y.pid);
    await stopWorker(fresh);
  });
});
