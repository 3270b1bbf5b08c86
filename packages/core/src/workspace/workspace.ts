import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Definitions } from '../definitions/definitions.ts';
import { registerResourceSecrets } from '../definitions/resource.ts';
import { DagError, DefinitionError, SelectionError, UsageError } from '../errors.ts';
import { prepareUserCodeLoading, siblingModule } from '../util/module-url.ts';
import { redact } from '../util/secrets.ts';
import { didYouMean } from '../util/suggest.ts';
import { importCompiled, isTypeScriptFile } from './compiled-import.ts';
import { FreshImportError, freshImport } from './fresh-import.ts';

/** A definitions file, loaded. */
export interface CodeLocation {
  name: string;
  file: string;
  definitions: Definitions;
}

export const WORKSPACE_FILE = 'workspace.yaml';

/** Why a code location did not (re)load: where, and the message. */
export interface LocationLoadError {
  location: string;
  /** The file the error points at: where the syntax error or the throw is, else the definitions file. */
  file: string;
  line?: number;
  column?: number;
  message: string;
  /** When the failed load happened (ISO 8601). */
  at: string;
}

interface LoadedFile {
  definitions: Definitions;
  /** The definitions file and the modules of its package it imported (only for fresh imports). */
  files: string[];
  /** The JavaScript those modules ran as, by path (only for fresh imports). */
  sources: Map<string, string>;
}

/** The preload that makes a run process load code locations from a snapshot (see code-snapshot.ts). */
export const CODE_SNAPSHOT_PRELOAD = siblingModule('./code-snapshot.ts', import.meta.url);
/** The environment variable naming the snapshot file for that preload. */
export const CODE_SNAPSHOT_ENV = 'DAG_CODE_SNAPSHOT';

