import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DefinitionError } from '@dag/core';
import { sqlProject } from '../src/index.ts';
import { writeProject } from './support.ts';

const WAREHOUSE = 'duckdb:///tmp/unused-partial-parse.duckdb';

test('a fresh load reuses what an earlier process parsed, and parses again what changed', async () => {
  const secret = 'sk-partial-parse-5f2a9c';
  const dir = await writeProject({
    'dbt_project.yml': 'name: pp\n',
    'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: t\n',
    'models/a/one.sql': "select * from {{ source('raw', 't') }}",
    'models/a/two.sql':
      "{{ config(materialized=env_var('PP_KIND', 'view')) }}\nselect '{{ env_var('PP_TOKEN') }}' as token from {{ ref('one') }}",
    'models/a/schema.yml': 'version: 2\nmodels:\n  - name: one\n    description: first\n',
  });
  const cacheFile = path.join(dir, 'target', 'dag_partial_parse.cache');
  const env = { PP_TOKEN: secret };
  const load = (e: NodeJS.ProcessEnv = env) => sqlProject({ dir, warehouse: WAREHOUSE, env: e });
  const depsOf = (p: ReturnType<typeof load>, key: string) => p.assets.find((a) => a.key === key)?.deps;

  const first = load();
  assert.deepEqual(depsOf(first, 'a/two'), ['a/one']);
  const stored = await readFile(cacheFile, 'utf8');
  assert.ok(!stored.includes(secret), 'no environment value is stored');
  assert.match(stored, /"envNames":\["PP_KIND","PP_TOKEN"\]/);

  // What is stored is what the next load uses: a stored entry whose hash still matches wins
  // over parsing the file (proof that the file is not parsed again).
  const parsed = JSON.parse(stored) as { entries: Record<string, { value: { refs: string[] } }> };
  parsed.entries['models/a/one.sql']!.value.refs = ['two'];
  await writeFile(cacheFile, JSON.stringify(parsed));
  assert.throws(load, (e: Error) => e instanceof DefinitionError && /cycle between models/.test(e.message));

  // A changed file is parsed again: the doctored entry is replaced.
  await writeFile(path.join(dir, 'models/a/one.sql'), "select 1 as x from {{ source('raw', 't') }}");
  assert.deepEqual(depsOf(load(), 'a/one'), ['raw/t']);

  // A changed environment variable that a model reads is a change of that model.
  assert.equal(load({ ...env, PP_KIND: 'table' }).files.models.get('two')?.config.materialized, 'table');
  assert.equal(load().files.models.get('two')?.config.materialized, 'view');
  const compiled = await load().compile(['a/two']);
  assert.match(compiled[0]!.sql, new RegExp(`select '${secret}' as token`));

  // A YAML change is seen; a model that breaks is still a DefinitionError naming it.
  await writeFile(
    path.join(dir, 'models/a/schema.yml'),
    'version: 2\nmodels:\n  - name: one\n    description: changed\n',
  );
  assert.equal(load().assets.find((a) => a.key === 'a/one')?.description, 'changed');
  await writeFile(path.join(dir, 'models/a/one.sql'), 'select {{ 1 +  }}');
  assert.throws(
    load,
    (e: Error) =>
      e instanceof DefinitionError &&
      /models\/a\/one\.sql:1: Jinja syntax error in model 'one'/.test(e.message),
  );
});

test('a project folder that cannot be written still loads', async () => {
  const dir = await writeProject({
    'dbt_project.yml': 'name: ro\ntarget-path: target-file\n',
    'models/one.sql': 'select 1 as x',
    'target-file': 'a file where the cache folder would go',
  });
  const p = sqlProject({ dir, warehouse: WAREHOUSE });
  assert.equal((await p.compile(['one']))[0]?.sql, 'select 1 as x');
  assert.equal(
    await readFile(path.join(dir, 'target-file'), 'utf8'),
    'a file where the cache folder would go',
  );
});

test('a reload writes only the changed entries; the next process reads them over the whole cache of their generation', async () => {
  const dir = await writeProject({
    'dbt_project.yml': 'name: delta\n',
    'models/a/one.sql': 'select 1 as x',
    'models/a/two.sql': "select * from {{ ref('one') }}",
    'models/a/three.sql': 'select 3 as x',
  });
  const cacheFile = path.join(dir, 'target', 'dag_partial_parse.cache');
  const deltaFile = path.join(dir, 'target', 'dag_partial_parse.delta');
  const load = () => sqlProject({ dir, warehouse: WAREHOUSE });
  const depsOf = (p: ReturnType<typeof load>, key: string) => p.assets.find((a) => a.key === key)?.deps;
  const first = load();
  const whole = await readFile(cacheFile, 'utf8');
  await assert.rejects(readFile(deltaFile, 'utf8'), { code: 'ENOENT' });

  // One model changes: the whole cache is not written again, the delta holds that model only.
  await writeFile(path.join(dir, 'models/a/two.sql'), "select * from {{ ref('three') }}");
  await rm(path.join(dir, 'models/a/one.sql'));
  assert.deepEqual(depsOf(first.reload(), 'a/two'), ['a/three']);
  assert.equal(await readFile(cacheFile, 'utf8'), whole);
  const delta = JSON.parse(await readFile(deltaFile, 'utf8')) as {
    generation: string;
    entries: Record<string, { value: { refs: string[] } } | null>;
  };
  assert.deepEqual(Object.keys(delta.entries).sort(), ['models/a/one.sql', 'models/a/two.sql']);
  assert.equal(delta.entries['models/a/one.sql'], null);

  // A fresh load reads the delta over the whole cache (a doctored entry proves it is used) ...
  delta.entries['models/a/two.sql']!.value.refs = ['two'];
  await writeFile(deltaFile, JSON.stringify(delta));
  assert.throws(load, (e: Error) => e instanceof DefinitionError && /cycle between models/.test(e.message));
  // ... only while it belongs to the whole cache's generation.
  await writeFile(deltaFile, JSON.stringify({ ...delta, generation: 'another' }));
  assert.deepEqual(depsOf(load(), 'a/two'), ['a/three']);
});
