/**
 * The JavaScript the `dag` command runs: each workspace package's `src/` compiled into its
 * `dist/` with esbuild, so that no command compiles the CLI's own TypeScript on every start.
 *
 * Two steps. First every source file becomes one module (types stripped, `.ts` imports renamed
 * `.js`, `@dag/*` imports pointing at the other packages' `dist/`). Then the modules a process
 * loads by path (the `dag-dist` exports of package.json, the CLI's `main.js`, the loader hooks
 * and preloads named through `siblingModule`; see BY_PATH) are bundled from those modules,
 * each written over its own one-module file, with the code they share split into
 * `dist/chunks/` and dynamic imports kept lazy in chunks of their own: a command then loads a
 * few files instead of a few hundred (on Node 20, without a compile cache, each ES module
 * costs a resolve, a read and a compile, about half a millisecond). Only the package's own
 * modules are bundled; other packages (`@dag/*` and npm's) stay imports, so every process has
 * one `@dag/core` and one copy of each dependency, as before. In bundled code,
 * `import.meta.url`, `import.meta.dirname` and `import.meta.filename` still name the module's
 * one-module file, so files found beside a module (SQL migrations, sibling modules) are found
 * where they were. The one-module files stay in `dist/` (the input of the second step).
 *
 * Built at install time (the root package's `prepare` script runs this file), and checked by
 * every `dag` start: a package whose sources changed since its build (a file edited, added or
 * removed) is built again before it is used, so a stale build never runs. Each build records
 * what it was built from in `dist/.build.json`.
 *
 * Plain JavaScript on purpose: it runs before any TypeScript loader exists.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The packages the CLI loads, in dependency order. */
export const DIST_PACKAGES = ['core', 'object-store', 'slack', 'sql', 'server', 'cli'];
const MANIFEST = '.build.json';
/** Bump when the output's shape changes: every package is then built again. */
const FORMAT = 2;
/**
 * Modules loaded by path rather than through the package's exports, bundled as entries too:
 * `bin/dag.js` imports the CLI's `main.js`; the others are named with `siblingModule`.
 * A module loaded by path but missing here still works (its one-module file runs), but shares
 * none of the bundle's module instances.
 */
const BY_PATH = {
  core: [
    'workspace/dist-conditions.ts',
    'workspace/code-snapshot.ts',
    'workspace/code-snapshot-hooks.ts',
    'workspace/fresh-import-hooks.ts',
  ],
  server: ['redact-output.ts'],
  sql: ['warehouses/bigquery.ts'],
  cli: ['main.ts'],
};
/**
 * Dependencies bundled into the modules that use them rather than imported: small, pure
 * ES-module packages (no state, no files of their own, used by one package only) whose many
 * modules would otherwise each be loaded on start. devalue: 9 modules, imported by core's IO
 * manager on every start.
 */
const INLINE = new Set(['devalue']);
/** Where the chunks of code shared by a package's entries are written, under dist/. */
const CHUNKS = 'chunks';

/**
 * What a build depends on: each source file under `src/` (relative, `/`-separated) with its
 * size and modification time. Every `dag` start computes this for every package, so it is
 * kept to one readdir per folder and one stat per file, without path.join/relative per file
 * (those cost more than the system calls here).
 */
