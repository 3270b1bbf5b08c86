import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AssetCheckDefinition,
  type AssetDefinition,
  asset,
  assetCheck,
  MaterializeResult,
  md,
  type ResourceDefinition,
  resource,
} from '@dag/core';
import { z } from 'zod';
import { compileModel } from './compile.ts';
import { defaultWarehouseUrl, openWarehouse, relationNamer, warehouseKind } from './open-warehouse.ts';
import {
  type FileCache,
  type ModelNode,
  newFileCache,
  type SourceTable,
  SqlProjectFiles,
  type TestNode,
} from './project.ts';
import { modelMetadata, runModel, runTest } from './run.ts';
import type { Warehouse } from './warehouse.ts';

export interface SqlProjectOptions {
  /** The project folder (the one with dbt_project.yml): a path or a file: URL. */
  dir: string | URL;
  /** The warehouse URL; default: WAREHOUSE_URL, else duckdb://<cwd>/data/warehouse.duckdb. */
  warehouse?: string;
  /** Overrides of dbt_project.yml's `vars:`. */
  vars?: Record<string, unknown>;
  /** The group of the assets; default: the project's name. */
  group?: string;
  /** The schema of models directly under models/ (not in a folder). Default 'main'. */
  defaultSchema?: string;
  env?: NodeJS.ProcessEnv;
}

export interface CompiledSql {
  key: string;
  file: string;
  relation: string;
  materialized: string;
  sql: string;
}

/** A loaded project: its models as assets, its tests as asset checks. */
export interface SqlProject {
  readonly name: string;
  readonly dir: string;
  readonly warehouseUrl: string;
  readonly assets: readonly AssetDefinition[];
  readonly checks: readonly AssetCheckDefinition[];
  readonly warehouse: ResourceDefinition<Warehouse>;
  readonly files: SqlProjectFiles;
  /** The SQL each model (by asset key) runs, without running it. */
  compile(keys: readonly string[], options?: { incremental?: boolean }): Promise<CompiledSql[]>;
  /**
   * Loads the project again, re-reading only files that changed (by modification time and
   * size; `changed` names the files a watcher saw change, absolute or relative to the project
   * folder, and then no other file is looked at again). Unchanged models keep their parse and
   * their asset definition (the same object); the result equals a full parse of the files.
   */
  reload(options?: ReloadOptions): SqlProject;
}

export interface ReloadOptions {
  /** The only files that changed (a file watcher's events): others are not stat'ed again. */
  changed?: readonly string[];
}

/**
 * The latest load of a project: the definitions a reload keeps run with it (they resolve
 * upstream relations and macros through the current files, not the ones they were built with).
 */
interface Current {
  files: SqlProjectFiles;
  project: SqlProject;
}

/** What a reload reuses of the previous load's definitions (kept in the FileCache). */
export interface DefinitionsCache {
  /** Everything the definitions depend on besides their model, test or source. */
  key: string;
  env: NodeJS.ProcessEnv;
  current: Current;
  warehouse: ResourceDefinition<Warehouse>;
  sources: Map<string, { source: SourceTable; definition: AssetDefinition }>;
  models: Map<string, { node: ModelNode; deps: string; definition: AssetDefinition }>;
  checks: Map<string, { test: TestNode; key: string; definition: AssetCheckDefinition }>;
}

const projectsByAsset = new WeakMap<AssetDefinition, Current>();

/** The SQL project an asset belongs to, if it is a model (for `dag sql compile`). */
export function sqlProjectOf(definition: AssetDefinition): SqlProject | undefined {
  return projectsByAsset.get(definition)?.project;
}

const modelConfig = z
  .object({
    full_refresh: z
      .boolean()
      .default(false)
      .describe("Rebuild incremental models from scratch (dbt's --full-refresh)."),
  })
  .strict();

/**
 * Loads a dbt-layout project: every model becomes an asset keyed `<folder>/<model>`, every
 * test an asset check, every source table an external asset (or the TypeScript asset its
 * `meta.dag.asset_key` names).
 *
 * @example
 * const transformer = sqlProject({ dir: new URL('./transformer/', import.meta.url) });
 * export default new Definitions({ assets: [...transformer.assets], assetChecks: [...transformer.checks] });
 */
