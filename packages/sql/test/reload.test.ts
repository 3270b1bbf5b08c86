import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sqlProject } from '../src/index.ts';
import { writeProject } from './support.ts';

test('reload picks up a changed model, a changed macro and a changed YAML, and keeps the rest', async () => {
  const dir = await writeProject({
    'dbt_project.yml': 'name: rl\n',
    'macros/m.sql': '{% macro pick() %}1{% endmacro %}',
    'models/a/one.sql': 'select {{ pick() }} as x',
    'models/a/two.sql': "select * from {{ ref('one') }}",
    'models/a/schema.yml': 'version: 2\nmodels:\n  - name: one\n    description: first\n',
  });
  const warehouse = 'duckdb:///tmp/unused-reload.duckdb';
  const first = sqlProject({ dir, warehouse });
  const sqlOf = async (p: typeof first, key: string) => (await p.compile([key]))[0]!.sql;
  assert.equal(await sqlOf(first, 'a/one'), 'select 1 as x');

  await writeFile(path.join(dir, 'models/a/two.sql'), "select x + 1 as y from {{ ref('one') }}");
  const second = first.reload();
  assert.equal(await sqlOf(second, 'a/two'), 'select x + 1 as y from "a"."one"');
  assert.equal(await sqlOf(second, 'a/one'), 'select 1 as x');

  await writeFile(path.join(dir, 'macros/m.sql'), '{% macro pick() %}2{% endmacro %}');
  await writeFile(
    path.join(dir, 'models/a/schema.yml'),
    'version: 2\nmodels:\n  - name: one\n    description: changed\n',
  );
  const third = second.reload();
  assert.equal(await sqlOf(third, 'a/one'), 'select 2 as x');
  assert.equal(third.assets.find((a) => a.key === 'a/one')?.description, 'changed');
});