function fingerprint(srcDir) {
  const files = {};
  const walk = (dir, prefix) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`);
      else {
        const st = statSync(full);
        files[`${prefix}${entry.name}`] = `${st.size}:${st.mtimeMs}`;
      }
    }
  };
  walk(srcDir, '');
  // An inlined dependency is part of the build too: updating it makes the build stale.
  for (const name of INLINE) {
    for (let dir = path.dirname(srcDir); ; dir = path.dirname(dir)) {
      const st = statSync(`${dir}/node_modules/${name}/package.json`, { throwIfNoEntry: false });
      if (st) {
        files[`node_modules/${name}/package.json`] = `${st.size}:${st.mtimeMs}`;
        break;
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  return files;
}

/** True if the package's dist/ was built from its src/ as it is now. */
export function isFresh(name) {
  const dir = path.join(PACKAGES_DIR, name);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'dist', MANIFEST), 'utf8'));
  } catch {
    return false;
  }
  if (manifest.format !== FORMAT) return false;
  const now = fingerprint(path.join(dir, 'src'));
  const built = manifest.files ?? {};
  const keys = Object.keys(now);
  if (keys.length !== Object.keys(built).length) return false;
  return keys.every((k) => built[k] === now[k]);
}

/** Writes a file whole or not at all (a concurrent `dag` never reads half of it). */
function writeAtomic(file, contents) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

/** The compiled file an `@dag/<package>[/<subpath>]` import names (its `dag-dist` export). */
function distTarget(specifier) {
  const [, name, ...sub] = specifier.split('/');
  const target = distExports(name).get(sub.length > 0 ? `./${sub.join('/')}` : '.');
  if (!target) throw new Error(`${specifier} has no 'dag-dist' export in packages/${name}/package.json`);
  return target;
}

/** Compiles one package's src/ into dist/. */
export async function buildPackage(name) {
  const { build } = await import('esbuild');
  const dir = path.join(PACKAGES_DIR, name);
  const srcDir = path.join(dir, 'src');
  const distDir = path.join(dir, 'dist');
  // Taken before compiling: an edit made during the build makes the next start build again.
  const files = fingerprint(srcDir);
  const sources = Object.keys(files)
    .filter((f) => !f.startsWith('node_modules/'))
    .sort();
  const entryPoints = sources
    .filter((f) => /\.(c|m)?ts$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => path.join(srcDir, f));
  const result = await build({
    entryPoints,
    outdir: distDir,
    outbase: srcDir,
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    outExtension: { '.js': '.js' },
    plugins: [
      {
        name: 'one-file-per-module',
        setup(b) {
          // Nothing is bundled: every import stays an import, a relative `.ts` one renamed `.js`.
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            if (args.path.startsWith('@dag/')) {
              // Straight to the compiled module: no loader hook is needed to run the command.
              const outFile = path
                .join(distDir, path.relative(srcDir, args.importer))
                .replace(/\.(c|m)?ts$/, '.js');
              let rel = path.relative(path.dirname(outFile), distTarget(args.path));
              if (!rel.startsWith('.')) rel = `./${rel}`;
              return { path: rel, external: true };
            }
            return {
              path: args.path.replace(/\.(c|m)?ts$/, (ext) => ext.replace('ts', 'js')),
              external: true,
            };
          });
        },
      },
    ],
  });
  for (const file of result.outputFiles) writeAtomic(file.path, file.contents);
  await bundleEntries(name, new Map(result.outputFiles.map((f) => [f.path, f.text])));
  // Other files (SQL migrations, templates) are read at run time beside the modules.
  for (const rel of sources) {
    if (/\.(c|m)?ts$/.test(rel)) continue;
    writeAtomic(path.join(distDir, rel), readFileSync(path.join(srcDir, rel)));
  }
  writeAtomic(path.join(distDir, MANIFEST), JSON.stringify({ format: FORMAT, files }));
}

/** The `dag-dist` file of each export of a package (`.`, `./sub`), absolute. */
function distExports(name) {
  const dir = path.join(PACKAGES_DIR, name);
  const exportsMap = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).exports ?? {};
  const out = new Map();
  for (const [key, entry] of Object.entries(exportsMap)) {
    const target = typeof entry === 'object' ? entry?.['dag-dist'] : undefined;
    if (typeof target === 'string') out.set(key, path.join(dir, target));
  }
  return out;
}

// Placeholders the bundle is written with, replaced in each output file by a path relative
// to that file (esbuild keeps an external import's text as it is, and the output file of a
// module's code, an entry or a chunk, is known only after bundling).
const IMPORT_MARK = 'dag-dist-import:';
const URL_MARK = 'dag-dist-module-url:';
const MARKED = new RegExp(`"(${IMPORT_MARK}|${URL_MARK})([^"]*)"`, 'g');
const ANY_MARK = new RegExp(`${IMPORT_MARK}|${URL_MARK}`);

/**
 * Bundles a package's entries (see the top of this file) from its one-module files,
 * `modules` (absolute path to JavaScript), and writes them over those files.
 */
