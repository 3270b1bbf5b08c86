import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { redact, registerSecret } from '@dag/core';
import { BigQuery, type Job, type TableField, type TableSchema } from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import type {
  ExecuteResult,
  MergeSpec,
  QueryResult,
  RelationKind,
  ReplaceOptions,
  Warehouse,
  WarehouseCallOptions,
  WarehouseColumn,
} from '../warehouse.ts';
import { TMP_SUFFIX } from '../warehouse.ts';
import { deleteInsertStatements } from './common.ts';

export interface BigQueryWarehouseOptions {
  /** `bigquery://<project>/<dataset-prefix>?location=asia-northeast3`. */
  url: string;
  /** GCP_SERVICE_ACCOUNT_KEY: a path to a service-account key file, or the key's JSON itself. */
  credentials?: string;
  /** BIGQUERY_EMULATOR_HOST: talk to this endpoint instead of Google, without authentication. */
  apiEndpoint?: string;
  /** Retries of `rateLimitExceeded` and `backendError`, with exponential backoff. */
  retry?: {
    /** Default 5. */
    maxRetries?: number;
    /** Longest wait between two attempts. Default 32,000 ms. */
    maxDelayMs?: number;
  };
}

interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  project_id?: string;
}

/** Job-level failures worth running the query again for; any effect was rolled back. */
const RETRYABLE_REASONS = new Set(['rateLimitExceeded', 'backendError', 'internalError', 'jobBackendError']);

/** BigQuery's legacy type names (what the REST API answers) as GoogleSQL names. */
const STANDARD_TYPE: Record<string, string> = {
  INTEGER: 'INT64',
  FLOAT: 'FLOAT64',
  BOOLEAN: 'BOOL',
  RECORD: 'STRUCT',
};

function fieldType(field: TableField): string {
  const base = (field.type ?? 'STRING').toUpperCase();
  let type = STANDARD_TYPE[base] ?? base;
  if (type === 'STRUCT' && field.fields) {
    type = `STRUCT<${field.fields.map((f) => `${f.name} ${fieldType(f)}`).join(', ')}>`;
  }
  return field.mode === 'REPEATED' ? `ARRAY<${type}>` : type;
}

/** A client value as plain JavaScript: integers as numbers (bigint past 2^53), dates as strings. */
function plainValue(value: unknown, field: TableField): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED' && Array.isArray(value)) {
    return value.map((item) => plainValue(item, { ...field, mode: 'NULLABLE' }));
  }
  const type = (field.type ?? '').toUpperCase();
  if (type === 'RECORD' || type === 'STRUCT') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      (field.fields ?? []).map((f) => [f.name, plainValue(record[f.name as string], f)]),
    );
  }
  switch (type) {
    case 'INTEGER':
    case 'INT64': {
      const text =
        typeof value === 'object' && value && 'value' in value ? String(value.value) : String(value);
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : BigInt(text);
    }
    case 'TIMESTAMP':
      return new Date((value as { value: string }).value);
    case 'DATE':
    case 'DATETIME':
    case 'TIME':
      return (value as { value: string }).value;
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return String(value);
    default:
      return value;
  }
}

function parseUrl(url: string): { project: string; prefix: string; location: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new Error(
      `WAREHOUSE_URL ${url} is not a URL: write it as bigquery://<project>/<dataset-prefix>?location=<location>`,
      { cause: error },
    );
  }
  if (parsed.protocol !== 'bigquery:') {
    throw new Error(`WAREHOUSE_URL ${url} is not a bigquery:// URL`);
  }
  const project = decodeURIComponent(parsed.hostname);
  const prefix = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, ''));
  if (!project) {
    throw new Error(
      `WAREHOUSE_URL ${url} names no project: write it as bigquery://<project>/<dataset-prefix>?location=<location>`,
    );
  }
  if (prefix && !/^[A-Za-z0-9_]+$/.test(prefix)) {
    throw new Error(
      `WAREHOUSE_URL ${url}: the dataset prefix "${prefix}" may hold only letters, digits and underscores (BigQuery dataset names)`,
    );
  }
  return { project, prefix, location: parsed.searchParams.get('location') ?? undefined };
}

