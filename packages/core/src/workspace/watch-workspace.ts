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
 * Watches the files of every code location of a reloadable workspace (its definitions file
 * and the modules of its package that file imports) and reloads a location once its files
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
  const watched = new Set(workspace.locations.flatMap((l) => workspace.files(l.name)));
  const watcher = chokidar().watch([...watched], { ignoreInitial: true });
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
      const added = workspace.locations
        .flatMap((l) => workspace.files(l.name))
        .filter((f) => !watched.has(f));
      for (const f of added) watched.add(f);
      if (added.length > 0 && !closed) watcher.add(added);
      options.onReload?.(results);
    });
    // A reload never rejects (a location that fails keeps its error); stay alive regardless.
    reloading = reloading.catch(() => {});
  };

  watcher.on('all', (event, changed) => {
    if (event !== 'change' && event !== 'add' && event !== 'unlink') return;
    for (const l of workspace.locations) if (workspace.files(l.name).includes(changed)) pending.add(l.name);
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
