import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cliInstance, dag as runDag } from './run-dag.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'sql.ts');
const dag = (args: string[], env: NodeJS.ProcessEnv) => runDag(['-f', fixture, ...args], env);

describe('dag with a SQL project', () => {
  const setup = cliInstance('dag-cli-sql-', (home) => ({
    WAREHOUSE_URL: `duckdb://${home}/warehouse.duckdb`,
  }));

  test('list shows model keys with their folder and the external source', async () => {
    const list = await dag(['list', '--json'], setup.env);
    assert.equal(list.code, 0, list.stderr);
    const keys = (JSON.parse(list.stdout) as { assets: { key: string }[] }).assets.map((a) => a.key);
    assert.deepEqual(keys.sort(), [
      'dim/dim_customer',
      'fct/fct_order',
      'mart/customer_revenue',
      'raw/orders',
      'src_customer',
    ]);
  });

  test('sql compile prints the compiled SQL of a selection without running it', async () => {
    const out = await dag(['sql', 'compile', 'dim/dim_customer+', '--json'], setup.env);
    assert.equal(out.code, 0, out.stderr);
    const compiled = JSON.parse(out.stdout) as { key: string; relation: string; sql: string }[];
    assert.deepEqual(
      compiled.map((c) => [c.key, c.relation]),
      [
        ['dim/dim_customer', '"dim"."dim_customer"'],
        ['fct/fct_order', '"fct"."fct_order"'],
        ['mart/customer_revenue', '"mart"."customer_revenue"'],
      ],
    );
    assert.match(compiled[1]!.sql, /^with __dbt__cte__stg_orders as \(/);
    assert.doesNotMatch(compiled[1]!.sql, /is_incremental|\{\{/);
    const incremental = await dag(['sql', 'compile', 'fct/fct_order', '--incremental'], setup.env);
    assert.match(
      incremental.stdout,
      /-- fct\/fct_order \(incremental "fct"\."fct_order", models\/fct\/fct_order\.sql\)/,
    );
    assert.match(
      incremental.stdout,
      /where o\.updated_at >= \(select \(max\(updated_at\) \+ \(-12\) \* interval '1 hour'\) from "fct"\."fct_order"\)/,
    );
    const none = await dag(['sql', 'compile', 'src_customer'], setup.env);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /matches no SQL models/);
  });

  test("materialize --select 'dim/dim_customer+' runs the models downstream", async () => {
    const load = await dag(['materialize', '--select', 'src_customer', '--json'], setup.env);
    assert.equal(load.code, 0, load.stderr);
    const run = await dag(['materialize', '--select', 'dim/dim_customer+', '--json'], setup.env);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { status: string; steps: { key: string; status: string }[] };
    assert.equal(result.status, 'SUCCESS');
    assert.deepEqual(result.steps.map((s) => `${s.key}:${s.status}`).sort(), [
      'dim/dim_customer:success',
      'fct/fct_order:success',
      'mart/customer_revenue:success',
    ]);
  });
});