export function sqlProject(options: SqlProjectOptions, cache?: FileCache): SqlProject {
  return load(options, cache ?? newFileCache(), undefined);
}

function load(
  options: SqlProjectOptions,
  fileCache: FileCache,
  changed: readonly string[] | undefined,
): SqlProject {
  const dir = options.dir instanceof URL ? fileURLToPath(options.dir) : path.resolve(options.dir);
  const env = options.env ?? process.env;
  const warehouseUrl = options.warehouse ?? (env.WAREHOUSE_URL || defaultWarehouseUrl());
  const dialect = warehouseKind(warehouseUrl);
  const files = new SqlProjectFiles(
    dir,
    { dialect, vars: options.vars, env, defaultSchema: options.defaultSchema, changed },
    fileCache,
  );
  const group = options.group ?? files.name;

  // The previous load's definitions, while what they are built from besides their own model,
  // test or source is the same.
  const key = JSON.stringify([dir, warehouseUrl, options.warehouse !== undefined, group, files.name]);
  let defs = fileCache.definitions;
  if (defs?.key !== key || defs.env !== env) {
    const current = { files } as Current;
    defs = {
      key,
      env,
      current,
      warehouse: warehouseResource(files.name, warehouseUrl, options.warehouse !== undefined, env),
      sources: new Map(),
      models: new Map(),
      checks: new Map(),
    };
    fileCache.definitions = defs;
  }
  const current = defs.current;
  current.files = files;
  const warehouse = defs.warehouse;

  const assets: AssetDefinition[] = [];
  const sourceKeys = new Map<string, string>();
  const sourceDefs = new Map<string, { source: SourceTable; definition: AssetDefinition }>();
  for (const src of files.sources.values()) {
    const id = `${src.source}.${src.table}`;
    if (src.assetKey) {
      sourceKeys.set(id, src.assetKey);
      continue;
    }
    const key = `${src.source}/${src.table}`;
    sourceKeys.set(id, key);
    let built = defs.sources.get(id);
    if (built?.source !== src) {
      built = {
        source: src,
        definition: asset(
          {
            name: key,
            external: true,
            group,
            description: src.description ?? `Source table ${src.schema}.${src.identifier} (${src.file}).`,
            kinds: ['source', dialect],
            metadata: { relation: `${src.schema}.${src.identifier}`, file: src.file },
            watchPaths: files.sourcePaths,
          },
          () => undefined,
        ),
      };
    }
    sourceDefs.set(id, built);
    assets.push(built.definition);
  }
  defs.sources = sourceDefs;

  const checks: AssetCheckDefinition[] = [];
  const project: SqlProject = {
    name: files.name,
    dir,
    warehouseUrl,
    assets,
    checks,
    warehouse,
    files,
    async compile(keys, compileOptions = {}) {
      const wh = await relationNamer(warehouseUrl, env);
      try {
        return keys.flatMap((key) => {
          // A model's key ends with its name, which is unique in the project.
          const model = files.models.get(key.slice(key.lastIndexOf('/') + 1));
          if (model?.key !== key) return [];
          return [
            {
              key,
              file: model.file,
              relation: wh.relation(model.schema, model.identifier),
              materialized: model.config.materialized,
              sql: compileModel(files, wh, model.name, compileOptions.incremental === true),
            },
          ];
        });
      } finally {
        await wh.close();
      }
    },
    reload: (reloadOptions) => load(options, fileCache, reloadOptions?.changed),
  };
  current.project = project;

  const modelDefs = new Map<string, { node: ModelNode; deps: string; definition: AssetDefinition }>();
  for (const model of files.models.values()) {
    if (model.config.materialized === 'ephemeral') continue;
    const deps = [
      ...new Set([
        ...files.upstreamModels(model.name).map((n) => files.models.get(n)!.key),
        ...files.upstreamSources(model.name).map((s) => sourceKeys.get(`${s.source}.${s.table}`)!),
      ]),
    ];
    const depsId = deps.join('\n');
    let built = defs.models.get(model.name);
    if (built?.node !== model || built.deps !== depsId) {
      built = {
        node: model,
        deps: depsId,
        definition: modelAsset(model, deps, current, dir, group, dialect, warehouse, files.sourcePaths),
      };
      projectsByAsset.set(built.definition, current);
    }
    modelDefs.set(model.name, built);
    assets.push(built.definition);
  }
  defs.models = modelDefs;

  const checkDefs = new Map<string, { test: TestNode; key: string; definition: AssetCheckDefinition }>();
  for (const test of files.tests) {
    const model = files.models.get(test.model)!;
    let built = defs.checks.get(test.name);
    if (built?.test !== test || built.key !== model.key) {
      built = { test, key: model.key, definition: testCheck(test, model.key, current, warehouse) };
    }
    checkDefs.set(test.name, built);
    checks.push(built.definition);
  }
  defs.checks = checkDefs;
  return project;
}

