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
import { type FileCache, type ModelNode, newFileCache, SqlProjectFiles } from './project.ts';
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
  /** Loads the project again, re-reading only files that changed. */
  reload(): SqlProject;
}

const projectsByAsset = new WeakMap<AssetDefinition, SqlProject>();

/** The SQL project an asset belongs to, if it is a model (for `dag sql compile`). */
export function sqlProjectOf(definition: AssetDefinition): SqlProject | undefined {
  return projectsByAsset.get(definition);
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
  const dir = options.dir instanceof URL ? fileURLToPath(options.dir) : path.resolve(options.dir);
  const env = options.env ?? process.env;
  const warehouseUrl = options.warehouse ?? (env.WAREHOUSE_URL || defaultWarehouseUrl());
  const dialect = warehouseKind(warehouseUrl);
  const fileCache: FileCache = cache ?? newFileCache();
  const files = new SqlProjectFiles(
    dir,
    { dialect, vars: options.vars, env, defaultSchema: options.defaultSchema },
    fileCache,
  );
  const group = options.group ?? files.name;

  const warehouse = resource({
    name: `${files.name}_warehouse`,
    description: `The warehouse the SQL project '${files.name}' runs on (WAREHOUSE_URL).`,
    config: z.object({ url: z.string().min(1).default(warehouseUrl) }),
    ...(options.warehouse ? {} : { env: { url: { env: 'WAREHOUSE_URL', secret: true } } }),
    create: ({ url }) => {
      if (warehouseKind(url) !== dialect) {
        throw new Error(
          `The SQL project '${files.name}' was loaded for ${dialect}, but the warehouse URL now names ${warehouseKind(url)}; restart so the models compile for it.`,
        );
      }
      return openWarehouse(url, env);
    },
    dispose: (wh) => wh.close(),
  });

  const assets: AssetDefinition[] = [];
  const sourceKeys = new Map<string, string>();
  for (const src of files.sources.values()) {
    if (src.assetKey) {
      sourceKeys.set(`${src.source}.${src.table}`, src.assetKey);
      continue;
    }
    const key = `${src.source}/${src.table}`;
    sourceKeys.set(`${src.source}.${src.table}`, key);
    assets.push(
      asset(
        {
          name: key,
          external: true,
          group,
          description: src.description ?? `Source table ${src.schema}.${src.identifier} (${src.file}).`,
          kinds: ['source', dialect],
          metadata: { relation: `${src.schema}.${src.identifier}`, file: src.file },
        },
        () => undefined,
      ),
    );
  }

  const checks: AssetCheckDefinition[] = [];
  let byKey: Map<string, ModelNode> | undefined;
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
        byKey ??= new Map([...files.models.values()].map((m) => [m.key, m]));
        return keys.flatMap((key) => {
          const model = byKey!.get(key);
          if (!model) return [];
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
    reload: () => sqlProject(options, fileCache),
  };

  for (const model of files.models.values()) {
    if (model.config.materialized === 'ephemeral') continue;
    const deps = [
      ...files.upstreamModels(model.name).map((n) => files.models.get(n)!.key),
      ...files.upstreamSources(model.name).map((s) => sourceKeys.get(`${s.source}.${s.table}`)!),
    ];
    const definition = asset(
      {
        name: model.key,
        group,
        description: model.description,
        deps: [...new Set(deps)],
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
      },
      async (ctx) => {
        const result = await runModel(files, ctx.resources.warehouse, model, {
          fullRefresh: ctx.config.full_refresh,
          signal: ctx.signal,
        });
        ctx.log.info(
          `${result.incremental ? 'Merged into' : 'Built'} ${result.relation} (${result.materialized}${result.rows === null ? '' : `, ${result.rows} rows`}) in ${Math.round(result.durationMs)} ms.`,
        );
        return new MaterializeResult({ metadata: modelMetadata(result) });
      },
    );
    projectsByAsset.set(definition, project);
    assets.push(definition);
  }

  for (const test of files.tests) {
    const model = files.models.get(test.model)!;
    checks.push(
      assetCheck(
        {
          name: test.name,
          asset: model.key,
          description: `${test.kind}${test.column ? ` on ${test.column}` : ''} (${test.file}:${test.line})`,
          severity: test.severity,
          blocking: test.severity === 'ERROR',
          resources: { warehouse },
        },
        async (ctx) => {
          const result = await runTest(files, ctx.resources.warehouse, test, { signal: ctx.signal });
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
      ),
    );
  }
  return project;
}
