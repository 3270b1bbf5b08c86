import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DefinitionError, didYouMean } from '@dag/core';
import type nunjucks from 'nunjucks';
import type { Dialect } from './dialect.ts';
import { ProjectJinja, type RenderState } from './jinja.ts';
import { contentHash, PartialParseCache, type RecordedModel } from './partial-parse.ts';
import type { DefinitionsCache } from './sql-project.ts';
import { readYaml, type YamlFile, type YamlPlace, YamlSyntaxError } from './yaml-file.ts';

/**
 * A dbt-layout project, loaded: `dbt_project.yml`, models (`models/**\/*.sql`), their YAML
 * (descriptions, sources, generic tests), singular tests and macros. Loading renders every
 * model once with recording `ref()` / `source()` / `config()` to learn its upstream and
 * configuration; no SQL runs. Every problem is a DefinitionError naming the file and line.
 */

export type Materialization = 'view' | 'table' | 'incremental' | 'ephemeral';
export type IncrementalStrategy = 'merge' | 'append' | 'delete+insert';
const MATERIALIZATIONS: readonly Materialization[] = ['view', 'table', 'incremental', 'ephemeral'];
const STRATEGIES: readonly IncrementalStrategy[] = ['merge', 'append', 'delete+insert'];

export interface ModelConfig {
  materialized: Materialization;
  schema: string | undefined;
  alias: string | undefined;
  tags: string[];
  uniqueKey: string[] | undefined;
  incrementalStrategy: IncrementalStrategy | undefined;
  enabled: boolean;
}

export interface ColumnDoc {
  name: string;
  description: string | undefined;
}

export interface ModelNode {
  /** The dbt name: the file name without `.sql`. */
  name: string;
  /** The asset key: `<first folder under models>/<name>`, or the bare name at the top. */
  key: string;
  /** Relative to the project folder, with '/' (`models/dim/dim_customer.sql`). */
  file: string;
  folder: string | undefined;
  source: string;
  template: nunjucks.Template;
  config: ModelConfig;
  refs: string[];
  sources: [string, string][];
  description: string | undefined;
  columns: ColumnDoc[];
  /** Where the relation lives: the configured schema, else the folder, else the default schema. */
  schema: string;
  identifier: string;
}

export interface SourceTable {
  source: string;
  table: string;
  schema: string;
  identifier: string;
  description: string | undefined;
  /** `meta.dag.asset_key`: the TypeScript asset that loads this table. */
  assetKey: string | undefined;
  file: string;
}

export type TestKind = 'not_null' | 'unique' | 'accepted_values' | 'relationships' | 'singular';

export interface TestNode {
  name: string;
  kind: TestKind;
  /** The dbt name of the model it tests. */
  model: string;
  column: string | undefined;
  severity: 'ERROR' | 'WARN';
  /** accepted_values: values, quote; relationships: to (model name or source), field. */
  args: Record<string, unknown>;
  file: string;
  line: number;
  /** Singular tests: the template of the failing-rows query. */
  template?: nunjucks.Template;
}

export interface ProjectOptions {
  dialect: Dialect;
  /** Values that override `vars:` of dbt_project.yml. */
  vars?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** The schema of models directly under the model folder. Default 'main'. */
  defaultSchema?: string;
  /**
   * The only files that changed since the load that filled the FileCache (absolute, or
   * relative to the project folder): every other file it holds is used without a stat.
   */
  changed?: readonly string[];
}

/** Files already read, by absolute path, reused when unchanged (`SqlProjectFiles.reload`). */
export interface FileCache {
  files: Map<string, { mtimeMs: number; size: number; text: string }>;
  /**
   * Whether the last load that used this cache finished: after one that failed part-way, files
   * it did not reach may have changed too, so a list of changed files is not trusted.
   */
  settled?: boolean;
  /**
   * The Jinja environment and the partial-parse cache, while the project file, macros, vars
   * and dialect are the same.
   */
  jinja?: {
    key: string;
    jinja: ProjectJinja;
    partial: PartialParseCache;
    /** The `+config` layers of dbt_project.yml, per folder path. */
    layers: Map<string, Record<string, unknown>[]>;
    /**
     * Each model file's node, reused by a reload while what it was built from is the same
     * objects (its text, its YAML docs, its folder's layers, its recorded parse).
     */
    models: Map<string, { from: readonly unknown[]; node: ModelNode }>;
    /** Each test's node, by what it was declared as (the same object while its file is unchanged). */
    tests: Map<Omit<TestNode, 'name'>, TestNode>;
    /** Each singular test file's declaration, while its text and its recorded parse are the same. */
    singular: Map<string, { source: string; recorded: RecordedTest; declared: Omit<TestNode, 'name'> }>;
  };
  /** The previous load's asset and check definitions (sql-project.ts). */
  definitions?: DefinitionsCache;
  /** Compiled templates, by absolute path and text: compiled when first rendered. */
  templates: Map<string, { text: string; template: nunjucks.Template }>;
}

