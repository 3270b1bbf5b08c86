import { existsSync } from 'node:fs';
import path from 'node:path';
import type chokidarModule from 'chokidar';
import { lazyRequire } from '../util/lazy-require.ts';

/** Only `dag dev` watches files. */
const chokidar = lazyRequire<typeof chokidarModule>('chokidar', import.meta.url);

import type { LocationReload, Workspace } from './workspace.ts';

export interface WorkspaceWatcher {
  /** Resolves once the files are being watched. */
  ready: Promise<void>;
  /** Stops watching and waits for a reload in progress. */
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Quiet time after the last change before a location reloads. Default 200 ms. */
  debounceMs?: number;
  /** Called after each reload the watcher started. */
  onReload?: (results: LocationReload[]) => void;
}

/**
 * Watches the files of every code location of a reloadable workspace (its definitions file,
 * the modules of its package that file imports, and the files and folders its assets'
 * `watchPaths` name, such as a SQL project's models) and reloads a location once its files
 * have been quiet for `debounceMs`, so an editor's burst of writes causes one reload. Files a
 * new version imports are watched from then on. chokidar does the watching: it copes with
 * editors that save by renaming a temporary file, which fs.watch on a file does not.
 *
 * @example
 * const watcher = watchWorkspace(workspace, { onReload: (r) => console.log(r) });
 * await watcher.ready;
 */
export function watchWorkspace(workspace: Workspace, options: WatchOptions = {}): WorkspaceWatcher {
  const debounceMs = options.debounceMs ?? 200;
  /** Every path a location's reload depends on: its modules, and its assets' `watchPaths`. */
  const pathsOf = (location: string) => [...workspace.files(location), ...workspace.watchPaths(location)];
  // Only paths that exist: chokidar reports itself ready before it has scanned the folders
  // when it is also given a path that does not (and a folder created later, such as a new
  // macros/, is picked up with the reload that a file referring to it causes).
  const watchable = (paths: string[]) => paths.filter((p) => existsSync(p));
  const watched = new Set(watchable(workspace.locations.flatMap((l) => pathsOf(l.name))));
  const watcher = chokidar().watch([...watched], { ignoreInitial: true });
  /** `changed` is one of the location's paths, or a file in one of its watched folders. */
  const concerns = (location: string, changed: string) =>
    pathsOf(location).some((p) => changed === p || changed.startsWith(p + path.sep));
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<void> = Promise.resolve();
  let closed = false;

  const reload = () => {
    timer = undefined;
    const names = [...pending];
    pending.clear();
    reloading = reloading.then(async () => {
      if (closed || names.length === 0) return;
      const results = await workspace.reload(names);
      const added = watchable(workspace.locations.flatMap((l) => pathsOf(l.name))).filter(
        (f) => !watched.has(f),
      );
      for (const f of added) watched.add(f);
      if (added.length > 0 && !closed) watcher.add(added);
      options.onReload?.(results);
    });
    // A reload never rejects (a location that fails keeps its error); stay alive regardless.
    reloading = reloading.catch(() => {});
  };

  watcher.on('all', (event, changed) => {
    if (event !== 'change' && event !== 'add' && event !== 'unlink') return;
    for (const l of workspace.locations) if (concerns(l.name, changed)) pending.add(l.name);
    if (pending.size === 0) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });

  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
      await reloading;
    },
  };
}