/** Reads GCP_SERVICE_ACCOUNT_KEY (a path or the JSON) without ever echoing its content. */
function readKey(credentials: string): ServiceAccountKey {
  const text = credentials.trimStart().startsWith('{')
    ? credentials
    : (() => {
        try {
          return readFileSync(credentials, 'utf8');
        } catch (error) {
          throw new Error(
            `GCP_SERVICE_ACCOUNT_KEY is neither service-account JSON nor a readable file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): give the key file's path or its JSON`,
          );
        }
      })();
  registerSecret(text);
  let key: Partial<ServiceAccountKey> & { private_key_id?: string };
  try {
    key = JSON.parse(text) as typeof key;
  } catch {
    throw new Error(
      'GCP_SERVICE_ACCOUNT_KEY is not valid JSON: give a service-account key file (type "service_account")',
    );
  }
  registerSecret(key.private_key);
  registerSecret(key.private_key_id);
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new Error(
      'GCP_SERVICE_ACCOUNT_KEY lacks client_email or private_key: give a service-account key file (type "service_account")',
    );
  }
  return key as ServiceAccountKey;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('The query was cancelled', 'AbortError');
}

/** A finished query job: its result, DML count and id (to list a script's child jobs). */
interface JobOutcome {
  columns: WarehouseColumn[];
  rows: Record<string, unknown>[];
  rowsAffected: number | null;
  jobId: string;
}

interface ApiErrorLike {
  code?: number;
  message?: string;
  errors?: { reason?: string; message?: string }[];
}

function reasonOf(error: unknown): string | undefined {
  return (error as ApiErrorLike)?.errors?.[0]?.reason;
}

/**
 * A BigQuery warehouse through `@google-cloud/bigquery`. A model schema is the dataset
 * `<dataset-prefix>_<schema>` in the URL's project and location.
 *
 * Retries: the client already retries HTTP requests answered 429/5xx or with reason
 * `rateLimitExceeded` (its `retryOptions`, set from `retry`); a job that itself fails with
 * `backendError` or `rateLimitExceeded` is run again here, since such a job had no effect.
 */
export class BigQueryWarehouse implements Warehouse {
  readonly kind = 'bigquery' as const;
  readonly displayName: string;
  readonly project: string;
  readonly datasetPrefix: string;
  readonly location: string | undefined;
  private readonly client: BigQuery;
  private readonly maxRetries: number;
  private readonly maxDelayMs: number;

  constructor(options: BigQueryWarehouseOptions) {
    const { project, prefix, location } = parseUrl(options.url);
    this.project = project;
    this.datasetPrefix = prefix;
    this.location = location;
    this.maxRetries = options.retry?.maxRetries ?? 5;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 32_000;
    const key = options.credentials ? readKey(options.credentials) : undefined;
    // An emulator address without a scheme (BIGQUERY_EMULATOR_HOST=localhost:9050) is plain
    // HTTP; the client would assume https.
    const apiEndpoint =
      options.apiEndpoint && !/^[a-z][a-z0-9+.-]*:\/\//i.test(options.apiEndpoint)
        ? `http://${options.apiEndpoint}`
        : options.apiEndpoint;
    this.displayName = `bigquery://${project}/${prefix}${location ? `?location=${location}` : ''}${
      options.apiEndpoint ? ` at ${options.apiEndpoint}` : ''
    }`;
    const retryOptions = {
      autoRetry: true,
      maxRetries: this.maxRetries,
      maxRetryDelay: this.maxDelayMs / 1000,
      retryDelayMultiplier: 2,
    };
    this.client = new BigQuery({
      projectId: project,
      ...(location ? { location } : {}),
      retryOptions,
      ...(apiEndpoint
        ? {
            apiEndpoint,
            // An emulator takes no credentials; PassThroughClient sends none and never calls Google.
            authClient: new PassThroughClient(),
          }
        : key
          ? { credentials: { client_email: key.client_email, private_key: key.private_key } }
          : {}),
    });
    if (apiEndpoint) {
      // With BIGQUERY_EMULATOR_HOST set, the client takes that variable verbatim as its base URL
      // (no scheme added, no /bigquery/v2); the sanitized endpoint with the API path is what
      // every other request and the upload path use, so requests get the same.
      this.client.baseUrl = `${this.client.apiEndpoint}/bigquery/v2`;
    }
  }

  /** The dataset that holds a model schema. */
  dataset(schema: string): string {
    return this.datasetPrefix ? `${this.datasetPrefix}_${schema}` : schema;
  }

  relation(schema: string, name: string): string {
    return this.quoteIdentifier(`${this.project}.${this.dataset(schema)}.${name}`);
  }

  quoteIdentifier(name: string): string {
    return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
  }

  async query(sql: string, options: WarehouseCallOptions = {}): Promise<QueryResult> {
    const result = await this.run(sql, options.signal);
    return { columns: result.columns, rows: result.rows };
  }

  async execute(sql: string, options: WarehouseCallOptions = {}): Promise<ExecuteResult> {
    const result = await this.run(sql, options.signal);
    return { rowsAffected: result.rowsAffected };
  }

