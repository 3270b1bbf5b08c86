import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DefinitionError, Definitions, materialize } from '@dag/core';
import { useFreshInstance } from '../../core/test/support.ts';
import { ModelRunError, runModel, sqlProject } from '../src/index.ts';
import { freshWarehouse, literally, type TestWarehouse, writeProject } from './support.ts';

const t = useFreshInstance();

const BASE = {
  'dbt_project.yml': 'name: bad\n',
  'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: items\n',
};

async function loadError(files: Record<string, string>): Promise<DefinitionError> {
  const dir = await writeProject({ ...BASE, ...files });
  try {
    sqlProject({ dir, warehouse: 'duckdb:///tmp/unused.duckdb' });
  } catch (error) {
    assert.ok(error instanceof DefinitionError, `a DefinitionError, got ${error}`);
    return error;
  }
  assert.fail('the project loaded');
}

describe('bad input is a clear error naming the file, line and model', () => {
  test('ref to a missing model', async () => {
    const e = await loadError({
      'models/dim/dim_customer.sql': 'select 1 as id',
      'models/fct/fct_order.sql': "select *\nfrom {{ ref('dim_custmer') }}",
    });
    assert.equal(
      e.message,
      "models/fct/fct_order.sql:2: model 'fct/fct_order' refs 'dim_custmer', which is not a model of this project. Did you mean 'dim_customer'?",
    );
  });

  test('a cycle between models', async () => {
    const e = await loadError({
      'models/a.sql': "select * from {{ ref('b') }}",
      'models/b.sql': "-- b\nselect * from {{ ref('c') }}",
      'models/c.sql': "-- c\n\nselect * from {{ ref('a') }}",
    });
    assert.match(
      e.message,
      /^models\/c\.sql:3: cycle between models: a \(models\/a\.sql\) -> b \(models\/b\.sql\) -> c \(models\/c\.sql\) -> a \(models\/a\.sql\)/,
    );
  });

  test('a Jinja syntax error', async () => {
    const e = await loadError({
      'models/dim/dim_customer.sql': 'select 1 as id\n{% if true %}\nwhere 1 = 1\n',
    });
    assert.match(
      e.message,
      /^models\/dim\/dim_customer\.sql:\d+: Jinja syntax error in model 'dim_customer': .*if/,
    );
    const unclosed = await loadError({ 'models/x.sql': "select\n  {{ ref('y' }}" });
    assert.match(unclosed.message, /^models\/x\.sql:2: Jinja syntax error in model 'x'/);
  });

  test('a source that is not declared, and a missing var', async () => {
    const e = await loadError({ 'models/x.sql': "select 1\nfrom {{ source('raw', 'itemz') }}" });
    assert.match(
      e.message,
      /^models\/x\.sql:2: model 'x' reads source\('raw', 'itemz'\).*Did you mean 'raw\.items'\?/,
    );
    const v = await loadError({ 'models/y.sql': "select {{ var('cutoff') }}" });
    assert.match(
      v.message,
      /^models\/y\.sql:1: cannot render model 'y': .*var\('cutoff'\) is not set and has no default/,
    );
  });

  for (const kind of ['duckdb', 'postgres', 'bigquery'] as const) {
    describe(`on ${kind}`, () => {
      let w: TestWarehouse;
      before(async () => {
        w = await freshWarehouse(kind);
      });
      after(async () => {
        await w.cleanup();
      });

      test('SQL the warehouse rejects: its message and the compiled line; the previous table stays whole', async () => {
        const good = "select 1 as id, 'a' as name\nunion all\nselect 2, 'b'";
        const dir = await writeProject({
          ...BASE,
          'models/dim/dim_item.sql': `{{ config(materialized='table') }}\n${good}`,
        });
        const wh = await w.open();
        try {
          const p1 = sqlProject({ dir, warehouse: w.url, env: w.env });
          await runModel(p1.files, wh, p1.files.models.get('dim_item')!);
          const { writeFile } = await import('node:fs/promises');
          await writeFile(
            `${dir}/models/dim/dim_item.sql`,
            "{{ config(materialized='table') }}\nselect 1 as id,\n  no_such_column as name\nfrom (select 1 as x) s",
          );
          const p2 = sqlProject({ dir, warehouse: w.url, env: w.env });
          await assert.rejects(runModel(p2.files, wh, p2.files.models.get('dim_item')!), (e: Error) => {
            assert.ok(e instanceof ModelRunError);
            assert.match(
              e.message,
              /^Model 'dim\/dim_item' \(models\/dim\/dim_item\.sql\): \w+ rejected the compiled SQL at line 2 of the compiled SQL:\n {2}2 \| {3}no_such_column as name\n/,
            );
            assert.match(e.message, /no_such_column/);
            return true;
          });
          const { rows } = await wh.query(
            `SELECT id, name FROM ${wh.relation('dim', 'dim_item')} ORDER BY id`,
          );
          assert.deepEqual(rows, [
            { id: 1, name: 'a' },
            { id: 2, name: 'b' },
          ]);
        } finally {
          await wh.close();
        }
      });

      test('a test on a missing column fails its check naming the YAML file and line', async () => {
        const dir = await writeProject({
          ...BASE,
          'models/dim/dim_item.sql': "{{ config(materialized='table') }}\nselect 1 as id",
          'models/dim/schema.yml':
            'version: 2\nmodels:\n  - name: dim_item\n    columns:\n      - name: id\n        data_tests: [unique]\n      - name: sku\n        data_tests:\n          - not_null\n',
        });
        const p = sqlProject({ dir, warehouse: w.url, env: w.env });
        const result = await materialize({
          instance: t.instance,
          definitions: new Definitions({ assets: [...p.assets], assetChecks: [...p.checks] }),
          selection: 'dim/dim_item',
        });
        const step = result.steps.find((s) => s.key === 'dim/dim_item')!;
        assert.deepEqual(
          step.checks.find((c) => c.name === 'not_null_dim_item_sku'),
          {
            name: 'not_null_dim_item_sku',
            passed: false,
            severity: 'ERROR',
          },
        );
        const events = await t.instance.storage.getEvents(result.runId, {
          types: ['ASSET_CHECK_EVALUATION'],
        });
        const failed = events.find(
          (e) => (e.data as { checkName: string }).checkName === 'not_null_dim_item_sku',
        )!;
        const wh = await w.open();
        const relation = wh.relation('dim', 'dim_item');
        await wh.close();
        assert.match(
          String((failed.data as { description: string }).description),
          new RegExp(
            `models/dim/schema\\.yml:9: test 'not_null_dim_item_sku' on model 'dim/dim_item': column 'sku' does not exist in ${literally(relation)} \\(its columns: id\\)`,
          ),
        );
      });
    });
  }

  test('an unreachable warehouse fails the step naming the model, without the password', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const dir = await writeProject({ ...BASE, 'models/dim/dim_item.sql': 'select 1 as id' });
    const url = `postgresql://etl:s3cret-pw-123@127.0.0.1:${port}/warehouse`;
    const p = sqlProject({ dir, warehouse: url });
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [...p.assets] }),
      selection: '*',
    });
    assert.equal(result.status, 'FAILURE');
    const step = result.steps.find((s) => s.key === 'dim/dim_item')!;
    assert.equal(step.status, 'failure');
    assert.match(
      step.error ?? '',
      /Model 'dim\/dim_item' \(models\/dim\/dim_item\.sql\): Cannot connect to the PostgreSQL warehouse postgresql:\/\/etl:\*\*\*@127\.0\.0\.1/,
    );
    const events = await t.instance.storage.getEvents(result.runId);
    assert.ok(!JSON.stringify(events).includes('s3cret-pw-123'), 'the password is in no stored event');
  });
});