function warehouseResource(
  name: string,
  warehouseUrl: string,
  explicit: boolean,
  env: NodeJS.ProcessEnv,
): ResourceDefinition<Warehouse> {
  const dialect = warehouseKind(warehouseUrl);
  return resource({
    name: `${name}_warehouse`,
    description: `The warehouse the SQL project '${name}' runs on (WAREHOUSE_URL).`,
    config: z.object({ url: z.string().min(1).default(warehouseUrl) }),
    ...(explicit ? {} : { env: { url: { env: 'WAREHOUSE_URL', secret: true } } }),
    create: ({ url }) => {
      if (warehouseKind(url) !== dialect) {
        throw new Error(
          `The SQL project '${name}' was loaded for ${dialect}, but the warehouse URL now names ${warehouseKind(url)}; restart so the models compile for it.`,
        );
      }
      return openWarehouse(url, env);
    },
    dispose: (wh) => wh.close(),
  });
}

function modelAsset(
  model: ModelNode,
  deps: string[],
  current: Current,
  dir: string,
  group: string,
  dialect: string,
  warehouse: ResourceDefinition<Warehouse>,
  watchPaths: readonly string[],
): AssetDefinition {
  return asset(
    {
      name: model.key,
      group,
      description: model.description,
      deps,
      tags: Object.fromEntries(model.config.tags.map((t) => [t, ''])),
      kinds: ['sql', dialect],
      metadata: {
        file: md.path(path.join(dir, model.file)),
        relation: `${model.schema}.${model.identifier}`,
        materialized: model.config.materialized,
        sql: md.markdown(`\`\`\`sql\n${model.source.trim()}\n\`\`\``),
      },
      config: modelConfig,
      resources: { warehouse },
      io: false,
      // `dag dev` reloads the location when a model, macro, test or the project file changes.
      watchPaths,
    },
    async (ctx) => {
      const result = await runModel(current.files, ctx.resources.warehouse, model, {
        fullRefresh: ctx.config.full_refresh,
        signal: ctx.signal,
      });
      ctx.log.info(
        `${result.incremental ? 'Merged into' : 'Built'} ${result.relation} (${result.materialized}${result.rows === null ? '' : `, ${result.rows} rows`}) in ${Math.round(result.durationMs)} ms.`,
      );
      return new MaterializeResult({ metadata: modelMetadata(result) });
    },
  );
}

function testCheck(
  test: TestNode,
  assetKey: string,
  current: Current,
  warehouse: ResourceDefinition<Warehouse>,
): AssetCheckDefinition {
  return assetCheck(
    {
      name: test.name,
      asset: assetKey,
      description: `${test.kind}${test.column ? ` on ${test.column}` : ''} (${test.file}:${test.line})`,
      severity: test.severity,
      blocking: test.severity === 'ERROR',
      resources: { warehouse },
    },
    async (ctx) => {
      const result = await runTest(current.files, ctx.resources.warehouse, test, { signal: ctx.signal });
      return {
        passed: result.failures === 0,
        description: result.failures === 0 ? undefined : `${result.failures} failing row(s)`,
        metadata: {
          failing_rows: md.int(result.failures),
          ...(result.sample.length > 0
            ? {
                sample: md.table({
                  columns: result.sampleColumns,
                  rows: result.sample.map((r) => result.sampleColumns.map((c) => r[c] ?? null)),
                }),
              }
            : {}),
          sql: md.markdown(`\`\`\`sql\n${result.sql}\n\`\`\``),
        },
      };
    },
  );
}
