import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cliInstance, dag } from './run-dag.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'partitions.ts');

describe('dag materialize --partition, dag partitions and dag backfill', () => {
  const setup = cliInstance('dag-cli-parts-');
  const run = (...args: string[]) => dag(['-f', fixture, ...args], setup.env);

  test('materialize one partition, refuse a bad key, then see it in the status of the partitions', async () => {
    const ok = await run('materialize', '--select', 'events', '--partition', '2026-11-03', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).status, 'SUCCESS');
    const bad = await run('materialize', '--select', 'events', '--partition', '2026-12-25');
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /Partition '2026-12-25' is not a partition of asset 'events'; valid: 2026-11-01\.\.\.2026-11-30 \(30 partitions\)/,
    );
    const status = await run('partitions', 'status', 'events', '--json');
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as {
      keys: string[];
      statuses: string[];
      counts: Record<string, number>;
    };
    assert.equal(parsed.keys.length, 30);
    assert.equal(parsed.statuses[parsed.keys.indexOf('2026-11-03')], 'MATERIALIZED');
    assert.deepEqual(parsed.counts, { MATERIALIZED: 1, FAILED: 0, IN_PROGRESS: 0, MISSING: 29 });
  });

  test('backfill launch, list and show; dynamic partition keys added and listed', async () => {
    const launched = await run(
      'backfill',
      'launch',
      '--select',
      'events',
      '--partitions',
      '2026-11-01...2026-11-05',
      '--json',
    );
    assert.equal(launched.code, 0, launched.stderr);
    const backfill = JSON.parse(launched.stdout) as {
      backfillId: string;
      partitionKeys: string[];
      status: string;
    };
    assert.deepEqual(backfill.partitionKeys, [
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
      '2026-11-04',
      '2026-11-05',
    ]);
    assert.equal(backfill.status, 'REQUESTED');
    const list = await run('backfill', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`${backfill.backfillId}\\s+REQUESTED\\s+events\\s+5 \\(2026-11-01\\.\\.\\.2026-11-05\\)`),
    );
    const shown = await run('backfill', 'show', backfill.backfillId, '--json');
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual((JSON.parse(shown.stdout) as { partitionCounts: unknown }).partitionCounts, {
      total: 5,
      submitted: 0,
      succeeded: 0,
      failed: 0,
      inProgress: 0,
      queued: 0,
    });
    const missing = await run('backfill', 'show', 'nope');
    assert.notEqual(missing.code, 0);
    assert.match(
      missing.stderr,
      new RegExp(`Unknown backfill 'nope'\\. Recent backfills: ${backfill.backfillId}`),
    );
    const added = await run('partitions', 'add', 'customers', 'acme', 'globex');
    assert.equal(added.code, 0, added.stderr);
    const keys = await run('partitions', 'list', 'customers', '--json');
    assert.deepEqual(JSON.parse(keys.stdout), ['acme', 'globex']);
  });
});
