import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_UI_DIR } from './static-ui.ts';

const UI_PACKAGE = path.resolve(DEFAULT_UI_DIR, '..');

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtime(full));
    else newest = Math.max(newest, (await stat(full)).mtimeMs);
  }
  return newest;
}

/**
 * Builds this repository's UI (vite build) when `dist` is missing or older than its sources,
 * so `dag dev` on a fresh clone serves the UI with no extra step. Returns what it did.
 */
export async function ensureUiBuilt(log: (text: string) => void): Promise<'fresh' | 'built'> {
  const index = path.join(DEFAULT_UI_DIR, 'index.html');
  const built = await stat(index).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(
    await newestMtime(path.join(UI_PACKAGE, 'src')),
    (await stat(path.join(UI_PACKAGE, 'index.html'))).mtimeMs,
    // The build's own settings (its plugins write into index.html).
    (await stat(path.join(UI_PACKAGE, 'vite.config.ts'))).mtimeMs,
  );
  if (built > 0 && built >= sources) return 'fresh';
  log(`dag dev: building the web UI into ${DEFAULT_UI_DIR} (once; it is rebuilt when its sources change)...`);
  const vite = path.join(UI_PACKAGE, 'node_modules', '.bin', 'vite');
  const fallback = path.resolve(UI_PACKAGE, '..', '..', 'node_modules', '.bin', 'vite');
  const bin = await stat(vite).then(
    () => vite,
    () => fallback,
  );
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, ['build', '--logLevel', 'warn'], {
      cwd: UI_PACKAGE,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `Building the UI failed (vite exited with ${code}); run 'npm run build -w @dag/ui' to see why.`,
            ),
          ),
    );
  });
  return 'built';
}
