import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { Definitions } from '../definitions/definitions.ts';
import { registerResourceSecrets } from '../definitions/resource.ts';
import { DagError, DefinitionError, SelectionError, UsageError } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';

/** A definitions file, loaded. */
export interface CodeLocation {
  name: string;
  file: string;
  definitions: Definitions;
}

export const WORKSPACE_FILE = 'workspace.yaml';

/**
 * Imports a definitions file (TypeScript is loaded directly: the process must run under tsx,
 * as the `dag` CLI does). Its default export (or an export named `defs`) must be Definitions.
 * The secret environment bindings of its resources are registered with the redactor before
 * it is returned, so before any of its assets can run.
 */
export async function loadDefinitionsFile(file: string): Promise<Definitions> {
  const definitions = await importDefinitions(file);
  registerResourceSecrets(definitions.resources.values());
  return definitions;
}

async function importDefinitions(file: string): Promise<Definitions> {
  const absolute = path.resolve(file);
  try {
    await stat(absolute);
  } catch {
    throw new UsageError(`Definitions file not found: ${absolute}. Pass an existing file with -f.`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof DagError) {
      throw new DefinitionError(`Definitions file ${absolute} is invalid: ${error.message}`, {
        cause: error,
      });
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new DefinitionError(`Definitions file ${absolute} threw while loading: ${message}`, {
      cause: error,
    });
  }
  const candidate = mod.default ?? mod.defs;
  if (candidate instanceof Definitions) return candidate;
  if (candidate && typeof candidate === 'object' && 'graph' in candidate && 'jobs' in candidate) {
    return candidate as Definitions;
  }
  throw new DefinitionError(
    `Definitions file ${absolute} has no Definitions: add \`export default new Definitions({ assets: [...] })\`.`,
  );
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

/** The code locations of a workspace: every definitions file listed in workspace.yaml, or one file. */
export class Workspace {
  constructor(
    readonly locations: CodeLocation[],
    readonly source: string,
  ) {}

  /**
   * Loads `file` alone when given, else the workspace file found from `cwd`.
   * @example const ws = await Workspace.load({ file: 'pipelines/ds/src/definitions.ts' });
   */
  static async load(
    options: { file?: string; workspaceFile?: string; cwd?: string } = {},
  ): Promise<Workspace> {
    const cwd = options.cwd ?? process.cwd();
    if (options.file) {
      const file = path.resolve(cwd, options.file);
      const name = locationNameFor(file);
      return new Workspace([{ name, file, definitions: await loadDefinitionsFile(file) }], file);
    }
    const workspaceFile = options.workspaceFile ?? (await findWorkspaceFile(cwd));
    if (!workspaceFile) {
      throw new UsageError(
        `No ${WORKSPACE_FILE} found in ${cwd} or its parents, and no -f <definitions file> given. Create ${WORKSPACE_FILE} with "load_from: [{ file: path/to/definitions.ts }]" or pass -f.`,
      );
    }
    let parsed: WorkspaceYaml;
    try {
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
      locations.push({ name, file, definitions: await loadDefinitionsFile(file) });
    }
    return new Workspace(locations, workspaceFile);
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
