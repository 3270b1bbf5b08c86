import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type SqlProject, sqlProject } from '../src/index.ts';
import { writeProject } from './support.ts';

/**
 * A reload after random edits of a project gives what a full parse of the same files gives:
 * the same models, tests, sources, asset and check definitions, compiled SQL, and the same
 * error when the files are wrong. Edits: refs added and removed (static and in a loop), models
 * added, deleted, moved to another folder, config() and YAML config changed, generic and
 * singular tests added, changed and removed, descriptions, the macro and the folder config of
 * dbt_project.yml. Half the reloads are told the changed files (as a watcher would), half find
 * them by modification time and size.
 */

const WAREHOUSE = 'duckdb:///tmp/unused-incremental-reload.duckdb';
const FOLDERS = ['a', 'b', 'c'] as const;

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

type Materialized = 'table' | 'view' | 'ephemeral' | undefined;
interface GenTest {
  kind: 'not_null' | 'unique' | 'accepted_values' | 'relationships';
  warn: boolean;
  to?: string;
}
interface GenModel {
  id: number;
  folder: (typeof FOLDERS)[number];
  refs: string[];
  dynamic: boolean;
  source: boolean;
  materialized: Materialized;
  alias: string | undefined;
  tags: string[];
  description: string | undefined;
  ymlTags: string[];
  tests: GenTest[];
}
interface GenState {
  models: Map<string, GenModel>;
  singular: Map<string, { model: string; warn: boolean }>;
  macro: number;
  folderConfig: Record<string, Materialized>;
  nextId: number;
  /** A deliberate mistake: a ref to a model that does not exist. */
  broken: string | undefined;
}

const nameOf = (id: number) => `m${String(id).padStart(3, '0')}`;

function render(state: GenState): Record<string, string> {
  const files: Record<string, string> = {};
  const folderLines = Object.entries(state.folderConfig)
    .filter(([, m]) => m)
    .map(([f, m]) => `    ${f}:\n      +materialized: ${m}`);
  files['dbt_project.yml'] =
    `name: inc\nvars:\n  n: 3\nmodels:\n  inc:\n    +materialized: table\n${folderLines.join('\n')}\n`;
  files['macros/m.sql'] = `{% macro m(x) %}({{ x }} + ${state.macro}){% endmacro %}\n`;
  files['models/sources.yml'] =
    'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n      - name: users\n        meta: { dag: { asset_key: users_loader } }\n';
  const yml = new Map<string, string[]>();
  for (const [name, m] of state.models) {
    const config: string[] = [];
    if (m.materialized) config.push(`materialized='${m.materialized}'`);
    if (m.alias) config.push(`alias='${m.alias}'`);
    if (m.tags.length) config.push(`tags=${JSON.stringify(m.tags).replace(/"/g, "'")}`);
    const lines: string[] = [];
    if (config.length) lines.push(`{{ config(${config.join(', ')}) }}`);
    lines.push(`select {{ m(${m.id}) }} as id, {{ var('n') }} as n`);
    const refs = [...m.refs, ...(state.broken === name ? ['missing_model'] : [])];
    if (m.dynamic) {
      lines.push(
        `{% for r in ${JSON.stringify(refs).replace(/"/g, "'")} %}, (select count(*) from {{ ref(r) }}) as c{{ loop.index }}{% endfor %}`,
      );
    } else {
      refs.forEach((r, i) => {
        lines.push(`, (select count(*) from {{ ref('${r}') }}) as c${i}`);
      });
    }
    if (m.source) lines.push(", (select count(*) from {{ source('raw', 'events') }}) as e");
    if (m.id % 5 === 0) lines.push(", (select count(*) from {{ source('raw', 'users') }}) as u");
    files[`models/${m.folder}/${name}.sql`] = `${lines.join('\n')}\n`;
    const entry = [`  - name: ${name}`];
    if (m.description) entry.push(`    description: ${m.description}`);
    if (m.ymlTags.length) entry.push(`    config:\n      tags: [${m.ymlTags.join(', ')}]`);
    if (m.tests.length) {
      entry.push('    columns:', '      - name: id', '        data_tests:');
      for (const t of m.tests) {
        const severity = t.warn ? '\n              config: { severity: warn }' : '';
        if (t.kind === 'accepted_values')
          entry.push(`          - accepted_values:\n              values: [1, 2, 3]${severity}`);
        else if (t.kind === 'relationships')
          entry.push(
            `          - relationships:\n              to: ref('${t.to}')\n              field: id${severity}`,
          );
        else if (t.warn) entry.push(`          - ${t.kind}:${severity}`);
        else entry.push(`          - ${t.kind}`);
      }
    }
    if (entry.length > 1) {
      const list = yml.get(m.folder) ?? [];
      list.push(...entry);
      yml.set(m.folder, list);
    }
  }
  for (const [folder, entries] of yml)
    files[`models/${folder}/schema.yml`] = `version: 2\nmodels:\n${entries.join('\n')}\n`;
  for (const [name, t] of state.singular) {
    const config = t.warn ? "{{ config(severity='warn') }}\n" : '';
    files[`tests/${name}.sql`] = `${config}select * from {{ ref('${t.model}') }} where id < 0\n`;
  }
  return files;
}

