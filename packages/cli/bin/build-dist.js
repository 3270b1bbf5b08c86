/**
 * The JavaScript the `dag` command runs: each workspace package's `src/` compiled, file by
 * file, into its `dist/` (esbuild: types stripped, `.ts` imports renamed `.js`, nothing
 * bundled), so that no command compiles the CLI's own TypeScript on every start.
 *
 * Built at install time (the root package's `prepare` script runs this file), and checked by
 * every `dag` start: a package whose sources changed since its build (a file edited, added or
 * removed) is built again before it is used, so a stale build never runs. Each build records
 * what it was built from in `dist/.build.json`.
 *
 * Plain JavaScript on purpose: it runs before any TypeScript loader exists.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The packages the CLI loads, in dependency order. */
export const DIST_PACKAGES = ['core', 'object-store', 'slack', 'sql', 'server', 'cli'];
const MANIFEST = '.build.json';
/** Bump when the output's shape changes: every package is then built again. */
const FORMAT = 1;

/** Every file under `src/` of a package, relative, sorted. */
function sourceFiles(srcDir) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(srcDir, full));
    }
  };
  walk(srcDir);
  return out.sort();
}

/** What a build depends on: each source file's size and modification time. */
function fingerprint(srcDir) {
  const files = {};
  for (const rel of sourceFiles(srcDir)) {
    const st = statSync(path.join(srcDir, rel));
    files[rel] = `${st.size}:${st.mtimeMs}`;
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
  const dir = path.join(PACKAGES_DIR, name);
  const exportsMap = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).exports ?? {};
  const entry = exportsMap[sub.length > 0 ? `./${sub.join('/')}` : '.'];
  const target = typeof entry === 'object' ? entry?.['dag-dist'] : undefined;
  if (!target) throw new Error(`${specifier} has no 'dag-dist' export in packages/${name}/package.json`);
  return path.join(dir, target);
}

/** Compiles one package's src/ into dist/. */
export async function buildPackage(name) {
  const { build } = await import('esbuild');
  const dir = path.join(PACKAGES_DIR, name);
  const srcDir = path.join(dir, 'src');
  const distDir = path.join(dir, 'dist');
  // Taken before compiling: an edit made during the build makes the next start build again.
  const files = fingerprint(srcDir);
  const sources = Object.keys(files);
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
  // Other files (SQL migrations, templates) are read at run time beside the modules.
  for (const rel of sources) {
    if (/\.(c|m)?ts$/.test(rel)) continue;
    writeAtomic(path.join(distDir, rel), readFileSync(path.join(srcDir, rel)));
  }
  writeAtomic(path.join(distDir, MANIFEST), JSON.stringify({ format: FORMAT, files }));
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