  async transaction(
    statements: readonly string[],
    options: WarehouseCallOptions = {},
  ): Promise<ExecuteResult[]> {
    if (statements.length === 0) return [];
    // Each statement starts on its own line, so child jobs map back by their start line.
    const lines = ['BEGIN TRANSACTION;'];
    const startLines: number[] = [];
    for (const statement of statements) {
      const text = statement.trim().replace(/;+\s*$/, '');
      startLines.push(lines.length + 1);
      lines.push(...`${text};`.split('\n'));
    }
    lines.push('COMMIT TRANSACTION;');
    const script = lines.join('\n');
    const result = await this.run(script, options.signal, (message) =>
      message.replace(/at \[(\d+):(\d+)\]/, (whole, line: string, column: string) => {
        const n = Number(line);
        let index = -1;
        for (let i = 0; i < startLines.length; i++) if ((startLines[i] as number) <= n) index = i;
        if (index < 0) return whole;
        return `at [${n - (startLines[index] as number) + 1}:${column}] of statement ${index + 1} of the transaction`;
      }),
    );
    const [children] = await this.withJobRetry(() =>
      this.client.getJobs({ parentJobId: result.jobId, autoPaginate: true }),
    );
    const affected = new Map<number, number | null>();
    for (const child of children) {
      const stats = child.metadata?.statistics;
      const line = stats?.scriptStatistics?.stackFrames?.[0]?.startLine;
      if (typeof line !== 'number') continue;
      const index = startLines.indexOf(line);
      if (index < 0) continue;
      const rows = stats?.query?.numDmlAffectedRows;
      affected.set(index, rows === undefined || rows === null ? null : Number(rows));
    }
    return statements.map((_, i) => ({ rowsAffected: affected.get(i) ?? null }));
  }

  /**
   * `CREATE OR REPLACE TABLE|VIEW ... AS`: BigQuery applies it atomically, and refuses table DDL
   * inside a transaction, so this is the swap. BigQuery replaces a table only by a table and a
   * view only by a view: when the model changed kind, the new SQL is first built under
   * `<name>__dag_tmp` (so bad SQL leaves the old relation in place), then the old relation is
   * dropped and the new one created; only that change of kind is not a single atomic step.
   */
  async replaceRelation(
    schema: string,
    name: string,
    kind: RelationKind,
    select: string,
    options: ReplaceOptions,
  ): Promise<{ rows: number | null }> {
    const target = this.relation(schema, name);
    const create = (relation: string) =>
      `CREATE OR REPLACE ${kind === 'table' ? 'TABLE' : 'VIEW'} ${relation} AS\n${select}`;
    const existing =
      options.existing === undefined ? await this.relationType(schema, name) : options.existing;
    if (existing !== null && existing !== kind) {
      const tmp = this.relation(schema, `${name}${TMP_SUFFIX}`);
      await this.run(create(tmp), options.signal);
      await this.run(`DROP ${kind === 'table' ? 'TABLE' : 'VIEW'} IF EXISTS ${tmp}`, options.signal);
      await this.run(`DROP ${existing === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${target}`, options.signal);
    }
    await this.run(create(target), options.signal);
    return { rows: null };
  }

  /**
   * `merge`: one `MERGE` statement (atomic by itself), as dbt-bigquery writes it. `delete+insert`
   * and `append`: DML in one `BEGIN TRANSACTION ... COMMIT TRANSACTION` script.
   */
  async mergeRows(
    schema: string,
    name: string,
    spec: MergeSpec,
    options: WarehouseCallOptions = {},
  ): Promise<number> {
    if (spec.strategy === 'merge' && spec.uniqueKey?.length) {
      const q = (c: string) => this.quoteIdentifier(c);
      const on = spec.uniqueKey.map((k) => `dag_new.${q(k)} = dag_old.${q(k)}`).join(' AND ');
      const set = spec.columns.map((c) => `${q(c)} = dag_new.${q(c)}`).join(', ');
      const cols = spec.columns.map(q).join(', ');
      const merge = [
        `MERGE INTO ${this.relation(schema, name)} AS dag_old`,
        `USING ${this.relation(schema, spec.tmpName)} AS dag_new`,
        `ON ${on}`,
        `WHEN MATCHED THEN UPDATE SET ${set}`,
        `WHEN NOT MATCHED THEN INSERT (${cols}) VALUES (${cols})`,
      ].join('\n');
      return (await this.execute(merge, options)).rowsAffected ?? 0;
    }
    const results = await this.transaction(deleteInsertStatements(this, schema, name, spec), options);
    return results[results.length - 1]?.rowsAffected ?? 0;
  }

