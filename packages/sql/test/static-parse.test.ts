import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import type nunjucks from 'nunjucks';
import { generateProject } from '../../../bench/sql/generate.ts';
import { tempDir } from '../../core/test/support.ts';
import { type SqlProject, sqlProject } from '../src/index.ts';
import { ProjectJinja, type RenderState } from '../src/jinja.ts';
import { SHOP, writeProject } from './support.ts';

/**
 * Loading reads most models' ref() / source() / config() from the nunjucks parse tree, without
 * rendering (dbt's static parser); a model whose calls are dynamic is rendered once, as before.
 * Either way the upstream and config are exact: these tests compare the two readings.
 */

const WAREHOUSE = 'duckdb:///tmp/dag-static-parse-unused.duckdb';

/** Counts renders by model while `fn` runs. */
function countRenders<T>(fn: () => T): { result: T; renders: Record<string, number> } {
  const proto = ProjectJinja.prototype;
  const original = proto.render;
  const renders: Record<string, number> = {};
  proto.render = function (this: ProjectJinja, template: nunjucks.Template, state: RenderState) {
    renders[state.model] = (renders[state.model] ?? 0) + 1;
    return original.call(this, template, state);
  };
  try {
    return { result: fn(), renders };
  } finally {
    proto.render = original;
  }
}

/** What a recording render at load gives for each model that the parse tree was read for. */
function compareWithRender(project: SqlProject): number {
  const { files } = project;
  let read = 0;
  for (const model of files.models.values()) {
    const calls = files.jinja.staticCalls(model.source, model.file);
    if (!calls) continue;
    read++;
    const state: RenderState = {
      model: model.name,
      refs: [],
      sources: [],
      config: {},
      isIncremental: false,
      thisRelation: { schema: 'this', identifier: model.name, rendered: `"this"."${model.name}"` },
      resolveRef: (name) => `"ref"."${name}"`,
      resolveSource: (s, t) => `"${s}"."${t}"`,
    };
    files.jinja.render(model.template, state);
    assert.deepEqual(
      calls,
      { refs: state.refs, sources: state.sources, config: state.config },
      `${model.file}: the parse tree and a render agree`,
    );
  }
  return read;
}

const deps = (project: SqlProject, key: string) =>
  [...(project.assets.find((a) => a.key === key)?.deps ?? [])].map(String).sort();

