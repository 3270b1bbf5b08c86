import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DuckDBValue } from '@duckdb/node-api';
import {
  apiError,
  BigQueryApiError,
  BigQueryEngine,
  type DatasetMeta,
  type QueryRequest,
  type QueryRun,
  REASON_STATUS,
} from './bigquery-engine.ts';
import type {
  BigQueryErrorBody,
  JobConfiguration,
  JobConfigurationLoad,
  JobResource,
  QueryParameter,
  TableFieldSchema,
  TableReference,
  TableRow,
} from './bigquery-shapes.ts';
import { type CellFormat, cellValue } from './bigquery-types.ts';

/**
 * Faults that hit the next requests; change them while the replica runs with `setFaults` or
 * `POST /_replica/faults`. Counters are used up request by request: 403, then 5xx.
 */
export interface BigQueryReplicaFaults {
  /** The next N API requests get HTTP 403 with reason `rateLimitExceeded`. */
  rateLimited?: number;
  /** The next N API requests get `backendErrorStatus` with reason `backendError`. */
  backendErrors?: number;
  /** 500 or 503 (the default). */
  backendErrorStatus?: number;
  /** The next N query jobs run, then fail at the job level with reason `backendError`. */
  jobBackendErrors?: number;
  /** Every job completes this many ms after it started at the earliest: until then `jobComplete` is false. */
  slowJobMs?: number;
  /** How long `jobs.query` and `getQueryResults` wait for a job before answering `jobComplete: false`. Default 10,000 ms, BigQuery's. */
  holdMs?: number;
  /** Only these API methods (`jobs.query`, `jobs.insert`, `jobs.getQueryResults`, `tabledata.insertAll`...) are hit. Default: all. */
  methods?: string[];
}

export interface BigQueryReplicaOptions {
  /** Location of datasets created without one, and of jobs. Default `US`. */
  location?: string;
  faults?: BigQueryReplicaFaults;
  /** Rows per page when a request gives no `maxResults`. Default 10,000. */
  pageSize?: number;
  /** Loopback address to bind; default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface ReplicaRequest {
  httpMethod: string;
  path: string;
  /** The API method, e.g. `jobs.query`, `tabledata.list`. */
  apiMethod: string;
  /** Whether an `Authorization` header came with it (the replica accepts any, or none). */
  authorized: boolean;
  at: number;
  /** 0 until answered. */
  status: number;
  fault?: 'rateLimitExceeded' | 'backendError';
}

export interface BigQueryReplica {
  /** `http://127.0.0.1:<port>`: give it to the client as `apiEndpoint`, or as BIGQUERY_EMULATOR_HOST. */
  url: string;
  /** Every request, oldest first (a live array). */
  requests: ReplicaRequest[];
  /** Every job, by `<project>:<jobId>`. */
  jobs: ReadonlyMap<string, JobResource>;
  setFaults(faults: BigQueryReplicaFaults): void;
  close(): Promise<void>;
}

export const SUPPORTED_METHODS = [
  'datasets.list',
  'datasets.insert',
  'datasets.get',
  'datasets.delete',
  'tables.list',
  'tables.insert',
  'tables.get',
  'tables.delete',
  'tabledata.insertAll',
  'tabledata.list',
  'jobs.query',
  'jobs.getQueryResults',
  'jobs.insert',
  'jobs.get',
  'jobs.list',
  'jobs.cancel',
] as const;

const JSON_TYPE = 'application/json; charset=UTF-8';

