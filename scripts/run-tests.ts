/**
 * The test command: starts one embedded PostgreSQL server for the whole run (each test file
 * then creates fresh databases on it), runs every `test/**\/*.test.ts` of the workspaces with
 * Node's test runner, and stops the server. Extra arguments filter test files by substring.
 *
 * DAG_TEST_POSTGRES_URL (an external server's admin URL) makes the storage conformance suite
 * run against that server too.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '@dag/core';

const root = path.resolve(import.meta.dirname, '..');

async function findTests(dir: string, out: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await findTests(full, out);
    else if (entry.name.endsWith('.test.ts')) out.push(full);
  }
}

const filters = process.argv.slice(2);
const files: string[] = [];
for (const area of ['packages', 'pipelines', 'crawlers', 'replicas']) {
  let members: string[] = [];
  try {
    members = await readdir(path.join(root, area));
  } catch {}
  for (const member of members) {
    const testDir = path.join(root, area, member, 'test');
    if ((await stat(testDir).catch(() => undefined))?.isDirectory()) await findTests(testDir, files);
  }
}
const selected = files.filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt))).sort();
if (selected.length === 0) {
  console.error(`No test files match ${filters.join(' ')}`);
  process.exit(1);
}

// 0755: when tests run as root, the server runs as another OS user that must reach this folder.
const home = await mkdtemp(path.join(tmpdir(), 'dag-test-'));
await import('node:fs/promises').then((fs) => fs.chmod(home, 0o755));
const started = Date.now();
const server = await ensureEmbeddedPostgres(home);
console.log(
  `# embedded PostgreSQL ${server.version} for tests on port ${server.port} (${Date.now() - started} ms)`,
);

let code = 1;
try {
  code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', ...selected],
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, DAG_TEST_PG_ADMIN_URL: server.url, DAG_TEST_HOME_ROOT: home },
      },
    );
    child.on('close', (c) => resolve(c ?? 1));
  });
} finally {
  await stopEmbeddedPostgres(home).catch((error) => console.error('could not stop the test server:', error));
  await rm(home, { recursive: true, force: true });
}
process.exit(code);