test('static models are not rendered to load; dynamic ones are rendered once, with the same upstream and config', async () => {
  const dir = await writeProject({
    'dbt_project.yml':
      'name: st\nvars:\n  mat: table\n  flag: true\nmodels:\n  st:\n    +materialized: view\n',
    'macros/m.sql': [
      "{% macro from_a() %}{{ ref('a') }}{% endmacro %}",
      '{% macro twice(x) %}({{ x }} * 2){% endmacro %}',
      "{% macro calls_twice(x) %}{{ twice(x) }} + {{ dbt.dateadd('day', 1, x) }}{% endmacro %}",
      "{% macro home() %}{{ env_var('HOME', '/') }}{% endmacro %}",
      '{% macro default__label(x) %}upper({{ x }}){% endmacro %}',
    ].join('\n'),
    'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n',
    // Static: literal calls at the top level, pure macros, loops and branches without calls.
    'models/a.sql':
      "{{ config(materialized='table', tags=['x', 'y'], meta={'owner': 'me'}) }}\nselect * from {{ source('raw', 'events') }}",
    'models/b.sql':
      "select {{ calls_twice('id') }}, {{ adapter.dispatch('label')('name') }} from {{ ref('a') }}\n{% for c in ['x'] %}-- {{ c | default('z') if c else 'none' }}{% endfor %}",
    'models/c.sql':
      "select * from {{ ref('b') }}\n{% if is_incremental() %}where x > (select max(x) from {{ this }}) and y in (select y from {{ ref('b') }}){% endif %}",
    'models/c2.sql':
      "{% if not is_incremental() %}select * from {{ ref('c') }}{% else %}{{ ref('a') }}{% endif %}",
    // Dynamic: each is rendered once at load.
    'models/loop.sql':
      "{% for m in ['a', 'b'] %}select * from {{ ref(m) }}{% if not loop.last %} union all {% endif %}{% endfor %}",
    'models/in_macro.sql': 'select * from {{ from_a() }}',
    'models/var_config.sql': "{{ config(materialized=var('mat')) }}select 1 as x",
    'models/branch.sql': "select 1 as x {% if var('flag') %}from {{ ref('c') }}{% endif %}",
    'models/env.sql': "select '{{ home() }}' as h",
    'models/unset_default.sql': "select {{ var('missing', 3) }} as x from {{ ref('a') }}",
  });
  try {
    const { result: project, renders } = countRenders(() => sqlProject({ dir, warehouse: WAREHOUSE }));
    assert.deepEqual(renders, { loop: 1, in_macro: 1, var_config: 1, branch: 1, env: 1 });
    // The upstream and config are what rendering gives.
    assert.deepEqual(deps(project, 'a'), ['raw/events']);
    assert.deepEqual(deps(project, 'b'), ['a']);
    assert.deepEqual(deps(project, 'c'), ['b'], 'a ref under is_incremental() is not seen at load');
    assert.deepEqual(deps(project, 'c2'), ['c']);
    assert.deepEqual(deps(project, 'loop'), ['a', 'b']);
    assert.deepEqual(deps(project, 'in_macro'), ['a']);
    assert.deepEqual(deps(project, 'branch'), ['c']);
    assert.deepEqual(deps(project, 'unset_default'), ['a']);
    const a = project.files.models.get('a')!;
    assert.equal(a.config.materialized, 'table');
    assert.deepEqual(a.config.tags, ['x', 'y']);
    assert.equal(project.files.models.get('var_config')!.config.materialized, 'table');
    assert.equal(project.files.models.get('b')!.config.materialized, 'view');
    // Every model read from its tree agrees with a render of it.
    assert.equal(compareWithRender(project), 5);
    // The compiled SQL of a static model is rendered when asked for.
    const [b] = await project.compile(['b']);
    assert.equal(
      b!.sql,
      `select (id * 2) + (id + (1) * interval '1 day'), upper(name) from "main"."a"\n-- x`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a var() in config, an unset var() and a bad datepart fail the load as a render does', async () => {
  const cases: [string, RegExp][] = [
    ["select {{ var('nope') }} as x", /models\/m\.sql:1: cannot render model 'm': var\('nope'\) is not set/],
    [
      "select {{ dbt.dateadd('hr', 1, 'x') }} as x",
      /models\/m\.sql.*cannot render model 'm': .*unknown datepart 'hr'/,
    ],
    ["{{ config(materialized=var('mat', 'cube')) }}select 1", /materialized='cube' is not supported/],
    ['select {{ undefined_macro(1) }}', /models\/m\.sql.*cannot render model 'm': .*undefined_macro/],
    ['select 1 {% if %}', /models\/m\.sql:1: Jinja syntax error in model 'm'/],
  ];
  for (const [model, expected] of cases) {
    const dir = await writeProject({ 'dbt_project.yml': 'name: bad\n', 'models/m.sql': model });
    try {
      assert.throws(() => sqlProject({ dir, warehouse: WAREHOUSE }), expected, model);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('the shop fixture and the generated bench project: the parse tree gives what a render gives', async () => {
  const shop = sqlProject({ dir: SHOP, warehouse: WAREHOUSE });
  // fct_order, customer_revenue, stg_orders and dim_customer (adapter.dispatch, a var() branch).
  assert.equal(compareWithRender(shop), 4);
  const dir = await tempDir('dag-static-bench-');
  try {
    await generateProject(dir, 60);
    const { result: bench, renders } = countRenders(() => sqlProject({ dir, warehouse: WAREHOUSE }));
    assert.deepEqual(renders, {}, 'no model of the generated project is rendered to load');
    assert.equal(compareWithRender(bench), 60);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
