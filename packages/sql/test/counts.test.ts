import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Definitions, materialize } from '@dag/core';
import type nunjucks from 'nunjucks';
import { useFreshInstance } from '../../core/test/support.ts';
import { sqlProject } from '../src/index.ts';
import { ProjectJinja, type RenderState } from '../src/jinja.ts';
import { DuckDBWarehouse } from '../src/warehouses/duckdb.ts';
import { freshWarehouse, writeProject } from './support.ts';

/**
 * The cost claims of @dag/sql as counts, not clock time: how often a model is rendered and
 * compiled when a project loads, reloads and runs, and how many statements a model costs the
 * warehouse. Each count must not grow with the size of the project.
 */

const t = useFreshInstance();

/** `n` models m00..: each refs the one before, through a macro; schema `a` or `b`. */
function models(n: number, materialized = 'table'): Record<string, string> {
  const files: Record<string, string> = {
    'dbt_project.yml': `name: counts\nmodels:\n  counts:\n    +materialized: ${materialized}\n`,
    'macros/twice.sql': '{% macro twice(x) %}({{ x }} * 2){% endmacro %}',
  };
  for (let i = 0; i < n; i++) {
    const name = `m${String(i).padStart(2, '0')}`;
    const from = i === 0 ? '' : ` from {{ ref('m${String(i - 1).padStart(2, '0')}') }}`;
    files[`models/${i % 2 ? 'b' : 'a'}/${name}.sql`] = `select {{ twice(${i}) }} as v${from}`;
  }
  return files;
}

/** Counts calls of `name` on `proto` (by the key `keyOf` gives) until `restore()`. */
function spy<T extends object, K extends keyof T & string>(
  proto: T,
  name: K,
  keyOf: (...args: never[]) => string,
) {
  const original = proto[name] as (...args: unknown[]) => unknown;
  const counts = new Map<string, number>();
  (proto as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
    const key = (keyOf as (...a: unknown[]) => string)(...args);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return original.apply(this, args);
  };
  return {
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    restore: () => {
      (proto as Record<string, unknown>)[name] = original;
    },
  };
}

test('a model is parsed once to load and rendered only when its calls are dynamic, not at all from the partial-parse cache, once per run; a reload re-reads only the changed model', async () => {
  const n = 30;
  const dir = await writeProject(models(n));
  const renders = spy(ProjectJinja.prototype, 'render', (_t: nunjucks.Template, s: RenderState) => s.model);
  const compiles = spy(ProjectJinja.prototype, 'compile', (_s: string, file: string) => file);
  const parses = spy(ProjectJinja.prototype, 'parse', (_s: string, file: string) => file);
  try {
    const wh = await freshWarehouse('duckdb');
    const load = () => sqlProject({ dir, warehouse: wh.url });
    // A full parse: every model's calls are literal, read from its parse tree, which is built
    // once per model (and once for the macro file, to know its macros call nothing that
    // records); no model is compiled or rendered, the macro file is compiled once.
    const first = load();
    assert.equal(first.assets.length, n);
    assert.equal(renders.total(), 0, 'no model rendered to load');
    assert.equal(parses.counts.size, n + 1);
    assert.ok(
      [...parses.counts.values()].every((c) => c === 1),
      'each file parsed once',
    );
    assert.deepEqual([...compiles.counts.keys()], ['macros/twice.sql']);

    // A fresh load with the cache of the first: nothing parsed or rendered, only the macros compiled.
    renders.reset();
    compiles.reset();
    parses.reset();
    const second = load();
    assert.equal(renders.total(), 0);
    assert.equal(parses.total(), 0);
    assert.deepEqual([...compiles.counts.keys()], ['macros/twice.sql']);

    // One model changes to a ref() in a loop, which only a render can read: the reload parses,
    // compiles and renders it alone, and keeps every other node.
    renders.reset();
    compiles.reset();
    parses.reset();
    await writeFile(
      path.join(dir, 'models/b/m13.sql'),
      "{% for m in ['m12'] %}select 13 as v from {{ ref(m) }}{% endfor %}",
    );
    const third = second.reload();
    assert.deepEqual(Object.fromEntries(renders.counts), { m13: 1 });
    assert.deepEqual([...compiles.counts.keys()], ['models/b/m13.sql']);
    // (the macro file too: this process had not needed to know its macros until now)
    assert.deepEqual(Object.fromEntries(parses.counts), { 'models/b/m13.sql': 1, 'macros/twice.sql': 1 });
    for (const [name, node] of second.files.models) {
      if (name === 'm13') assert.notEqual(third.files.models.get(name), node);
      else assert.equal(third.files.models.get(name), node, `${name} is reused`);
    }
    assert.deepEqual(third.files.models.get('m13')!.refs, ['m12']);

    // A change that keeps the calls literal is read from the parse tree: parsed, not compiled
    // or rendered.
    renders.reset();
    compiles.reset();
    parses.reset();
    await writeFile(path.join(dir, 'models/a/m14.sql'), "select 14 as v from {{ ref('m12') }}");
    const fourth = third.reload();
    assert.equal(renders.total(), 0);
    assert.equal(compiles.total(), 0);
    assert.deepEqual(Object.fromEntries(parses.counts), { 'models/a/m14.sql': 1 });
    assert.deepEqual(fourth.files.models.get('m14')!.refs, ['m12']);

    // Compiling one model renders that model once, whatever the project's size.
    renders.reset();
    const [compiled] = await fourth.compile(['b/m13']);
    assert.equal(compiled?.sql, 'select 13 as v from "a"."m12"');
    assert.deepEqual(Object.fromEntries(renders.counts), { m13: 1 });

    // A run renders each model once (the models compile when they run).
    renders.reset();
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [...fourth.assets] }),
      selection: '*',
    });
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.equal(renders.counts.size, n);
    assert.ok(
      [...renders.counts.values()].every((c) => c === 1),
      'each model rendered once in the run',
    );
    await wh.cleanup();
  } finally {
    renders.restore();
    compiles.restore();
    parses.restore();
    await rm(dir, { recursive: true, force: true });
  }
});

