/**
 * The run lifecycle under faults: processes killed with SIGKILL (a CLI run, `dag dev` with its
 * run process, a run process alone), the embedded PostgreSQL killed mid-run, a read-only and a
 * full instance folder, and terminating queued runs. Each case ends with every run in a final
 * status and the queue moving. Heartbeats are shortened through the environment; every wait
 * is for a condition, with a timeout.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  Daemon,
  type DaemonOptions,
  DagInstance,
  FINISHED_RUN_STATUSES,
  isProcessAlive,
  type RunRecord,
  stopEmbeddedPostgres,
  Workspace,
} from '@dag/core';
import { freshDatabase, spawnWatched, tempDir } from '../../core/test/support.ts';
import { createApp } from '../src/create-app.ts';
import { RunLauncher } from '../src/run-launcher.ts';
import { call, waitFor } from './support.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'fault-defs.ts');
const DEV_MAIN = path.join(import.meta.dirname, 'fixtures', 'dev-main.ts');
const CLI = path.resolve(import.meta.dirname, '../../cli/bin/dag.js');
/** Owners heartbeat every 300 ms and are presumed dead after 3 s of silence. */
const LIVENESS = { DAG_RUN_HEARTBEAT_MS: '300', DAG_RUN_HEARTBEAT_TIMEOUT_MS: '3000' };
const RECONCILED_WITHIN = 30_000;

interface Proc {
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Proc {
  const { child, output, exited } = spawnWatched(args, { ...LIVENESS, ...env });
  return { pid: child.pid!, output, exited };
}

/** SIGINT, then its exit code; a dag dev that has not stopped within 60 s is killed and the test fails. */
async function stopDev(dev: Proc): Promise<number | null> {
  process.kill(dev.pid, 'SIGINT');
  const code = await Promise.race([
    dev.exited,
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000).unref()),
  ]);
  if (code !== 'hung') return code;
  process.kill(dev.pid, 'SIGKILL');
  await dev.exited;
  throw new Error(`dag dev did not stop within 60 s of SIGINT:\n${dev.output()}`);
}

const cli = (args: string[], env: NodeJS.ProcessEnv) => start([CLI, '-f', FIXTURE, ...args], env);

function startDev(env: NodeJS.ProcessEnv, home: string) {
  const proc = start(
    ['--import', 'tsx', DEV_MAIN, '-f', FIXTURE, 'dev', '--port', '0', '--ui-dir', home],
    env,
  );
  return {
    ...proc,
    url: () =>
      waitFor(
        'dag dev to listen',
        async () => proc.output().match(/listening on (http:\/\/\S+)/)?.[1],
        60_000,
      ),
  };
}

async function runOf(instance: DagInstance, runId: string): Promise<RunRecord> {
  const run = await instance.storage.getRun(runId);
  assert.ok(run, `run ${runId} exists`);
  return run;
}

function finished(instance: DagInstance, runId: string, timeoutMs = RECONCILED_WITHIN): Promise<RunRecord> {
  return waitFor(
    `run ${runId} to finish`,
    async () => {
      const run = await instance.storage.getRun(runId).catch(() => undefined);
      return run && FINISHED_RUN_STATUSES.includes(run.status) ? run : undefined;
    },
    timeoutMs,
  );
}

/** Waits until the run is STARTED and has logged `tick <n>`. */
async function ticking(instance: DagInstance, runId: string, n = 2): Promise<RunRecord> {
  await waitFor(
    `run ${runId} to tick`,
    async () => {
      const events = await instance.storage.getEvents(runId, { types: ['LOG'] });
      return events.some((e) => e.message === `tick ${n}`) || undefined;
    },
    60_000,
  );
  return await runOf(instance, runId);
}

async function ticks(instance: DagInstance, runId: string): Promise<number[]> {
  const events = await instance.storage.getEvents(runId, { types: ['LOG'] });
  return events.flatMap((e) => (/^tick \d+$/.test(e.message) ? [Number(e.message.slice(5))] : []));
}

async function noRunInProgress(instance: DagInstance): Promise<void> {
  const open = (await instance.storage.listRuns({ limit: 1000 })).runs.filter(
    (r) => !FINISHED_RUN_STATUSES.includes(r.status),
  );
  assert.deepEqual(
    open.map((r) => `${r.runId} ${r.status}`),
    [],
    'no run is left in a non-final status',
  );
}