async function bundleEntries(name, modules) {
  const { build, transform } = await import('esbuild');
  const distDir = path.join(PACKAGES_DIR, name, 'dist');
  const entryPoints = [
    ...distExports(name).values(),
    ...(BY_PATH[name] ?? []).map((rel) => path.join(distDir, rel.replace(/\.(c|m)?ts$/, '.js'))),
  ];
  for (const entry of entryPoints)
    if (!modules.has(entry))
      throw new Error(`${path.relative(PACKAGES_DIR, entry)} is not built from a source`);
  const result = await build({
    entryPoints,
    outdir: distDir,
    outbase: distDir,
    entryNames: '[dir]/[name]',
    chunkNames: `${CHUNKS}/[name]-[hash]`,
    bundle: true,
    splitting: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    plugins: [
      {
        name: 'package-modules-only',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return { path: args.path };
            // Inside an inlined package: esbuild resolves it as usual.
            if (!modules.has(args.importer)) return undefined;
            if (!args.path.startsWith('.'))
              return INLINE.has(args.path) ? undefined : { path: args.path, external: true };
            const file = path.resolve(args.resolveDir, args.path);
            if (modules.has(file)) return { path: file };
            // Another package's dist/, or a file that is not a module: stays an import.
            return { path: `${IMPORT_MARK}${encodeURIComponent(file)}`, external: true };
          });
          b.onLoad({ filter: /.*/ }, async (args) => {
            if (!modules.has(args.path)) return undefined;
            const { code } = await transform(modules.get(args.path), {
              format: 'esm',
              target: 'node20',
              define: {
                'import.meta.url': '__dagModuleUrl',
                'import.meta.dirname': '__dagModuleDirname',
                'import.meta.filename': '__dagModuleFilename',
              },
            });
            let prelude = '';
            if (/__dagModuleDirname|__dagModuleFilename/.test(code))
              prelude +=
                "import { fileURLToPath as __dagFileURLToPath } from 'node:url';\n" +
                "import { dirname as __dagDirname } from 'node:path';\n";
            if (/__dagModule(Url|Dirname|Filename)/.test(code))
              prelude += `const __dagModuleUrl = ${JSON.stringify(`${URL_MARK}${encodeURIComponent(args.path)}`)};\n`;
            if (/__dagModule(Dirname|Filename)/.test(code))
              prelude +=
                'const __dagModuleFilename = __dagFileURLToPath(__dagModuleUrl);\n' +
                'const __dagModuleDirname = __dagDirname(__dagModuleFilename);\n';
            return { contents: prelude + code, loader: 'js', resolveDir: path.dirname(args.path) };
          });
        },
      },
    ],
  });
  for (const file of result.outputFiles) {
    const relativeTo = (target) => {
      const rel = path.relative(path.dirname(file.path), target).split(path.sep).join('/');
      return rel.startsWith('.') ? rel : `./${rel}`;
    };
    const text = file.text.replace(MARKED, (_, mark, encoded) => {
      const rel = JSON.stringify(relativeTo(decodeURIComponent(encoded)));
      return mark === IMPORT_MARK ? rel : `new URL(${rel}, import.meta.url).href`;
    });
    if (ANY_MARK.test(text))
      throw new Error(`${path.relative(PACKAGES_DIR, file.path)}: a path placeholder was left unreplaced`);
    writeAtomic(file.path, text);
  }
  // Chunks of earlier builds: no current entry imports them.
  const written = new Set(result.outputFiles.map((f) => f.path));
  let old = [];
  try {
    old = readdirSync(path.join(distDir, CHUNKS)).map((f) => path.join(distDir, CHUNKS, f));
  } catch {}
  for (const file of old) if (!written.has(file)) rmSync(file, { force: true });
}

/**
 * Builds every package whose dist/ is missing or stale. Returns false (and says why on
 * stderr) if one cannot be built: the caller then runs the TypeScript sources instead.
 */
export async function ensureDist() {
  const stale = DIST_PACKAGES.filter((name) => !isFresh(name));
  if (stale.length === 0) return true;
  try {
    for (const name of stale) await buildPackage(name);
    return true;
  } catch (error) {
    process.stderr.write(
      `dag: could not build ${stale.map((n) => `@dag/${n}`).join(', ')} into dist/ (${error instanceof Error ? error.message : String(error)}); running the TypeScript sources instead.\n`,
    );
    return false;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  for (const name of DIST_PACKAGES) await buildPackage(name);
  process.stderr.write(
    `built ${DIST_PACKAGES.map((n) => `@dag/${n}`).join(', ')} into dist/ in ${Math.round(performance.now() - started)} ms\n`,
  );
}
