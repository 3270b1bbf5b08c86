import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type {
  CreateDisposition,
  ErrorProto,
  JobConfigurationLoad,
  QueryParameter,
  TableFieldSchema,
  TableReference,
  WriteDisposition,
} from './bigquery-shapes.ts';
import { bigQueryField, duckDbColumnType } from './bigquery-types.ts';
import {
  type ScriptStatement,
  SqlTranslationError,
  type StatementType,
  splitStatements,
  translateStatement,
} from './translate-sql.ts';

/** An error BigQuery would answer with: HTTP status, `reason` and message. */
export class BigQueryApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly location?: string,
  ) {
    super(message);
    this.name = 'BigQueryApiError';
  }

  toErrorProto(): ErrorProto {
    return {
      reason: this.reason,
      message: this.message,
      ...(this.location ? { location: this.location } : {}),
    };
  }
}

export const REASON_STATUS: Record<string, [number, string]> = {
  invalidQuery: [400, 'INVALID_ARGUMENT'],
  invalid: [400, 'INVALID_ARGUMENT'],
  badRequest: [400, 'INVALID_ARGUMENT'],
  notFound: [404, 'NOT_FOUND'],
  duplicate: [409, 'ALREADY_EXISTS'],
  resourceInUse: [400, 'FAILED_PRECONDITION'],
  stopped: [400, 'INVALID_ARGUMENT'],
  rateLimitExceeded: [403, 'PERMISSION_DENIED'],
  backendError: [503, 'UNAVAILABLE'],
  internalError: [500, 'INTERNAL'],
};

export function apiError(reason: string, message: string, location?: string): BigQueryApiError {
  return new BigQueryApiError(REASON_STATUS[reason]?.[0] ?? 400, reason, message, location);
}

export interface DatasetMeta {
  projectId: string;
  datasetId: string;
  location: string;
  creationTime: number;
  lastModifiedTime: number;
  description?: string;
  labels?: Record<string, string>;
}

export interface StatementOutcome {
  statement: ScriptStatement;
  statementType: StatementType;
  /** For SELECT: the result. */
  schema?: TableFieldSchema[];
  rows?: DuckDBValue[][];
  /** For DML. */
  affectedRows?: number;
  ddlOperation?: string;
  ddlTarget?: TableReference;
  startTime: number;
  endTime: number;
}

export interface QueryRun {
  /** One outcome per statement that ran, in order. */
  outcomes: StatementOutcome[];
  /** The result of the job: the last statement's. */
  schema?: TableFieldSchema[];
  rows: DuckDBValue[][];
  statementType: StatementType | 'SCRIPT';
  affectedRows?: number;
}