export function newFileCache(): FileCache {
  return { files: new Map(), templates: new Map() };
}

/** What a YAML file of the models declares; kept in the partial-parse cache. */
interface YamlExtract {
  models: { name: string; description?: string; columns: ColumnDoc[]; config: Record<string, unknown> }[];
  tests: Omit<TestNode, 'name'>[];
  sources: SourceTable[];
}

/** What a singular test file declares; kept in the partial-parse cache. */
interface RecordedTest {
  model: string;
  severity: 'ERROR' | 'WARN';
  line: number;
}

const CONFIG_NAMES = new Set([
  'materialized',
  'schema',
  'alias',
  'tags',
  'unique_key',
  'incremental_strategy',
  'enabled',
  'full_refresh',
  'on_schema_change',
  'docs',
  'meta',
  'persist_docs',
  'database',
  'post-hook',
  'pre-hook',
]);

function fail(file: string, line: number | undefined, message: string): never {
  throw new DefinitionError(`${file}${line ? `:${line}` : ''}: ${message}`);
}

/**
 * The line of a nunjucks error in `source`: its "[Line 3, Column 5]" when it has one; else the
 * call the message names (`var('x')`); else the last line for an unexpected end of file.
 */
function jinjaLine(error: unknown, source: string): number | undefined {
  const message = String((error as Error)?.message ?? error);
  const m = /\[Line (\d+), Column \d+\]/.exec(message);
  if (m) return Number(m[1]);
  const call = /\b([A-Za-z_][\w.]*)\('([^']*)'/.exec(message);
  if (call) {
    const line = lineOf(source, new RegExp(`${escapeRe(call[1]!)}\\(\\s*['"]${escapeRe(call[2]!)}['"]`));
    if (line) return line;
  }
  if (/end of file/.test(message)) return source.replace(/\n+$/, '').split('\n').length;
  return undefined;
}

function jinjaMessage(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .replace(/^Template render error:\s*/, '')
    .replace(/\([^)]*\)\s*(\[Line \d+, Column \d+\])?\s*/, '')
    .replace(/^\w*Error: /, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The 1-based line of the first match of `re` in `text`. */
function lineOf(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  return m ? text.slice(0, m.index).split('\n').length : undefined;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The order of files in a folder (as String#localeCompare, without a collator per call). */
const byName = new Intl.Collator();

function walk(dir: string, ext: RegExp, out: string[]): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries.sort((a, b) => byName.compare(a.name, b.name))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, ext, out);
    else if (ext.test(entry.name)) out.push(full);
  }
  return out;
}

/** Whether two lists hold the same objects (or equal primitives), in order. */
function sameObjects(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : String(value).split(','))
    .map((v) => String(v).trim())
    .filter(Boolean);
}

export class SqlProjectFiles {
  readonly dir: string;
  readonly name: string;
  readonly models = new Map<string, ModelNode>();
  readonly sources = new Map<string, SourceTable>();
  readonly tests: TestNode[] = [];
  readonly jinja: ProjectJinja;
  readonly vars: Record<string, unknown>;
  /**
   * What the project is read from: `dbt_project.yml` and the model, macro and test folders
   * (absolute paths; `target/` is not among them). An edit under them changes the project.
   */
  readonly sourcePaths: readonly string[];
  private readonly cache: FileCache;
  private readonly partial: PartialParseCache;
  /** The files a watcher saw change (options.changed), absolute; undefined: stat every file. */
  private readonly changed: Set<string> | undefined;

