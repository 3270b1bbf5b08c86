import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../core/test/support.ts';
import { call, type ServerFixture, serverFixture } from './support.ts';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('GET /api/files', () => {
  let fx: ServerFixture;
  let root: string;
  let outside: string;
  before(async () => {
    root = await tempDir('dag-files-root-');
    outside = await tempDir('dag-files-outside-');
    fx = await serverFixture({ fileRoots: [root] });
    await mkdir(path.join(root, 'data', 'images'), { recursive: true });
    await writeFile(path.join(root, 'data', 'images', 'logo.png'), PNG);
    await writeFile(
      path.join(root, 'data', 'images', 'icon.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg"/>',
    );
    await writeFile(path.join(root, 'data', 'notes.txt'), 'not an image');
    await writeFile(path.join(outside, 'secret.png'), PNG);
    await symlink(path.join(outside, 'secret.png'), path.join(root, 'data', 'images', 'link.png'));
    await symlink(outside, path.join(root, 'data', 'escape'));
    await mkdir(path.join(fx.test.home, 'previews'), { recursive: true });
    await writeFile(path.join(fx.test.home, 'previews', 'a.webp'), PNG);
  });
  after(async () => {
    await fx.close();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const get = (file: string) => call(fx.app, `/api/files?path=${encodeURIComponent(file)}`);

  test('serves images inside the workspace folder and DAG_HOME', async () => {
    const png = await fx.app.request(
      `http://localhost/api/files?path=${encodeURIComponent(path.join(root, 'data/images/logo.png'))}`,
    );
    assert.equal(png.status, 200);
    assert.equal(png.headers.get('Content-Type'), 'image/png');
    assert.deepEqual(Buffer.from(await png.arrayBuffer()), PNG);
    const svg = await get(path.join(root, 'data/images/icon.svg'));
    assert.equal(svg.status, 200);
    assert.equal(svg.headers.get('Content-Type'), 'image/svg+xml');
    assert.match(svg.headers.get('Content-Security-Policy') ?? '', /sandbox/);
    assert.equal((await get(path.join(fx.test.home, 'previews/a.webp'))).status, 200);
  });

  test('refuses everything else: outside the roots, .. tricks, symlinks out, non-images, relative paths', async () => {
    assert.equal((await get(path.join(outside, 'secret.png'))).status, 403);
    assert.equal(
      (await get(`${root}/data/images/../../../${path.basename(outside)}/secret.png`)).status,
      403,
    );
    assert.equal((await get(path.join(root, 'data/images/link.png'))).status, 403);
    assert.equal((await get(path.join(root, 'data/escape/secret.png'))).status, 403);
    assert.equal((await get(path.join(root, 'data/notes.txt'))).status, 403);
    assert.equal((await get('/etc/passwd')).status, 403);
    assert.equal((await get(`${root}/../../etc/passwd`)).status, 403);
    assert.equal((await get(path.join(root, 'data/images'))).status, 403);
    assert.equal((await get(path.join(root, 'data/images/missing.png'))).status, 404);
    assert.equal((await get('data/images/logo.png')).status, 400);
    assert.equal((await call(fx.app, '/api/files')).status, 400);
  });

  test('does not tell whether a path outside the roots exists', async () => {
    const existing = await get(path.join(outside, 'secret.png'));
    const missing = await get(path.join(outside, 'no-such-file.png'));
    const missingDir = await get('/no/such/folder/at/all.png');
    assert.equal(existing.status, 403);
    assert.equal(missing.status, 403, missing.text);
    assert.equal(missingDir.status, 403, missingDir.text);
    assert.equal(missing.text, existing.text);
    assert.equal(missingDir.text, existing.text);
  });
});