export interface QueryRequest {
  projectId: string;
  location: string;
  sql: string;
  defaultDataset?: { projectId?: string; datasetId?: string };
  parameterMode?: 'NAMED' | 'POSITIONAL';
  queryParameters?: QueryParameter[];
  destination?: { table: TableReference; write: WriteDisposition; create: CreateDisposition };
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `"project"."dataset"."table"`. */
export function qualified(ref: TableReference): string {
  return `${quote(ref.projectId)}.${quote(ref.datasetId)}.${quote(ref.tableId)}`;
}

function parameterLiteral(parameter: QueryParameter): string {
  const type = parameter.parameterType.type.toUpperCase();
  if (type === 'ARRAY') {
    const elementType = parameter.parameterType.arrayType?.type ?? 'STRING';
    const items = (parameter.parameterValue.arrayValues ?? []).map((item) =>
      parameterLiteral({
        parameterType: { type: elementType },
        parameterValue: { value: item.value ?? null },
      }),
    );
    return `[${items.join(', ')}]`;
  }
  const value = parameter.parameterValue.value;
  if (value === null || value === undefined) return 'NULL';
  const duck = duckDbColumnType({ name: parameter.name ?? 'parameter', type });
  return `CAST(${quoteString(value)} AS ${duck})`;
}

/** Where a statement failed, as BigQuery writes it: `[line:column]` of the whole script. */
function errorPosition(statement: ScriptStatement, message: string): string {
  const lineMatch = /LINE (\d+): (.*)\n(\s*)\^/.exec(message);
  if (lineMatch) {
    const relLine = Number(lineMatch[1]);
    const prefix = `LINE ${lineMatch[1]}: `.length;
    const caret = (lineMatch[3] ?? '').length - prefix + 1;
    const line = statement.line + relLine - 1;
    const column = relLine === 1 ? statement.column + Math.max(caret, 1) - 1 : Math.max(caret, 1);
    return `[${line}:${column}]`;
  }
  return `[${statement.line}:${statement.column}]`;
}

/** DuckDB's error, in BigQuery's words and with its position in the script. */
function translateDuckDbError(
  error: unknown,
  statement: ScriptStatement,
  location: string,
  projectId: string,
): BigQueryApiError {
  if (error instanceof BigQueryApiError) return error;
  const full = error instanceof Error ? error.message : String(error);
  const firstLine = (full.split('\n')[0] ?? full).trim();
  const at = errorPosition(statement, full);
  if (error instanceof SqlTranslationError) {
    return apiError('invalidQuery', `${error.message} at ${at}`, 'query');
  }
  const schemaMissing =
    /because schema "([^"]+)" does not exist/.exec(firstLine) ??
    /Schema with name "?([^"\s]+)"? does not exist/.exec(firstLine);
  if (schemaMissing) {
    return apiError(
      'notFound',
      `Not found: Dataset ${projectId}:${schemaMissing[1]} was not found in location ${location}`,
    );
  }
  const tableMissing = /(?:Table|View) with name "?([^"\s!]+)"? does not exist/.exec(firstLine);
  if (tableMissing) {
    const name = (tableMissing[1] as string).replace(/\W/g, '');
    // DuckDB names the table alone; the statement says which dataset (and project) it meant.
    const written = new RegExp(`(?:([\\w-]+)\\.)?(\\w+)\\.${name}\\b`).exec(
      statement.sql.replace(/[`"]/g, ''),
    );
    const full = written ? `${written[1] ?? projectId}:${written[2]}.${name}` : `${projectId}:${name}`;
    return apiError('notFound', `Not found: Table ${full} was not found in location ${location}`);
  }
  const exists = /(?:Table|View) with name "?([^"\s]+)"? already exists/.exec(firstLine);
  if (exists) return apiError('duplicate', `Already Exists: Table ${projectId}:${exists[1]}`);
  const message = firstLine
    .replace(/^Parser Error: /, 'Syntax error: ')
    .replace(
      /^(Binder|Catalog|Conversion|Invalid Input|Constraint|Out of Range|Not implemented|TransactionContext) Error: /,
      '',
    );
  return apiError('invalidQuery', `${message} at ${at}`, 'query');
}

/**
 * The replica's storage and SQL engine: one DuckDB database; each BigQuery project is an
 * attached in-memory catalog and each dataset a schema in it, so `project.dataset.table`
 * resolves natively. Jobs run one at a time (BigQuery runs them in parallel, but a test's
 * outcome must not depend on scheduling).
 */
export class BigQueryEngine {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly projects = new Set<string>();
  private readonly datasetMeta = new Map<string, DatasetMeta>();
  private readonly tableMeta = new Map<
    string,
    { creationTime: number; description?: string; labels?: Record<string, string> }
  >();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    readonly defaultLocation: string,
  ) {}

  static async create(options: { location: string }): Promise<BigQueryEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const admin = await instance.connect();
    return new BigQueryEngine(instance, admin, options.location);
  }

  /** Runs `work` after every job queued before it. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ensureProject(projectId: string): Promise<void> {
    if (this.projects.has(projectId)) return;
    await this.admin.run(`ATTACH IF NOT EXISTS ':memory:' AS ${quote(projectId)}`);
    this.projects.add(projectId);
  }

  private async scalar(sql: string): Promise<DuckDBValue[][]> {
    return (await this.admin.runAndReadAll(sql)).getRows();
  }

  // ---- datasets -------------------------------------------------------------------------

  private async schemaExists(projectId: string, datasetId: string): Promise<boolean> {
    await this.ensureProject(projectId);
    const rows = await this.scalar(
      `SELECT 1 FROM duckdb_schemas() WHERE database_name = ${quoteString(projectId)} AND schema_name = ${quoteString(datasetId)}`,
    );
    return rows.length > 0;
  }

  async getDataset(projectId: string, datasetId: string): Promise<DatasetMeta> {
    if (!(await this.schemaExists(projectId, datasetId))) {
      throw apiError('notFound', `Not found: Dataset ${projectId}:${datasetId}`);
    }
    const key = `${projectId}.${datasetId}`;
    let meta = this.datasetMeta.get(key);
    if (!meta) {
      // Created by SQL (CREATE SCHEMA): it gets the default location.
      const now = Date.now();
      meta = {
        projectId,
        datasetId,
        location: this.defaultLocation,
        creationTime: now,
        lastModifiedTime: now,
      };
      this.datasetMeta.set(key, meta);
    }
    return meta;
  }

  async createDataset(meta: Omit<DatasetMeta, 'creationTime' | 'lastModifiedTime'>): Promise<DatasetMeta> {
    if (!/^[A-Za-z0-9_]{1,1024}$/.test(meta.datasetId)) {
      throw apiError(
        'invalid',
        `Invalid dataset ID "${meta.datasetId}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`,
      );
    }
    if (await this.schemaExists(meta.projectId, meta.datasetId)) {
      throw apiError('duplicate', `Already Exists: Dataset ${meta.projectId}:${meta.datasetId}`);
    }
    await this.admin.run(`CREATE SCHEMA ${quote(meta.projectId)}.${quote(meta.datasetId)}`);
    const now = Date.now();
    const full: DatasetMeta = { ...meta, creationTime: now, lastModifiedTime: now };
    this.datasetMeta.set(`${meta.projectId}.${meta.datasetId}`, full);
    return full;
  }

  async deleteDataset(projectId: string, datasetId: string, deleteContents: boolean): Promise<void> {
    await this.getDataset(projectId, datasetId);
    if (!deleteContents && (await this.listTables(projectId, datasetId)).length > 0) {
      throw apiError('resourceInUse', `Dataset ${projectId}:${datasetId} is still in use`);
    }
    await this.admin.run(`DROP SCHEMA ${quote(projectId)}.${quote(datasetId)} CASCADE`);
    this.datasetMeta.delete(`${projectId}.${datasetId}`);
  }

  async listDatasets(projectId: string): Promise<DatasetMeta[]> {
    await this.ensureProject(projectId);
    const rows = await this.scalar(
      `SELECT schema_name FROM duckdb_schemas() WHERE database_name = ${quoteString(projectId)} AND NOT internal AND schema_name <> 'main' ORDER BY schema_name`,
    );
    return Promise.all(rows.map((row) => this.getDataset(projectId, String(row[0]))));
  }

  // ---- tables ---------------------------------------------------------------------------

  async listTables(
    projectId: string,
    datasetId: string,
  ): Promise<{ tableId: string; type: 'TABLE' | 'VIEW' }[]> {
    await this.getDataset(projectId, datasetId);
    const db = quoteString(projectId);
    const schema = quoteString(datasetId);
    const rows = await this.scalar(
      `SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = ${db} AND schema_name = ${schema} AND NOT temporary
       UNION ALL
       SELECT view_name, 'VIEW' FROM duckdb_views() WHERE database_name = ${db} AND schema_name = ${schema} AND NOT internal AND NOT temporary
       ORDER BY 1`,
    );
    return rows.map((row) => ({ tableId: String(row[0]), type: row[1] === 'VIEW' ? 'VIEW' : 'TABLE' }));
  }

  async getTable(ref: TableReference): Promise<{
    type: 'TABLE' | 'VIEW';
    schema: TableFieldSchema[];
    numRows: number;
    creationTime: number;
    viewQuery?: string;
    description?: string;
    labels?: Record<string, string>;
  }> {
    await this.getDataset(ref.projectId, ref.datasetId);
    const found = await this.relationKind(ref);
    if (!found) {
      throw apiError('notFound', `Not found: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    }
    const result = await this.admin.runAndReadAll(`SELECT * FROM ${qualified(ref)} LIMIT 0`);
    const types = result.columnTypes();
    const schema = result.columnNames().map((name, i) => bigQueryField(name, types[i] as DuckDBType));
    await this.applyRequired(ref, schema);
    let numRows = 0;
    let viewQuery: string | undefined;
    if (found === 'TABLE') {
      numRows = Number((await this.scalar(`SELECT count(*) FROM ${qualified(ref)}`))[0]?.[0] ?? 0);
    } else {
      const sql = await this.scalar(
        `SELECT sql FROM duckdb_views() WHERE database_name = ${quoteString(ref.projectId)} AND schema_name = ${quoteString(ref.datasetId)} AND view_name = ${quoteString(ref.tableId)}`,
      );
      viewQuery = String(sql[0]?.[0] ?? '');
    }
    const key = `${ref.projectId}.${ref.datasetId}.${ref.tableId}`;
    let meta = this.tableMeta.get(key);
    if (!meta) {
      meta = { creationTime: Date.now() };
      this.tableMeta.set(key, meta);
    }
    return { type: found, schema, numRows, ...meta, ...(viewQuery !== undefined ? { viewQuery } : {}) };
  }

  /** Whether the relation is a table or a view, in one catalog lookup. */
  private async relationKind(ref: TableReference): Promise<'TABLE' | 'VIEW' | undefined> {
    const where = `database_name = ${quoteString(ref.projectId)} AND schema_name = ${quoteString(ref.datasetId)}`;
    const rows = await this.scalar(
      `SELECT 'TABLE' FROM duckdb_tables() WHERE ${where} AND table_name = ${quoteString(ref.tableId)} AND NOT temporary
       UNION ALL
       SELECT 'VIEW' FROM duckdb_views() WHERE ${where} AND view_name = ${quoteString(ref.tableId)} AND NOT internal AND NOT temporary`,
    );
    const kind = rows[0]?.[0];
    return kind === 'TABLE' || kind === 'VIEW' ? kind : undefined;
  }

  /** NOT NULL columns are REQUIRED fields. */
  private async applyRequired(ref: TableReference, schema: TableFieldSchema[]): Promise<void> {
    const rows = await this.scalar(
      `SELECT column_name FROM duckdb_columns() WHERE database_name = ${quoteString(ref.projectId)} AND schema_name = ${quoteString(ref.datasetId)} AND table_name = ${quoteString(ref.tableId)} AND NOT is_nullable`,
    );
    const required = new Set(rows.map((row) => String(row[0])));
    for (const field of schema)
      if (required.has(field.name) && field.mode !== 'REPEATED') field.mode = 'REQUIRED';
  }

  async createTable(
    ref: TableReference,
    options: {
      schema?: TableFieldSchema[];
      viewQuery?: string;
      description?: string;
      labels?: Record<string, string>;
    },
  ): Promise<void> {
    await this.getDataset(ref.projectId, ref.datasetId);
    if (await this.relationKind(ref)) {
      throw apiError('duplicate', `Already Exists: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    }
    if (options.viewQuery !== undefined) {
      const translated = translateStatement(options.viewQuery);
      const conn = await this.connection(ref.projectId, ref.datasetId);
      try {
        await conn.run(`CREATE VIEW ${qualified(ref)} AS ${translated.sql}`);
      } catch (error) {
        throw translateDuckDbError(
          error,
          { sql: options.viewQuery, offset: 0, line: 1, column: 1 },
          this.defaultLocation,
          ref.projectId,
        );
      } finally {
        conn.closeSync();
      }
    } else {
      const fields = options.schema ?? [];
      const columns = fields.map(
        (f) =>
          `${quote(f.name)} ${duckDbColumnType(f)}${f.mode?.toUpperCase() === 'REQUIRED' ? ' NOT NULL' : ''}`,
      );
      // BigQuery allows a table without columns; DuckDB does not, so it gets none until a load.
      if (columns.length === 0) throw apiError('invalid', 'The replica needs a schema to create a table');
      await this.admin.run(`CREATE TABLE ${qualified(ref)} (${columns.join(', ')})`);
    }
    this.tableMeta.set(`${ref.projectId}.${ref.datasetId}.${ref.tableId}`, {
      creationTime: Date.now(),
      ...(options.description ? { description: options.description } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
    });
  }

  async deleteTable(ref: TableReference): Promise<void> {
    const table = await this.getTable(ref);
    await this.admin.run(`DROP ${table.type === 'VIEW' ? 'VIEW' : 'TABLE'} ${qualified(ref)}`);
    this.tableMeta.delete(`${ref.projectId}.${ref.datasetId}.${ref.tableId}`);
  }

  async readRows(
    ref: TableReference,
    startIndex: number,
    maxResults: number,
  ): Promise<{ schema: TableFieldSchema[]; rows: DuckDBValue[][]; total: number }> {
    const table = await this.getTable(ref);
    if (table.type === 'VIEW') throw apiError('invalid', `Cannot list a table of type VIEW.`);
    const result = await this.admin.runAndReadAll(
      `SELECT * FROM ${qualified(ref)} LIMIT ${Math.max(0, maxResults)} OFFSET ${Math.max(0, startIndex)}`,
    );
    return { schema: table.schema, rows: result.getRows(), total: table.numRows };
  }

  // ---- streaming inserts and loads -------------------------------------------------------

  /** Each JSON row as a DuckDB row literal for `INSERT ... BY NAME SELECT`. */
  private rowSelect(row: Record<string, unknown>, schema: TableFieldSchema[]): string {
    const values = schema
      .filter((f) => Object.hasOwn(row, f.name))
      .map((f) => `${jsonLiteral(row[f.name], f)} AS ${quote(f.name)}`);
    return `SELECT ${values.length > 0 ? values.join(', ') : 'NULL AS "__replica_empty"'}`;
  }

  /**
   * tabledata.insertAll: all rows or none, unless `skipInvalidRows`; rows with unknown fields
   * are invalid unless `ignoreUnknownValues`.
   */
  async insertAll(
    ref: TableReference,
    rows: { json: Record<string, unknown>; insertId?: string }[],
    options: { skipInvalidRows?: boolean; ignoreUnknownValues?: boolean },
  ): Promise<{ index: number; errors: ErrorProto[] }[]> {
    const table = await this.getTable(ref);
    if (table.type === 'VIEW') throw apiError('invalid', `Cannot add rows to a table of type VIEW.`);
    const names = new Set(table.schema.map((f) => f.name));
    const insertErrors: { index: number; errors: ErrorProto[] }[] = [];
    const statements: { index: number; sql: string }[] = [];
    rows.forEach((row, index) => {
      const unknown = Object.keys(row.json ?? {}).filter((key) => !names.has(key));
      if (unknown.length > 0 && !options.ignoreUnknownValues) {
        insertErrors.push({
          index,
          errors: [{ reason: 'invalid', location: unknown[0], message: `no such field: ${unknown[0]}.` }],
        });
        return;
      }
      const missing = table.schema.find(
        (f) => f.mode === 'REQUIRED' && (row.json?.[f.name] ?? null) === null,
      );
      if (missing) {
        insertErrors.push({
          index,
          errors: [
            {
              reason: 'invalid',
              location: missing.name,
              message: `Missing required field: ${missing.name}.`,
            },
          ],
        });
        return;
      }
      try {
        statements.push({
          index,
          sql: `INSERT INTO ${qualified(ref)} BY NAME ${this.rowSelect(row.json ?? {}, table.schema)}`,
        });
      } catch (error) {
        insertErrors.push({ index, errors: [{ reason: 'invalid', message: (error as Error).message }] });
      }
    });
    // All or nothing in one transaction; with skipInvalidRows each row stands alone.
    const conn = await this.instance.connect();
    const all = !options.skipInvalidRows;
    try {
      if (all && insertErrors.length === 0) await conn.run('BEGIN TRANSACTION');
      for (const statement of statements) {
        if (all && insertErrors.length > 0) break;
        try {
          await conn.run(statement.sql);
        } catch (error) {
          insertErrors.push({
            index: statement.index,
            errors: [{ reason: 'invalid', message: ((error as Error).message.split('\n')[0] ?? '').trim() }],
          });
        }
      }
      if (all && insertErrors.length > 0) {
        await conn.run('ROLLBACK').catch(() => undefined);
        const failed = new Set(insertErrors.map((e) => e.index));
        for (let index = 0; index < rows.length; index++) {
          if (!failed.has(index)) insertErrors.push({ index, errors: [{ reason: 'stopped', message: '' }] });
        }
      } else if (all) {
        await conn.run('COMMIT');
      }
    } catch (error) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      conn.closeSync();
    }
    return insertErrors.sort((a, b) => a.index - b.index);
  }

  /** A load job from newline-delimited JSON (or CSV): returns the rows written. */
  async load(config: JobConfigurationLoad, data: Buffer): Promise<number> {
    const ref = config.destinationTable;
    await this.getDataset(ref.projectId, ref.datasetId);
    const format = (config.sourceFormat ?? 'CSV').toUpperCase();
    if (format !== 'NEWLINE_DELIMITED_JSON' && format !== 'CSV') {
      throw apiError('invalid', `The replica loads NEWLINE_DELIMITED_JSON and CSV, not ${format}`);
    }
    const exists = (await this.relationKind(ref)) !== undefined;
    const write = config.writeDisposition ?? 'WRITE_APPEND';
    const create = config.createDisposition ?? 'CREATE_IF_NEEDED';
    if (!exists && create === 'CREATE_NEVER') {
      throw apiError('notFound', `Not found: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    }
    let schema: TableFieldSchema[] | undefined = config.schema?.fields;
    if (exists) schema = (await this.getTable(ref)).schema;
    const directory = await mkdtemp(join(tmpdir(), 'bigquery-replica-load-'));
    const file = join(directory, format === 'CSV' ? 'data.csv' : 'data.json');
    const conn = await this.instance.connect();
    try {
      if (format === 'NEWLINE_DELIMITED_JSON' && schema) {
        const names = new Set(schema.map((f) => f.name));
        const lines = data.toString('utf8').split('\n');
        lines.forEach((line, i) => {
          if (!line.trim()) return;
          let parsed: unknown;
          try {
            parsed = JSON.parse(line);
          } catch {
            throw apiError(
              'invalid',
              `Error while reading data, error message: JSON parsing error in row starting at position ${lines.slice(0, i).join('\n').length}: Parser terminated before end of string`,
            );
          }
          if (!config.ignoreUnknownValues && parsed && typeof parsed === 'object') {
            const unknown = Object.keys(parsed).find((key) => !names.has(key));
            if (unknown) {
              throw apiError(
                'invalid',
                `Error while reading data, error message: JSON parsing error in row ${i + 1}: No such field: ${unknown}.`,
              );
            }
          }
        });
      }
      await writeFile(file, data);
      const columns = schema
        ? `{${schema.map((f) => `${quoteString(f.name)}: ${quoteString(duckDbColumnType(f))}`).join(', ')}}`
        : undefined;
      const reader =
        format === 'CSV'
          ? `read_csv(${quoteString(file)}, header = ${(config.skipLeadingRows ?? 0) > 0}${columns ? `, columns = ${columns}` : ''})`
          : `read_json(${quoteString(file)}, format = 'newline_delimited'${columns ? `, columns = ${columns}` : ''})`;
      if (!schema && !config.autodetect) {
        throw apiError('invalid', 'No schema specified on job or table.');
      }
      await conn.run('BEGIN TRANSACTION');
      if (!exists) {
        if (schema) {
          const defs = schema.map(
            (f) =>
              `${quote(f.name)} ${duckDbColumnType(f)}${f.mode?.toUpperCase() === 'REQUIRED' ? ' NOT NULL' : ''}`,
          );
          await conn.run(`CREATE TABLE ${qualified(ref)} (${defs.join(', ')})`);
        } else {
          await conn.run(`CREATE TABLE ${qualified(ref)} AS SELECT * FROM ${reader} LIMIT 0`);
        }
      } else if (write === 'WRITE_TRUNCATE') {
        await conn.run(`DELETE FROM ${qualified(ref)}`);
      } else if (write === 'WRITE_EMPTY') {
        const count = (await conn.runAndReadAll(`SELECT count(*) FROM ${qualified(ref)}`)).getRows()[0]?.[0];
        if (Number(count) > 0)
          throw apiError(
            'duplicate',
            `Already Exists: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`,
          );
      }
      const inserted = await conn.run(`INSERT INTO ${qualified(ref)} BY NAME SELECT * FROM ${reader}`);
      await conn.run('COMMIT');
      if (!exists)
        this.tableMeta.set(`${ref.projectId}.${ref.datasetId}.${ref.tableId}`, { creationTime: Date.now() });
      return inserted.rowsChanged;
    } catch (error) {
      await conn.run('ROLLBACK').catch(() => undefined);
      if (error instanceof BigQueryApiError) throw error;
      throw apiError(
        'invalid',
        `Error while reading data, error message: ${((error as Error).message.split('\n')[0] ?? '').trim()}`,
      );
    } finally {
      conn.closeSync();
      await rm(directory, { recursive: true, force: true });
    }
  }

  // ---- queries ---------------------------------------------------------------------------

  private async connection(projectId: string, datasetId?: string): Promise<DuckDBConnection> {
    await this.ensureProject(projectId);
    const conn = await this.instance.connect();
    await conn.run(`USE ${quote(projectId)}${datasetId ? `.${quote(datasetId)}` : ''}`);
    return conn;
  }

  /**
   * Runs a query or script. A transaction left open at the end, or by a failing statement,
   * is rolled back, as BigQuery does; DDL on permanent tables inside a transaction is
   * rejected, as BigQuery does.
   */
  async runQuery(request: QueryRequest, signal?: AbortSignal): Promise<QueryRun> {
    const statements = splitStatements(request.sql);
    if (statements.length === 0)
      throw apiError('invalidQuery', 'Syntax error: Unexpected end of script at [1:1]', 'query');
    const named = new Map<string, string>();
    const positional: string[] = [];
    for (const parameter of request.queryParameters ?? []) {
      if (request.parameterMode === 'POSITIONAL' || !parameter.name)
        positional.push(parameterLiteral(parameter));
      else named.set(parameter.name.toLowerCase(), parameterLiteral(parameter));
    }
    const projectId = request.defaultDataset?.projectId ?? request.projectId;
    if (request.defaultDataset?.datasetId) await this.getDataset(projectId, request.defaultDataset.datasetId);
    const conn = await this.connection(projectId, request.defaultDataset?.datasetId);
    const abort = () => conn.interrupt();
    signal?.addEventListener('abort', abort);
    const outcomes: StatementOutcome[] = [];
    let inTransaction = false;
    try {
      for (const statement of statements) {
        if (signal?.aborted) throw apiError('stopped', 'Job execution was cancelled: Job cancelled by user');
        const startTime = Date.now();
        try {
          const translated = translateStatement(statement.sql, {
            namedParameters: named,
            positionalParameters: positional,
          });
          const type = translated.statementType;
          if (type === 'BEGIN_TRANSACTION') {
            if (inTransaction) throw new SqlTranslationError('Nested transactions are not supported', 0);
            inTransaction = true;
          } else if (type === 'COMMIT_TRANSACTION' || type === 'ROLLBACK_TRANSACTION') {
            if (!inTransaction)
              throw new SqlTranslationError(`${type.replace('_', ' ')} without an open transaction`, 0);
            inTransaction = false;
          } else if (inTransaction && translated.ddl && !translated.temporary && type !== 'TRUNCATE_TABLE') {
            throw new SqlTranslationError(
              `${type} is not supported inside a transaction: only SELECT, DML and temporary tables are`,
              0,
            );
          }
          let destinationSql = translated.sql;
          const outcome: StatementOutcome = { statement, statementType: type, startTime, endTime: startTime };
          if (request.destination && statements.length === 1) {
            if (type !== 'SELECT')
              throw apiError('invalidQuery', 'A destination table needs a SELECT query', 'query');
            destinationSql = await this.writeDestination(conn, translated.sql, request.destination);
          }
          const result = await conn.runAndReadAll(destinationSql);
          if (type === 'SELECT') {
            const types = result.columnTypes();
            outcome.schema = result
              .columnNames()
              .map((name, i) => bigQueryField(name, types[i] as DuckDBType));
            outcome.rows = result.getRows();
          } else if (['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(type)) {
            outcome.affectedRows = result.rowsChanged;
          }
          if (translated.ddl) {
            outcome.ddlOperation = translated.ddl.operation;
            const t = translated.target ?? [];
            const [tableId, datasetId, project] = [...t].reverse();
            if (tableId && type !== 'CREATE_SCHEMA' && type !== 'DROP_SCHEMA') {
              outcome.ddlTarget = {
                projectId: project ?? projectId,
                datasetId: datasetId ?? request.defaultDataset?.datasetId ?? '',
                tableId,
              };
            }
          }
          outcome.endTime = Date.now();
          outcomes.push(outcome);
        } catch (error) {
          if (inTransaction) {
            await conn.run('ROLLBACK').catch(() => undefined);
            inTransaction = false;
          }
          if (signal?.aborted)
            throw apiError('stopped', 'Job execution was cancelled: Job cancelled by user');
          throw translateDuckDbError(error, statement, request.location, projectId);
        }
      }
      if (inTransaction) {
        await conn.run('ROLLBACK');
        inTransaction = false;
      }
    } finally {
      signal?.removeEventListener('abort', abort);
      conn.closeSync();
    }
    const last = outcomes[outcomes.length - 1] as StatementOutcome;
    const script = statements.length > 1;
    return {
      outcomes,
      ...(last.schema ? { schema: last.schema } : {}),
      rows: last.rows ?? [],
      statementType: script ? 'SCRIPT' : last.statementType,
      ...(!script && last.affectedRows !== undefined ? { affectedRows: last.affectedRows } : {}),
    };
  }

  /** Writes a query's result to its destination table; returns the statement that reads it back. */
  private async writeDestination(
    conn: DuckDBConnection,
    selectSql: string,
    destination: NonNullable<QueryRequest['destination']>,
  ): Promise<string> {
    const ref = destination.table;
    await this.getDataset(ref.projectId, ref.datasetId);
    const exists = (await this.relationKind(ref)) !== undefined;
    if (!exists && destination.create === 'CREATE_NEVER') {
      throw apiError('notFound', `Not found: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    }
    const temp = `replica_result_${Math.random().toString(36).slice(2)}`;
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run(`CREATE TEMP TABLE ${quote(temp)} AS ${selectSql}`);
      if (!exists || destination.write === 'WRITE_TRUNCATE') {
        await conn.run(`CREATE OR REPLACE TABLE ${qualified(ref)} AS SELECT * FROM temp.main.${quote(temp)}`);
      } else {
        if (destination.write === 'WRITE_EMPTY') {
          const count = (
            await conn.runAndReadAll(`SELECT count(*) FROM ${qualified(ref)}`)
          ).getRows()[0]?.[0];
          if (Number(count) > 0) {
            throw apiError(
              'duplicate',
              `Already Exists: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`,
            );
          }
        }
        await conn.run(`INSERT INTO ${qualified(ref)} BY NAME SELECT * FROM temp.main.${quote(temp)}`);
      }
      await conn.run('COMMIT');
    } catch (error) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    if (!exists)
      this.tableMeta.set(`${ref.projectId}.${ref.datasetId}.${ref.tableId}`, { creationTime: Date.now() });
    return `SELECT * FROM temp.main.${quote(temp)}`;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.admin.closeSync();
    this.instance.closeSync();
  }
}

/** A JSON value from insertAll as a DuckDB literal of the field's type. */
function jsonLiteral(value: unknown, field: TableFieldSchema): string {
  const duck = duckDbColumnType(field);
  if (value === null || value === undefined) return `CAST(NULL AS ${duck})`;
  const type = field.type.toUpperCase();
  if (field.mode === 'REPEATED' || type === 'RECORD' || type === 'STRUCT') {
    return `CAST(CAST(${quoteString(JSON.stringify(value))} AS JSON) AS ${duck})`;
  }
  if (type === 'JSON') {
    return `CAST(${quoteString(typeof value === 'string' ? value : JSON.stringify(value))} AS JSON)`;
  }
  if (type === 'TIMESTAMP' && typeof value === 'number') return `to_timestamp(${value})`;
  if (type === 'BYTES' && typeof value === 'string') return `from_base64(${quoteString(value)})`;
  if (typeof value === 'object') throw new Error(`Cannot convert value to ${type}: ${JSON.stringify(value)}`);
  return `CAST(${quoteString(String(value))} AS ${duck})`;
}