/** One random edit; every model refs only models of a lower id, so there is no cycle. */
function edit(state: GenState, r: ReturnType<typeof random>): void {
  const names = [...state.models.keys()];
  const some = () => r.pick(names);
  const lower = (m: GenModel) => names.filter((n) => state.models.get(n)!.id < m.id);
  const kind = r.int(14);
  if (state.broken) {
    state.broken = undefined;
    return;
  }
  switch (kind) {
    case 0: {
      // A new model.
      const id = state.nextId++;
      const m: GenModel = {
        id,
        folder: r.pick(FOLDERS),
        refs: [],
        dynamic: r.chance(0.2),
        source: r.chance(0.2),
        materialized: undefined,
        alias: undefined,
        tags: [],
        description: r.chance(0.5) ? `new model ${id}` : undefined,
        ymlTags: [],
        tests: r.chance(0.5) ? [{ kind: 'not_null', warn: false }] : [],
      };
      const candidates = lower(m);
      for (let i = r.int(3); i > 0 && candidates.length; i--) m.refs.push(r.pick(candidates));
      m.refs = [...new Set(m.refs)];
      state.models.set(nameOf(id), m);
      return;
    }
    case 1: {
      // A deleted model: whatever named it forgets it.
      if (names.length < 5) return;
      const gone = some();
      state.models.delete(gone);
      for (const m of state.models.values()) {
        m.refs = m.refs.filter((x) => x !== gone);
        m.tests = m.tests.filter((t) => t.to !== gone);
      }
      for (const [t, s] of state.singular) if (s.model === gone) state.singular.delete(t);
      return;
    }
    case 2: {
      const m = state.models.get(some())!;
      const candidates = lower(m);
      if (candidates.length) m.refs = [...new Set([...m.refs, r.pick(candidates)])];
      return;
    }
    case 3: {
      const m = state.models.get(some())!;
      m.refs = m.refs.filter(() => r.chance(0.5));
      m.dynamic = r.chance(0.3);
      return;
    }
    case 4:
      state.models.get(some())!.folder = r.pick(FOLDERS);
      return;
    case 5:
      state.models.get(some())!.materialized = r.pick<Materialized>([
        'table',
        'view',
        'ephemeral',
        undefined,
      ]);
      return;
    case 6: {
      const m = state.models.get(some())!;
      m.alias = r.chance(0.5) ? `alias_${m.id}` : undefined;
      m.tags = r.chance(0.5) ? [r.pick(['daily', 'pii', 'core'])] : [];
      return;
    }
    case 7: {
      const m = state.models.get(some())!;
      m.description = r.chance(0.7) ? `described ${r.int(100)}` : undefined;
      m.ymlTags = r.chance(0.3) ? ['from_yml'] : [];
      return;
    }
    case 8: {
      const m = state.models.get(some())!;
      const k = r.pick<GenTest['kind']>(['not_null', 'unique', 'accepted_values', 'relationships']);
      const t: GenTest = { kind: k, warn: r.chance(0.3) };
      if (k === 'relationships') {
        const to = lower(m);
        if (!to.length) return;
        t.to = r.pick(to);
      }
      if (m.tests.some((x) => x.kind === t.kind && x.to === t.to))
        m.tests = m.tests.filter((x) => x.kind !== t.kind);
      else m.tests.push(t);
      return;
    }
    case 9: {
      const m = state.models.get(some())!;
      for (const t of m.tests) t.warn = r.chance(0.5);
      return;
    }
    case 10: {
      const name = `check_${r.int(6)}`;
      if (state.singular.has(name) && r.chance(0.5)) state.singular.delete(name);
      else state.singular.set(name, { model: some(), warn: r.chance(0.3) });
      return;
    }
    case 11:
      state.macro++;
      return;
    case 12:
      state.folderConfig[r.pick(FOLDERS)] = r.pick<Materialized>(['view', 'table', undefined]);
      return;
    case 13:
      state.broken = some();
      return;
  }
}