/** A failed load of a definitions file, with the modules it had imported by then. */
class DefinitionsLoadError extends DefinitionError {
  constructor(
    message: string,
    readonly files: string[],
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * Whether a definitions file loads through the compile cache (compiled-import.ts) rather than
 * a loader: a TypeScript file, in a command running compiled code, unless the process loads
 * its code locations from a snapshot (whose hooks must see the sources' own URLs).
 */
function compiledImports(file: string): boolean {
  return !import.meta.url.endsWith('.ts') && isTypeScriptFile(file) && !process.env[CODE_SNAPSHOT_ENV];
}

/**
 * Imports through the compile cache; if the cache cannot be written, or a module it reaches
 * still needs the loader (a JavaScript file of the package importing TypeScript, which Node
 * refuses before running anything), imports the file through the loader instead.
 */
async function importCompiledOrHooked(file: string, sourceMaps: boolean): Promise<Record<string, unknown>> {
  try {
    const compiled = await importCompiled(file, { distImports: true, sourceMaps });
    if (compiled) return compiled;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  }
  await prepareUserCodeLoading();
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

async function importDefinitions(absolute: string, fresh: boolean, sourceMaps = true): Promise<LoadedFile> {
  try {
    await stat(absolute);
  } catch {
    throw new UsageError(`Definitions file not found: ${absolute}. Pass an existing file with -f.`);
  }
  let mod: Record<string, unknown>;
  let files = [absolute];
  let sources = new Map<string, string>();
  try {
    if (fresh) {
      await prepareUserCodeLoading();
      ({ module: mod, files, sources } = await freshImport(absolute));
    } else if (compiledImports(absolute)) {
      mod = await importCompiledOrHooked(absolute, sourceMaps);
    } else {
      await prepareUserCodeLoading();
      mod = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
    }
  } catch (caught) {
    const error = caught instanceof FreshImportError ? caught.error : caught;
    if (caught instanceof FreshImportError) files = caught.files;
    if (error instanceof DagError) {
      throw new DefinitionsLoadError(
        `Definitions file ${absolute} is invalid: ${error.message}`,
        files,
        error,
      );
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new DefinitionsLoadError(
      `Definitions file ${absolute} threw while loading: ${message}`,
      files,
      error,
    );
  }
  const candidate = mod.default ?? mod.defs;
  if (
    candidate instanceof Definitions ||
    (candidate && typeof candidate === 'object' && 'graph' in candidate && 'jobs' in candidate)
  ) {
    const definitions = candidate as Definitions;
    // Before any of its assets can run: a secret is redacted even where user code reads
    // `process.env` directly instead of through the resource.
    registerResourceSecrets(definitions.resources.values());
    return { definitions, files, sources };
  }
  throw new DefinitionsLoadError(
    `Definitions file ${absolute} has no Definitions: add \`export default new Definitions({ assets: [...] })\`.`,
    files,
    undefined,
  );
}

/**
 * Imports a definitions file (TypeScript is loaded directly: the process must run under tsx,
 * as the `dag` CLI does). Its default export (or an export named `defs`) must be Definitions.
 * The secret environment bindings of its resources are registered with the redactor before
 * it is returned, so before any of its assets can run.
 */
export async function loadDefinitionsFile(file: string): Promise<Definitions> {
  return (await importDefinitions(path.resolve(file), false)).definitions;
}

/**
 * Where a load error points: the `file:line:column` of a transform (syntax) error, else the
 * first stack frame in one of the location's files, else the definitions file.
 */
function errorLocation(
  error: unknown,
  files: string[],
  fallback: string,
): Pick<LocationLoadError, 'file' | 'line' | 'column'> {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  const known = new Set(files);
  const syntax = /^(\/[^\n]*?):(\d+):(\d+): ERROR:/m.exec(text);
  if (syntax) return { file: syntax[1]!, line: Number(syntax[2]), column: Number(syntax[3]) };
  for (const match of text.matchAll(
    /(?:\(|at )(?:file:\/\/)?(\/[^\s()]*?)(?:\?[^\s():]*)?:(\d+):(\d+)\)?$/gm,
  )) {
    if (known.has(match[1]!)) return { file: match[1]!, line: Number(match[2]), column: Number(match[3]) };
  }
  return { file: fallback };
}

/** `pipelines/ds/src/definitions.ts` -> `ds`; `fixtures/good.ts` -> `good`. */
function locationNameFor(file: string): string {
  const base = path.basename(file, path.extname(file));
  if (base !== 'definitions' && base !== 'index') return base;
  let dir = path.dirname(file);
  if (path.basename(dir) === 'src') dir = path.dirname(dir);
  return path.basename(dir) || 'default';
}

/** Finds workspace.yaml in `cwd` or the nearest parent folder. */
export async function findWorkspaceFile(cwd = process.cwd()): Promise<string | undefined> {
  let dir = path.resolve(cwd);
  for (;;) {
    const candidate = path.join(dir, WORKSPACE_FILE);
    try {
      await stat(candidate);
      return candidate;
    } catch {}
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

interface WorkspaceYaml {
  load_from?: { file?: string; name?: string }[];
}

/** What `Workspace.reload` did to one code location. */
export interface LocationReload {
  location: string;
  status: 'loaded' | 'error';
  error?: LocationLoadError;
}

/**
 * The code locations of a workspace: every definitions file listed in workspace.yaml, or one file.
 *
 * A workspace loaded with `reloadable: true` (as `dag dev` does) can `reload` its locations:
 * each is imported afresh (see fresh-import.ts); one that no longer loads keeps its last good
 * definitions and records its error. Readers see the current locations through `locations`;
 * `generation` changes whenever a location's definitions do.
 */
export class Workspace {
  #locations: CodeLocation[];
  readonly #errors = new Map<string, LocationLoadError>();
  readonly #files = new Map<string, Set<string>>();
  /** The JavaScript of each location's last good load, by path (reloadable workspaces only). */
  readonly #sources = new Map<string, Map<string, string>>();
  readonly #reloadable: boolean;
  #generation = 0;
  #reloading: Promise<unknown> = Promise.resolve();

  constructor(
    locations: CodeLocation[],
    readonly source: string,
    options: {
      reloadable?: boolean;
      files?: Map<string, string[]>;
      sources?: Map<string, Map<string, string>>;
    } = {},
  ) {
    this.#locations = locations;
    this.#reloadable = options.reloadable ?? false;
    for (const l of locations) {
      this.#files.set(l.name, new Set(options.files?.get(l.name) ?? [l.file]));
      const sources = options.sources?.get(l.name);
      if (sources) this.#sources.set(l.name, sources);
    }
  }

  /**
   * The JavaScript every location's current definitions were loaded from, by path: a run
   * process given this (see CODE_SNAPSHOT_PRELOAD) executes exactly these definitions.
   * Undefined unless the workspace is reloadable.
   */
  codeSnapshot(): Record<string, string> | undefined {
    if (!this.#reloadable) return undefined;
    const files: Record<string, string> = {};
    for (const l of this.#locations)
      for (const [file, source] of this.#sources.get(l.name) ?? []) files[file] = source;
    return files;
  }

  /** The current code locations (a new array after each reload that changed one). */
  get locations(): CodeLocation[] {
    return this.#locations;
  }

  /** Locations whose latest load failed (they keep serving their last good definitions). */
  get errors(): LocationLoadError[] {
    return [...this.#errors.values()];
  }

  /** Counts the reloads that changed a location's definitions. */
  get generation(): number {
    return this.#generation;
  }

  /** The files a location's definitions were loaded from: its definitions file and what it imports from its package. */
  files(location: string): string[] {
    return [...(this.#files.get(location) ?? [])];
  }

  /**
   * The files and folders, beyond its modules, a location's current definitions say they are
   * built from (assets' `watchPaths`: a SQL project's models, macros and tests).
   */
  watchPaths(location: string): string[] {
    const definitions = this.#locations.find((l) => l.name === location)?.definitions;
    return [...new Set(definitions?.assets.flatMap((a) => a.watchPaths) ?? [])];
  }

  /**
   * Loads `file` alone when given, else the workspace file found from `cwd`. With
   * `reloadable`, every definitions module is imported so that `reload` can import it afresh.
   * `sourceMaps: false` (for commands that only read the definitions, like `dag list`) skips
   * reading the compiled modules' source maps: stack traces then name the compiled files.
   * @example const ws = await Workspace.load({ file: 'pipelines/ds/src/definitions.ts' });
   */
  static async load(
    options: {
      file?: string;
      workspaceFile?: string;
      cwd?: string;
      reloadable?: boolean;
      sourceMaps?: boolean;
    } = {},
  ): Promise<Workspace> {
    const cwd = options.cwd ?? process.cwd();
    const fresh = options.reloadable ?? false;
    const files = new Map<string, string[]>();
    const sources = new Map<string, Map<string, string>>();
    const load = async (name: string, file: string): Promise<CodeLocation> => {
      const loaded = await importDefinitions(file, fresh, options.sourceMaps ?? true);
      files.set(name, loaded.files);
      sources.set(name, loaded.sources);
      return { name, file, definitions: loaded.definitions };
    };
    if (options.file) {
      const file = path.resolve(cwd, options.file);
      const locations = [await load(locationNameFor(file), file)];
      return new Workspace(locations, file, { reloadable: fresh, files, sources });
    }
    const workspaceFile = options.workspaceFile ?? (await findWorkspaceFile(cwd));
    if (!workspaceFile) {
      throw new UsageError(
        `No ${WORKSPACE_FILE} found in ${cwd} or its parents, and no -f <definitions file> given. Create ${WORKSPACE_FILE} with "load_from: [{ file: path/to/definitions.ts }]" or pass -f.`,
      );
    }
    let parsed: WorkspaceYaml;
    try {
      const YAML = (await import('yaml')).default;
      parsed = (YAML.parse(await readFile(workspaceFile, 'utf8')) ?? {}) as WorkspaceYaml;
    } catch (error) {
      throw new DefinitionError(`Cannot parse ${workspaceFile}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!Array.isArray(parsed.load_from) || parsed.load_from.length === 0) {
      throw new DefinitionError(
        `${workspaceFile} must list code locations under load_from: [{ file: ..., name: ... }].`,
      );
    }
    const base = path.dirname(workspaceFile);
    const locations: CodeLocation[] = [];
    for (const [i, entry] of parsed.load_from.entries()) {
      if (!entry || typeof entry.file !== 'string') {
        throw new DefinitionError(`${workspaceFile}: load_from[${i}] needs a 'file'.`);
      }
      const file = path.resolve(base, entry.file);
      const name = entry.name ?? path.basename(file, path.extname(file));
      if (locations.some((l) => l.name === name)) {
        throw new DefinitionError(
          `${workspaceFile}: two code locations are named '${name}'; give each a unique name.`,
        );
      }
      locations.push(await load(name, file));
    }
    return new Workspace(locations, workspaceFile, { reloadable: fresh, files, sources });
  }

  /**
   * Imports the definitions files of `names` (default: every location) afresh. A location
   * that loads replaces its previous definitions; one that does not keeps them and records
   * the error. Reloads run one at a time. Only for a workspace loaded with `reloadable`.
   */
  reload(names?: readonly string[]): Promise<LocationReload[]> {
    if (!this.#reloadable) {
      throw new UsageError('This workspace was not loaded with { reloadable: true }; it cannot reload.');
    }
    const targets = (names ?? this.#locations.map((l) => l.name)).map((n) => this.location(n).name);
    const run = this.#reloading.then(async () => {
      const results: LocationReload[] = [];
      for (const name of targets) results.push(await this.reloadOne(name));
      return results;
    });
    this.#reloading = run.catch(() => {});
    return run;
  }

  private async reloadOne(name: string): Promise<LocationReload> {
    const current = this.location(name);
    try {
      const loaded = await importDefinitions(current.file, true);
      this.#files.set(name, new Set(loaded.files));
      this.#sources.set(name, loaded.sources);
      this.#locations = this.#locations.map((l) =>
        l.name === name ? { name, file: l.file, definitions: loaded.definitions } : l,
      );
      this.#errors.delete(name);
      this.#generation++;
      return { location: name, status: 'loaded' };
    } catch (caught) {
      const files = caught instanceof DefinitionsLoadError ? caught.files : [current.file];
      // Keep watching what the last good version imported, and what the failed one reached.
      const watched = this.#files.get(name) ?? new Set();
      for (const f of files) watched.add(f);
      this.#files.set(name, watched);
      const cause = caught instanceof DefinitionsLoadError ? (caught.cause ?? caught) : caught;
      const error: LocationLoadError = {
        location: name,
        ...errorLocation(cause, files, current.file),
        message: redact(caught instanceof Error ? caught.message : String(caught)),
        at: new Date().toISOString(),
      };
      this.#errors.set(name, error);
      return { location: name, status: 'error', error };
    }
  }

  location(name?: string): CodeLocation {
    if (name === undefined) {
      if (this.locations.length === 1) return this.locations[0]!;
      throw new UsageError(
        `This workspace has ${this.locations.length} code locations (${this.locations.map((l) => l.name).join(', ')}); choose one with -l/--location.`,
      );
    }
    const found = this.locations.find((l) => l.name === name);
    if (!found) {
      throw new UsageError(
        `Unknown code location '${name}'.${didYouMean(
          name,
          this.locations.map((l) => l.name),
        )} Locations: ${this.locations.map((l) => l.name).join(', ')}.`,
      );
    }
    return found;
  }

  /** The location defining a job (error if none or several do, unless `location` is given). */
  locationForJob(job: string, location?: string): CodeLocation {
    if (location !== undefined) return this.location(location);
    const matches = this.locations.filter((l) => l.definitions.jobs.has(job));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new UsageError(
        `Job '${job}' is defined in several code locations (${matches.map((l) => l.name).join(', ')}); choose one with -l.`,
      );
    }
    const all = this.locations.flatMap((l) => [...l.definitions.jobs.keys()]);
    throw new UsageError(`Unknown job '${job}'.${didYouMean(job, all)} Run 'dag job list' to see jobs.`);
  }

  /** The location whose assets a selection refers to (the one where it resolves to assets). */
  locationForSelection(selection: string, location?: string): CodeLocation {
    if (location !== undefined) return this.location(location);
    if (this.locations.length === 1) return this.locations[0]!;
    const errors: unknown[] = [];
    const matches: CodeLocation[] = [];
    for (const l of this.locations) {
      try {
        if (l.definitions.select(selection).length > 0) matches.push(l);
      } catch (error) {
        errors.push(error);
      }
    }
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new UsageError(
        `Selection '${selection}' matches assets in several code locations (${matches.map((l) => l.name).join(', ')}); choose one with -l.`,
      );
    }
    const syntax = errors.find(
      (e) => e instanceof SelectionError && e.position !== undefined && !/Unknown asset/.test(e.message),
    );
    if (syntax) throw syntax;
    const all = this.locations.flatMap((l) => [...l.definitions.graph.assets.keys()]);
    throw new SelectionError(
      `Selection '${selection}' matches no assets in any code location.${didYouMean(selection, all)} Run 'dag list' to see asset keys.`,
    );
  }

  /** The location defining an asset key. */
  locationForAsset(key: string, location?: string): CodeLocation {
    if (location !== undefined) return this.location(location);
    const matches = this.locations.filter((l) => l.definitions.graph.has(key));
    if (matches.length >= 1) return matches[0]!;
    const all = this.locations.flatMap((l) => [...l.definitions.graph.assets.keys()]);
    throw new UsageError(`Unknown asset '${key}'.${didYouMean(key, all)} Run 'dag list' to see asset keys.`);
  }
}