interface JobRecord {
  resource: JobResource;
  run?: QueryRun;
  error?: BigQueryApiError;
  /** Resolves when the job is DONE (ran, and any slow-job delay has passed). */
  done: Promise<void>;
  isDone: boolean;
  abort: AbortController;
  children: JobResource[];
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function errorBody(error: BigQueryApiError): BigQueryErrorBody {
  const status = REASON_STATUS[error.reason]?.[1] ?? 'INVALID_ARGUMENT';
  return {
    error: {
      code: error.code,
      message: error.message,
      errors: [
        {
          message: error.message,
          domain: 'global',
          reason: error.reason,
          ...(error.location ? { location: error.location, locationType: 'other' } : {}),
        },
      ],
      status,
    },
  };
}

/** Splits a `multipart/related` body into its parts (headers and bytes). */
function parseMultipart(
  body: Buffer,
  contentType: string,
): { headers: Record<string, string>; data: Buffer }[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw apiError('badRequest', 'Multipart upload without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; data: Buffer }[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    let part = body.subarray(start, next);
    if (part.subarray(0, 2).toString() === '\r\n') part = part.subarray(2);
    if (part.subarray(part.length - 2).toString() === '\r\n') part = part.subarray(0, part.length - 2);
    const split = part.indexOf('\r\n\r\n');
    const headerText = split >= 0 ? part.subarray(0, split).toString() : '';
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, data: split >= 0 ? part.subarray(split + 4) : part });
    pos = next;
  }
  return parts;
}

function cellFormat(useInt64: unknown, outputFormat: unknown): CellFormat {
  if (outputFormat === 'ISO8601_STRING') return { timestamp: 'iso' };
  if (outputFormat === 'INT64' || useInt64 === true || useInt64 === 'true') return { timestamp: 'int64' };
  return { timestamp: 'float' };
}

function rowsOf(rows: DuckDBValue[][], schema: TableFieldSchema[], format: CellFormat): TableRow[] {
  return rows.map((row) => ({
    f: schema.map((field, i) => ({ v: cellValue(row[i] ?? null, field, format) })),
  }));
}

function encodeToken(index: number): string {
  return Buffer.from(`row:${index}`).toString('base64url');
}

function decodeToken(token: string | null): number | undefined {
  if (!token) return undefined;
  const match = /^row:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!match) throw apiError('invalid', `Invalid page token: ${token}`);
  return Number(match[1]);
}

