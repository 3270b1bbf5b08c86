import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Imports a TypeScript definitions file without a TypeScript loader in the process: the file
 * and the TypeScript modules it imports from its own package are compiled to JavaScript once,
 * into a cache on disk, and the cached modules are imported. A command that finds the cache
 * current (every source file's size and modification time unchanged) compiles nothing and
 * starts no loader thread: Node 20's loader hooks (`module.register`) run in a second thread
 * that boots its own isolate and loads the loader there, which costs more than listing a
 * workspace does.
 *
 * Each source file becomes one cached module (nothing is bundled, so a module imported by two
 * others is still one instance), compiled by esbuild with types stripped and:
 * - `import.meta.url`, `import.meta.filename` and `import.meta.dirname` naming the source file,
 *   so files found relative to a module are found where they are;
 * - relative imports of TypeScript (`./x.ts`, `./x.js` naming `x.ts`, `./x`, `./dir`) pointing
 *   at the cached modules; relative imports of JavaScript, JSON and other files at the source;
 * - `@dag/*` imports naming the compiled modules the command itself runs (their `dag-dist`
 *   export), so `Definitions` and errors are the same classes in both;
 * - other bare imports (packages) left as they are: the cache lives in the `node_modules`
 *   folder nearest the source (`node_modules/.cache/dag-ts/`), from where Node resolves a
 *   package exactly as from the source.
 * Inline source maps (enabled for the process, as tsx does, unless the caller only reads the
 * definitions) make stack traces name the sources.
 */

/** Bump when the compiled output's shape changes: every cache entry is then compiled again. */
const FORMAT = 1;
const TS_FILE = /\.(c|m)?tsx?$/;
const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR']);

/** True for a file this module compiles (TypeScript), as opposed to one Node loads itself. */
export function isTypeScriptFile(file: string): boolean {
  return TS_FILE.test(file) && !file.endsWith('.d.ts');
}

interface Manifest {
  format: number;
  /** The cached module of the entry file. */
  entry: string;
  /** Every compiled source file's `size:mtimeMs`, by absolute path. */
  files: Record<string, string>;
  /** The cached modules, all of which must exist. */
  outputs: string[];
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

function fingerprintOf(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/** `<nearest folder with node_modules>/node_modules/.cache/dag-ts`, else one in the temp folder. */
function cacheDirFor(file: string): string {
  let dir = path.dirname(file);
  for (;;) {
    if (existsSync(path.join(dir, 'node_modules'))) return path.join(dir, 'node_modules', '.cache', 'dag-ts');
    const parent = path.dirname(dir);
    if (parent === dir) return path.join(tmpdir(), `dag-ts-${process.getuid?.() ?? 'user'}`);
    dir = parent;
  }
}

/** The cached module compiled from `source`: one per source path. */
function outputFor(cacheDir: string, source: string): string {
  return path.join(cacheDir, `${path.basename(source).replace(TS_FILE, '')}-${hash(source)}.mjs`);
}

/** Writes a file whole or not at all (a concurrent command never reads half of it). */
function writeAtomic(file: string, contents: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The file a relative or absolute import names, tried as TypeScript resolves it; undefined if none. */
function resolveRelative(specifier: string, fromDir: string): string | undefined {
  const target = specifier.startsWith('file:')
    ? fileURLToPath(specifier)
    : path.resolve(fromDir, specifier.split('?')[0]!);
  const candidates = [target];
  const js = /\.(c|m)?js$/.exec(target);
  if (js) candidates.push(target.slice(0, -js[0].length) + js[0].replace('js', 'ts'));
  if (js?.[0] === '.js') candidates.push(`${target.slice(0, -3)}.tsx`);
  for (const ext of ['.ts', '.tsx', '.mts', '.js', '.mjs'])
    candidates.push(`${target}${ext}`, path.join(target, `index${ext}`));
  return candidates.find(isFile);
}

/**
 * Where an `@dag/<package>[/<subpath>]` import resolves for compiled code: its `dag-dist`
 * export, found from `fromDir` as Node finds packages (node_modules folders upwards).
 */
function dagDistTarget(specifier: string, fromDir: string): string | undefined {
  const [scope, name, ...sub] = specifier.split('/');
  let dir = fromDir;
  for (;;) {
    const pkgJson = path.join(dir, 'node_modules', scope!, name!, 'package.json');
    if (existsSync(pkgJson)) {
      const exportsMap = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { exports?: Record<string, unknown> })
        .exports;
      const entry = exportsMap?.[sub.length > 0 ? `./${sub.join('/')}` : '.'];
      const target =
        entry && typeof entry === 'object' ? (entry as Record<string, unknown>)['dag-dist'] : undefined;
      return typeof target === 'string' ? realpathSync(path.join(path.dirname(pkgJson), target)) : undefined;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * esbuild's failure as the loader's syntax errors read: one `<absolute file>:<line>:<column>:
 * ERROR: <text>` line per error (what `dag dev` and `dag list` point at), not "Build failed".
 */
function compileErrorOf(error: unknown): SyntaxError | undefined {
  const errors = (
    error as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }
  ).errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  return new SyntaxError(
    errors
      .map((e) =>
        e.location
          ? `${path.resolve(e.location.file)}:${e.location.line}:${e.location.column}: ERROR: ${e.text}`
          : `ERROR: ${e.text}`,
      )
      .join('\n'),
  );
}

/** The cache entry of `entry` if it is current (no source changed, every output present). */
function currentManifest(manifestFile: string): Manifest | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.format !== FORMAT) return undefined;
  for (const [file, print] of Object.entries(manifest.files))
    if (fingerprintOf(file) !== print) return undefined;
  if (!manifest.outputs.every(isFile)) return undefined;
  return manifest;
}

/** Compiles `entry` and the TypeScript it imports (transitively) into `cacheDir`. */
async function compile(entry: string, cacheDir: string, distImports: boolean): Promise<Manifest> {
  const { build } = await import('esbuild');
  const files: Record<string, string> = {};
  const outputs: string[] = [];
  const queued = new Set<string>([entry]);
  let pending = [entry];
  while (pending.length > 0) {
    const next: string[] = [];
    await Promise.all(
      pending.map(async (source) => {
        // Taken before compiling: an edit made meanwhile makes the next load compile again.
        const print = fingerprintOf(source);
        if (print === undefined) throw new Error(`Cannot find module ${source}`);
        files[source] = print;
        const dir = path.dirname(source);
        const result = await build({
          entryPoints: [source],
          bundle: true,
          write: false,
          platform: 'node',
          format: 'esm',
          target: `node${process.versions.node}`,
          sourcemap: 'inline',
          logLevel: 'silent',
          define: {
            'import.meta.url': JSON.stringify(pathToFileURL(source).href),
            'import.meta.filename': JSON.stringify(source),
            'import.meta.dirname': JSON.stringify(dir),
          },
          plugins: [
            {
              name: 'one-module-per-file',
              setup(b) {
                b.onResolve({ filter: /.*/ }, (args) => {
                  if (args.kind === 'entry-point') return undefined;
                  const spec = args.path;
                  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('file:')) {
                    const resolved = resolveRelative(spec, args.resolveDir);
                    if (!resolved) {
                      if (args.kind === 'dynamic-import') return { path: spec, external: true };
                      return {
                        errors: [{ text: `Cannot find module '${spec}' imported from ${args.importer}` }],
                      };
                    }
                    if (isTypeScriptFile(resolved)) {
                      if (!queued.has(resolved)) {
                        queued.add(resolved);
                        next.push(resolved);
                      }
                      return { path: `./${path.basename(outputFor(cacheDir, resolved))}`, external: true };
                    }
                    return { path: pathToFileURL(resolved).href, external: true };
                  }
                  if (distImports && spec.startsWith('@dag/')) {
                    const target = dagDistTarget(spec, args.resolveDir);
                    if (target) return { path: pathToFileURL(target).href, external: true };
                  }
                  return { path: spec, external: true };
                });
              },
            },
          ],
        }).catch((error: unknown) => {
          throw compileErrorOf(error) ?? error;
        });
        const output = outputFor(cacheDir, source);
        writeAtomic(output, result.outputFiles[0]!.contents);
        outputs.push(output);
      }),
    );
    pending = next;
  }
  return { format: FORMAT, entry: outputFor(cacheDir, entry), files, outputs };
}

/**
 * Imports the TypeScript file `file` (absolute) through the compile cache, compiling what
 * changed first; undefined if the cache cannot be written. `distImports`: `@dag/*` imports name the packages' compiled `dist/` modules.
 * `sourceMaps` (default true) turns on the process's source maps first, so that stack traces
 * name the sources; Node then reads every later module's map as it loads (tens of ms).
 */
export async function importCompiled(
  file: string,
  options: { distImports: boolean; sourceMaps?: boolean },
): Promise<Record<string, unknown> | undefined> {
  const cacheDir = cacheDirFor(file);
  const manifestFile = path.join(cacheDir, `${path.basename(file).replace(TS_FILE, '')}-${hash(file)}.json`);
  let manifest = currentManifest(manifestFile);
  if (!manifest) {
    try {
      manifest = await compile(file, cacheDir, options.distImports);
      writeAtomic(manifestFile, JSON.stringify(manifest));
    } catch (error) {
      // A cache that cannot be written (a read-only install, another user's node_modules):
      // the caller loads the file another way.
      if (UNWRITABLE.has((error as { code?: string }).code ?? '')) return undefined;
      throw error;
    }
  }
  if (options.sourceMaps ?? true) process.setSourceMapsEnabled(true);
  return (await import(pathToFileURL(manifest.entry).href)) as Record<string, unknown>;
}
