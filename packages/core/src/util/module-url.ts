import { register } from 'node:module';

/**
 * Where the packages' code runs from: `dist/` (JavaScript compiled at install time, what the
 * `dag` command runs) or `src/` (TypeScript through tsx: tests, scripts, `DAG_FROM_SOURCE=1`).
 * A module that names a sibling module by URL (a preload, loader hooks) names the one of its
 * own kind, so the two kinds never mix in one process.
 */
export function siblingModule(relative: string, base: string): string {
  const url = new URL(relative, base);
  if (!base.endsWith('.ts')) url.pathname = url.pathname.replace(/\.ts$/, '.js');
  return url.href;
}

const fromDist = !import.meta.url.endsWith('.ts');
let prepared: Promise<void> | undefined;

/**
 * Makes users' definitions loadable, once, lazily: commands that load none (`dag --help`,
 * `dag runs`) pay nothing. From `dist/`, `@dag/*` imports of user code resolve to the same
 * compiled modules the command runs (the `dag-dist` export condition), and TypeScript files
 * load through tsx, registered here unless the process already has it (`--import tsx`).
 */
export function prepareUserCodeLoading(): Promise<void> {
  prepared ??= (async () => {
    if (!fromDist) return;
    register(siblingModule('../workspace/dist-conditions.ts', import.meta.url), import.meta.url);
    const preloaded = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /\btsx\b/.test(a));
    if (!preloaded) (await import('tsx/esm/api')).register();
  })();
  return prepared;
}