async function api<T>(
  url: string,
  route: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(route, url), {
    signal: AbortSignal.timeout(30_000),
    ...init,
    headers: { 'Content-Type': 'application/json' },
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T,
  };
}

describe('run lifecycle under faults (shared database)', () => {
  let env: NodeJS.ProcessEnv;
  let home: string;
  let stopFile: string;
  let drop: () => Promise<void>;
  let instance: DagInstance;

  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    home = await tempDir('dag-fault-');
    stopFile = path.join(home, 'stop');
    env = { DAG_POSTGRES_URL: db.url, DAG_HOME: home, DAG_UI_TOKEN: '', FAULT_STOP_FILE: stopFile };
    instance = await DagInstance.open({ home, postgresUrl: db.url });
  });
  after(async () => {
    await instance.close();
    await drop();
    await rm(home, { recursive: true, force: true });
  });

  test('kill -9 of CLI runs: terminate cancels one at once, the daemon fails the other, the queue moves', async () => {
    await rm(stopFile, { force: true });
    const first = cli(['materialize', '--select', 'ticker'], env);
    const second = cli(['materialize', '--select', 'ticker'], env);
    const ids = await waitFor(
      'two CLI runs',
      async () => {
        const runs = (await instance.storage.listRuns({ statuses: ['STARTED'] })).runs;
        return runs.length === 2 ? runs.map((r) => r.runId) : undefined;
      },
      60_000,
    );
    for (const id of ids) await ticking(instance, id);
    process.kill(first.pid, 'SIGKILL');
    process.kill(second.pid, 'SIGKILL');
    await Promise.all([first.exited, second.exited]);
    const [canceledId, failedId] = ids as [string, string];

    // `dag terminate` of an orphan: its process is gone, so it is CANCELED now, not CANCELING forever.
    const terminate = cli(['terminate', canceledId], env);
    assert.equal(await terminate.exited, 0, terminate.output());
    assert.match(terminate.output(), /is CANCELED/);
    const canceled = await runOf(instance, canceledId);
    assert.equal(canceled.status, 'CANCELED');
    assert.match(canceled.error ?? '', /process \d+ .* was already gone/);
    // Asking again is harmless and says the run has finished.
    const again = cli(['terminate', canceledId], env);
    assert.equal(await again.exited, 2);
    assert.match(again.output(), /is CANCELED; only a queued or running run can be terminated/);

    // The other orphan holds the only slot; the daemon finds it dead and fails it, then starts the queue.
    const workspace = await Workspace.load({ file: FIXTURE });
    const liveness = { heartbeatMs: 300, timeoutMs: 3000 };
    const launcher = new RunLauncher({
      instance,
      workspace,
      liveness,
      env: { ...process.env, ...LIVENESS, ...env },
    });
    const stop = new AbortController();
    const daemon = new Daemon({
      instance,
      locations: workspace.locations,
      maxConcurrentRuns: 1,
      liveness,
      launch: (run) => launcher.execute(run.runId),
    });
    const { submitRun } = await import('@dag/core');
    const queued = await submitRun(instance, workspace.locations[0]!.definitions, {
      location: workspace.locations[0]!.name,
      job: 'quick_job',
      status: 'QUEUED',
    });
    const running = daemon.run(stop.signal, { idleMs: 200 });
    try {
      const failed = await finished(instance, failedId);
      assert.equal(failed.status, 'FAILURE');
      assert.match(failed.error ?? '', /owner is gone: its process \d+ on .* exited without finishing it/);
      const events = await instance.storage.getEvents(failedId);
      assert.equal(events.at(-1)?.type, 'RUN_FAILURE', 'the final event is the last one');
      const next = await finished(instance, queued.runId, 60_000);
      assert.equal(next.status, 'SUCCESS', `the queue moved: ${next.error}`);
    } finally {
      stop.abort();
      await running;
      await launcher.close();
    }
    await noRunInProgress(instance);
  });

  /**
   * The API and run queue of `dag dev`, in this process: the app, and a daemon with the given
   * limits that the launcher wakes when the API queues a run. Both stop after `body`.
   */
  async function withApiQueue(
    limits: Pick<DaemonOptions, 'maxConcurrentRuns' | 'tagConcurrencyLimits'>,
    body: (app: ReturnType<typeof createApp>) => Promise<void>,
  ): Promise<void> {
    const workspace = await Workspace.load({ file: FIXTURE });
    const liveness = { heartbeatMs: 300, timeoutMs: 3000 };
    let daemon: Daemon | undefined;
    const launcher = new RunLauncher({
      instance,
      workspace,
      liveness,
      env: { ...process.env, ...LIVENESS, ...env },
      queue: { onQueued: () => daemon?.wake() },
    });
    const app = createApp({ workspace, instance, launcher });
    daemon = new Daemon({
      instance,
      locations: workspace.locations,
      ...limits,
      liveness,
      launch: (run) => launcher.execute(run.runId),
    });
    const stop = new AbortController();
    const running = daemon.run(stop.signal, { idleMs: 200 });
    try {
      await body(app);
    } finally {
      stop.abort();
      await running;
      await launcher.close();
    }
  }

  test('runs launched through the API wait in the run queue: the run limit holds them too', async () => {
    await rm(stopFile, { force: true });
    await withApiQueue({ maxConcurrentRuns: 1 }, async (app) => {
      const first = await call<{ runId: string }>(app, '/api/runs', { json: { job: 'ticker_job' } });
      assert.equal(first.status, 201, first.text);
      await ticking(instance, first.body.runId);
      const second = await call<{ runId: string }>(app, '/api/runs', { json: { job: 'quick_job' } });
      assert.equal(second.status, 201, second.text);
      const reason = await waitFor(
        'the second run to wait for the slot',
        async () => (await runOf(instance, second.body.runId)).queueReason ?? undefined,
      );
      assert.match(
        reason,
        /Waiting for a free slot: 1 run\(s\) in progress, the limit \(maxConcurrentRuns\)/,
      );
      assert.equal((await runOf(instance, second.body.runId)).status, 'QUEUED');
      await writeFile(stopFile, '');
      assert.equal((await finished(instance, first.body.runId, 60_000)).status, 'SUCCESS');
      const next = await finished(instance, second.body.runId, 60_000);
      assert.equal(next.status, 'SUCCESS', `the queue moved: ${next.error}`);
      assert.equal(next.queueReason, null, 'the reason is cleared once it leaves the queue');
    });
    await noRunInProgress(instance);
  });

  test('runs launched through the API with a limited tag wait for the tag limit; other values pass', async () => {
    await rm(stopFile, { force: true });
    // Room for many runs: only the tag limit can hold one back.
    await withApiQueue(
      { maxConcurrentRuns: 10, tagConcurrencyLimits: [{ key: 'database', limit: 1 }] },
      async (app) => {
        const launch = async (job: string, database: string) => {
          const res = await call<{ runId: string }>(app, '/api/runs', { json: { job, tags: { database } } });
          assert.equal(res.status, 201, res.text);
          return res.body.runId;
        };
        const first = await launch('ticker_job', 'orders');
        await ticking(instance, first);
        const second = await launch('quick_job', 'orders');
        const reason = await waitFor('the second run to wait for the tag limit', async () => {
          const run = await runOf(instance, second);
          assert.equal(run.status, 'QUEUED', 'the tag limit holds the second run in the queue');
          return run.queueReason ?? undefined;
        });
        assert.equal(
          reason,
          'Waiting for tag database=orders: 1 run(s) with it in progress (tag concurrency limit).',
        );
        // Another value of the tag is not held: it runs while the first still does.
        const other = await launch('quick_job', 'events');
        assert.equal((await finished(instance, other, 60_000)).status, 'SUCCESS');
        assert.equal((await runOf(instance, first)).status, 'STARTED');
        assert.equal((await runOf(instance, second)).status, 'QUEUED');
        await writeFile(stopFile, '');
        assert.equal((await finished(instance, first, 60_000)).status, 'SUCCESS');
        const next = await finished(instance, second, 60_000);
        assert.equal(next.status, 'SUCCESS', `the queue moved: ${next.error}`);
        assert.equal(next.queueReason, null, 'the reason is cleared once it leaves the queue');
        assert.equal(next.tags.database, 'orders');
      },
    );
    await noRunInProgress(instance);
  });

  test('kill -9 of dag dev with its run process, then of a run process alone; terminating queued runs', async () => {
    await rm(stopFile, { force: true });
    let dev = startDev(env, home);
    let url = await dev.url();
    const launched = await api<{ runId: string }>(url, '/api/runs', {
      method: 'POST',
      body: JSON.stringify({ job: 'ticker_job' }),
    });
    assert.equal(launched.status, 201, JSON.stringify(launched.body));
    const orphan = await ticking(instance, launched.body.runId);
    assert.ok(orphan.pid && orphan.pid !== dev.pid, 'the run has its own process');
    process.kill(dev.pid, 'SIGKILL');
    process.kill(-orphan.pid, 'SIGKILL'); // its process group
    await dev.exited;
    await waitFor('the run process to die', async () => (isProcessAlive(orphan.pid!) ? undefined : true));
    assert.equal((await runOf(instance, orphan.runId)).status, 'STARTED', 'nobody recorded the end yet');

    // A restarted dag dev reconciles it at start-up.
    dev = startDev(env, home);
    url = await dev.url();
    try {
      const failed = await finished(instance, orphan.runId);
      assert.equal(failed.status, 'FAILURE');
      assert.match(failed.error ?? '', /exited without finishing it/);

      // A run process killed while dag dev lives: the launcher records the end.
      const second = await api<{ runId: string }>(url, '/api/runs', {
        method: 'POST',
        body: JSON.stringify({ job: 'ticker_job' }),
      });
      const victim = await ticking(instance, second.body.runId);
      process.kill(-victim.pid!, 'SIGKILL');
      const killed = await finished(instance, victim.runId);
      assert.equal(killed.status, 'FAILURE');
      assert.match(killed.error ?? '', /was killed by SIGKILL/);

      // A queued run of a code location this server has not loaded waits, with the reason shown.
      const { submitRun } = await import('@dag/core');
      const definitions = (await Workspace.load({ file: FIXTURE })).locations[0]!.definitions;
      const elsewhere = await submitRun(instance, definitions, {
        location: 'not_loaded_here',
        job: 'quick_job',
        status: 'QUEUED',
      });
      const reason = await waitFor(
        'the queue reason',
        async () => (await runOf(instance, elsewhere.runId)).queueReason ?? undefined,
      );
      assert.match(reason, /Code location 'not_loaded_here' is not loaded/);
      const shown = await api<{ run: RunRecord }>(url, `/api/runs/${elsewhere.runId}`);
      assert.equal(shown.body.run.queueReason, reason, 'the API shows it');
      const listed = cli(['runs'], env);
      assert.equal(await listed.exited, 0, listed.output());
      assert.ok(
        listed.output().includes(`${elsewhere.runId} waits: Code location 'not_loaded_here'`),
        listed.output(),
      );

      // Terminating a queued run cancels it at once (API and CLI).
      const terminated = await api<{ status: string }>(url, `/api/runs/${elsewhere.runId}/terminate`, {
        method: 'POST',
      });
      assert.equal(terminated.status, 202);
      assert.equal(terminated.body.status, 'CANCELED');
      assert.equal((await runOf(instance, elsewhere.runId)).status, 'CANCELED');
      const other = await submitRun(instance, definitions, {
        location: 'not_loaded_here',
        job: 'quick_job',
        status: 'QUEUED',
      });
      const byCli = cli(['terminate', other.runId], env);
      assert.equal(await byCli.exited, 0, byCli.output());
      assert.equal((await runOf(instance, other.runId)).status, 'CANCELED');
      assert.equal(
        (await api(url, `/api/runs/${other.runId}/terminate`, { method: 'POST' })).status,
        409,
        'a finished run cannot be terminated',
      );

      // Runs launched through the API go through the queue and still run.
      const quick = await api<{ runId: string }>(url, '/api/runs', {
        method: 'POST',
        body: JSON.stringify({ job: 'quick_job' }),
      });
      assert.equal((await finished(instance, quick.body.runId, 60_000)).status, 'SUCCESS');
      assert.deepEqual(
        (await instance.storage.getEvents(quick.body.runId, { types: ['RUN_START'] })).length,
        1,
      );
    } finally {
      assert.equal(await stopDev(dev), 0, dev.output());
    }
    await noRunInProgress(instance);
  });
});