  async ensureSchema(schema: string): Promise<void> {
    const id = this.dataset(schema);
    try {
      await this.withJobRetry(() =>
        this.client.createDataset(id, this.location ? { location: this.location } : {}),
      );
    } catch (error) {
      if ((error as ApiErrorLike).code === 409) return;
      throw this.wrap(error, `Could not create dataset ${this.project}:${id}`);
    }
  }

  async relationType(schema: string, name: string): Promise<'table' | 'view' | null> {
    const metadata = await this.tableMetadata(schema, name);
    if (!metadata) return null;
    return metadata.type === 'VIEW' || metadata.type === 'MATERIALIZED_VIEW' ? 'view' : 'table';
  }

  async columns(schema: string, name: string): Promise<WarehouseColumn[]> {
    const metadata = await this.tableMetadata(schema, name);
    return (metadata?.schema?.fields ?? []).map((field) => ({
      name: field.name as string,
      type: fieldType(field),
    }));
  }

  async close(): Promise<void> {
    // The client holds no connections of its own: HTTP keep-alive sockets close when idle.
  }

  private async tableMetadata(
    schema: string,
    name: string,
  ): Promise<{ type?: string; schema?: TableSchema } | null> {
    try {
      const [metadata] = await this.withJobRetry(() =>
        this.client.dataset(this.dataset(schema)).table(name).getMetadata(),
      );
      return metadata as { type?: string; schema?: TableSchema };
    } catch (error) {
      if ((error as ApiErrorLike).code === 404) return null;
      throw this.wrap(error, `Could not read table ${this.project}:${this.dataset(schema)}.${name}`);
    }
  }

  /** Runs `call` again while it fails with a retryable reason, with exponential backoff. */
  private async withJobRetry<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const reason = reasonOf(error);
        if (signal?.aborted || attempt >= this.maxRetries || !reason || !RETRYABLE_REASONS.has(reason))
          throw error;
        const wait = Math.min(this.maxDelayMs, 2 ** attempt * 250) * (0.5 + Math.random() / 2);
        await delay(wait, undefined, signal ? { signal } : {});
      }
    }
  }

  private wrap(error: unknown, context: string, rewrite: (message: string) => string = (m) => m): Error {
    if (error instanceof DOMException && error.name === 'AbortError') return error;
    const api = error as ApiErrorLike;
    const reason = reasonOf(error);
    const message = rewrite(api?.message ?? String(error));
    const wrapped = new Error(redact(`${context}: ${message}${reason ? ` (${reason})` : ''}`));
    wrapped.name = 'BigQueryError';
    // The client's error carries the request, headers included: it is kept out of `cause`.
    Object.assign(wrapped, { reason, code: api?.code });
    return wrapped;
  }

  private async run(
    sql: string,
    signal: AbortSignal | undefined,
    rewrite?: (message: string) => string,
  ): Promise<JobOutcome> {
    if (signal?.aborted) throw abortError(signal);
    try {
      return await this.withJobRetry(() => this.runOnce(sql, signal), signal);
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      throw this.wrap(error, `BigQuery (${this.displayName}) rejected the query`, rewrite);
    }
  }

  private async runOnce(sql: string, signal: AbortSignal | undefined): Promise<JobOutcome> {
    const [job] = await this.client.createQueryJob({
      query: sql,
      useLegacySql: false,
      jobPrefix: 'dag_',
      ...(this.location ? { location: this.location } : {}),
    });
    const onAbort = () => {
      void (job as Job).cancel().catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const rows: Record<string, unknown>[] = [];
      let fields: TableField[] | undefined;
      let rowsAffected: number | null = null;
      let pageToken: string | undefined;
      for (;;) {
        if (signal?.aborted) throw abortError(signal);
        const [page, next, response] = (await job.getQueryResults({
          autoPaginate: false,
          wrapIntegers: true,
          // No timeoutMs: with one the client fails on `jobComplete: false` instead of polling.
          ...(pageToken ? { pageToken } : {}),
        })) as unknown as [
          Record<string, unknown>[],
          { pageToken?: string } | null,
          { jobComplete?: boolean; schema?: TableSchema; numDmlAffectedRows?: string },
        ];
        if (response?.jobComplete === false) continue;
        fields ??= response?.schema?.fields;
        if (response?.numDmlAffectedRows !== undefined) rowsAffected = Number(response.numDmlAffectedRows);
        for (const row of page ?? []) {
          rows.push(
            Object.fromEntries(
              (fields ?? []).map((f) => [f.name as string, plainValue(row[f.name as string], f)]),
            ),
          );
        }
        if (!next?.pageToken) break;
        pageToken = next.pageToken;
      }
      return {
        columns: (fields ?? []).map((field) => ({ name: field.name as string, type: fieldType(field) })),
        rows,
        rowsAffected,
        jobId: job.id as string,
      };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
