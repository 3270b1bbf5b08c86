/**
 * Fast checks of the deployment files: the Dockerfile installs every workspace, the build
 * context holds the sources and none of what an install makes, and the lockfile records every
 * platform's optional builds (what `npm ci` needs to leave it unchanged).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
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
  test('compose.yaml: the migration runs first, every long-running service is checked', () => {
    const spec = parse(read('deploy/compose.yaml'), { merge: true }) as {
      services: Record<
        string,
        {
          command: string[];
          depends_on?: Record<string, { condition: string }>;
          healthcheck?: { test: string[] };
          restart?: string;
        }
      >;
    };
    const s = spec.services;
    assert.deepEqual(Object.keys(s).sort(), ['daemon', 'migrate', 'postgres', 'web', 'worker-1', 'worker-2']);
    assert.deepEqual(s.migrate?.command, ['instance', 'migrate']);
    assert.equal(s.migrate?.restart, 'no');
    assert.equal(s.migrate?.depends_on?.postgres?.condition, 'service_healthy');
    for (const name of ['web', 'daemon', 'worker-1', 'worker-2']) {
      assert.equal(
        s[name]?.depends_on?.migrate?.condition,
        'service_completed_successfully',
        `${name} starts after the migration`,
      );
    }
    assert.equal(s.web?.command[0], 'dev');
    assert.ok(s.web?.command.includes('--no-daemon'), 'one daemon: the daemon service');
    assert.deepEqual(s.daemon?.command, ['daemon', '--workers'], 'the daemon hands runs to the workers');
    const webCheck = s.web?.healthcheck?.test.join(' ') ?? '';
    assert.match(webCheck, /\/healthz/);
    assert.match(webCheck, /\/readyz/);
    for (const name of ['worker-1', 'worker-2']) {
      assert.equal(s[name]?.command[0], 'worker');
      assert.deepEqual(s[name]?.healthcheck?.test.slice(1, 4), ['dag', 'worker', 'health']);
    }
    assert.deepEqual(s.postgres?.command.slice(0, 2), ['instance', 'serve-postgres']);
  });

  test('kubernetes manifests: every pod runs the dag image as non-root with the URL from the Secret', () => {
    const dir = path.join(REPO_ROOT, 'deploy/kubernetes');
    const kinds: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
        assert.deepEqual(doc.errors, [], `${file} is valid YAML`);
        const m = doc.toJS() as {
          kind: string;
          metadata?: { name?: string };
          spec?: { template?: { spec: Record<string, unknown> } };
        };
        kinds.push(`${m.kind}/${m.metadata?.name ?? ''}`);
        const pod = m.spec?.template?.spec as
          | {
              securityContext?: { runAsNonRoot?: boolean };
              containers: {
                image: string;
                env?: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
              }[];
            }
          | undefined;
        if (!pod) continue;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${file}: runs as non-root`);
        for (const c of pod.containers) {
          assert.equal(c.image, 'dag', `${file}: the image kustomization.yaml names`);
          const url = c.env?.find((e) => e.name === 'DAG_POSTGRES_URL');
          assert.equal(
            url?.valueFrom?.secretKeyRef?.name,
            'dag-secrets',
            `${file}: DAG_POSTGRES_URL from the Secret`,
          );
        }
      }
    }
    for (const expected of [
      'Job/dag-migrate',
      'Deployment/dag-web',
      'Service/dag-web',
      'Deployment/dag-daemon',
      'Deployment/dag-worker',
      'ConfigMap/dag-config',
    ]) {
      assert.ok(kinds.includes(expected), `${expected} in deploy/kubernetes (${kinds.join(', ')})`);
    }
    const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual(
      [...kustomization.resources].sort(),
      files.sort(),
      'kustomization.yaml lists every manifest',
    );
  });
});
