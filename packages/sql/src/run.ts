import { md } from '@dag/core';
import { compileModel, compileTest } from './compile.ts';
import type { ModelNode, SqlProjectFiles, TestNode } from './project.ts';
import { TMP_SUFFIX, type Warehouse, type WarehouseCallOptions } from './warehouse.ts';
import { WarehouseConnectError } from './warehouses/common.ts';

/**
 * Running models and tests on a warehouse. Every write is atomic: the new rows are built into
 * a temporary table first; the swap (table) or the merge (incremental) then happens in one
 * transaction, so a failed or killed step leaves the previous relation whole.
 */

export interface ModelRunOptions extends WarehouseCallOptions {
  fullRefresh?: boolean;
}

export interface ModelRunResult {
  sql: string;
  relation: string;
  materialized: string;
  /** Rows in the table after a full build; rows inserted by an incremental run; null for a view. */
  rows: number | null;
  columns: { name: string; type: string }[];
  durationMs: number;
  incremental: boolean;
}

/** A step failed for a reason of the model (bad SQL, bad keys): it names the model and file. */
export class ModelRunError extends Error {
  override name = 'ModelRunError';
}

/**
 * The line of the failing statement an engine's error names: `line` (PostgreSQL, set by its
 * engine from the character position), "LINE 3:" (DuckDB), "at [3:5]" (BigQuery).
 */
function errorLine(error: unknown): number | undefined {
  const line = (error as { line?: unknown })?.line;
  if (typeof line === 'number') return line;
  const message = String((error as Error)?.message ?? '');
  const m = /LINE (\d+):/.exec(message) ?? /at \[(\d+):\d+\]/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** Runs a statement whose line `offset + 1` is the compiled SQL's line 1; errors name the model. */
async function runModelSql<T>(
  model: ModelNode,
  warehouse: Warehouse,
  sql: string,
  offset: number,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof WarehouseConnectError) {
      throw new ModelRunError(`Model '${model.key}' (${model.file}): ${error.message}`, { cause: error });
    }
    if (error instanceof ModelRunError) throw error;
    const line = errorLine(error);
    const sqlLine = line !== undefined ? line - offset : undefined;
    const lines = sql.split('\n');
    const firstLine = String((error as Error).message ?? error).split('\n')[0];
    const at =
      sqlLine !== undefined && sqlLine >= 1 && sqlLine <= lines.length
        ? ` at line ${sqlLine} of the compiled SQL:\n  ${sqlLine} | ${lines[sqlLine - 1]}`
        : '';
    throw new ModelRunError(
      `Model '${model.key}' (${model.file}): ${warehouse.kind} rejected the compiled SQL${at}\n${firstLine}\nRun 'dag sql compile ${model.key}' to see the whole SQL.`,
      { cause: error },
    );
  }
}

function listKeys(warehouse: Warehouse, keys: readonly string[]): string {
  return keys.map((k) => warehouse.quoteIdentifier(k)).join(', ');
}

export async function runModel(
  files: SqlProjectFiles,
  warehouse: Warehouse,
  model: ModelNode,
  options: ModelRunOptions = {},
): Promise<ModelRunResult> {
  const started = performance.now();
  const call = { signal: options.signal };
  const target = warehouse.relation(model.schema, model.identifier);
  const tmpName = `${model.identifier}${TMP_SUFFIX}`;
  const tmp = warehouse.relation(model.schema, tmpName);

  await runModelSql(model, warehouse, '', 0, () => ensureSchemaOnce(warehouse, model.schema));
  const { materialized } = model.config;
  // Only an incremental model asks the catalog here (merge or build?); the others leave it to
  // the engine's replace, which asks only when it must (one statement fewer per model).
  const existing =
    materialized === 'incremental' && options.fullRefresh !== true
      ? await runModelSql(model, warehouse, '', 0, () =>
          warehouse.relationType(model.schema, model.identifier),
        )
      : undefined;
  const incremental = materialized === 'incremental' && existing === 'table' && options.fullRefresh !== true;
  const sql = compileModel(files, warehouse, model.name, incremental);

  let rows: number | null = null;
  if (!incremental) {
    // Each engine swaps atomically its own way (the warehouse contract's replaceRelation).
    const kind = materialized === 'view' ? 'view' : 'table';
    const written = await runModelSql(model, warehouse, sql, 1, () =>
      warehouse.replaceRelation(model.schema, model.identifier, kind, sql, {
        existing,
        signal: options.signal,
      }),
    );
    if (kind === 'table') rows = written.rows ?? (await count(warehouse, target, call));
  } else {
    await warehouse.execute(`DROP TABLE IF EXISTS ${tmp}`, call);
    const build = `CREATE TABLE ${tmp} AS\n${sql}`;
    try {
      await runModelSql(model, warehouse, sql, 1, () => warehouse.execute(build, call));
      rows = await runModelSql(model, warehouse, '', 0, () =>
        mergeIncremental(warehouse, model, { target, tmp, tmpName }, call),
      );
    } finally {
      await warehouse.execute(`DROP TABLE IF EXISTS ${tmp}`).catch(() => {});
    }
  }
  const columns = await warehouse.columns(model.schema, model.identifier);
  return {
    sql,
    relation: target,
    materialized,
    rows,
    columns,
    durationMs: performance.now() - started,
    incremental,
  };
}

const ensuredSchemas = new WeakMap<Warehouse, Set<string>>();

/** Creates a model's schema the first time a warehouse connection sees it. */
async function ensureSchemaOnce(warehouse: Warehouse, schema: string): Promise<void> {
  const seen = ensuredSchemas.get(warehouse) ?? new Set<string>();
  ensuredSchemas.set(warehouse, seen);
  if (seen.has(schema)) return;
  await warehouse.ensureSchema(schema);
  seen.add(schema);
}