describe('run lifecycle under faults (private embedded PostgreSQL)', () => {
  test('kill -9 of the postmaster mid-run: dag dev keeps serving, restarts it, and the run loses no event', async () => {
    const home = await tempDir('dag-fault-pg-');
    const stopFile = path.join(home, 'stop');
    const env: NodeJS.ProcessEnv = { DAG_HOME: home, DAG_UI_TOKEN: '', FAULT_STOP_FILE: stopFile };
    delete env.DAG_POSTGRES_URL;
    const childEnv = { ...env, DAG_POSTGRES_URL: '' };
    const dev = startDev(childEnv, home);
    let instance: DagInstance | undefined;
    try {
      const url = await dev.url();
      instance = await DagInstance.open({ home, env: {} });
      const launched = await api<{ runId: string }>(url, '/api/runs', {
        method: 'POST',
        body: JSON.stringify({ job: 'ticker_job' }),
      });
      assert.equal(launched.status, 201, JSON.stringify(launched.body));
      const runId = launched.body.runId;
      await ticking(instance, runId, 5);
      const pidFile = path.join(home, 'postgres', 'data', 'postmaster.pid');
      const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
      process.kill(postmaster, 'SIGKILL');
      // The server answers (an error) instead of dying while the database is down...
      const during = await fetch(new URL('/api/runs', url), { signal: AbortSignal.timeout(30_000) });
      assert.ok(during.status === 200 || during.status >= 500, `answered ${during.status}`);
      // ...and serves again once dag dev has started the database again.
      await waitFor(
        'the API to answer again',
        async () => {
          const res = await fetch(new URL('/api/runs', url), { signal: AbortSignal.timeout(10_000) }).catch(
            () => undefined,
          );
          return res?.status === 200 ? true : undefined;
        },
        60_000,
      );
      // Restarted by dag dev's supervisor or by the run process, whichever noticed first.
      const restarted = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
      assert.notEqual(restarted, postmaster, 'a new postmaster runs');
      // Let the run log through the restart, then stop it.
      const before = (await ticks(instance, runId)).at(-1) ?? 0;
      await waitFor('ticks after the restart', async () =>
        (await ticks(instance!, runId)).at(-1)! > before + 5 ? true : undefined,
      );
      await writeFile(stopFile, '');
      const run = await finished(instance, runId, 90_000);
      assert.equal(run.status, 'SUCCESS', `${run.status}: ${run.error}\n${dev.output()}`);
      const seen = await ticks(instance, runId);
      assert.deepEqual(seen, [...seen.keys()], 'every line logged during the outage was stored, in order');
      assert.equal(dev.output().includes('unhandled rejection'), false, dev.output());
      // The queue still moves.
      const quick = await api<{ runId: string }>(url, '/api/runs', {
        method: 'POST',
        body: JSON.stringify({ job: 'quick_job' }),
      });
      assert.equal((await finished(instance, quick.body.runId, 60_000)).status, 'SUCCESS');
      await noRunInProgress(instance);
    } finally {
      await stopDev(dev);
      await instance?.close();
      await stopEmbeddedPostgres(home).catch(() => false);
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('an instance folder that cannot be written', () => {
  /** A tmpfs mounted for the test (root can mount; these tests run as root). */
  async function mountTmpfs(options: string): Promise<{ dir: string; unmount: () => Promise<void> }> {
    const dir = await tempDir('dag-fault-mnt-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    return {
      dir,
      unmount: async () => {
        execFileSync('umount', [dir]);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  test('a read-only DAG_HOME fails at once with EROFS and the path first', async () => {
    const mount = await mountTmpfs('ro,size=1m');
    try {
      const started = Date.now();
      await assert.rejects(DagInstance.open({ home: mount.dir, env: {} }), (error: Error) => {
        assert.match(
          error.message,
          new RegExp(`^EROFS: the instance folder ${mount.dir} is on a read-only file system`),
        );
        assert.doesNotMatch(error.message, /another process holds/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000, `failed after ${Date.now() - started} ms`);
    } finally {
      await mount.unmount();
    }
  });

  test('a full DAG_HOME fails at once with ENOSPC, whether the first write or initdb runs out', async () => {
    const full = await mountTmpfs('size=64k');
    try {
      // Fill it up.
      await writeFile(path.join(full.dir, 'filler'), Buffer.alloc(64 * 1024)).catch(() => {});
      await assert.rejects(DagInstance.open({ home: full.dir, env: {} }), (error: Error) => {
        assert.match(error.message, new RegExp(`^ENOSPC: the instance folder ${full.dir} is on a full disk`));
        return true;
      });
    } finally {
      await full.unmount();
    }
    const small = await mountTmpfs('size=4m,mode=0755');
    try {
      const started = Date.now();
      await assert.rejects(DagInstance.open({ home: small.dir, env: {} }), (error: Error) => {
        assert.match(error.message, /^The disk of .* is full \(ENOSPC: no space left on device\)/);
        return true;
      });
      assert.ok(Date.now() - started < 60_000);
    } finally {
      await stopEmbeddedPostgres(small.dir).catch(() => false);
      await small.unmount();
    }
  });
});
