/**
 * The `dag` command runs the compiled JavaScript of the packages' dist/, loads heavy modules
 * only when a command needs them, and never runs a stale build. What the process loads is
 * recorded by a preload (fixtures/record-loads.mjs); nothing here measures time (bench/core does).
 */
import assert from 'node:assert/strict';
import { readFile, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../core/test/support.ts';
import { isFresh } from '../bin/build-dist.js';
import { dag } from './run-dag.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const dir = await tempDir('dag-startup-');
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadsOf(args: string[], name: string): Promise<string[]> {
  const file = path.join(dir, `${name}.txt`);
  const preload = path.join(import.meta.dirname, 'fixtures', 'record-loads.mjs');
  const result = await dag(args, {
    DAG_TEST_LOADS: file,
    NODE_OPTIONS: `--import ${preload}`,
    DAG_HOME: path.join(dir, 'home'),
  });
  assert.equal(result.code, 0, result.stderr);
  return (await readFile(file, 'utf8')).trim().split('\n');
}

const heavy = [
  '/node_modules/pg/',
  '/node_modules/@duckdb/',
  '/node_modules/nunjucks/',
  '/node_modules/hono/',
  '/node_modules/tsx/',
];

test('dag --help runs compiled JavaScript and loads no heavy module', async () => {
  const loads = await loadsOf(['--help'], 'help');
  const ours = loads.filter((u) => u.includes('/packages/'));
  assert.ok(
    ours.some((u) => u.endsWith('/packages/cli/dist/main.js')),
    'the CLI runs from dist/',
  );
  assert.deepEqual(
    ours.filter((u) => u.endsWith('.ts')),
    [],
    'no TypeScript source is loaded',
  );
  for (const h of heavy) assert.ok(!loads.some((u) => u.includes(h)), `${h} is not loaded by --help`);
});

test("a TypeScript definitions file loads without a loader thread, from its compiled cache, and shares the command's modules", async () => {
  const file = path.join(root, 'examples/quickstart/definitions.ts');
  for (const round of ['compiles', 'cached']) {
    const loads = await loadsOf(['-f', file, 'list'], `list-${round}`);
    assert.ok(!loads.some((u) => u.includes('/node_modules/tsx/')), `${round}: tsx is not loaded`);
    assert.ok(
      loads.some((u) => /\/node_modules\/\.cache\/dag-ts\/definitions-[0-9a-f]+\.mjs$/.test(u)),
      `${round}: the definitions load from the compile cache`,
    );
    // Its `@dag/core` is the command's compiled one, not a second copy from src/.
    assert.ok(!loads.some((u) => u.endsWith('/packages/core/src/index.ts')), 'no second @dag/core from src/');
    assert.ok(!loads.some((u) => u.includes('/node_modules/pg/')), 'listing does not load pg');
  }
});

test('a source edited after the build is never run from the old build: dag rebuilds first', async () => {
  const source = path.join(root, 'packages/cli/src/exit-codes.ts');
  const later = new Date(Date.now() + 1_000);
  await utimes(source, later, later);
  assert.equal(isFresh('cli'), false, 'the build is stale once a source changed');
  const result = await dag(['--help'], { DAG_HOME: path.join(dir, 'home') });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(isFresh('cli'), true, 'dag rebuilt it before running');
});
