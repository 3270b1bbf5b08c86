/**
 * The compile cache that loads TypeScript definitions without a loader (compiled-import.ts):
 * what a module sees of itself, how its imports resolve, when it is compiled again, and the
 * error of an import that names nothing.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { importCompiled } from '../src/workspace/compiled-import.ts';
import { tempDir } from './support.ts';

const dir = await tempDir('dag-compiled-');
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
// A node_modules folder makes the cache live beside the sources, as it does in a package.
await mkdir(path.join(dir, 'node_modules'));
const cacheDir = path.join(dir, 'node_modules', '.cache', 'dag-ts');

await mkdir(path.join(dir, 'lib'));
await writeFile(
  path.join(dir, 'lib', 'index.ts'),
  'export const where: string = import.meta.url;\nexport const folder: string = import.meta.dirname;\n',
);
await writeFile(
  path.join(dir, 'util.ts'),
  'export function scale(n: number): number {\n  return n * 2;\n}\n',
);
await writeFile(path.join(dir, 'plain.mjs'), "export const plain = 'javascript';\n");
await writeFile(
  path.join(dir, 'defs.ts'),
  [
    "import path from 'node:path';",
    "import { folder, where } from './lib';",
    "import { plain } from './plain.mjs';",
    "import { scale } from './util.js';",
    'interface Shape { value: number }',
    'const shape: Shape = { value: scale(21) };',
    'export default { ...shape, plain, where, folder, self: import.meta.filename, sep: path.sep };',
    '',
  ].join('\n'),
);

test('a TypeScript module and its TypeScript imports load compiled, seeing their own paths', async () => {
  const mod = await importCompiled(path.join(dir, 'defs.ts'), { distImports: false });
  assert.deepEqual(mod?.default, {
    value: 42,
    plain: 'javascript',
    where: pathToFileURL(path.join(dir, 'lib', 'index.ts')).href,
    folder: path.join(dir, 'lib'),
    self: path.join(dir, 'defs.ts'),
    sep: '/',
  });
  const cached = (await readdir(cacheDir)).filter((f) => f.endsWith('.mjs')).sort();
  assert.equal(cached.length, 3, `one cached module per TypeScript file: ${cached.join(', ')}`);
  assert.ok(!cached.some((f) => f.startsWith('plain')), 'JavaScript is loaded from where it is');
});

test('an unchanged file is not compiled again; an edited import is', async () => {
  const util = (await readdir(cacheDir)).find((f) => f.startsWith('util-'))!;
  const before = (await stat(path.join(cacheDir, util))).mtimeMs;
  await importCompiled(path.join(dir, 'defs.ts'), { distImports: false });
  assert.equal((await stat(path.join(cacheDir, util))).mtimeMs, before, 'nothing changed: nothing compiled');

  await writeFile(
    path.join(dir, 'util.ts'),
    'export function scale(n: number): number {\n  return n * 3;\n}\n',
  );
  const later = new Date(Date.now() + 2_000);
  await utimes(path.join(dir, 'util.ts'), later, later);
  await importCompiled(path.join(dir, 'defs.ts'), { distImports: false });
  assert.match(
    await readFile(path.join(cacheDir, util), 'utf8'),
    /n \* 3/,
    'the edited file was compiled again',
  );
});

test('an import that names no file fails the load with the module and its importer', async () => {
  await writeFile(
    path.join(dir, 'broken.ts'),
    "import { nothing } from './missing.ts';\nexport default nothing;\n",
  );
  await assert.rejects(
    importCompiled(path.join(dir, 'broken.ts'), { distImports: false }),
    (error: Error) => {
      assert.match(error.message, /Cannot find module '\.\/missing\.ts' imported from .*broken\.ts/);
      return true;
    },
  );
});

test('a syntax error names the file, line and column, as the loader does', async () => {
  const file = path.join(dir, 'typo.ts');
  await writeFile(file, 'export const a = 1;\nexport const b = (2;\n');
  await assert.rejects(importCompiled(file, { distImports: false }), (error: Error) => {
    assert.equal(error.name, 'SyntaxError');
    assert.match(
      error.message,
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: ERROR: Expected "\\)"`),
    );
    assert.doesNotMatch(error.message, /Build failed/);
    return true;
  });
});

test('a cache that cannot be written is reported, not an error: the caller loads the file another way', async () => {
  const blocked = await tempDir('dag-compiled-blocked-');
  await mkdir(path.join(blocked, 'node_modules'));
  // node_modules/.cache is a file here, so the cache folder cannot be made.
  await writeFile(path.join(blocked, 'node_modules', '.cache'), '');
  await writeFile(path.join(blocked, 'defs.ts'), 'export default 1 as number;\n');
  try {
    assert.equal(await importCompiled(path.join(blocked, 'defs.ts'), { distImports: false }), undefined);
  } finally {
    await rm(blocked, { recursive: true, force: true });
  }
});
