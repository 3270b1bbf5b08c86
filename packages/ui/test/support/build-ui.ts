/**
 * Builds the UI into a folder of the caller's (test files run in parallel: each builds its own
 * copy instead of racing on packages/ui/dist).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const UI_ROOT = path.resolve(import.meta.dirname, '../..');
const VITE = path.resolve(UI_ROOT, '../../node_modules/vite/bin/vite.js');

/** `vite build` into a fresh temporary folder; returns it. */
export async function buildUiInto(prefix = 'dag-ui-dist-'): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), prefix));
  execFileSync(process.execPath, [VITE, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: UI_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return outDir;
}