test('on DuckDB a table or view model costs its build and one read of its columns: no catalog lookup, however many models', async () => {
  const proto = DuckDBWarehouse.prototype;
  const sql = (s: string) => s.replace(/\s+/g, ' ').split(' ').slice(0, 2).join(' ');
  const spies = {
    query: spy(proto, 'query', sql),
    execute: spy(proto, 'execute', sql),
    replaceRelation: spy(proto, 'replaceRelation', () => 'replace'),
    relationType: spy(proto, 'relationType', () => 'relationType'),
  };
  const statements = () => spies.query.total() + spies.execute.total() + spies.replaceRelation.total();
  const reset = () => {
    for (const s of Object.values(spies)) s.reset();
  };
  const dirs: string[] = [];
  try {
    const wh = await freshWarehouse('duckdb');
    const run = async (n: number, materialized: string) => {
      const dir = await writeProject(models(n, materialized));
      dirs.push(dir);
      const project = sqlProject({ dir, warehouse: wh.url });
      reset();
      const result = await materialize({
        instance: t.instance,
        definitions: new Definitions({ assets: [...project.assets] }),
        selection: '*',
      });
      assert.equal(result.status, 'SUCCESS', result.error);
      return project;
    };
    // Per model: the build (CREATE OR REPLACE) and its columns; per schema: CREATE SCHEMA once.
    for (const n of [4, 24]) {
      await run(n, 'table');
      assert.equal(spies.relationType.total(), 0, 'no catalog lookup for table models');
      assert.equal(spies.replaceRelation.total(), n);
      assert.equal(statements(), 2 * n + 2, `${n} models: 2 statements each, and 2 schemas`);
    }

    // The same names as views: each replace is refused once (a table is in the way), then swapped.
    await run(24, 'view');
    assert.equal(spies.relationType.total(), 24);
    const check = await wh.open();
    try {
      assert.equal(await check.relationType('b', 'm23'), 'view');
      const { rows } = await check.query('SELECT v FROM "b"."m23"');
      assert.deepEqual(rows, [{ v: 46 }]);
    } finally {
      await check.close();
    }
    // And back to tables, from views.
    await run(24, 'table');
    assert.equal(spies.relationType.total(), 24);
    const again = await wh.open();
    try {
      assert.equal(await again.relationType('b', 'm23'), 'table');
    } finally {
      await again.close();
    }
    await wh.cleanup();
  } finally {
    for (const s of Object.values(spies)) s.restore();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
});
