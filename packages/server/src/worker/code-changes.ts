import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Workspace } from '@dag/core';
import chokidar from 'chokidar';

/** Files whose change means a code location changed: sources, their configuration, SQL models. */
const CODE_FILE = /\.(?:[cm]?[jt]sx?|json|ya?ml|sql)$/i;

/** The package a definitions file belongs to: the nearest folder above it with a package.json. */
function packageRoot(file: string): string {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.dirname(path.resolve(file));
    dir = up;
  }
}

/**
 * The folders a workspace's code lives in: the package of each definitions file (the modules
 * it imports are there), and the workspace file's folder. Nested ones are dropped.
 */
export function codeRoots(workspace: Workspace): string[] {
  const roots = [
    ...workspace.locations.map((l) => packageRoot(l.file)),
    path.dirname(path.resolve(workspace.source)),
  ].sort();
  return roots.filter(
    (root, i) => !roots.slice(0, i).some((r) => root === r || root.startsWith(r + path.sep)),
  );
}

export interface CodeChangeWatch {
  /** Resolves once the folders are being watched. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches the code of a workspace's locations on disk (see `codeRoots`), leaving out
 * node_modules, hidden folders, `ignore` (the instance folder, where logs are written) and
 * files that are not code: `onChange` is called with the path of each change. A launcher that
 * keeps run processes for several runs retires them on it, so a run never executes code older
 * than what is on disk.
 */
export function watchCodeChanges(
  workspace: Workspace,
  options: { ignore: string[]; onChange: (file: string) => void; onError?: (error: unknown) => void },
): CodeChangeWatch {
  const ignore = options.ignore.map((p) => path.resolve(p));
  const inIgnored = (p: string) => ignore.some((i) => p === i || p.startsWith(i + path.sep));
  const watcher = chokidar.watch(codeRoots(workspace), {
    ignoreInitial: true,
    ignored: (p, stats) => {
      const base = path.basename(p);
      if (base === 'node_modules' || (base.startsWith('.') && base.length > 1)) return true;
      if (inIgnored(p)) return true;
      return stats?.isFile() === true && !CODE_FILE.test(p);
    },
  });
  watcher.on('all', (_event, file) => {
    if (CODE_FILE.test(file)) options.onChange(file);
  });
  watcher.on('error', (error) => options.onError?.(error));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { ready, close: () => watcher.close() };
}
