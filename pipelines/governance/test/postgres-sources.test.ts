import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunResult } from '@dag/core';
import pg from 'pg';
import { freshDatabase, tempDir } from '../../../packages/core/test/support.ts';
import { seedSourceDatabase } from '../src/sources/source-databases.ts';
import { closedPort } from './support/closed-port.ts';
import { type GovernanceWorld, governanceWorld, rowsOf } from './support/governance-fixture.ts';

const dir = await tempDir('governance-sources-');
const url = `duckdb://${path.join(dir, 'warehouse.duckdb')}`;
process.env.WAREHOUSE_URL = url;

const ROWS = 60;

function metadataInt(result: RunResult, step: string, name: string): number {
  const value = result.steps.find((s) => s.key === step)?.metadata[name];
  assert.ok(value && value.type === 'int', `${step} has no int metadata '${name}'`);
  return value.value;
}

describe('src_point_transaction and src_quotation from the read-only databases', () => {
  let wise: { url: string; drop: () => Promise<void> };
  let commerce: { url: string; drop: () => Promise<void> };
  let wisePool: pg.Pool;
  let world: GovernanceWorld;

  const sourceRows = async () =>
    (
      await wisePool.query(
        `SELECT id::int AS id, customer_id::int AS customer_id, points, reason,
                to_char(updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at,
                to_char(deleted_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS deleted_at
         FROM point_transaction ORDER BY id`,
      )
    ).rows;
  const rawRows = () =>
    rowsOf(
      url,
      (wh) =>
        `SELECT id, customer_id, points, reason, updated_at, deleted_at FROM ${wh.relation('raw', 'src_point_transaction')} ORDER BY id`,
    );

  before(async () => {
    wise = await freshDatabase();
    commerce = await freshDatabase();
    wisePool = new pg.Pool({ connectionString: wise.url, max: 2 });
    await seedSourceDatabase(wisePool, 'point_transaction', { rows: ROWS, customers: 20 });
    const commercePool = new pg.Pool({ connectionString: commerce.url, max: 1 });
    await seedSourceDatabase(commercePool, 'quotation', { rows: 25 });
    await commercePool.end();
    world = await governanceWorld({ WISE_POSTGRES_URL: wise.url, COMMERCE_POSTGRES_URL: commerce.url });
  });

  after(async () => {
    await wisePool?.end();
    await world?.t.cleanup();
    await wise?.drop();
    await commerce?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads everything on a full refresh, in pages', async () => {
    const result = await world.run(
      'src_point_transaction or src_quotation',
      {},
      {
        ops: {
          src_point_transaction: { config: { full_refresh: true, page_size: 7 } },
          src_quotation: { config: { full_refresh: true } },
        },
      },
    );
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(metadataInt(result, 'src_point_transaction', 'rows read'), ROWS);
    assert.equal(metadataInt(result, 'src_point_transaction', 'rows upserted'), ROWS);
    assert.equal(metadataInt(result, 'src_point_transaction', 'pages'), Math.ceil(ROWS / 7));
    assert.equal(metadataInt(result, 'src_quotation', 'rows upserted'), 25);
    const normalize = (rows: Record<string, unknown>[]) =>
      rows.map((r) => ({ ...r, updated_at: String(r.updated_at), deleted_at: r.deleted_at ?? null }));
    assert.deepEqual(normalize(await rawRows()), normalize(await sourceRows()));
  });

  it('re-reads only the window, upserts by id, and then equals the source with nothing duplicated', async () => {
    // 3 rows change and 1 appears now; every other row is at least a day old.
    await wisePool.query(
      `UPDATE point_transaction SET points = points + 1, updated_at = date_trunc('second', now() AT TIME ZONE 'UTC')
       WHERE id IN (5, 17, 42)`,
    );
    await wisePool.query(
      `INSERT INTO point_transaction (customer_id, points, reason, created_at, updated_at)
       VALUES (7, 500, 'event', date_trunc('second', now() AT TIME ZONE 'UTC'), date_trunc('second', now() AT TIME ZONE 'UTC'))`,
    );
    for (let attempt = 1; attempt <= 2; attempt++) {
      const result = await world.run('src_point_transaction');
      assert.equal(result.status, 'SUCCESS', result.error);
      assert.equal(metadataInt(result, 'src_point_transaction', 'rows read'), 4, `run ${attempt}`);
      const raw = await rawRows();
      assert.equal(raw.length, ROWS + 1);
      assert.equal(new Set(raw.map((r) => r.id)).size, ROWS + 1);
      const source = await sourceRows();
      assert.deepEqual(
        raw.map((r) => [r.id, r.points]),
        source.map((r) => [r.id, r.points]),
      );
    }
  });

  it('fails with a named error when the source database is unreachable, and leaves the raw table intact', async () => {
    const before = await rawRows();
    const port = await closedPort();
    const result = await world.run(
      'src_point_transaction',
      { WISE_POSTGRES_URL: `postgresql://reader:N0tPrintedPw@127.0.0.1:${port}/wise` },
      { ops: { src_point_transaction: { config: { full_refresh: true } } } },
    );
    assert.equal(result.status, 'FAILURE');
    const step = result.steps.find((s) => s.key === 'src_point_transaction');
    assert.match(step?.error ?? '', /wise_postgres: cannot reach postgresql:\/\/reader:\*+@127\.0\.0\.1/);
    assert.match(step?.error ?? '', /Check WISE_POSTGRES_URL/);
    assert.ok(!JSON.stringify(result).includes('N0tPrintedPw'));
    assert.deepEqual(await rawRows(), before);
  });
});