/** Starts the replica on loopback. */
export async function startBigQueryReplica(options: BigQueryReplicaOptions = {}): Promise<BigQueryReplica> {
  const location = options.location ?? 'US';
  const pageSize = options.pageSize ?? 10_000;
  let faults: BigQueryReplicaFaults = { ...(options.faults ?? {}) };
  const engine = await BigQueryEngine.create({ location });
  const requests: ReplicaRequest[] = [];
  const jobs = new Map<string, JobRecord>();
  const jobResources = new Map<string, JobResource>();
  /** Pending waits, so close() can end them at once. */
  const timers = new Map<NodeJS.Timeout, () => void>();
  let baseUrl = '';

  let closed = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (closed) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.set(timer, resolve);
    });

  const datasetResource = (meta: DatasetMeta) => ({
    kind: 'bigquery#dataset',
    etag: Buffer.from(`${meta.lastModifiedTime}`).toString('base64'),
    id: `${meta.projectId}:${meta.datasetId}`,
    selfLink: `${baseUrl}/bigquery/v2/projects/${meta.projectId}/datasets/${meta.datasetId}`,
    datasetReference: { projectId: meta.projectId, datasetId: meta.datasetId },
    location: meta.location,
    creationTime: String(meta.creationTime),
    lastModifiedTime: String(meta.lastModifiedTime),
    ...(meta.description ? { description: meta.description } : {}),
    ...(meta.labels ? { labels: meta.labels } : {}),
    type: 'DEFAULT',
  });

  const tableResource = async (ref: TableReference) => {
    const table = await engine.getTable(ref);
    const dataset = await engine.getDataset(ref.projectId, ref.datasetId);
    return {
      kind: 'bigquery#table',
      etag: Buffer.from(`${table.creationTime}:${table.numRows}`).toString('base64'),
      id: `${ref.projectId}:${ref.datasetId}.${ref.tableId}`,
      selfLink: `${baseUrl}/bigquery/v2/projects/${ref.projectId}/datasets/${ref.datasetId}/tables/${ref.tableId}`,
      tableReference: ref,
      schema: { fields: table.schema },
      numRows: String(table.numRows),
      numBytes: '0',
      creationTime: String(table.creationTime),
      lastModifiedTime: String(Date.now()),
      type: table.type,
      location: dataset.location,
      ...(table.viewQuery !== undefined ? { view: { query: table.viewQuery, useLegacySql: false } } : {}),
      ...(table.description ? { description: table.description } : {}),
      ...(table.labels ? { labels: table.labels } : {}),
    };
  };

  /** Starts a query or load job; it runs in the background. */
  const startJob = (
    projectId: string,
    jobId: string,
    jobLocation: string,
    configuration: JobConfiguration,
    loadData?: Buffer,
  ): JobRecord => {
    const key = `${projectId}:${jobId}`;
    if (jobs.has(key))
      throw apiError('duplicate', `Already Exists: Job ${projectId}:${jobLocation}.${jobId}`);
    const now = Date.now();
    const resource: JobResource = {
      kind: 'bigquery#job',
      id: `${projectId}:${jobLocation}.${jobId}`,
      selfLink: `${baseUrl}/bigquery/v2/projects/${projectId}/jobs/${jobId}?location=${jobLocation}`,
      user_email: 'replica@bigquery-replica.iam.gserviceaccount.com',
      jobReference: { projectId, jobId, location: jobLocation },
      configuration: { ...configuration, jobType: configuration.load ? 'LOAD' : 'QUERY' },
      status: { state: 'RUNNING' },
      statistics: { creationTime: String(now), startTime: String(now) },
    };
    const abort = new AbortController();
    const record: JobRecord = { resource, done: Promise.resolve(), isDone: false, abort, children: [] };
    jobs.set(key, record);
    jobResources.set(key, resource);
    const failJob = configuration.query && takeJobFault();
    const earliest = now + (faults.slowJobMs ?? 0);
    record.done = (async () => {
      try {
        if (configuration.load) {
          const rows = await engine.serialize(() =>
            engine.load(configuration.load as JobConfigurationLoad, loadData ?? Buffer.alloc(0)),
          );
          resource.statistics.load = {
            outputRows: String(rows),
            inputFiles: '1',
            inputFileBytes: String(loadData?.length ?? 0),
            badRecords: '0',
          };
        } else if (configuration.query) {
          const q = configuration.query;
          if (q.useLegacySql)
            throw apiError(
              'invalidQuery',
              'The replica runs GoogleSQL only: set useLegacySql to false',
              'query',
            );
          const request: QueryRequest = {
            projectId,
            location: jobLocation,
            sql: q.query,
            ...(q.defaultDataset ? { defaultDataset: q.defaultDataset } : {}),
            ...(q.parameterMode ? { parameterMode: q.parameterMode } : {}),
            ...(q.queryParameters ? { queryParameters: q.queryParameters as QueryParameter[] } : {}),
            ...(q.destinationTable
              ? {
                  destination: {
                    table: q.destinationTable,
                    write: q.writeDisposition ?? 'WRITE_EMPTY',
                    create: q.createDisposition ?? 'CREATE_IF_NEEDED',
                  },
                }
              : {}),
          };
          const run = await engine.serialize(() => engine.runQuery(request, abort.signal));
          if (failJob) throw apiError('backendError', 'Backend error. Job aborted. (replica fault)');
          record.run = run;
          resource.statistics.query = {
            statementType: run.statementType,
            totalBytesProcessed: '0',
            ...(run.schema ? { schema: { fields: run.schema } } : {}),
            ...(run.affectedRows !== undefined ? { numDmlAffectedRows: String(run.affectedRows) } : {}),
          };
          const single = run.outcomes.length === 1 ? run.outcomes[0] : undefined;
          if (single?.ddlOperation) {
            resource.statistics.query.ddlOperationPerformed = single.ddlOperation;
            if (single.ddlTarget) resource.statistics.query.ddlTargetTable = single.ddlTarget;
          }
          if (run.statementType === 'SCRIPT') {
            resource.statistics.numChildJobs = String(run.outcomes.length);
            record.children = run.outcomes.map((outcome, i) => {
              const childId = `script_job_${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}_${i}`;
              const lines = outcome.statement.sql.split('\n');
              const child: JobResource = {
                kind: 'bigquery#job',
                id: `${projectId}:${jobLocation}.${childId}`,
                selfLink: `${baseUrl}/bigquery/v2/projects/${projectId}/jobs/${childId}?location=${jobLocation}`,
                user_email: resource.user_email,
                jobReference: { projectId, jobId: childId, location: jobLocation },
                configuration: { jobType: 'QUERY', query: { query: outcome.statement.sql } },
                status: { state: 'DONE' },
                statistics: {
                  creationTime: String(outcome.startTime),
                  startTime: String(outcome.startTime),
                  endTime: String(outcome.endTime),
                  parentJobId: jobId,
                  query: {
                    statementType: outcome.statementType,
                    ...(outcome.affectedRows !== undefined
                      ? { numDmlAffectedRows: String(outcome.affectedRows) }
                      : {}),
                    ...(outcome.schema ? { schema: { fields: outcome.schema } } : {}),
                  },
                  scriptStatistics: {
                    evaluationKind: 'STATEMENT',
                    stackFrames: [
                      {
                        startLine: outcome.statement.line,
                        startColumn: outcome.statement.column,
                        endLine: outcome.statement.line + lines.length - 1,
                        endColumn:
                          (lines[lines.length - 1] ?? '').length +
                          (lines.length === 1 ? outcome.statement.column : 1),
                        text: outcome.statement.sql,
                      },
                    ],
                  },
                },
              };
              jobResources.set(`${projectId}:${childId}`, child);
              return child;
            });
          }
        }
      } catch (error) {
        const failure =
          error instanceof BigQueryApiError
            ? error
            : apiError('internalError', (error as Error).message ?? String(error));
        record.error = failure;
        resource.status.errorResult = failure.toErrorProto();
        resource.status.errors = [failure.toErrorProto()];
      }
      const wait = earliest - Date.now();
      if (wait > 0) await sleep(wait);
      resource.status.state = 'DONE';
      resource.statistics.endTime = String(Date.now());
      record.isDone = true;
    })();
    return record;
  };

  const takeJobFault = (): boolean => {
    if ((faults.jobBackendErrors ?? 0) > 0) {
      faults.jobBackendErrors = (faults.jobBackendErrors ?? 0) - 1;
      return true;
    }
    return false;
  };

  const waitForJob = async (record: JobRecord, timeoutMs: number | undefined) => {
    if (record.isDone) return;
    const hold = Math.min(timeoutMs ?? 10_000, faults.holdMs ?? 10_000);
    await Promise.race([record.done, sleep(hold)]);
  };

  const findJob = (projectId: string, jobId: string): JobRecord => {
    const record = jobs.get(`${projectId}:${jobId}`);
    if (!record) throw apiError('notFound', `Not found: Job ${projectId}:${jobId}`);
    return record;
  };

  /** The rows part of jobs.query / getQueryResults answers. */
  const resultPage = (
    record: JobRecord,
    startIndex: number,
    maxResults: number | undefined,
    format: CellFormat,
  ) => {
    const run = record.run as QueryRun;
    const base = {
      jobReference: record.resource.jobReference,
      totalBytesProcessed: '0',
      jobComplete: true,
      cacheHit: false,
      ...(run.affectedRows !== undefined ? { numDmlAffectedRows: String(run.affectedRows) } : {}),
    };
    if (!run.schema) return { ...base, totalRows: '0' };
    const size = maxResults ?? pageSize;
    const end = Math.min(run.rows.length, startIndex + size);
    return {
      ...base,
      schema: { fields: run.schema },
      totalRows: String(run.rows.length),
      rows: rowsOf(run.rows.slice(startIndex, end), run.schema, format),
      ...(end < run.rows.length ? { pageToken: encodeToken(end) } : {}),
    };
  };

  const route = async (
    req: IncomingMessage,
    url: URL,
    body: Buffer,
  ): Promise<{ apiMethod: string; handle: () => Promise<[number, unknown]> }> => {
    const method = req.method ?? 'GET';
    const upload = /^\/upload\/bigquery\/v2(\/.*)$/.exec(url.pathname);
    const path = upload?.[1] ?? url.pathname.replace(/^\/bigquery\/v2(?=\/)/, '');
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    const json = (): Record<string, unknown> => {
      if (body.length === 0) return {};
      try {
        return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw apiError('badRequest', 'Invalid JSON payload received.');
      }
    };
    const q = url.searchParams;
    const maxResults = q.has('maxResults') ? Number(q.get('maxResults')) : undefined;
    const [p0, projectId = '', collection, id, sub, subId, action] = segments;
    if (p0 !== 'projects' || !projectId) throw apiError('notFound', `Not found: URL ${url.pathname}`);

    if (upload) {
      if (collection !== 'jobs' || method !== 'POST')
        throw apiError('notFound', `Not found: URL ${url.pathname}`);
      return {
        apiMethod: 'jobs.insert',
        handle: async () => {
          if (q.get('uploadType') !== 'multipart') {
            throw apiError('invalid', 'The replica takes uploadType=multipart uploads only');
          }
          const parts = parseMultipart(body, req.headers['content-type'] ?? '');
          const [meta, data] = parts;
          if (!meta || !data)
            throw apiError('invalid', 'A multipart upload needs the job metadata and the data');
          const job = JSON.parse(meta.data.toString('utf8')) as Partial<JobResource>;
          if (!job.configuration?.load)
            throw apiError('invalid', 'An upload must carry a load job configuration');
          const ref = job.jobReference;
          const record = startJob(
            projectId,
            ref?.jobId ?? randomUUID(),
            ref?.location ?? location,
            job.configuration,
            data.data,
          );
          await waitForJob(record, 0);
          return [200, record.resource];
        },
      };
    }

    if (collection === 'datasets' && !id) {
      if (method === 'GET') {
        return {
          apiMethod: 'datasets.list',
          handle: async () => {
            const all = await engine.listDatasets(projectId);
            const start = decodeToken(q.get('pageToken')) ?? 0;
            const end = Math.min(all.length, start + (maxResults ?? 1000));
            return [
              200,
              {
                kind: 'bigquery#datasetList',
                etag: 'replica',
                datasets: all.slice(start, end).map((meta) => {
                  const {
                    kind,
                    id: datasetId,
                    datasetReference,
                    location: datasetLocation,
                  } = datasetResource(meta);
                  return { kind, id: datasetId, datasetReference, location: datasetLocation };
                }),
                ...(end < all.length ? { nextPageToken: encodeToken(end) } : {}),
              },
            ];
          },
        };
      }
      if (method === 'POST') {
        return {
          apiMethod: 'datasets.insert',
          handle: async () => {
            const resource = json() as {
              datasetReference?: { datasetId?: string };
              location?: string;
              description?: string;
              labels?: Record<string, string>;
            };
            const datasetId = resource.datasetReference?.datasetId;
            if (!datasetId)
              throw apiError('invalid', 'Required parameter is missing: datasetReference.datasetId');
            const meta = await engine.serialize(() =>
              engine.createDataset({
                projectId,
                datasetId,
                location: resource.location ?? location,
                ...(resource.description ? { description: resource.description } : {}),
                ...(resource.labels ? { labels: resource.labels } : {}),
              }),
            );
            return [200, datasetResource(meta)];
          },
        };
      }
    }
    if (collection === 'datasets' && id && !sub) {
      if (method === 'GET') {
        return {
          apiMethod: 'datasets.get',
          handle: async () => [200, datasetResource(await engine.getDataset(projectId, id))],
        };
      }
      if (method === 'DELETE') {
        return {
          apiMethod: 'datasets.delete',
          handle: async () => {
            await engine.serialize(() =>
              engine.deleteDataset(projectId, id, q.get('deleteContents') === 'true'),
            );
            return [204, undefined];
          },
        };
      }
    }
    if (collection === 'datasets' && id && sub === 'tables' && !subId) {
      if (method === 'GET') {
        return {
          apiMethod: 'tables.list',
          handle: async () => {
            const all = await engine.listTables(projectId, id);
            const start = decodeToken(q.get('pageToken')) ?? 0;
            const end = Math.min(all.length, start + (maxResults ?? 1000));
            return [
              200,
              {
                kind: 'bigquery#tableList',
                etag: 'replica',
                totalItems: all.length,
                tables: all.slice(start, end).map((t) => ({
                  kind: 'bigquery#table',
                  id: `${projectId}:${id}.${t.tableId}`,
                  tableReference: { projectId, datasetId: id, tableId: t.tableId },
                  type: t.type,
                })),
                ...(end < all.length ? { nextPageToken: encodeToken(end) } : {}),
              },
            ];
          },
        };
      }
      if (method === 'POST') {
        return {
          apiMethod: 'tables.insert',
          handle: async () => {
            const resource = json() as {
              tableReference?: { tableId?: string };
              schema?: { fields?: TableFieldSchema[] };
              view?: { query?: string };
              description?: string;
              labels?: Record<string, string>;
            };
            const tableId = resource.tableReference?.tableId;
            if (!tableId) throw apiError('invalid', 'Required parameter is missing: tableReference.tableId');
            const ref = { projectId, datasetId: id, tableId };
            await engine.serialize(() =>
              engine.createTable(ref, {
                ...(resource.schema?.fields ? { schema: resource.schema.fields } : {}),
                ...(resource.view?.query !== undefined ? { viewQuery: resource.view.query } : {}),
                ...(resource.description ? { description: resource.description } : {}),
                ...(resource.labels ? { labels: resource.labels } : {}),
              }),
            );
            return [200, await tableResource(ref)];
          },
        };
      }
    }
    if (collection === 'datasets' && id && sub === 'tables' && subId) {
      const ref = { projectId, datasetId: id, tableId: subId };
      if (!action && method === 'GET') {
        return { apiMethod: 'tables.get', handle: async () => [200, await tableResource(ref)] };
      }
      if (!action && method === 'DELETE') {
        return {
          apiMethod: 'tables.delete',
          handle: async () => {
            await engine.serialize(() => engine.deleteTable(ref));
            return [204, undefined];
          },
        };
      }
      if (action === 'insertAll' && method === 'POST') {
        return {
          apiMethod: 'tabledata.insertAll',
          handle: async () => {
            const request = json() as {
              rows?: { json: Record<string, unknown>; insertId?: string }[];
              skipInvalidRows?: boolean;
              ignoreUnknownValues?: boolean;
            };
            if (!request.rows || request.rows.length === 0)
              throw apiError('invalid', 'No rows present in the request.');
            const insertErrors = await engine.serialize(() =>
              engine.insertAll(ref, request.rows ?? [], {
                skipInvalidRows: request.skipInvalidRows ?? false,
                ignoreUnknownValues: request.ignoreUnknownValues ?? false,
              }),
            );
            return [
              200,
              {
                kind: 'bigquery#tableDataInsertAllResponse',
                ...(insertErrors.length > 0 ? { insertErrors } : {}),
              },
            ];
          },
        };
      }
      if (action === 'data' && method === 'GET') {
        return {
          apiMethod: 'tabledata.list',
          handle: async () => {
            const start = decodeToken(q.get('pageToken')) ?? Number(q.get('startIndex') ?? 0);
            const size = maxResults ?? pageSize;
            const page = await engine.readRows(ref, start, size);
            const format = cellFormat(
              q.get('formatOptions.useInt64Timestamp'),
              q.get('formatOptions.timestampOutputFormat'),
            );
            return [
              200,
              {
                kind: 'bigquery#tableDataList',
                etag: 'replica',
                totalRows: String(page.total),
                rows: rowsOf(page.rows, page.schema, format),
                ...(start + page.rows.length < page.total
                  ? { pageToken: encodeToken(start + page.rows.length) }
                  : {}),
              },
            ];
          },
        };
      }
    }
    if (collection === 'queries' && !id && method === 'POST') {
      return {
        apiMethod: 'jobs.query',
        handle: async () => {
          const request = json() as {
            query?: string;
            location?: string;
            useLegacySql?: boolean;
            defaultDataset?: { projectId?: string; datasetId?: string };
            parameterMode?: 'NAMED' | 'POSITIONAL';
            queryParameters?: QueryParameter[];
            maxResults?: number;
            timeoutMs?: number;
            formatOptions?: { useInt64Timestamp?: boolean; timestampOutputFormat?: string };
            requestId?: string;
          };
          if (!request.query) throw apiError('invalid', 'Required parameter is missing: query');
          const record = startJob(
            projectId,
            `job_${randomUUID().replace(/-/g, '')}`,
            request.location ?? location,
            {
              query: {
                query: request.query,
                useLegacySql: request.useLegacySql ?? true,
                ...(request.defaultDataset ? { defaultDataset: request.defaultDataset } : {}),
                ...(request.parameterMode ? { parameterMode: request.parameterMode } : {}),
                ...(request.queryParameters ? { queryParameters: request.queryParameters } : {}),
              },
            },
          );
          await waitForJob(record, request.timeoutMs);
          if (!record.isDone) {
            return [
              200,
              {
                kind: 'bigquery#queryResponse',
                jobReference: record.resource.jobReference,
                jobComplete: false,
              },
            ];
          }
          if (record.error) throw record.error;
          const format = cellFormat(
            request.formatOptions?.useInt64Timestamp,
            request.formatOptions?.timestampOutputFormat,
          );
          return [
            200,
            { kind: 'bigquery#queryResponse', ...resultPage(record, 0, request.maxResults, format) },
          ];
        },
      };
    }
    if (collection === 'queries' && id && method === 'GET') {
      return {
        apiMethod: 'jobs.getQueryResults',
        handle: async () => {
          const record = findJob(projectId, id);
          await waitForJob(record, q.has('timeoutMs') ? Number(q.get('timeoutMs')) : undefined);
          if (!record.isDone) {
            return [
              200,
              {
                kind: 'bigquery#getQueryResultsResponse',
                jobReference: record.resource.jobReference,
                jobComplete: false,
              },
            ];
          }
          if (record.error) throw record.error;
          if (!record.run) throw apiError('invalid', `Job ${projectId}:${id} is not a query job`);
          const start = decodeToken(q.get('pageToken')) ?? Number(q.get('startIndex') ?? 0);
          const format = cellFormat(
            q.get('formatOptions.useInt64Timestamp'),
            q.get('formatOptions.timestampOutputFormat'),
          );
          return [
            200,
            {
              kind: 'bigquery#getQueryResultsResponse',
              etag: 'replica',
              ...resultPage(record, start, maxResults, format),
            },
          ];
        },
      };
    }
    if (collection === 'jobs' && !id) {
      if (method === 'POST') {
        return {
          apiMethod: 'jobs.insert',
          handle: async () => {
            const job = json() as Partial<JobResource>;
            const configuration = job.configuration;
            if (!configuration?.query && !configuration?.load) {
              throw apiError('invalid', 'The replica runs query jobs (and load jobs by upload) only');
            }
            if (configuration.load)
              throw apiError('invalid', 'Load jobs need their data: use the multipart upload');
            if (configuration.dryRun) throw apiError('invalid', 'The replica does not do dry runs');
            const ref = job.jobReference;
            const record = startJob(projectId, ref?.jobId ?? randomUUID(), ref?.location ?? location, {
              ...configuration,
              query: {
                ...configuration.query,
                useLegacySql: configuration.query?.useLegacySql ?? true,
              } as NonNullable<JobConfiguration['query']>,
            });
            return [200, record.resource];
          },
        };
      }
      if (method === 'GET') {
        return {
          apiMethod: 'jobs.list',
          handle: async () => {
            const parent = q.get('parentJobId');
            const listed = parent
              ? (findJob(projectId, parent).children ?? [])
              : [...jobs.values()]
                  .filter((r) => r.resource.jobReference.projectId === projectId)
                  .map((r) => r.resource);
            // Newest first, as BigQuery lists them.
            const ordered = [...listed].reverse();
            const start = decodeToken(q.get('pageToken')) ?? 0;
            const end = Math.min(ordered.length, start + (maxResults ?? 1000));
            return [
              200,
              {
                kind: 'bigquery#jobList',
                etag: 'replica',
                jobs: ordered.slice(start, end).map((job) => ({ ...job, state: job.status.state })),
                ...(end < ordered.length ? { nextPageToken: encodeToken(end) } : {}),
              },
            ];
          },
        };
      }
    }
    if (collection === 'jobs' && id && !sub && method === 'GET') {
      return {
        apiMethod: 'jobs.get',
        handle: async () => {
          const resource = jobResources.get(`${projectId}:${id}`);
          if (!resource) throw apiError('notFound', `Not found: Job ${projectId}:${id}`);
          return [200, resource];
        },
      };
    }
    if (collection === 'jobs' && id && sub === 'cancel' && method === 'POST') {
      return {
        apiMethod: 'jobs.cancel',
        handle: async () => {
          const record = findJob(projectId, id);
          if (!record.isDone) record.abort.abort();
          return [200, { kind: 'bigquery#jobCancelResponse', job: record.resource }];
        },
      };
    }
    throw apiError('notFound', `Not found: URL ${url.pathname}`);
  };

  const answer = (res: ServerResponse, status: number, payload: unknown) => {
    if (res.headersSent || res.destroyed) return;
    if (payload === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'Content-Type': JSON_TYPE });
    res.end(JSON.stringify(payload));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://replica');
    const entry: ReplicaRequest = {
      httpMethod: req.method ?? 'GET',
      path: url.pathname,
      apiMethod: '',
      authorized: typeof req.headers.authorization === 'string',
      at: Date.now(),
      status: 0,
    };
    try {
      const body = await readBody(req);
      if (url.pathname === '/_replica/faults') {
        entry.apiMethod = 'replica.faults';
        requests.push(entry);
        if (req.method === 'POST' || req.method === 'PUT') {
          faults = JSON.parse(body.toString('utf8') || '{}') as BigQueryReplicaFaults;
        }
        entry.status = 200;
        answer(res, 200, faults);
        return;
      }
      requests.push(entry);
      const { apiMethod, handle: run } = await route(req, url, body);
      entry.apiMethod = apiMethod;
      const hit = !faults.methods || faults.methods.includes(apiMethod);
      if (hit && (faults.rateLimited ?? 0) > 0) {
        faults.rateLimited = (faults.rateLimited ?? 0) - 1;
        entry.fault = 'rateLimitExceeded';
        throw apiError(
          'rateLimitExceeded',
          'Exceeded rate limits: too many api requests per user per method for this user_method. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
        );
      }
      if (hit && (faults.backendErrors ?? 0) > 0) {
        faults.backendErrors = (faults.backendErrors ?? 0) - 1;
        entry.fault = 'backendError';
        throw new BigQueryApiError(
          faults.backendErrorStatus ?? 503,
          'backendError',
          'Error encountered during execution. Retrying may solve the problem.',
        );
      }
      const [status, payload] = await run();
      entry.status = status;
      answer(res, status, payload);
    } catch (error) {
      const failure =
        error instanceof BigQueryApiError
          ? error
          : apiError('internalError', (error as Error)?.message ?? String(error));
      entry.status = failure.code;
      answer(res, failure.code, errorBody(failure));
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${host}:${address.port}`;

  return {
    url: baseUrl,
    requests,
    jobs: jobResources,
    setFaults(next) {
      faults = { ...next };
    },
    async close() {
      closed = true;
      for (const record of jobs.values()) if (!record.isDone) record.abort.abort();
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...jobs.values()].map((r) => r.done));
      await engine.close();
    },
  };
}
