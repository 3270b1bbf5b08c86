/**
 * A worker cut off from PostgreSQL by a network partition: the worker runs in a network
 * namespace of its own and reaches the database through a veth pair and a TCP relay in this
 * process; taking the veth link down cuts it off (packets are dropped, nothing is refused).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Definitions, isProcessAlive, submitRun, Workspace } from '@dag/core';
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

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' }).toString();

function netnsAvailable(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux';
  try {
    ip('netns', 'list');
    return undefined;
  } catch (error) {
    return `ip netns is not available: ${(error as Error).message}`;
  }
}

const unavailable = netnsAvailable();

describe('a worker cut off from the database', { skip: unavailable }, () => {
  const tag = randomBytes(3).toString('hex');
  const ns = `dagw-${tag}`;
  const hostIf = `dgh${tag}`;
  const nsIf = `dgn${tag}`;
  // A /30 of the test's own veth pair; nothing else is ever addressed.
  const octet = 16 + (Number.parseInt(tag.slice(0, 2), 16) % 200);
  const hostAddr = `10.213.${octet}.1`;
  const nsAddr = `10.213.${octet}.2`;
  let relay: net.Server;
  const sockets = new Set<net.Socket>();
  let test: TestInstance;
  let definitions: Definitions;
  let daemon: Awaited<ReturnType<typeof startDispatchingDaemon>>;
  const workers: WorkerProcess[] = [];
  let counter: string;
  let release: string;

  before(async () => {
    test = await freshInstance();
    definitions = (await Workspace.load({ file: WORKER_FIXTURE })).locations[0]!.definitions;
    counter = path.join(test.home, 'side-effects.log');
    release = path.join(test.home, 'release');
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    // The relay: the namespace's only way to the database (which listens on loopback).
    const target = new URL(test.url);
    relay = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => relay.listen(0, hostAddr, resolve));
    daemon = await startDispatchingDaemon(test.instance);
  });

  after(async () => {
    await writeFile(release, '').catch(() => {});
    try {
      ip('link', 'set', hostIf, 'up');
    } catch {}
    await Promise.all(workers.map((w) => stopWorker(w)));
    await daemon?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()));
    try {
      ip('link', 'del', hostIf);
    } catch {}
    try {
      ip('netns', 'del', ns);
    } catch {}
    await test?.cleanup();
  });

  it('aborts its run when it cannot renew its lease; the run is retried elsewhere and no step commits twice', async () => {
    const viaRelay = new URL(test.url);
    viaRelay.hostname = hostAddr;
    viaRelay.port = String((relay.address() as net.AddressInfo).port);
    const env = { WORKER_TEST_COUNTER: counter, WORKER_TEST_RELEASE: release };
    const cut = startWorker(
      { home: test.home, url: viaRelay.toString() },
      { concurrency: 1, env, wrap: ['ip', 'netns', 'exec', ns] },
    );
    workers.push(cut);
    const cutId = await waitFor('the partitioned worker registered', async () => cut.id(), 60_000);
    const queued = await submitRun(test.instance, definitions, {
      job: 'held_job',
      tags: { 'dag/max_retries': '1' },
      status: 'QUEUED',
    });
    const running = await waitFor(
      'the run started on the partitioned worker',
      async () => {
        const r = (await test.instance.storage.getRun(queued.runId))!;
        const lines = await readFile(counter, 'utf8').catch(() => '');
        return r.status === 'STARTED' && lines.includes(`held-start ${r.runId}`) ? r : undefined;
      },
      60_000,
    );
    assert.equal(running.workerId, cutId);
    // A healthy worker to take the retry.
    const healthy = startWorker(test, { concurrency: 1, env });
    workers.push(healthy);
    await waitFor('the healthy worker registered', async () => healthy.id(), 60_000);

    ip('link', 'set', hostIf, 'down');
    const cutAt = Date.now();
    // The worker kills its run process once its lease is over (60 % of the 10 s timeout).
    await waitFor(
      'the partitioned run process was killed',
      async () => (isProcessAlive(running.pid!) ? undefined : true),
      30_000,
    );
    const abortedAfter = Date.now() - cutAt;
    const failed = await waitFor(
      'the run failed',
      async () => {
        const r = (await test.instance.storage.getRun(queued.runId))!;
        return r.status === 'FAILURE' ? r : undefined;
      },
      40_000,
    );
    assert.match(failed.error ?? '', /has not heartbeated/);
    process.stderr.write(
      `partition: run process killed ${abortedAfter} ms after the cut; run failed ${failed.endedAt!.getTime() - cutAt} ms after it\n`,
    );
    const retry = await waitFor(
      'the retry ran on the healthy worker',
      async () => {
        const { runs } = await test.instance.storage.listRuns({ limit: 20 });
        const r = runs.find((x) => x.parentRunId === queued.runId);
        return r?.status === 'STARTED' ? r : undefined;
      },
      60_000,
    );
    assert.equal(retry.workerId, healthy.id());
    // Let the step commit, and let the partitioned worker back in: only the retry commits.
    await writeFile(release, '');
    ip('link', 'set', hostIf, 'up');
    await waitFor(
      'the retry succeeded',
      async () =>
        (await test.instance.storage.getRun(retry.runId))!.status === 'SUCCESS' ? true : undefined,
      60_000,
    );
    await waitFor(
      'the partitioned worker heartbeats again',
      async () => {
        const w = (await test.instance.storage.listWorkers()).find((x) => x.workerId === cutId);
        return w && w.silentMs < 3000 ? true : undefined;
      },
      60_000,
    );
    const lines = (await readFile(counter, 'utf8')).trim().split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('held-commit')),
      [`held-commit ${retry.runId}`],
    );
    assert.equal((await test.instance.storage.getRun(queued.runId))!.status, 'FAILURE');
  });
});
