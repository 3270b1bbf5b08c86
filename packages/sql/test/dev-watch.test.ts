import assert from 'node:assert/strict';
import { rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { asset, DefinitionError, type LocationReload, Workspace, watchWorkspace } from '@dag/core';
import { waitFor } from '../../core/test/support.ts';
import { writeProject } from './support.ts';

const REPO = path.resolve(import.meta.dirname, '../../..');

test('dag dev reloads a code location when a model, a YAML file or the project file of its SQL project changes, not when target/ does', async () => {
  const dir = await writeProject({
    'package.json': JSON.stringify({ name: 'sql-watch-fixture', type: 'module' }),
    'dbt_project.yml': 'name: watched\n',
    'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: t\n',
    'models/a/one.sql': "select * from {{ source('raw', 't') }}",
    'models/a/two.sql': 'select 1 as x',
    'definitions.ts': [
      "import { Definitions } from '@dag/core';",
      "import { sqlProject } from '@dag/sql';",
      "const p = sqlProject({ dir: new URL('./', import.meta.url), warehouse: 'duckdb:///tmp/unused-watch.duckdb' });",
      'export default new Definitions({ assets: [...p.assets], assetChecks: [...p.checks] });',
    ].join('\n'),
  });
  await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  const workspace = await Workspace.load({ file: path.join(dir, 'definitions.ts'), reloadable: true });
  const [location] = workspace.locations.map((l) => l.name);
  const assetOf = (key: string) => workspace.locations[0]!.definitions.assets.find((a) => a.key === key);
  assert.deepEqual(
    workspace.watchPaths(location!).sort(),
    ['dbt_project.yml', 'macros', 'models', 'tests'].map((p) => path.join(dir, p)).sort(),
  );

  const reloads: LocationReload[][] = [];
  const watcher = watchWorkspace(workspace, { debounceMs: 50, onReload: (r) => reloads.push(r) });
  try {
    await watcher.ready;
    const reloaded = (n: number) =>
      waitFor(`reload ${n}`, async () => (reloads.length >= n ? true : undefined));

    // A model gains a ref: its asset gains the edge.
    await writeFile(path.join(dir, 'models/a/two.sql'), "select x from {{ ref('one') }}");
    await reloaded(1);
    assert.deepEqual(assetOf('a/two')?.deps, ['a/one']);

    // A new model file under the watched folder: a new asset.
    await writeFile(path.join(dir, 'models/a/three.sql'), "select * from {{ ref('two') }}");
    await waitFor('a/three appears', async () => (assetOf('a/three') ? true : undefined));
    assert.deepEqual(assetOf('a/three')?.deps, ['a/two']);

    // A broken model: the location keeps its last good definitions and reports the error.
    const before = reloads.length;
    await writeFile(path.join(dir, 'models/a/three.sql'), "select * from {{ ref('missing') }}");
    await reloaded(before + 1);
    assert.equal(reloads.at(-1)?.[0]?.status, 'error');
    assert.match(reloads.at(-1)?.[0]?.error?.message ?? '', /missing/);
    assert.ok(assetOf('a/three'), 'the last good definitions stay');

    // Writes under target/ (the partial-parse cache) are not an edit of the project: a file
    // written there before a real edit causes no reload of its own.
    await writeFile(path.join(dir, 'models/a/three.sql'), "select * from {{ ref('one') }}");
    await reloaded(before + 2);
    const settled = reloads.length;
    await writeFile(path.join(dir, 'target', 'unrelated.json'), '{}');
    await writeFile(path.join(dir, 'dbt_project.yml'), 'name: watched\nvars:\n  v: 1\n');
    await reloaded(settled + 1);
    assert.equal(reloads.length, settled + 1, 'one reload, for dbt_project.yml');
    assert.deepEqual(assetOf('a/three')?.deps, ['a/one']);
  } finally {
    await watcher.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('watchPaths must be absolute paths or file: URLs', () => {
  assert.throws(
    () => asset({ name: 'a', watchPaths: ['relative/x.yml'] }, () => undefined),
    (e: Error) =>
      e instanceof DefinitionError &&
      /watchPaths entry "relative\/x.yml" is not an absolute path/.test(e.message),
  );
  const a = asset({ name: 'b', watchPaths: [new URL('file:///srv/x.yml'), '/srv/y/'] }, () => undefined);
  assert.deepEqual(a.watchPaths, ['/srv/x.yml', '/srv/y/']);
});