  constructor(
    dir: string,
    readonly options: ProjectOptions,
    cache?: FileCache,
  ) {
    this.dir = path.resolve(dir);
    this.cache = cache ?? newFileCache();
    this.changed =
      options.changed && this.cache.settled
        ? new Set(options.changed.map((f) => path.resolve(this.dir, f)))
        : undefined;
    this.cache.settled = false;
    const projectFile = path.join(this.dir, 'dbt_project.yml');
    const projectText = this.read(projectFile, 'dbt_project.yml', 'the project file');
    const project = this.yaml(projectText, 'dbt_project.yml').value as Record<string, unknown> | null;
    if (!project || typeof project !== 'object')
      fail('dbt_project.yml', 1, 'expected a mapping with at least `name:`.');
    if (typeof project.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(project.name)) {
      fail(
        'dbt_project.yml',
        lineOf(projectText, /^name:/m),
        `'name' must be a name like 'transformer' (letters, digits, underscores).`,
      );
    }
    this.name = project.name;
    this.vars = { ...((project.vars as Record<string, unknown>) ?? {}), ...(options.vars ?? {}) };
    const modelPaths = toList(project['model-paths'] ?? project.source_paths ?? 'models');
    const macroPaths = toList(project['macro-paths'] ?? 'macros');
    const testPaths = toList(project['test-paths'] ?? 'tests');
    this.sourcePaths = [
      projectFile,
      ...[...modelPaths, ...macroPaths, ...testPaths].map((p) => path.join(this.dir, p)),
    ];
    const folderConfig = ((project.models as Record<string, unknown> | undefined)?.[this.name] ??
      {}) as Record<string, unknown>;

    // The Jinja environment (and every model's parse) is reused while the project file, the
    // macros and the vars are unchanged: a one-model change re-parses that model only.
    const macroFiles = macroPaths.flatMap((mp) => walk(path.join(this.dir, mp), /\.sql$/, []));
    const macroTexts = macroFiles.map((file) => [
      this.rel(file),
      this.read(file, this.rel(file), 'a macro file'),
    ]);
    const jinjaKey = contentHash(JSON.stringify([projectText, macroTexts, this.vars, options.dialect]));
    const targetDir = path.resolve(this.dir, String(project['target-path'] ?? 'target'));
    if (this.cache.jinja?.key === jinjaKey) {
      this.jinja = this.cache.jinja.jinja;
    } else {
      this.jinja = new ProjectJinja({
        dialect: options.dialect,
        vars: this.vars,
        env: options.env ?? process.env,
        targetName: 'dag',
      });
      for (const [rel, text] of macroTexts) {
        try {
          this.jinja.addMacros(text!, rel!);
        } catch (error) {
          fail(rel!, jinjaLine(error, text!), `Jinja error in macro file: ${jinjaMessage(error)}`);
        }
      }
      this.cache.jinja = {
        key: jinjaKey,
        jinja: this.jinja,
        partial: PartialParseCache.open(targetDir, jinjaKey, options.env ?? process.env),
        layers: new Map(),
        models: new Map(),
        tests: new Map(),
        singular: new Map(),
      };
      this.cache.templates.clear();
    }
    this.partial = this.cache.jinja.partial;
    this.partial.begin();

    // YAML first: descriptions, sources and the tests' declarations.
    const modelDocs = new Map<
      string,
      { description?: string; columns: ColumnDoc[]; config: Record<string, unknown> }
    >();
    const pendingTests: Omit<TestNode, 'name'>[] = [];
    for (const mp of modelPaths) {
      for (const file of walk(path.join(this.dir, mp), /\.ya?ml$/, [])) {
        this.loadYaml(file, modelDocs, pendingTests);
      }
    }

    // The `+config` layers of each folder, once per folder (and per project file).
    const layersByFolder = this.cache.jinja.layers;
    const builtModels = this.cache.jinja.models;
    const seenModels = new Set<string>();
    const folderLayers = (folders: string[]) => {
      const id = folders.join('/');
      let layers = layersByFolder.get(id);
      if (!layers) {
        layers = inheritedConfig(folderConfig, folders);
        layersByFolder.set(id, layers);
      }
      return layers;
    };

    // Models: compile, then render with recording functions to learn config and upstream.
    for (const mp of modelPaths) {
      const root = path.resolve(this.dir, mp);
      for (const file of walk(root, /\.sql$/, [])) {
        const rel = this.rel(file);
        const parts = file.slice(root.length + 1).split(path.sep);
        const name = path.basename(file, '.sql');
        const folder = parts.length > 1 ? parts[0] : undefined;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          fail(
            rel,
            undefined,
            `model name '${name}' must contain only letters, digits and underscores; rename the file.`,
          );
        }
        if (folder !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(folder)) {
          fail(
            rel,
            undefined,
            `folder '${folder}' must be a name (letters, digits, underscores): it becomes the asset key '${folder}/${name}'.`,
          );
        }
        const existing = this.models.get(name);
        if (existing)
          fail(
            rel,
            undefined,
            `two models are named '${name}' (also ${existing.file}); model names must be unique.`,
          );
        const source = this.read(file, rel, 'a model');
        const docs = modelDocs.get(name);
        let state = this.partial.get<RecordedModel>(rel, source);
        if (!state) {
          const describe = (message: string) => `Jinja syntax error in model '${name}': ${message}`;
          const recorded = this.record(file, rel, source, describe, name, (message) =>
            fail(rel, jinjaLine(message, source), `cannot render model '${name}': ${jinjaMessage(message)}`),
          );
          state = {
            refs: recorded.refs,
            sources: recorded.sources,
            config: recorded.config,
            envNames: recorded.envNames,
          };
          this.partial.set(rel, source, state, recorded.envNames);
        }
        const layers = folderLayers(parts.slice(0, -1));
        const from = [source, docs, layers, state, options.defaultSchema];
        const built = builtModels.get(file);
        seenModels.add(file);
        if (built && sameObjects(built.from, from)) {
          if (built.node.config.enabled) this.models.set(name, built.node);
          continue;
        }
        const files = this;
        const config = this.resolveConfig([...layers, docs?.config ?? {}, state.config], rel, name, source);
        const identifier = config.alias ?? name;
        const node: ModelNode = {
          name,
          key: folder ? `${folder}/${name}` : name,
          file: rel,
          folder,
          source,
          // Compiled when first rendered: loading needs only what the parse recorded.
          get template() {
            return files.template(file, rel, source, (m) => `Jinja syntax error in model '${name}': ${m}`);
          },
          config,
          refs: [...new Set(state.refs)],
          sources: state.sources,
          description: docs?.description,
          columns: docs?.columns ?? [],
          schema: config.schema ?? folder ?? options.defaultSchema ?? 'main',
          identifier,
        };
        builtModels.set(file, { from, node });
        if (config.enabled) this.models.set(name, node);
      }
    }

