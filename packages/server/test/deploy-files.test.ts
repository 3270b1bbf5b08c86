/**
 * Fast checks of the deployment files: the Dockerfile installs every workspace, the build
 * context holds the sources and none of what an install makes, and the lockfile records every
 * platform's optional builds (what `npm ci` needs to leave it unchanged).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { dockerContextFiles, REPO_ROOT } from '../../../pipelines/ds/test/support/docker-engine.ts';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** Folders of the root package.json's workspaces (`packages/*` and the like). */
function workspaceDirs(): string[] {
  const { workspaces } = JSON.parse(read('package.json')) as { workspaces: string[] };
  const dirs: string[] = [];
  for (const pattern of workspaces) {
    assert.match(pattern, /^[\w.-]+\/\*$/, `workspace pattern ${pattern}: this check knows <folder>/* only`);
    const parent = pattern.slice(0, -2);
    for (const name of readdirSync(path.join(REPO_ROOT, parent)).sort()) {
      if (existsSync(path.join(REPO_ROOT, parent, name, 'package.json'))) dirs.push(`${parent}/${name}`);
    }
  }
  return dirs;
}

describe('deployment files', () => {
  test('the Dockerfile copies every workspace manifest before npm ci', () => {
    const dockerfile = read('Dockerfile');
    const ci = dockerfile.indexOf('RUN npm ci');
    assert.ok(ci > 0, 'the Dockerfile installs with npm ci');
    const dirs = workspaceDirs();
    assert.ok(dirs.length >= 10, `found ${dirs.length} workspaces`);
    for (const dir of dirs) {
      const line = `COPY ${dir}/package.json ${dir}/`;
      const at = dockerfile.indexOf(line);
      assert.ok(at > 0, `Dockerfile: missing '${line}' (add it beside the other manifests)`);
      assert.ok(at < ci, `Dockerfile: '${line}' must come before npm ci`);
    }
    // No manifest of a workspace that no longer exists.
    for (const [, dir] of dockerfile.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)) {
      assert.ok(dirs.includes(dir as string), `Dockerfile copies ${dir}/package.json: not a workspace`);
    }
  });

  test('the build context holds every source and no install output', async () => {
    const files = await dockerContextFiles(REPO_ROOT, read('.dockerignore'));
    for (const dir of workspaceDirs()) {
      assert.ok(files.includes(`${dir}/package.json`), `${dir}/package.json is in the context`);
      if (existsSync(path.join(REPO_ROOT, dir, 'src'))) {
        assert.ok(
          files.some((f) => f.startsWith(`${dir}/src/`)),
          `${dir}/src is in the context`,
        );
      }
    }
    for (const file of ['package-lock.json', 'workspace.yaml', 'deploy/docker-entrypoint.sh']) {
      assert.ok(files.includes(file), `${file} is in the context`);
    }
    const unwanted = files.filter((f) => /(^|\/)(node_modules|dist|\.dag|\.git)\//.test(f));
    assert.deepEqual(unwanted, [], 'nothing an install, a build or a run makes');
  });

  test('package-lock.json records the optional builds of every platform', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const resolves = (from: string, name: string): boolean => {
      let base = from;
      for (;;) {
        if (lock.packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
        if (!base) return false;
        const i = base.lastIndexOf('/node_modules/');
        base = i < 0 ? '' : base.slice(0, i);
      }
    };
    const missing: string[] = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
        if (!resolves(key, name)) missing.push(`${key || '(root)'} -> ${name}@${range}`);
      }
    }
    assert.deepEqual(
      missing,
      [],
      'optional dependencies without a lockfile entry: npm ci would not install them on that platform, and npm install would add them to the lockfile. Remove the parent entries from package-lock.json and run npm install --package-lock-only.',
    );
  });
});
