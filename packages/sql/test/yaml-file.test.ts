import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { sqlProject } from '../src/index.ts';
import { writeProject } from './support.ts';

const WAREHOUSE = 'duckdb:///tmp/dag-yaml-file-unused.duckdb';

test("models' YAML: tests carry their line, and bad YAML names the file and line", async () => {
  const schema = [
    'version: 2',
    'models:',
    '  - name: m',
    '    columns:',
    '      - name: id',
    '        data_tests:',
    '          - not_null',
    '          - accepted_values:',
    '              values: [1, 2]',
    '    data_tests:',
    '      - unique:',
    '          column_name: id',
    '',
  ].join('\n');
  const dir = await writeProject({
    'dbt_project.yml': 'name: y\n',
    'models/m.sql': 'select 1 as id',
    'models/schema.yml': schema,
  });
  try {
    const project = sqlProject({ dir, warehouse: WAREHOUSE });
    const lines = Object.fromEntries(project.files.tests.map((t) => [t.name, t.line]));
    assert.deepEqual(lines, { not_null_m_id: 7, accepted_values_m_id: 8, unique_m_id: 11 });
    const dir2 = await writeProject({
      'dbt_project.yml': 'name: y\n',
      'models/m.sql': 'select 1 as id',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    description: [unclosed\n',
    });
    const dir3 = await writeProject({
      'dbt_project.yml': 'name: y\n',
      'models/m.sql': 'select 1 as id',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n  - description: no name\n',
    });
    try {
      assert.throws(
        () => sqlProject({ dir: dir2, warehouse: WAREHOUSE }),
        /models\/schema\.yml:\d+: YAML error: /,
      );
      assert.throws(
        () => sqlProject({ dir: dir3, warehouse: WAREHOUSE }),
        /models\/schema\.yml:4: a models: entry needs a name\./,
      );
    } finally {
      await rm(dir2, { recursive: true, force: true });
      await rm(dir3, { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