    for (const file of builtModels.keys()) if (!seenModels.has(file)) builtModels.delete(file);

    for (const model of this.models.values()) {
      for (const ref of model.refs) {
        if (!this.models.has(ref)) {
          fail(
            model.file,
            lineOf(model.source, new RegExp(`ref\\(\\s*['"]${escapeRe(ref)}['"]`)),
            `model '${model.key}' refs '${ref}', which is not a model of this project.${didYouMean(ref, this.models.keys())}`,
          );
        }
      }
      for (const [src, table] of model.sources) {
        if (!this.sources.has(`${src}.${table}`)) {
          fail(
            model.file,
            lineOf(
              model.source,
              new RegExp(`source\\(\\s*['"]${escapeRe(src)}['"]\\s*,\\s*['"]${escapeRe(table)}['"]`),
            ),
            `model '${model.key}' reads source('${src}', '${table}'), which no sources: entry of the project's YAML declares.${didYouMean(`${src}.${table}`, this.sources.keys())} Declare it under 'sources:' in a .yml file next to the models.`,
          );
        }
      }
    }
    this.checkCycles();

    const testFiles = testPaths.flatMap((tp) => walk(path.join(this.dir, tp), /\.sql$/, []));
    for (const file of testFiles) this.loadSingularTest(file, pendingTests);
    const singular = this.cache.jinja.singular;
    if (singular.size > testFiles.length) {
      const present = new Set(testFiles);
      for (const file of singular.keys()) if (!present.has(file)) singular.delete(file);
    }
    const names = new Set<string>();
    const builtTests = this.cache.jinja.tests;
    const keptTests = new Map<Omit<TestNode, 'name'>, TestNode>();
    for (const t of pendingTests) {
      if (!this.models.has(t.model)) {
        fail(
          t.file,
          t.line,
          `test '${t.kind}' is declared on model '${t.model}', which is not a model of this project.${didYouMean(t.model, this.models.keys())}`,
        );
      }
      if (this.models.get(t.model)!.config.materialized === 'ephemeral') continue;
      let name = testName(t);
      for (let i = 2; names.has(name); i++) name = `${testName(t)}_${i}`;
      names.add(name);
      let node = builtTests.get(t);
      if (node?.name !== name)
        node = Object.defineProperties({ name }, Object.getOwnPropertyDescriptors(t)) as TestNode;
      keptTests.set(t, node);
      this.tests.push(node);
    }
    this.cache.jinja.tests = keptTests;
    this.partial.save();
    this.cache.settled = true;
  }

  /** A file's compiled template, compiled once per text; a syntax error names file and line. */
  private template(
    file: string,
    rel: string,
    source: string,
    describe: (message: string) => string,
  ): nunjucks.Template {
    const hit = this.cache.templates.get(file);
    if (hit?.text === source) return hit.template;
    let template: nunjucks.Template;
    try {
      template = this.jinja.compile(source, rel);
    } catch (error) {
      fail(rel, jinjaLine(error, source), describe(jinjaMessage(error)));
    }
    this.cache.templates.set(file, { text: source, template });
    return template;
  }

  private rel(file: string): string {
    // Every file is found under the project folder: the common case needs no path.relative.
    const inside = file.startsWith(this.dir + path.sep)
      ? file.slice(this.dir.length + 1)
      : path.relative(this.dir, file);
    return path.sep === '/' ? inside : inside.split(path.sep).join('/');
  }

  private read(file: string, rel: string, what: string): string {
    const hit = this.cache.files.get(file);
    if (hit && this.changed && !this.changed.has(file)) return hit.text;
    const missing = () => new DefinitionError(`${rel}: ${what} is missing in ${this.dir}.`);
    if (!hit) {
      // A file not read before (a first load reads them all) costs no stat: a reload that
      // looks at it again reads it once more, with its time and size.
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
        throw error;
      }
      this.cache.files.set(file, { mtimeMs: Number.NaN, size: -1, text });
      return text;
    }
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) throw missing();
    if (hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.text;
    // Time and size before the text: a change after the stat is seen by the next reload.
    const text = readFileSync(file, 'utf8');
    this.cache.files.set(file, { mtimeMs: st.mtimeMs, size: st.size, text });
    return text;
  }

  private yaml(text: string, rel: string): YamlFile {
    try {
      return readYaml(text, rel);
    } catch (error) {
      if (error instanceof YamlSyntaxError)
        fail(rel, error.line, `YAML error: ${error.message.split('\n')[0]}`);
      throw error;
    }
  }

  private loadYaml(
    file: string,
    modelDocs: Map<string, { description?: string; columns: ColumnDoc[]; config: Record<string, unknown> }>,
    tests: Omit<TestNode, 'name'>[],
  ): void {
    const rel = this.rel(file);
    const text = this.read(file, rel, 'a YAML file');
    let extract = this.partial.get<YamlExtract>(rel, text);
    if (!extract) {
      extract = this.extractYaml(rel, text);
      this.partial.set(rel, text, extract);
    }
    // The extract's own objects: unchanged YAML gives the same ones (a reload reuses models).
    for (const doc of extract.models) modelDocs.set(doc.name, doc);
    tests.push(...extract.tests);
    for (const src of extract.sources) this.sources.set(`${src.source}.${src.table}`, src);
  }

  /** The models' docs, tests and sources a YAML file declares. */
  private extractYaml(rel: string, text: string): YamlExtract {
    const extract: YamlExtract = { models: [], tests: [], sources: [] };
    const tests = extract.tests;
    const doc = this.yaml(text, rel);
    const isObject = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
    const at = (place: YamlPlace | undefined, key: string) => place?.entries?.get(key);
    const item = (place: YamlPlace | undefined, i: number) => place?.items?.[i];
    const root = doc.value;
    if (!isObject(root)) return extract;
    const models = root.models;
    list(models).forEach((m, i) => {
      const mPlace = item(at(doc.place, 'models'), i);
      if (!isObject(m)) return;
      const name = String(m.name ?? '');
      if (!name) fail(rel, mPlace?.line, `a models: entry needs a name.`);
      const columns: ColumnDoc[] = [];
      list(m.columns).forEach((c, j) => {
        if (!isObject(c)) return;
        const cPlace = item(at(mPlace, 'columns'), j);
        columns.push({ name: String(c.name), description: c.description as string | undefined });
        const key = c.data_tests !== undefined ? 'data_tests' : 'tests';
        list(c[key]).forEach((t, k) => {
          const line = item(at(cPlace, key), k)?.line ?? cPlace?.line;
          tests.push(this.genericTest(t, name, String(c.name), rel, line));
        });
      });
      const key = m.data_tests !== undefined ? 'data_tests' : 'tests';
      list(m[key]).forEach((t, k) => {
        const spec = (isObject(t) ? t : {}) as Record<string, Record<string, unknown>>;
        const args = Object.values(spec)[0] ?? {};
        const line = item(at(mPlace, key), k)?.line;
        tests.push(this.genericTest(t, name, args.column_name as string | undefined, rel, line));
      });
      extract.models.push({
        name,
        ...(m.description === undefined ? {} : { description: m.description as string }),
        columns,
        config: (m.config as Record<string, unknown>) ?? {},
      });
    });
    list(root.sources).forEach((item_, i) => {
      {
        const s = (isObject(item_) ? item_ : {}) as Record<string, unknown>;
        const sourceName = String(s.name ?? '');
        if (!sourceName) fail(rel, item(at(doc.place, 'sources'), i)?.line, 'a sources: entry needs a name.');
        for (const t of (s.tables as Record<string, unknown>[] | undefined) ?? []) {
          const table = String(t.name ?? '');
          const meta = (t.meta ?? s.meta) as { dag?: { asset_key?: unknown } } | undefined;
          const assetKey = meta?.dag?.asset_key;
          extract.sources.push({
            source: sourceName,
            table,
            schema: String(s.schema ?? sourceName),
            identifier: String(t.identifier ?? table),
            description: (t.description ?? undefined) as string | undefined,
            assetKey: Array.isArray(assetKey) ? assetKey.join('/') : (assetKey as string | undefined),
            file: rel,
          });
        }
      }
    });
    return extract;
  }

  private genericTest(
    node: unknown,
    model: string,
    column: string | undefined,
    file: string,
    line: number | undefined,
  ): Omit<TestNode, 'name'> {
    let kind: string;
    let args: Record<string, unknown> = {};
    if (node === null || typeof node !== 'object')
      kind = node === null || node === undefined ? '' : String(node);
    else if (!Array.isArray(node)) {
      const spec = node as Record<string, Record<string, unknown>>;
      kind = Object.keys(spec)[0] ?? '';
      args = spec[kind] ?? {};
    } else kind = '';
    kind = kind.replace(/^dbt\./, '');
    if (!['not_null', 'unique', 'accepted_values', 'relationships'].includes(kind)) {
      fail(
        file,
        line,
        `unsupported test '${kind}' on model '${model}': supported generic tests are not_null, unique, accepted_values, relationships; write others as singular tests in tests/*.sql.`,
      );
    }
    if (!column)
      fail(
        file,
        line,
        `test '${kind}' on model '${model}' needs a column (declare it under columns:, or give column_name).`,
      );
    const config = { ...args, ...((args.config as Record<string, unknown>) ?? {}) };
    const severity = String(config.severity ?? 'error').toLowerCase() === 'warn' ? 'WARN' : 'ERROR';
    if (kind === 'accepted_values' && !Array.isArray(args.values)) {
      fail(file, line, `accepted_values on ${model}.${column} needs 'values: [..]'.`);
    }
    if (kind === 'relationships') {
      if (typeof args.to !== 'string' || typeof args.field !== 'string') {
        fail(
          file,
          line,
          `relationships on ${model}.${column} needs 'to: ref("model")' and 'field: <column>'.`,
        );
      }
      const to = /ref\(\s*['"]([^'"]+)['"]\s*\)/.exec(args.to);
      if (!to)
        fail(
          file,
          line,
          `relationships on ${model}.${column}: 'to' must be ref('<model>'), got '${args.to}'.`,
        );
      args = { ...args, toModel: to[1] };
    }
    return { kind: kind as TestKind, model, column, severity, args, file, line: line ?? 1 };
  }

  private loadSingularTest(file: string, tests: Omit<TestNode, 'name'>[]): void {
    const rel = this.rel(file);
    const source = this.read(file, rel, 'a test');
    const describe = (message: string) => `Jinja syntax error in test: ${message}`;
    let recorded = this.partial.get<RecordedTest>(rel, source);
    if (!recorded) {
      const state = this.record(file, rel, source, describe, path.basename(file, '.sql'), (error) =>
        fail(rel, jinjaLine(error, source), `cannot render test: ${jinjaMessage(error)}`),
      );
      const model = state.refs[0];
      if (!model) fail(rel, 1, 'a singular test must ref() the model it tests.');
      const config = state.config as { severity?: string };
      recorded = {
        model,
        severity: String(config.severity ?? 'error').toLowerCase() === 'warn' ? 'WARN' : 'ERROR',
        line: lineOf(source, new RegExp(`ref\\(\\s*['"]${escapeRe(model)}['"]`)) ?? 1,
      };
      this.partial.set(rel, source, recorded, state.envNames);
    }
    const singular = this.cache.jinja!.singular;
    const kept = singular.get(file);
    if (kept?.source === source && kept.recorded === recorded) {
      tests.push(kept.declared);
      return;
    }
    const files = this;
    const declared: Omit<TestNode, 'name'> = {
      kind: 'singular',
      model: recorded.model,
      column: undefined,
      severity: recorded.severity,
      args: { testName: path.basename(file, '.sql') },
      file: rel,
      line: recorded.line,
      get template() {
        return files.template(file, rel, source, describe);
      },
    };
    singular.set(file, { source, recorded, declared });
    tests.push(declared);
  }

  /**
   * What a model's or test's `ref()` / `source()` / `config()` / `env_var()` calls declare: read
   * from its parse tree when they are literal and certain to run (most models; no render and
   * no compile), else learnt by rendering it once with recording functions.
   */
  private record(
    file: string,
    rel: string,
    source: string,
    describe: (message: string) => string,
    name: string,
    failed: (error: unknown) => never,
  ): RecordedModel {
    let calls: ReturnType<ProjectJinja['staticCalls']>;
    try {
      calls = this.jinja.staticCalls(source, rel);
    } catch (error) {
      fail(rel, jinjaLine(error, source), describe(jinjaMessage(error)));
    }
    if (calls) return { ...calls, envNames: [] };
    const template = this.template(file, rel, source, describe);
    const state = { ...this.recordingState(name), envRead: [] as string[] };
    try {
      this.jinja.render(template, state);
    } catch (error) {
      failed(error);
    }
    return {
      refs: state.refs,
      sources: state.sources,
      config: state.config,
      envNames: [...new Set(state.envRead)],
    };
  }

  /** A render that records calls; relations are placeholders (nothing runs). */
  private recordingState(model: string): RenderState {
    return {
      model,
      refs: [],
      sources: [],
      config: {},
      isIncremental: false,
      thisRelation: { schema: 'this', identifier: model, rendered: `"this"."${model}"` },
      resolveRef: (name) => `"ref"."${name}"`,
      resolveSource: (s, t) => `"${s}"."${t}"`,
    };
  }

  private resolveConfig(
    layers: Record<string, unknown>[],
    file: string,
    name: string,
    source: string,
  ): ModelConfig {
    const merged: Record<string, unknown> = {};
    for (const layer of layers) {
      for (const [k, v] of Object.entries(layer)) {
        const key = k.replace(/^\+/, '');
        if (key === 'tags') merged.tags = [...toList(merged.tags), ...toList(v)];
        else merged[key] = v;
      }
    }
    const materialized = String(merged.materialized ?? 'view') as Materialization;
    const where = () => lineOf(source, /config\s*\(/) ?? undefined;
    if (!MATERIALIZATIONS.includes(materialized)) {
      fail(
        file,
        where(),
        `model '${name}': materialized='${materialized}' is not supported; use one of ${MATERIALIZATIONS.join(', ')}.`,
      );
    }
    const strategy = merged.incremental_strategy as IncrementalStrategy | undefined;
    if (strategy !== undefined && !STRATEGIES.includes(strategy)) {
      fail(
        file,
        where(),
        `model '${name}': incremental_strategy='${strategy}' is not supported; use one of ${STRATEGIES.join(', ')}.`,
      );
    }
    const uniqueKey = merged.unique_key === undefined ? undefined : toList(merged.unique_key);
    if (
      materialized === 'incremental' &&
      (strategy === 'merge' || strategy === 'delete+insert') &&
      !uniqueKey?.length
    ) {
      fail(
        file,
        where(),
        `model '${name}': incremental_strategy='${strategy}' needs a unique_key in config(...).`,
      );
    }
    return {
      materialized,
      schema: merged.schema === undefined || merged.schema === null ? undefined : String(merged.schema),
      alias: merged.alias === undefined ? undefined : String(merged.alias),
      tags: [...new Set(toList(merged.tags))],
      uniqueKey,
      incrementalStrategy: strategy,
      enabled: merged.enabled !== false,
    };
  }

  private checkCycles(): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (name: string): void => {
      state.set(name, 'visiting');
      stack.push(name);
      const model = this.models.get(name)!;
      for (const ref of model.refs) {
        if (state.get(ref) === 'visiting') {
          const cycle = [...stack.slice(stack.indexOf(ref)), ref];
          const described = cycle.map((n) => `${n} (${this.models.get(n)!.file})`).join(' -> ');
          fail(
            model.file,
            lineOf(model.source, new RegExp(`ref\\(\\s*['"]${escapeRe(ref)}['"]`)),
            `cycle between models: ${described}. A model cannot ref() itself through its upstream; remove one of these refs.`,
          );
        }
        if (!state.has(ref)) visit(ref);
      }
      stack.pop();
      state.set(name, 'done');
    };
    for (const name of this.models.keys()) if (!state.has(name)) visit(name);
  }

  /** The models a model reads, with ephemeral ones looked through. */
  upstreamModels(name: string): string[] {
    const out = new Set<string>();
    for (const ref of this.models.get(name)?.refs ?? []) {
      const m = this.models.get(ref)!;
      if (m.config.materialized === 'ephemeral') for (const u of this.upstreamModels(ref)) out.add(u);
      else out.add(ref);
    }
    return [...out];
  }

  /** The sources a model reads, with ephemeral models looked through. */
  upstreamSources(name: string): SourceTable[] {
    const model = this.models.get(name)!;
    const out = new Map<string, SourceTable>();
    for (const [s, t] of model.sources) out.set(`${s}.${t}`, this.sources.get(`${s}.${t}`)!);
    for (const ref of model.refs) {
      if (this.models.get(ref)!.config.materialized === 'ephemeral') {
        for (const src of this.upstreamSources(ref)) out.set(`${src.source}.${src.table}`, src);
      }
    }
    return [...out.values()];
  }
}

/** The `+config` of dbt_project.yml's `models:` for a model in `folders`, outermost first. */
function inheritedConfig(root: Record<string, unknown>, folders: string[]): Record<string, unknown>[] {
  const layers: Record<string, unknown>[] = [];
  let node: Record<string, unknown> | undefined = root;
  const own = (n: Record<string, unknown>) => {
    const layer: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) {
      if (
        k.startsWith('+') ||
        (CONFIG_NAMES.has(k) && (typeof v !== 'object' || Array.isArray(v) || v === null))
      ) {
        layer[k] = v;
      }
    }
    return layer;
  };
  if (node) layers.push(own(node));
  for (const folder of folders) {
    const next: unknown = node?.[folder];
    if (!next || typeof next !== 'object') break;
    node = next as Record<string, unknown>;
    layers.push(own(node));
  }
  return layers;
}

function clean(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_');
}

function testName(t: Omit<TestNode, 'name'>): string {
  switch (t.kind) {
    case 'singular':
      return clean(String(t.args.testName));
    case 'relationships':
      return clean(`relationships_${t.model}_${t.column}__${t.args.field}__${t.args.toModel}`);
    default:
      return clean(`${t.kind}_${t.model}_${t.column}`);
  }
}

export { ProjectJinja };
