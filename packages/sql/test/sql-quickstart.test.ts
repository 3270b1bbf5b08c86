import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { dag } from '../../cli/test/run-dag.ts';
import { freshDatabase, tempDir } from '../../core/test/support.ts';
import { openWarehouse } from '../src/index.ts';
import { normalizeRows } from './support.ts';

/** examples/sql-quickstart, run as its README says: two commands in its folder. */
const EXAMPLE = path.resolve(import.meta.dirname, '../../../examples/sql-quickstart');

let env: NodeJS.ProcessEnv;
let home: string;
let drop: () => Promise<void>;
before(async () => {
  const db = await freshDatabase();
  drop = db.drop;
  home = await tempDir('dag-sql-quickstart-');
  // The instance and the warehouse go to a temporary folder instead of .dag/ and data/ there.
  env = { DAG_POSTGRES_URL: db.url, DAG_HOME: home, WAREHOUSE_URL: `duckdb://${home}/warehouse.duckdb` };
});
after(async () => {
  await drop();
  await rm(home, { recursive: true, force: true });
});

test('the SQL quickstart compiles and materializes in two commands on DuckDB', async () => {
  const compiled = await dag(['sql', 'compile', '*'], env, EXAMPLE);
  assert.equal(compiled.code, 0, compiled.stderr);
  assert.match(
    compiled.stdout,
    /-- marts\/customers \(table "marts"\."customers", models\/marts\/customers\.sql\)/,
  );
  assert.match(compiled.stdout, /from "staging"\."stg_customers" as c/);
  assert.match(compiled.stdout, /round\(cast\(amount_cents as DECIMAL\(28,6\)\) \/ 100, 2\) as amount/);

  const run = await dag(['materialize', '--select', '*', '--json'], env, EXAMPLE);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as {
    status: string;
    steps: { key: string; status: string; checks: { name: string; passed: boolean }[] }[];
  };
  assert.equal(result.status, 'SUCCESS');
  assert.deepEqual(result.steps.map((s) => `${s.key}:${s.status}`).sort(), [
    'marts/customers:success',
    'staging/stg_customers:success',
    'staging/stg_orders:success',
  ]);
  const checks = result.steps.flatMap((s) => s.checks);
  assert.equal(checks.length, 9);
  assert.ok(
    checks.every((c) => c.passed),
    JSON.stringify(checks),
  );

  const wh = await openWarehouse(env.WAREHOUSE_URL!);
  try {
    const { rows } = await wh.query(
      'SELECT customer_id, full_name, orders, revenue, currency FROM marts.customers ORDER BY customer_id',
    );
    assert.deepEqual(normalizeRows(rows), [
      { customer_id: 1, full_name: 'Ada Lovelace', orders: 2, revenue: 22.4, currency: 'EUR' },
      { customer_id: 2, full_name: 'Alan Turing', orders: 0, revenue: 0, currency: 'EUR' },
      { customer_id: 3, full_name: 'Grace Hopper', orders: 1, revenue: 1, currency: 'EUR' },
    ]);
  } finally {
    await wh.close();
  }
});
