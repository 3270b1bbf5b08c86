import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freshDatabase, tempDir } from '../../core/test/support.ts';
import { waitFor } from './support.ts';

const MAIN = path.join(import.meta.dirname, 'fixtures', 'dev-main.ts');
const REPO = path.resolve(import.meta.dirname, '../../..');

/** assets.ts of the temp code location: one asset per name, each logging its name. */
function assetsModule(names: string[], extra = ''): string {
  return [
    "import { asset } from '@dag/core';",
    ...names.map(
      (n) =>
        `export const ${n} = asset({ name: '${n}', group: 'reload' }, async (ctx) => { ctx.log.info('${n} ran'); });`,
    ),
    `export const all = [${names.join(', ')}];`,
    extra,
  ].join('\n');
}

const DEFINITIONS = [
  "import { Definitions } from '@dag/core';",
  "import { all } from './assets.ts';",
  'export default new Definitions({ assets: all });',
].join('\n');

interface Definitions {
  locations: { name: string; assets: { key: string }[] }[];
  errors: { location: string; file: string; line?: number; message: string }[];
  generation: number;
}

describe('dag dev reloads definitions', () => {
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let home: string;
  let dir: string;
  let url: string;
  let output: () => string;
  let stop: () => Promise<number | null>;

  const api = async <T>(route: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}api${route}`, init);
    return { status: res.status, body: (await res.json()) as T };
  };
  const assetKeys = async () =>
    (await api<Definitions>('/definitions')).body.locations.flatMap((l) => l.assets.map((a) => a.key)).sort();
  const launch = (selection: string) =>
    api<{ runId: string; error?: { message: string } }>('/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ selection }),
    });
  const finished = (runId: string) =>
    waitFor(`run ${runId} to finish`, async () => {
      const { body } = await api<{ run: { status: string } }>(`/runs/${runId}`);
      return ['SUCCESS', 'FAILURE', 'CANCELED'].includes(body.run.status) ? body.run.status : undefined;
    });

  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    home = await tempDir('dag-reload-home-');
    dir = await tempDir('dag-reload-ws-');
    // A code location of its own package, resolving @dag/core through the repository's node_modules.
    await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'reload-fixture', type: 'module' }),
    );
    await mkdir(path.join(dir, 'lib'));
    await writeFile(path.join(dir, 'assets.ts'), assetsModule(['first']));
    await writeFile(path.join(dir, 'reloadable.ts'), DEFINITIONS);
    env = { DAG_POSTGRES_URL: db.url, DAG_HOME: home, DAG_UI_TOKEN: '' };
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        '-f',
        path.join(dir, 'reloadable.ts'),
        'dev',
        '--port',
        '0',
        '--ui-dir',
        home,
      ],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    );
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      text += d;
    });
    output = () => text;
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    stop = async () => {
      child.kill('SIGINT');
      return exited;
    };
    url = await waitFor('the URL', async () => output().match(/listening on (http:\/\/\S+)/)?.[1]);
  });
  after(async () => {
    assert.equal(await stop(), 0, output());
    await drop();
    await rm(home, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  test('an edited module of the location is reloaded: the new asset is listed and launches', async () => {
    assert.deepEqual(await assetKeys(), ['first']);
    assert.equal((await launch('second')).status, 400);
    await writeFile(path.join(dir, 'assets.ts'), assetsModule(['first', 'second']));
    await waitFor('the new asset to be listed', async () =>
      (await assetKeys()).includes('second') ? true : undefined,
    );
    const run = await launch('second');
    assert.equal(run.status, 201, JSON.stringify(run.body));
    assert.equal(await finished(run.body.runId), 'SUCCESS', output());
    assert.match(output(), /dag dev: reloaded reloadable/);
  });

  test('a file that no longer loads shows its error, and the last good definitions keep serving', async () => {
    await waitFor('the second asset', async () =>
      (await assetKeys()).includes('second') ? true : undefined,
    );
    // Line 4 of assets.ts is the broken one.
    await writeFile(
      path.join(dir, 'assets.ts'),
      `${assetsModule(['first', 'second']).split('\n').slice(0, 3).join('\n')}\nexport const broken = ;\n`,
    );
    const error = await waitFor(
      'the load error',
      async () => (await api<Definitions>('/definitions')).body.errors[0],
    );
    assert.equal(error.location, 'reloadable');
    assert.equal(error.file, path.join(dir, 'assets.ts'));
    assert.equal(error.line, 4);
    assert.match(error.message, /reloadable\.ts threw while loading: .*Unexpected ";"/s);
    assert.deepEqual(await assetKeys(), ['first', 'second']);
    // The run process executes the definitions the server serves, not the broken file on disk.
    const run = await launch('first');
    assert.equal(run.status, 201, JSON.stringify(run.body));
    assert.equal(await finished(run.body.runId), 'SUCCESS', output());
    assert.match(
      output(),
      /reloading reloadable failed \(its last good definitions stay loaded\): .*assets\.ts:4/,
    );
  });

  test('POST /api/definitions/reload reloads on demand; an unknown location is a 404', async () => {
    // A throw at load time: the error points at the throwing line.
    await writeFile(
      path.join(dir, 'assets.ts'),
      `${assetsModule(['first'])}\nthrow new Error('not today');\n`,
    );
    const all = await api<Definitions & { results: { location: string; status: string }[] }>(
      '/definitions/reload',
      { method: 'POST' },
    );
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.results.map((r) => [r.location, r.status]),
      [['reloadable', 'error']],
    );
    assert.match(all.body.errors[0]!.message, /Error: not today/);
    assert.equal(all.body.errors[0]!.line, assetsModule(['first']).split('\n').length + 1);

    await writeFile(path.join(dir, 'assets.ts'), assetsModule(['first', 'third']));
    const one = await api<Definitions & { results: { status: string }[] }>(
      '/definitions/locations/reloadable/reload',
      {
        method: 'POST',
      },
    );
    assert.equal(one.status, 200);
    assert.equal(one.body.results[0]!.status, 'loaded');
    assert.deepEqual(one.body.errors, []);
    assert.deepEqual(await assetKeys(), ['first', 'third']);

    const missing = await api<{ error: { message: string } }>('/definitions/locations/nope/reload', {
      method: 'POST',
    });
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /Unknown code location 'nope'.*reloadable/);
  });
});