async function count(warehouse: Warehouse, relation: string, call: WarehouseCallOptions): Promise<number> {
  const { rows } = await warehouse.query(`SELECT count(*) AS n FROM ${relation}`, call);
  return Number(rows[0]?.n ?? 0);
}

async function mergeIncremental(
  warehouse: Warehouse,
  model: ModelNode,
  rel: { target: string; tmp: string; tmpName: string },
  call: WarehouseCallOptions,
): Promise<number> {
  const { uniqueKey } = model.config;
  const strategy = model.config.incrementalStrategy ?? (uniqueKey?.length ? 'merge' : 'append');
  const newColumns = await warehouse.columns(model.schema, rel.tmpName);
  const oldColumns = new Set((await warehouse.columns(model.schema, model.identifier)).map((c) => c.name));
  const missing = newColumns.filter((c) => !oldColumns.has(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    throw new ModelRunError(
      `Model '${model.key}' (${model.file}): the new rows have columns the table ${rel.target} lacks (${missing.join(', ')}); the table is unchanged. Rebuild it with run config { ops: { '${model.key}': { config: { full_refresh: true } } } } (dag materialize --select '${model.key}' --config ...).`,
    );
  }
  if (strategy !== 'append' && uniqueKey?.length) {
    const keys = listKeys(warehouse, uniqueKey);
    const nulls = await warehouse.query(
      `SELECT ${keys} FROM ${rel.tmp} WHERE ${uniqueKey.map((k) => `${warehouse.quoteIdentifier(k)} IS NULL`).join(' OR ')} LIMIT 10`,
      call,
    );
    if (nulls.rows.length > 0) {
      throw new ModelRunError(
        `Model '${model.key}' (${model.file}): ${nulls.rows.length === 10 ? '10 or more' : nulls.rows.length} new row(s) have a null unique_key (${uniqueKey.join(', ')}): ${nulls.rows.map((r) => JSON.stringify(r)).join('; ')}. The table ${rel.target} is unchanged; fix the model so every row has a key.`,
      );
    }
    const dups = await warehouse.query(
      `SELECT ${keys}, count(*) AS n_records FROM ${rel.tmp} GROUP BY ${keys} HAVING count(*) > 1 ORDER BY ${keys} LIMIT 10`,
      call,
    );
    if (dups.rows.length > 0) {
      const described = dups.rows
        .map(
          (r) => `${uniqueKey.map((k) => `${k}=${JSON.stringify(r[k])}`).join(', ')} (${r.n_records} rows)`,
        )
        .join('; ');
      throw new ModelRunError(
        `Model '${model.key}' (${model.file}): duplicate unique_key (${uniqueKey.join(', ')}) in the new rows: ${described}. The table ${rel.target} is unchanged; make the key unique in the model's SQL (e.g. keep the latest row per key).`,
      );
    }
  }
  return await warehouse.mergeRows(
    model.schema,
    model.identifier,
    { tmpName: rel.tmpName, columns: newColumns.map((c) => c.name), strategy, uniqueKey },
    call,
  );
}

/** The metadata of a model's materialization. */
export function modelMetadata(result: ModelRunResult) {
  return {
    relation: result.relation,
    materialized: result.incremental ? 'incremental (merged)' : result.materialized,
    ...(result.rows === null
      ? {}
      : { [result.incremental ? 'rows_affected' : 'row_count']: md.int(result.rows) }),
    columns: md.table({ columns: ['name', 'type'], rows: result.columns.map((c) => [c.name, c.type]) }),
    sql: md.markdown(`\`\`\`sql\n${result.sql}\n\`\`\``),
    duration: md.duration(result.durationMs),
  };
}

export interface TestRunResult {
  failures: number;
  sample: Record<string, unknown>[];
  sampleColumns: string[];
  sql: string;
}

export async function runTest(
  files: SqlProjectFiles,
  warehouse: Warehouse,
  test: TestNode,
  call: WarehouseCallOptions = {},
): Promise<TestRunResult> {
  const model = files.models.get(test.model)!;
  const where = `${test.file}:${test.line}: test '${test.name}' on model '${model.key}'`;
  if (test.column !== undefined) {
    const columns = await warehouse.columns(model.schema, model.identifier);
    if (columns.length > 0 && !columns.some((c) => c.name === test.column)) {
      throw new ModelRunError(
        `${where}: column '${test.column}' does not exist in ${warehouse.relation(model.schema, model.identifier)} (its columns: ${columns.map((c) => c.name).join(', ')}). Fix the column name in ${test.file}.`,
      );
    }
  }
  const sql = compileTest(files, warehouse, test);
  try {
    const counted = await warehouse.query(`SELECT count(*) AS failures FROM (\n${sql}\n) dbt_test`, call);
    const failures = Number(counted.rows[0]?.failures ?? 0);
    const sample =
      failures > 0 ? await warehouse.query(`SELECT * FROM (\n${sql}\n) dbt_test LIMIT 10`, call) : undefined;
    return {
      failures,
      sample: sample?.rows ?? [],
      sampleColumns: sample?.columns.map((c) => c.name) ?? [],
      sql,
    };
  } catch (error) {
    if (error instanceof ModelRunError) throw error;
    const line = errorLine(error);
    throw new ModelRunError(
      `${where}: ${warehouse.kind} rejected the test's SQL${line ? ` (line ${line - 1})` : ''}: ${String((error as Error).message).split('\n')[0]}\n${sql}`,
      { cause: error },
    );
  }
}