/** Everything a load produces that its users see. */
function snapshot(p: SqlProject) {
  return {
    name: p.name,
    assets: p.assets.map((a) => ({
      key: a.key,
      group: a.group,
      description: a.description,
      deps: a.deps,
      tags: a.tags,
      kinds: a.kinds,
      metadata: a.metadata,
      external: a.external,
      resources: Object.keys(a.resources),
    })),
    checks: p.checks.map((c) => ({
      name: c.name,
      asset: c.assetKey,
      description: c.description,
      severity: c.severity,
      blocking: c.blocking,
    })),
    models: [...p.files.models.values()].map((m) => ({
      name: m.name,
      key: m.key,
      file: m.file,
      folder: m.folder,
      source: m.source,
      config: m.config,
      refs: m.refs,
      sources: m.sources,
      description: m.description,
      columns: m.columns,
      schema: m.schema,
      identifier: m.identifier,
    })),
    tests: p.files.tests.map((t) => ({ ...t, template: undefined })),
    sources: [...p.files.sources.values()],
  };
}

async function compiled(p: SqlProject) {
  const keys = p.assets.filter((a) => !a.external).map((a) => a.key);
  return (await p.compile(keys)).map((c) => [c.key, c.relation, c.sql]);
}

function attempt(load: () => SqlProject): { project?: SqlProject; error?: string } {
  try {
    return { project: load() };
  } catch (error) {
    return { error: String((error as Error).message) };
  }
}

test('a reload after random edits equals a full parse of the same files', async () => {
  const r = random(20261203);
  const state: GenState = {
    models: new Map(),
    singular: new Map(),
    macro: 1,
    folderConfig: {},
    nextId: 0,
    broken: undefined,
  };
  for (let i = 0; i < 30; i++) edit(state, { ...r, int: () => 0 });
  for (const m of state.models.values()) {
    m.folder = FOLDERS[m.id % 3]!;
    if (m.id > 0) m.refs = [nameOf(m.id - 1)];
  }
  let written = render(state);
  const dir = await writeProject(written);
  let tick = Date.now() / 1000;
  /** Writes what changed, each at a later time than the last, and says which files changed. */
  const write = (files: Record<string, string>): string[] => {
    const changed: string[] = [];
    tick += 1;
    for (const [rel, text] of Object.entries(files)) {
      if (written[rel] === text) continue;
      const file = path.join(dir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      utimesSync(file, tick, tick);
      changed.push(rel);
    }
    for (const rel of Object.keys(written)) {
      if (rel in files) continue;
      rmSync(path.join(dir, rel));
      changed.push(rel);
    }
    written = files;
    return changed;
  };

  const full = () => {
    rmSync(path.join(dir, 'target'), { recursive: true, force: true });
    return sqlProject({ dir, warehouse: WAREHOUSE });
  };
  let incremental = sqlProject({ dir, warehouse: WAREHOUSE });
  assert.deepEqual(snapshot(incremental), snapshot(full()));
  let errors = 0;
  let reused = 0;
  const steps = 120;
  for (let step = 0; step < steps; step++) {
    for (let n = 1 + r.int(3); n > 0; n--) edit(state, r);
    const changed = write(render(state));
    const hinted = step % 2 === 0;
    const before = new Set(incremental.assets);
    const next = attempt(() => incremental.reload(hinted ? { changed } : undefined));
    const expected = attempt(full);
    const where = `step ${step} (${hinted ? 'told' : 'not told'} the changed files: ${changed.join(', ')})`;
    assert.equal(next.error, expected.error, where);
    if (expected.error) {
      errors++;
      continue;
    }
    assert.deepEqual(snapshot(next.project!), snapshot(expected.project!), where);
    assert.deepEqual(await compiled(next.project!), await compiled(expected.project!), where);
    reused += next.project!.assets.filter((a) => before.has(a)).length;
    incremental = next.project!;
  }
  // The edits did reach the interesting cases, and unchanged models kept their definitions.
  assert.ok(errors >= 3, `${errors} loads failed`);
  assert.ok(state.models.size > 10);
  assert.ok(reused > steps * 5, `${reused} definitions reused`);
});
