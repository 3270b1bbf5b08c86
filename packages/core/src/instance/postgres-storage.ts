import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { MetadataRecord } from '../definitions/metadata.ts';
import { InstanceError } from '../errors.ts';
import { type EventDataByType, normalizeEventData } from '../events/events.ts';
import { BACKFILL_TAG } from '../partitions/run-partitions.ts';
import type { EventType, LogLevel, RunStatus } from '../types.ts';
import { maskConnectionString, redact, redactDeep, registerConnectionSecrets } from '../util/secrets.ts';
import type { MaterializationVersion } from '../versions/staleness.ts';
import { loadPg } from './load-pg.ts';
import type {
  AssetRecord,
  AssetVersionRecord,
  AutomationEvaluationRecord,
  BackfillRecord,
  BackfillStatus,
  CheckExecution,
  FreshnessRecord,
  InFlightRun,
  InstanceStorage,
  InstigatorState,
  InstigatorStatus,
  InstigatorType,
  NewBackfill,
  NewEvent,
  NewRun,
  NewTick,
  PartitionStatus,
  PartitionStatusRecord,
  PurgeOptions,
  RunFilter,
  RunPage,
  RunRecord,
  RunTransition,
  StoredEvent,
  TickRecord,
  WorkerRecord,
} from './storage.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** The schema migrations this version of dag ships (`000001.sql`, ...), oldest first. */
async function migrationFiles(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{6}\.sql$/.test(f)).sort();
}

/** The schema version an instance has once `migrate()` applied every migration of this version of dag. */
export async function knownSchemaVersion(): Promise<number> {
  return Math.max(0, ...(await migrationFiles()).map((f) => Number(f.slice(0, 6))));
}
/** Serialises migrations across processes sharing one database. */
const MIGRATION_LOCK = 727_001;
const PURGE_BATCH = 10_000;
const FINISHED = ['SUCCESS', 'FAILURE', 'CANCELED'];
/** Runs someone has taken and not finished: what the reconciliation of dead owners looks at. */
const IN_FLIGHT = `(status IN ('STARTING', 'STARTED', 'CANCELING') OR (status = 'NOT_STARTED' AND pid IS NOT NULL))`;

interface RunRow {
  run_id: string;
  job_name: string;
  location: string | null;
  status: RunStatus;
  asset_selection: string[] | null;
  selection: string | null;
  step_keys: string[] | null;
  run_config: Record<string, unknown>;
  tags: Record<string, string>;
  parent_run_id: string | null;
  root_run_id: string | null;
  error: string | null;
  pid: number | null;
  hostname: string | null;
  heartbeat_at: Date | null;
  attempt_id: string | null;
  queue_reason: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  worker_id: string | null;
}

interface EventRow {
  id: string;
  run_id: string;
  event_type: EventType;
  ts: Date;
  step_key: string | null;
  asset_key: string | null;
  level: LogLevel;
  message: string;
  data: Record<string, unknown> | null;
}

function toRun(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    jobName: row.job_name,
    location: row.location,
    status: row.status,
    assetSelection: row.asset_selection,
    selection: row.selection,
    stepKeys: row.step_keys,
    runConfig: row.run_config,
    tags: row.tags,
    parentRunId: row.parent_run_id,
    rootRunId: row.root_run_id,
    error: row.error,
    pid: row.pid,
    hostname: row.hostname,
    heartbeatAt: row.heartbeat_at,
    attemptId: row.attempt_id,
    queueReason: row.queue_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    workerId: row.worker_id ?? null,
  };
}

function toEvent(row: EventRow): StoredEvent {
  return {
    id: Number(row.id),
    runId: row.run_id,
    type: row.event_type,
    ts: row.ts,
    stepKey: row.step_key,
    assetKey: row.asset_key,
    level: row.level,
    message: row.message,
    // Events stored by older versions get the fields they lack, derived as those versions did.
    data: normalizeEventData(row.event_type, row.data),
  } as StoredEvent;
}

function encodeCursor(run: RunRecord): string {
  return Buffer.from(`${run.createdAt.toISOString()}|${run.runId}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; runId: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const sep = text.indexOf('|');
  const createdAt = text.slice(0, sep);
  // Exactly what encodeCursor wrote: Date.parse accepts strings PostgreSQL does not, and a
  // NUL byte cannot be sent to PostgreSQL at all.
  const time = Date.parse(createdAt);
  if (sep < 0 || Number.isNaN(time) || new Date(time).toISOString() !== createdAt || text.includes('\0')) {
    throw new InstanceError(`Invalid run list cursor '${cursor}': pass the nextCursor of a previous page.`);
  }
  return { createdAt, runId: text.slice(sep + 1) };
}

const EVENT_COLUMNS = [
  'run_id',
  'event_type',
  'ts',
  'step_key',
  'asset_key',
  'level',
  'message',
  'data',
] as const;
const EVENT_INSERT_INTO = `INSERT INTO event_logs (${EVENT_COLUMNS.join(', ')})`;
const EVENT_INSERT = `${EVENT_INSERT_INTO} VALUES (${EVENT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`;

/** Stores rows given as one array per column (see eventColumns), in order; returns their ids. */
const EVENT_INSERT_MANY = `${EVENT_INSERT_INTO}
  SELECT run_id, event_type, ts, step_key, asset_key, level, message, data::json
    FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
         WITH ORDINALITY AS u(${EVENT_COLUMNS.join(', ')}, n)
   ORDER BY n
  RETURNING id`;

/** The parameters of EVENT_INSERT_MANY: each column's values, redacted, in event order. */
function eventColumns(events: readonly NewEvent[]): unknown[][] {
  const columns: unknown[][] = EVENT_COLUMNS.map(() => []);
  for (const event of events) {
    const row = eventParams(event);
    for (let c = 0; c < columns.length; c++) columns[c]!.push(row[c]);
  }
  return columns;
}

/** The events as stored: what was sent, with the ids the database gave them (ascending, in order). */
function storedEvents(columns: unknown[][], ids: readonly { id: string }[]): StoredEvent[] {
  const sorted = ids.map((r) => Number(r.id)).sort((a, b) => a - b);
  return sorted.map((id, i) => {
    const [runId, type, ts, stepKey, assetKey, level, message, data] = columns.map((c) => c[i]);
    return toEvent({
      id: String(id),
      run_id: runId,
      event_type: type,
      ts,
      step_key: stepKey,
      asset_key: assetKey,
      level,
      message,
      data: typeof data === 'string' ? JSON.parse(data) : null,
    } as EventRow);
  });
}

/** The parameters of one row of EVENT_INSERT (in EVENT_COLUMNS order), redacted. */
function eventParams(event: NewEvent): unknown[] {
  return [
    event.runId,
    event.type,
    event.ts ?? new Date(),
    event.stepKey ?? null,
    event.assetKey ?? null,
    event.level ?? 'info',
    redact(event.message ?? ''),
    event.data ? JSON.stringify(redactDeep(event.data)) : null,
  ];
}

/** Whether storing the event changes where a partition stands (see applyPartitionEvents). */
function touchesPartitions(e: NewEvent | StoredEvent): boolean {
  switch (e.type) {
    case 'STEP_START':
      return Array.isArray((e.data as { partitions?: unknown } | null)?.partitions);
    case 'ASSET_MATERIALIZATION':
      return typeof (e.data as { partition?: unknown } | null)?.partition === 'string';
    case 'STEP_FAILURE':
      return !!e.assetKey;
    case 'RUN_FAILURE':
    case 'RUN_CANCELED':
      return true;
    default:
      return false;
  }
}

/**
 * Keeps asset_partitions up to date with stored events, set-based, inside the caller's
 * transaction: a step that starts marks its partitions IN_PROGRESS, a materialization marks its
 * partition MATERIALIZED, a failed step (or run) marks what it left in progress FAILED, and a
 * terminated one puts it back as it was (MATERIALIZED if it ever was, else MISSING).
 */
async function applyPartitionEvents(client: pg.PoolClient, events: readonly StoredEvent[]): Promise<void> {
  const relevant = events.filter(touchesPartitions);
  if (relevant.length === 0) return;
  const started = { asset: [] as string[], key: [] as string[], run: [] as string[] };
  const done = {
    asset: [] as string[],
    key: [] as string[],
    run: [] as string[],
    id: [] as number[],
    ts: [] as Date[],
  };
  const ends: { runId: string; assetKey: string | null; failed: boolean }[] = [];
  for (const e of relevant) {
    if (e.type === 'STEP_START' && e.assetKey) {
      for (const key of e.data?.partitions ?? []) {
        started.asset.push(e.assetKey);
        started.key.push(key);
        started.run.push(e.runId);
      }
    } else if (e.type === 'ASSET_MATERIALIZATION' && e.assetKey) {
      done.asset.push(e.assetKey);
      done.key.push(e.data.partition!);
      done.run.push(e.runId);
      done.id.push(e.id);
      done.ts.push(e.ts);
    } else if (e.type === 'STEP_FAILURE') {
      ends.push({ runId: e.runId, assetKey: e.assetKey, failed: !e.data?.canceled });
    } else if (e.type === 'RUN_FAILURE' || e.type === 'RUN_CANCELED') {
      ends.push({ runId: e.runId, assetKey: null, failed: e.type === 'RUN_FAILURE' });
    }
  }
  if (started.asset.length > 0) {
    await client.query(
      `INSERT INTO asset_partitions (asset_key, partition_key, status, run_id)
       SELECT a, k, 'IN_PROGRESS', r FROM unnest($1::text[], $2::text[], $3::text[]) AS u(a, k, r)
       ON CONFLICT (asset_key, partition_key) DO UPDATE SET status = 'IN_PROGRESS', run_id = EXCLUDED.run_id, updated_at = now()`,
      [started.asset, started.key, started.run],
    );
  }
  if (done.asset.length > 0) {
    await client.query(
      `INSERT INTO asset_partitions (asset_key, partition_key, status, run_id, last_materialization_id, materialized_at)
       SELECT DISTINCT ON (a, k) a, k, 'MATERIALIZED', r, i, t
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) AS u(a, k, r, i, t)
        ORDER BY a, k, i DESC
       ON CONFLICT (asset_key, partition_key) DO UPDATE SET status = 'MATERIALIZED', run_id = EXCLUDED.run_id,
         last_materialization_id = EXCLUDED.last_materialization_id, materialized_at = EXCLUDED.materialized_at,
         updated_at = now()`,
      [done.asset, done.key, done.run, done.id, done.ts],
    );
  }
  for (const end of ends) {
    await client.query(
      `UPDATE asset_partitions
          SET status = CASE WHEN $3 THEN 'FAILED' WHEN materialized_at IS NULL THEN 'MISSING' ELSE 'MATERIALIZED' END,
              updated_at = now()
        WHERE run_id = $1 AND status = 'IN_PROGRESS' AND ($2::text IS NULL OR asset_key = $2)`,
      [end.runId, end.assetKey, end.failed],
    );
  }
}

interface BackfillRow {
  backfill_id: string;
  status: BackfillStatus;
  location: string | null;
  job_name: string | null;
  selection: string | null;
  partition_keys: string[];
  single_run: boolean;
  from_failure: boolean;
  submitted: number;
  run_config: Record<string, unknown>;
  tags: Record<string, string>;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  ended_at: Date | null;
}

function toBackfill(row: BackfillRow): BackfillRecord {
  return {
    backfillId: row.backfill_id,
    status: row.status,
    location: row.location,
    jobName: row.job_name,
    selection: row.selection,
    partitionKeys: row.partition_keys,
    singleRun: row.single_run,
    fromFailure: row.from_failure,
    submitted: row.submitted,
    runConfig: row.run_config,
    tags: row.tags,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    endedAt: row.ended_at,
  };
}

const FINAL_BACKFILL: readonly BackfillStatus[] = ['COMPLETED', 'FAILED', 'CANCELED'];

/**
 * Inserts runs and their tags set-based (inside the caller's transaction). `inOrder`: their
 * created_at a microsecond apart in the order given, so the queue starts them in that order.
 */
async function insertRuns(
  client: pg.PoolClient,
  runs: readonly NewRun[],
  options: { inOrder?: boolean } = {},
): Promise<void> {
  await client.query(
    `INSERT INTO runs (run_id, job_name, location, status, asset_selection, run_config, tags, parent_run_id, root_run_id,
                       selection, step_keys, created_at)
     SELECT r, j, l, s, a::jsonb, c::jsonb, t::jsonb, p, rr, sel, sk::jsonb,
            CASE WHEN $12 THEN now() + (n * interval '1 microsecond') ELSE now() END
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                 $9::text[], $10::text[], $11::text[]) WITH ORDINALITY AS x(r, j, l, s, a, c, t, p, rr, sel, sk, n)`,
    [
      runs.map((r) => r.runId),
      runs.map((r) => r.jobName),
      runs.map((r) => r.location ?? null),
      runs.map((r) => r.status),
      runs.map((r) => (r.assetSelection === null ? null : JSON.stringify(r.assetSelection))),
      runs.map((r) => JSON.stringify(redactDeep(r.runConfig ?? {}))),
      runs.map((r) => JSON.stringify(r.tags ?? {})),
      runs.map((r) => r.parentRunId ?? null),
      runs.map((r) => r.rootRunId ?? null),
      runs.map((r) => r.selection ?? null),
      runs.map((r) => (r.stepKeys ? JSON.stringify(r.stepKeys) : null)),
      options.inOrder === true,
    ],
  );
  const tags = runs.flatMap((r) => Object.entries(r.tags ?? {}).map(([key, value]) => [r.runId, key, value]));
  if (tags.length > 0) {
    await client.query(
      'INSERT INTO run_tags (run_id, key, value) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
      [tags.map((t) => t[0]), tags.map((t) => t[1]), tags.map((t) => t[2])],
    );
  }
}

/** Inserts a run and its tags (inside the caller's transaction). */
async function insertRun(client: pg.PoolClient, run: NewRun): Promise<RunRow> {
  const { rows } = await client.query<RunRow>(
    `INSERT INTO runs (run_id, job_name, location, status, asset_selection, run_config, tags, parent_run_id, root_run_id,
                       selection, step_keys)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [
      run.runId,
      run.jobName,
      run.location ?? null,
      run.status,
      run.assetSelection === null ? null : JSON.stringify(run.assetSelection),
      JSON.stringify(redactDeep(run.runConfig ?? {})),
      JSON.stringify(run.tags ?? {}),
      run.parentRunId ?? null,
      run.rootRunId ?? null,
      run.selection ?? null,
      run.stepKeys ? JSON.stringify(run.stepKeys) : null,
    ],
  );
  for (const [key, value] of Object.entries(run.tags ?? {})) {
    await client.query('INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3)', [
      run.runId,
      key,
      value,
    ]);
  }
  return rows[0]!;
}

/** Events that are not stored alone: asset bookkeeping (and partitions) goes with them. */
function touchesAssets(e: NewEvent): boolean {
  return e.type === 'ASSET_MATERIALIZATION' || e.type === 'ASSET_CHECK_EVALUATION' || touchesPartitions(e);
}

function checkEvents(events: readonly NewEvent[]): void {
  for (const event of events) {
    if (
      (event.type === 'ASSET_MATERIALIZATION' || event.type === 'ASSET_CHECK_EVALUATION') &&
      !event.assetKey
    )
      throw new InstanceError(`${event.type} event of run ${event.runId} has no asset key.`);
  }
}

/**
 * Stores events inside the caller's transaction, with what they keep up to date (each asset's
 * latest materialization, check executions, partitions). One INSERT of arrays (8 parameters
 * however many rows: a VALUES list of thousands of parameters costs PostgreSQL more to parse
 * and plan than to store), ids in array order.
 */
async function insertEvents(client: pg.PoolClient, events: readonly NewEvent[]): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const params = eventColumns(events);
  const { rows: ids } = await client.query<{ id: string }>(EVENT_INSERT_MANY, params);
  const stored = storedEvents(params, ids);
  // The latest materialization of each asset (a batch may hold several of one asset).
  const latest = new Map<string, StoredEvent>();
  const checks: StoredEvent[] = [];
  for (const e of stored) {
    if (e.type === 'ASSET_MATERIALIZATION') latest.set(e.assetKey!, e);
    else if (e.type === 'ASSET_CHECK_EVALUATION') checks.push(e);
  }
  if (latest.size > 0) {
    const m = [...latest.values()];
    await client.query(
      `INSERT INTO asset_keys (asset_key, last_materialization_id, last_run_id, last_materialized_at, last_metadata, updated_at)
         SELECT k, i, r, t, md::json, now()
           FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[]) AS u(k, i, r, t, md)
         ON CONFLICT (asset_key) DO UPDATE SET last_materialization_id = EXCLUDED.last_materialization_id,
           last_run_id = EXCLUDED.last_run_id, last_materialized_at = EXCLUDED.last_materialized_at,
           last_metadata = EXCLUDED.last_metadata, updated_at = now()`,
      [
        m.map((e) => e.assetKey),
        m.map((e) => e.id),
        m.map((e) => e.runId),
        m.map((e) => e.ts),
        // Read defensively: a caller outside the executor may have left fields out.
        m.map((e) =>
          JSON.stringify((e.data as Partial<EventDataByType['ASSET_MATERIALIZATION']>)?.metadata ?? {}),
        ),
      ],
    );
  }
  if (checks.length > 0) {
    const data = checks.map((e) => (e.data ?? {}) as Partial<EventDataByType['ASSET_CHECK_EVALUATION']>);
    await client.query(
      `INSERT INTO asset_check_executions (asset_key, check_name, run_id, event_id, passed, severity, metadata, created_at)
         SELECT k, c, r, i, p, s, md::json, t
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::boolean[], $6::text[], $7::text[], $8::timestamptz[])
             AS u(k, c, r, i, p, s, md, t)`,
      [
        checks.map((e) => e.assetKey),
        data.map((d) => String(d.checkName ?? '')),
        checks.map((e) => e.runId),
        checks.map((e) => e.id),
        data.map((d) => d.passed === true),
        data.map((d) => (d.severity === 'WARN' ? 'WARN' : 'ERROR')),
        data.map((d) => JSON.stringify(d.metadata ?? {})),
        checks.map((e) => e.ts),
      ],
    );
  }
  await applyPartitionEvents(client, stored);
  return stored;
}

/** Instance storage on PostgreSQL (embedded or external). */
export class PostgresStorage implements InstanceStorage {
  readonly pool: pg.Pool;
  readonly displayUrl: string;

  private constructor(pool: pg.Pool, displayUrl: string) {
    this.pool = pool;
    this.displayUrl = displayUrl;
  }

  /** Connects (failing fast with a clear error when the server is unreachable). */
  static async connect(
    url: string,
    options: {
      source?: string;
      max?: number;
      /** Where the server is now, asked for each new connection (a server that moves after a restart). */
      currentUrl?: () => string | undefined;
    } = {},
  ): Promise<PostgresStorage> {
    registerConnectionSecrets(url);
    const displayUrl = maskConnectionString(url);
    const { currentUrl } = options;
    const pg = await loadPg();
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 8,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 10_000,
      // A pool keeps no connection for good: after the server restarts, the next query
      // connects anew (to where the server is now, when it can move).
      ...(currentUrl
        ? {
            Client: class FollowingClient extends pg.Client {
              constructor(config?: pg.ClientConfig) {
                super({ ...config, connectionString: currentUrl?.() ?? url });
              }
            },
          }
        : {}),
    });
    // A client that loses its connection must not crash the process: idle, the pool reports it
    // here; checked out between two queries, the client itself emits it (its next query then
    // fails, and that failure is handled where the query was made).
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => {});
      const reason = redact((error as Error).message || (error as { code?: string }).code || String(error));
      throw new InstanceError(
        `Cannot connect to the PostgreSQL instance at ${displayUrl}${options.source ? ` (${options.source})` : ''}: ${reason}. Check that the server is running and the URL is right${options.source === 'DAG_POSTGRES_URL' ? ', or unset DAG_POSTGRES_URL to use the embedded instance' : ''}.`,
      );
    }
    return new PostgresStorage(pool, displayUrl);
  }

  async migrate(): Promise<{ applied: number[]; version: number }> {
    const files = await migrationFiles();
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS dag_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await client.query<{ version: number }>('SELECT version FROM dag_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      const known = files.map((f) => Number(f.slice(0, 6)));
      const newest = Math.max(0, ...done);
      if (newest > Math.max(0, ...known)) {
        throw new InstanceError(
          `The instance database is at schema version ${newest}, newer than this version of dag knows (${Math.max(0, ...known)}). Upgrade dag.`,
        );
      }
      const applied: number[] = [];
      for (const file of files) {
        const version = Number(file.slice(0, 6));
        if (done.has(version)) continue;
        const sql = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO dag_migrations (version) VALUES ($1)', [version]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new InstanceError(`Migration ${file} failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(version);
      }
      return { applied, version: Math.max(newest, ...applied) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      client.release();
    }
  }

  async schemaVersion(): Promise<number> {
    try {
      const { rows } = await this.pool.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM dag_migrations',
      );
      return rows[0]?.v ?? 0;
    } catch {
      return 0;
    }
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const row = await insertRun(client, run);
      await client.query('COMMIT');
      return toRun(row);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const { rows } = await this.pool.query<RunRow>('SELECT * FROM runs WHERE run_id = $1', [runId]);
    return rows[0] ? toRun(rows[0]) : undefined;
  }

  private where(filter: RunFilter, params: unknown[]): string[] {
    const clauses: string[] = [];
    if (filter.statuses?.length) {
      params.push(filter.statuses);
      clauses.push(`status = ANY($${params.length})`);
    }
    if (filter.jobName) {
      params.push(filter.jobName);
      clauses.push(`job_name = $${params.length}`);
    }
    for (const [key, value] of Object.entries(filter.tags ?? {})) {
      params.push(key, value);
      clauses.push(
        `EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.run_id AND t.key = $${params.length - 1} AND t.value = $${params.length})`,
      );
    }
    return clauses;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunPage> {
    const limit = Math.min(Math.max(1, filter.limit ?? 50), 1000);
    const params: unknown[] = [];
    const clauses = this.where(filter, params);
    if (filter.cursor) {
      const { createdAt, runId } = decodeCursor(filter.cursor);
      params.push(createdAt, runId);
      clauses.push(`(created_at, run_id) < ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    params.push(limit + 1);
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM runs ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
       ORDER BY created_at DESC, run_id DESC LIMIT $${params.length}`,
      params,
    );
    const runs = rows.slice(0, limit).map(toRun);
    return { runs, nextCursor: rows.length > limit ? encodeCursor(runs[runs.length - 1]!) : null };
  }

  async countRuns(filter: Omit<RunFilter, 'limit' | 'cursor'> = {}): Promise<number> {
    const params: unknown[] = [];
    const clauses = this.where(filter, params);
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM runs ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async updateRun(
    runId: string,
    fields: {
      status?: RunStatus;
      error?: string | null;
      startedAt?: Date;
      endedAt?: Date;
      pid?: number;
      hostname?: string;
    },
  ): Promise<boolean> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [runId];
    const add = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (fields.status !== undefined) add('status', fields.status);
    if (fields.error !== undefined) add('error', fields.error === null ? null : redact(fields.error));
    if (fields.startedAt !== undefined) add('started_at', fields.startedAt);
    if (fields.endedAt !== undefined) add('ended_at', fields.endedAt);
    if (fields.pid !== undefined) add('pid', fields.pid);
    if (fields.hostname !== undefined) add('hostname', fields.hostname);
    // A finished run never moves again.
    const guard = fields.status !== undefined ? ` AND status <> ALL($${params.push(FINISHED)})` : '';
    const result = await this.pool.query(
      `UPDATE runs SET ${sets.join(', ')} WHERE run_id = $1${guard}`,
      params,
    );
    return (result.rowCount ?? 0) > 0;
  }

  async transitionRun(
    runId: string,
    t: RunTransition,
  ): Promise<{ run: RunRecord; event: StoredEvent | undefined; before?: StoredEvent[] } | undefined> {
    const params: unknown[] = [runId, t.to, [...t.from]];
    const sets = ['status = $2', 'updated_at = now()'];
    const where = ['run_id = $1', 'status = ANY($3)'];
    // Milliseconds, as a JS Date holds them: a cursor taken from a run's ended_at (run-status
    // sensors) must compare equal to the stored value, or the same run is seen again.
    if (t.to === 'STARTED') sets.push("started_at = coalesce(started_at, date_trunc('milliseconds', now()))");
    if (FINISHED.includes(t.to)) sets.push("ended_at = date_trunc('milliseconds', now())");
    if (t.to !== 'QUEUED') sets.push('queue_reason = NULL');
    if (t.error !== undefined)
      sets.push(`error = $${params.push(t.error === null ? null : redact(t.error))}`);
    if (t.owner) {
      sets.push(
        `attempt_id = $${params.push(t.owner.attemptId)}`,
        `pid = $${params.push(t.owner.pid)}`,
        `hostname = $${params.push(t.owner.hostname)}`,
        'heartbeat_at = now()',
      );
    }
    if (t.attemptId !== undefined) where.push(`attempt_id = $${params.push(t.attemptId)}`);
    if (t.before) checkEvents(t.before);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const before = t.before?.length ? await insertEvents(client, t.before) : undefined;
      const { rows } = await client.query<RunRow>(
        `UPDATE runs SET ${sets.join(', ')} WHERE ${where.join(' AND ')} RETURNING *`,
        params,
      );
      let event: StoredEvent | undefined;
      if (rows[0] && t.event) {
        const stored = await client.query<EventRow>(
          EVENT_INSERT,
          eventParams({ ...t.event, runId } as NewEvent),
        );
        event = toEvent(stored.rows[0]!);
        await applyPartitionEvents(client, [event]);
      }
      await client.query('COMMIT');
      return rows[0] ? { run: toRun(rows[0]), event, ...(before ? { before } : {}) } : undefined;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async heartbeatRun(
    runId: string,
    owner: { attemptId?: string; pid?: number; hostname?: string } = {},
  ): Promise<RunStatus | undefined> {
    const { rows } = await this.pool.query<{ status: RunStatus }>(
      `UPDATE runs SET heartbeat_at = now(), pid = coalesce($3, pid), hostname = coalesce($4, hostname)
       WHERE run_id = $1 AND status <> ALL($5) AND ($2::text IS NULL OR attempt_id = $2) RETURNING status`,
      [runId, owner.attemptId ?? null, owner.pid ?? null, owner.hostname ?? null, FINISHED],
    );
    return rows[0]?.status;
  }

  async setQueueReason(runId: string, reason: string | null): Promise<void> {
    await this.pool.query(
      `UPDATE runs SET queue_reason = $2 WHERE run_id = $1 AND status = 'QUEUED' AND queue_reason IS DISTINCT FROM $2`,
      [runId, reason === null ? null : redact(reason)],
    );
  }

  async getInFlightRuns(): Promise<InFlightRun[]> {
    const { rows } = await this.pool.query<RunRow & { silent_ms: number; worker_silent_ms: number | null }>(
      `SELECT runs.*, (extract(epoch FROM now() - coalesce(heartbeat_at, runs.started_at, updated_at)) * 1000)::float8 AS silent_ms,
              (extract(epoch FROM now() - w.last_heartbeat) * 1000)::float8 AS worker_silent_ms
       FROM runs LEFT JOIN dag_workers w ON w.worker_id = runs.worker_id
       WHERE ${IN_FLIGHT.replaceAll('status', 'runs.status').replaceAll('pid', 'runs.pid')} ORDER BY created_at`,
    );
    return rows.map((row) => ({
      ...toRun(row),
      silentMs: row.silent_ms,
      ...(row.worker_id ? { workerSilentMs: row.worker_silent_ms } : {}),
    }));
  }

  async storeEvent(event: NewEvent): Promise<StoredEvent> {
    return (await this.storeEvents([event]))[0]!;
  }

  async storeEvents(events: readonly NewEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    checkEvents(events);
    if (!events.some(touchesAssets)) {
      // A single statement is atomic: all the rows are stored, or none.
      const params = eventColumns(events);
      const { rows: ids } = await this.pool.query<{ id: string }>(EVENT_INSERT_MANY, params);
      return storedEvents(params, ids);
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const stored = await insertEvents(client, events);
      await client.query('COMMIT');
      return stored;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async getEvents(
    runId: string,
    options: { afterId?: number; limit?: number; types?: EventType[] } = {},
  ): Promise<StoredEvent[]> {
    const params: unknown[] = [runId, options.afterId ?? 0, Math.min(options.limit ?? 10_000, 100_000)];
    let typeClause = '';
    if (options.types?.length) {
      params.push(options.types);
      typeClause = `AND event_type = ANY($${params.length})`;
    }
    const { rows } = await this.pool.query<EventRow>(
      `SELECT * FROM event_logs WHERE run_id = $1 AND id > $2 ${typeClause} ORDER BY id LIMIT $3`,
      params,
    );
    return rows.map(toEvent);
  }

  async getAssetRecords(keys?: string[]): Promise<AssetRecord[]> {
    const { rows } = await this.pool.query<{
      asset_key: string;
      last_materialization_id: string | null;
      last_run_id: string | null;
      last_materialized_at: Date | null;
      last_metadata: MetadataRecord | null;
    }>(
      keys
        ? 'SELECT * FROM asset_keys WHERE asset_key = ANY($1) ORDER BY asset_key'
        : 'SELECT * FROM asset_keys ORDER BY asset_key',
      keys ? [keys] : [],
    );
    return rows.map((r) => ({
      assetKey: r.asset_key,
      lastMaterializationId: r.last_materialization_id === null ? null : Number(r.last_materialization_id),
      lastRunId: r.last_run_id,
      lastMaterializedAt: r.last_materialized_at,
      lastMetadata: r.last_metadata,
    }));
  }

  async getMaterializations(
    assetKey: string,
    options: { limit?: number; beforeId?: number } = {},
  ): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT * FROM event_logs WHERE asset_key = $1 AND event_type = 'ASSET_MATERIALIZATION' AND id < $2
       ORDER BY id DESC LIMIT $3`,
      [assetKey, options.beforeId ?? Number.MAX_SAFE_INTEGER, Math.min(options.limit ?? 20, 1000)],
    );
    return rows.map(toEvent);
  }

  async getAssetVersions(keys?: string[]): Promise<AssetVersionRecord[]> {
    const filter = keys ? 'WHERE a.asset_key = ANY($1)' : '';
    const { rows } = await this.pool.query<{
      asset_key: string;
      last_materialization_id: string | null;
      last_materialized_at: Date | null;
      version: MaterializationVersion | null;
    }>(
      `SELECT a.asset_key, a.last_materialization_id, a.last_materialized_at, e.data->'version' AS version
       FROM asset_keys a LEFT JOIN event_logs e ON e.id = a.last_materialization_id ${filter}`,
      keys ? [keys] : [],
    );
    const { rows: observed } = await this.pool.query<{
      asset_key: string;
      id: string;
      ts: Date;
      data_version: string | null;
    }>(
      `SELECT DISTINCT ON (asset_key) asset_key, id, ts, data->>'dataVersion' AS data_version
       FROM event_logs WHERE event_type = 'ASSET_OBSERVATION' ${keys ? 'AND asset_key = ANY($1)' : ''}
       ORDER BY asset_key, id DESC`,
      keys ? [keys] : [],
    );
    const out = new Map<string, AssetVersionRecord>();
    const record = (assetKey: string): AssetVersionRecord => {
      let r = out.get(assetKey);
      if (!r) {
        r = {
          assetKey,
          lastMaterializationId: null,
          lastMaterializedAt: null,
          version: null,
          lastObservationId: null,
          lastObservedAt: null,
          observedDataVersion: null,
        };
        out.set(assetKey, r);
      }
      return r;
    };
    for (const row of rows) {
      const r = record(row.asset_key);
      r.lastMaterializationId =
        row.last_materialization_id === null ? null : Number(row.last_materialization_id);
      r.lastMaterializedAt = row.last_materialized_at;
      r.version = row.version ?? null;
    }
    for (const row of observed) {
      const r = record(row.asset_key);
      r.lastObservationId = Number(row.id);
      r.lastObservedAt = row.ts;
      r.observedDataVersion = row.data_version;
    }
    return [...out.values()];
  }

  async saveAutomationEvaluations(records: AutomationEvaluationRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.pool.query(
      `INSERT INTO automation_evaluations (location, asset_key, evaluated_at, condition_true, requested, run_id, explanation)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::boolean[], $5::boolean[], $6::text[], $7::json[])`,
      [
        records.map((r) => r.location),
        records.map((r) => r.assetKey),
        records.map((r) => r.evaluatedAt),
        records.map((r) => r.conditionTrue),
        records.map((r) => r.requested),
        records.map((r) => r.runId),
        records.map((r) => redact(JSON.stringify(r.explanation))),
      ],
    );
  }

  async getAutomationEvaluations(assetKey: string, limit = 20): Promise<AutomationEvaluationRecord[]> {
    const { rows } = await this.pool.query<{
      id: string;
      location: string;
      asset_key: string;
      evaluated_at: Date;
      condition_true: boolean;
      requested: boolean;
      run_id: string | null;
      explanation: unknown;
    }>('SELECT * FROM automation_evaluations WHERE asset_key = $1 ORDER BY id DESC LIMIT $2', [
      assetKey,
      Math.min(limit, 1000),
    ]);
    return rows.map((r) => ({
      id: Number(r.id),
      location: r.location,
      assetKey: r.asset_key,
      evaluatedAt: r.evaluated_at,
      conditionTrue: r.condition_true,
      requested: r.requested,
      runId: r.run_id,
      explanation: r.explanation,
    }));
  }

  async getCheckExecutions(
    assetKey: string,
    options: { checkName?: string; limit?: number } = {},
  ): Promise<CheckExecution[]> {
    const { rows } = await this.pool.query<{
      id: string;
      asset_key: string;
      check_name: string;
      run_id: string;
      passed: boolean;
      severity: 'WARN' | 'ERROR';
      metadata: MetadataRecord | null;
      created_at: Date;
    }>(
      `SELECT * FROM asset_check_executions WHERE asset_key = $1 AND ($2::text IS NULL OR check_name = $2)
       ORDER BY id DESC LIMIT $3`,
      [assetKey, options.checkName ?? null, Math.min(options.limit ?? 20, 1000)],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      assetKey: r.asset_key,
      checkName: r.check_name,
      runId: r.run_id,
      passed: r.passed,
      severity: r.severity,
      metadata: r.metadata,
      createdAt: r.created_at,
    }));
  }

  async purgeEvents(options: PurgeOptions): Promise<{ deleted: number }> {
    if (!(options.olderThanDays >= 0)) {
      throw new InstanceError(`purge: olderThanDays must be a number >= 0, got ${options.olderThanDays}.`);
    }
    const cutoff = new Date(Date.now() - options.olderThanDays * 86_400_000);
    const typeClause = options.includeAssetEvents
      ? ''
      : `AND event_type NOT IN ('ASSET_MATERIALIZATION', 'ASSET_CHECK_EVALUATION')`;
    let deleted = 0;
    // Small batches keep each transaction short, so a purge never blocks running jobs for long.
    for (;;) {
      const result = await this.pool.query(
        `DELETE FROM event_logs WHERE id IN (
           SELECT id FROM event_logs e WHERE ts < $1 ${typeClause}
             AND NOT EXISTS (SELECT 1 FROM asset_keys a WHERE a.last_materialization_id = e.id)
           LIMIT ${PURGE_BATCH})`,
        [cutoff],
      );
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < PURGE_BATCH) break;
    }
    if (options.includeAssetEvents) {
      await this.pool.query('DELETE FROM asset_check_executions WHERE created_at < $1', [cutoff]);
    }
    return { deleted };
  }

  async getInstigatorStates(): Promise<InstigatorState[]> {
    const { rows } = await this.pool.query<{
      type: InstigatorType;
      name: string;
      status: InstigatorStatus;
      cursor: string | null;
      updated_at: Date;
    }>('SELECT * FROM instigators ORDER BY type, name');
    return rows.map((r) => ({
      type: r.type,
      name: r.name,
      status: r.status,
      cursor: r.cursor,
      updatedAt: r.updated_at,
    }));
  }

  async setInstigatorStatus(type: InstigatorType, name: string, status: InstigatorStatus): Promise<void> {
    await this.pool.query(
      `INSERT INTO instigators (type, name, status) VALUES ($1, $2, $3)
       ON CONFLICT (type, name) DO UPDATE SET status = EXCLUDED.status, updated_at = now()`,
      [type, name, status],
    );
  }

  async commitTick(tick: NewTick): Promise<{ tickId: number; runIds: string[]; duplicateRunKeys: string[] }> {
    const [result] = await this.commitTicks([tick]);
    return result!;
  }

  /**
   * Set-based: a handful of statements whatever the number of ticks, so 200 schedules due
   * at the same minute commit in milliseconds rather than one round trip per row.
   */
  async commitTicks(
    ticks: NewTick[],
  ): Promise<{ tickId: number; runIds: string[]; duplicateRunKeys: string[] }[]> {
    if (ticks.length === 0) return [];
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const keyed = ticks.flatMap((tick) =>
        (tick.runs ?? [])
          .filter((run) => run.runKey !== undefined)
          .map((run) => ({ instigator: `${tick.type}:${tick.name}`, runKey: run.runKey!, runId: run.runId })),
      );
      const claimed = new Set<string>();
      if (keyed.length > 0) {
        const { rows } = await client.query<{ run_id: string }>(
          `INSERT INTO run_keys (instigator, run_key, run_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING RETURNING run_id`,
          [keyed.map((k) => k.instigator), keyed.map((k) => k.runKey), keyed.map((k) => k.runId)],
        );
        for (const r of rows) claimed.add(r.run_id);
      }
      const perTick = ticks.map((tick) => {
        const runs = (tick.runs ?? []).filter((run) => run.runKey === undefined || claimed.has(run.runId));
        const duplicateRunKeys = (tick.runs ?? [])
          .filter((run) => run.runKey !== undefined && !claimed.has(run.runId))
          .map((run) => run.runKey!);
        return { tick, runs, duplicateRunKeys };
      });
      const runs = perTick.flatMap((t) => t.runs);
      if (runs.length > 0) {
        await insertRuns(client, runs);
      }
      const cursors = ticks.filter((t) => t.cursor !== undefined);
      if (cursors.length > 0) {
        await client.query(
          `INSERT INTO instigators (type, name, status, cursor)
           SELECT ty, n, st, c FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(ty, n, st, c)
           ON CONFLICT (type, name) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()`,
          [
            cursors.map((t) => t.type),
            cursors.map((t) => t.name),
            cursors.map((t) => t.statusIfNew ?? 'RUNNING'),
            cursors.map((t) => t.cursor ?? null),
          ],
        );
      }
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO ticks (name, type, status, tick_time, run_ids, run_keys, cursor, error, skip_reason, daemon_id)
         SELECT n, ty, st, tt, ri::jsonb, rk::jsonb, c, e, sr, d
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::text[], $10::text[]) AS x(n, ty, st, tt, ri, rk, c, e, sr, d)
         RETURNING id`,
        [
          ticks.map((t) => t.name),
          ticks.map((t) => t.type),
          ticks.map((t) => t.status),
          ticks.map((t) => t.tickTime),
          perTick.map((t) => JSON.stringify(t.runs.map((r) => r.runId))),
          perTick.map((t) =>
            JSON.stringify(t.runs.filter((r) => r.runKey !== undefined).map((r) => r.runKey)),
          ),
          ticks.map((t) => t.cursor ?? null),
          ticks.map((t) => (t.error ? redact(t.error) : null)),
          ticks.map((t) => t.skipReason ?? null),
          ticks.map((t) => t.daemonId ?? null),
        ],
      );
      await client.query('COMMIT');
      // Ids of one INSERT ... SELECT are assigned in the order of its rows.
      const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      return perTick.map((t, i) => ({
        tickId: ids[i]!,
        runIds: t.runs.map((r) => r.runId),
        duplicateRunKeys: t.duplicateRunKeys,
      }));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async getTicks(type: InstigatorType, name: string, limit = 20): Promise<TickRecord[]> {
    const { rows } = await this.pool.query<{
      id: string;
      type: InstigatorType;
      name: string;
      status: TickRecord['status'];
      tick_time: Date;
      run_ids: string[];
      run_keys: string[];
      cursor: string | null;
      error: string | null;
      skip_reason: string | null;
      created_at: Date;
    }>('SELECT * FROM ticks WHERE type = $1 AND name = $2 ORDER BY id DESC LIMIT $3', [
      type,
      name,
      Math.min(limit, 1000),
    ]);
    return rows.map((r) => ({
      id: Number(r.id),
      type: r.type,
      name: r.name,
      status: r.status,
      tickTime: r.tick_time,
      runIds: r.run_ids,
      runKeys: r.run_keys,
      cursor: r.cursor,
      error: r.error,
      skipReason: r.skip_reason,
      createdAt: r.created_at,
    }));
  }

  async getQueuedRuns(limit = 100): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM runs WHERE status = 'QUEUED' ORDER BY created_at, run_id LIMIT $1`,
      [limit],
    );
    return rows.map(toRun);
  }

  async getInProgressRuns(): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM runs WHERE status IN ('STARTING', 'STARTED', 'CANCELING') ORDER BY created_at`,
    );
    return rows.map(toRun);
  }

  async registerWorker(worker: {
    workerId: string;
    hostname: string;
    pid: number;
    concurrency: number;
  }): Promise<void> {
    await this.pool.query(
      `INSERT INTO dag_workers (worker_id, hostname, pid, concurrency) VALUES ($1, $2, $3, $4)
       ON CONFLICT (worker_id) DO UPDATE SET hostname = $2, pid = $3, concurrency = $4,
         started_at = now(), last_heartbeat = now(), state = 'running', current_runs = '[]'`,
      [worker.workerId, worker.hostname, worker.pid, worker.concurrency],
    );
  }

  async heartbeatWorker(
    workerId: string,
    status: { state: WorkerRecord['state']; currentRuns: string[] },
  ): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE dag_workers SET last_heartbeat = now(), state = $2, current_runs = $3 WHERE worker_id = $1`,
      [workerId, status.state, JSON.stringify(status.currentRuns)],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async removeWorker(workerId: string): Promise<void> {
    await this.pool.query('DELETE FROM dag_workers WHERE worker_id = $1', [workerId]);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const { rows } = await this.pool.query<{
      worker_id: string;
      hostname: string;
      pid: number;
      concurrency: number;
      started_at: Date;
      last_heartbeat: Date;
      silent_ms: number;
      state: WorkerRecord['state'];
      current_runs: string[];
    }>(
      `SELECT *, (extract(epoch FROM now() - last_heartbeat) * 1000)::float8 AS silent_ms
       FROM dag_workers ORDER BY started_at DESC, worker_id`,
    );
    return rows.map((r) => ({
      workerId: r.worker_id,
      hostname: r.hostname,
      pid: r.pid,
      concurrency: r.concurrency,
      startedAt: r.started_at,
      lastHeartbeat: r.last_heartbeat,
      silentMs: r.silent_ms,
      state: r.state,
      currentRuns: r.current_runs,
    }));
  }

  async assignRunToWorker(runId: string, workerId: string): Promise<RunRecord | undefined> {
    const { rows } = await this.pool.query<RunRow>(
      `UPDATE runs SET worker_id = $2, heartbeat_at = now(), updated_at = now()
       WHERE run_id = $1 AND status = 'STARTING' AND worker_id IS NULL RETURNING *`,
      [runId, workerId],
    );
    return rows[0] ? toRun(rows[0]) : undefined;
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async listen(
    channels: readonly string[],
    onNotify: (channel: string, payload: string) => void,
    onReconnect?: () => void,
  ): Promise<{ close(): Promise<void> }> {
    let closed = false;
    let client: pg.PoolClient | undefined;
    let retry: NodeJS.Timeout | undefined;
    let release = () => {};
    const connect = async (first: boolean): Promise<void> => {
      if (closed) return;
      const c = await this.pool.connect();
      let lost = false;
      const onLost = () => {
        if (lost) return;
        lost = true;
        if (client === c) client = undefined;
        c.release(true);
        if (closed) return;
        const again = () => {
          retry = setTimeout(() => {
            connect(false).catch(again);
          }, 1000);
          retry.unref();
        };
        again();
      };
      c.on('error', onLost);
      c.on('end', onLost);
      c.on('notification', (m) => onNotify(m.channel, m.payload ?? ''));
      try {
        for (const channel of channels) await c.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
      } catch (error) {
        if (first) closed = true;
        onLost();
        if (first) throw error;
        return;
      }
      if (closed) {
        lost = true;
        c.release(true);
        return;
      }
      client = c;
      release = () => {
        if (lost) return;
        lost = true;
        c.release(true);
      };
      if (!first) onReconnect?.();
    };
    await connect(true);
    return {
      close: async () => {
        closed = true;
        clearTimeout(retry);
        const c = client;
        client = undefined;
        if (c) {
          await c.query('UNLISTEN *').catch(() => {});
          release();
        }
      },
    };
  }

  async getFinishedRunsAfter(
    status: RunStatus,
    after: { endedAt: Date; runId: string } | null,
    limit = 100,
  ): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM runs WHERE status = $1 AND ended_at IS NOT NULL
         AND ($2::timestamptz IS NULL OR (ended_at, run_id) > ($2::timestamptz, $3))
       ORDER BY ended_at, run_id LIMIT $4`,
      [status, after?.endedAt ?? null, after?.runId ?? '', limit],
    );
    return rows.map(toRun);
  }

  async getMaterializationsAfter(assetKey: string, afterId: number, limit = 100): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT * FROM event_logs WHERE asset_key = $1 AND event_type = 'ASSET_MATERIALIZATION' AND id > $2
       ORDER BY id LIMIT $3`,
      [assetKey, afterId, limit],
    );
    return rows.map(toEvent);
  }

  async claimDaemon(
    daemonType: string,
    daemonId: string,
    now: Date,
    staleAfterMs: number,
    info: Record<string, unknown> = {},
  ): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO daemon_heartbeats (daemon_type, daemon_id, heartbeat, info) VALUES ($1, $2, $3, $4)
       ON CONFLICT (daemon_type) DO UPDATE SET daemon_id = EXCLUDED.daemon_id, heartbeat = EXCLUDED.heartbeat, info = EXCLUDED.info
       WHERE daemon_heartbeats.daemon_id = EXCLUDED.daemon_id OR daemon_heartbeats.heartbeat < $5`,
      [daemonType, daemonId, now, JSON.stringify(info), new Date(now.getTime() - staleAfterMs)],
    );
    return (rowCount ?? 0) > 0;
  }

  async releaseDaemon(daemonType: string, daemonId: string): Promise<void> {
    await this.pool.query('DELETE FROM daemon_heartbeats WHERE daemon_type = $1 AND daemon_id = $2', [
      daemonType,
      daemonId,
    ]);
  }

  async getDaemonHeartbeat(
    daemonType: string,
  ): Promise<{ daemonId: string; heartbeat: Date; info: Record<string, unknown> | null } | undefined> {
    const { rows } = await this.pool.query<{
      daemon_id: string;
      heartbeat: Date;
      info: Record<string, unknown> | null;
    }>('SELECT daemon_id, heartbeat, info FROM daemon_heartbeats WHERE daemon_type = $1', [daemonType]);
    const r = rows[0];
    return r ? { daemonId: r.daemon_id, heartbeat: r.heartbeat, info: r.info } : undefined;
  }

  async getFreshness(): Promise<FreshnessRecord[]> {
    const { rows } = await this.pool.query<{
      asset_key: string;
      stale: boolean;
      lag_minutes: number | null;
      stale_since: Date | null;
      checked_at: Date;
    }>('SELECT * FROM asset_freshness ORDER BY asset_key');
    return rows.map((r) => ({
      assetKey: r.asset_key,
      stale: r.stale,
      lagMinutes: r.lag_minutes,
      staleSince: r.stale_since,
      checkedAt: r.checked_at,
    }));
  }

  async setFreshness(record: FreshnessRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO asset_freshness (asset_key, stale, lag_minutes, stale_since, checked_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (asset_key) DO UPDATE SET stale = EXCLUDED.stale, lag_minutes = EXCLUDED.lag_minutes,
         stale_since = EXCLUDED.stale_since, checked_at = EXCLUDED.checked_at`,
      [record.assetKey, record.stale, record.lagMinutes, record.staleSince, record.checkedAt],
    );
  }

  async stats(): Promise<{ runs: number; events: number; assets: number; databaseSize: string }> {
    const { rows } = await this.pool.query<{ runs: string; events: string; assets: string; size: string }>(
      `SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM event_logs) AS events,
              (SELECT count(*) FROM asset_keys) AS assets, pg_size_pretty(pg_database_size(current_database())) AS size`,
    );
    const r = rows[0]!;
    return { runs: Number(r.runs), events: Number(r.events), assets: Number(r.assets), databaseSize: r.size };
  }

  async getPartitionStatuses(assetKey: string): Promise<PartitionStatusRecord[]> {
    const { rows } = await this.pool.query<{
      partition_key: string;
      status: PartitionStatusRecord['status'];
      run_id: string | null;
      materialized_at: Date | null;
      updated_at: Date;
    }>(
      `SELECT partition_key, status, run_id, materialized_at, updated_at FROM asset_partitions
        WHERE asset_key = $1 AND status <> 'MISSING'`,
      [assetKey],
    );
    return rows.map((r) => ({
      partitionKey: r.partition_key,
      status: r.status,
      runId: r.run_id,
      materializedAt: r.materialized_at,
      updatedAt: r.updated_at,
    }));
  }

  async getPartitionStatusMap(assetKey: string): Promise<Map<string, PartitionStatus>> {
    // Two text columns in rows as arrays: no Date to parse, no object per row.
    const { rows } = await this.pool.query<[string, PartitionStatus]>({
      text: `SELECT partition_key, status FROM asset_partitions WHERE asset_key = $1 AND status <> 'MISSING'`,
      values: [assetKey],
      rowMode: 'array',
    });
    const out = new Map<string, PartitionStatus>();
    for (const [key, status] of rows) out.set(key, status);
    return out;
  }

  async getDynamicPartitions(name: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ partition_key: string }>(
      'SELECT partition_key FROM dynamic_partitions WHERE name = $1 ORDER BY id',
      [name],
    );
    return rows.map((r) => r.partition_key);
  }

  async addDynamicPartitions(name: string, keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.pool.query<{ partition_key: string }>(
      `INSERT INTO dynamic_partitions (name, partition_key)
       SELECT $1, k FROM unnest($2::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
       ON CONFLICT DO NOTHING RETURNING partition_key`,
      [name, [...new Set(keys)]],
    );
    return rows.map((r) => r.partition_key);
  }

  async deleteDynamicPartitions(name: string, keys: readonly string[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ partition_key: string }>(
      'DELETE FROM dynamic_partitions WHERE name = $1 AND partition_key = ANY($2) RETURNING partition_key',
      [name, [...keys]],
    );
    return rows.map((r) => r.partition_key);
  }

  async createBackfill(b: NewBackfill): Promise<BackfillRecord> {
    const { rows } = await this.pool.query<BackfillRow>(
      `INSERT INTO backfills (backfill_id, status, location, job_name, selection, partition_keys, single_run, from_failure,
                              run_config, tags)
       VALUES ($1, 'REQUESTED', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [
        b.backfillId,
        b.location,
        b.jobName,
        b.selection,
        JSON.stringify(b.partitionKeys),
        b.singleRun,
        b.fromFailure,
        JSON.stringify(redactDeep(b.runConfig)),
        JSON.stringify(b.tags),
      ],
    );
    return toBackfill(rows[0]!);
  }

  async getBackfill(backfillId: string): Promise<BackfillRecord | undefined> {
    const { rows } = await this.pool.query<BackfillRow>('SELECT * FROM backfills WHERE backfill_id = $1', [
      backfillId,
    ]);
    return rows[0] ? toBackfill(rows[0]) : undefined;
  }

  async listBackfills(
    options: { statuses?: BackfillStatus[]; limit?: number } = {},
  ): Promise<BackfillRecord[]> {
    const { rows } = await this.pool.query<BackfillRow>(
      `SELECT * FROM backfills WHERE ($1::text[] IS NULL OR status = ANY($1))
        ORDER BY created_at DESC, backfill_id DESC LIMIT $2`,
      [options.statuses ?? null, Math.min(Math.max(1, options.limit ?? 50), 1000)],
    );
    return rows.map(toBackfill);
  }

  async submitBackfillRuns(
    backfillId: string,
    from: number,
    to: number,
    runs: readonly NewRun[],
  ): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const moved = await client.query(
        `UPDATE backfills SET submitted = $3, updated_at = now()
          WHERE backfill_id = $1 AND submitted = $2 AND status = 'REQUESTED'`,
        [backfillId, from, to],
      );
      if ((moved.rowCount ?? 0) === 0) {
        await client.query('ROLLBACK');
        return false;
      }
      if (runs.length > 0) {
        await insertRuns(client, runs, { inOrder: true });
      }
      await client.query('COMMIT');
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async setBackfillStatus(
    backfillId: string,
    from: readonly BackfillStatus[],
    to: BackfillStatus,
    error?: string | null,
  ): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE backfills SET status = $3, updated_at = now(), error = coalesce($4, error),
              ended_at = CASE WHEN $3 = ANY($5) THEN now() ELSE ended_at END
        WHERE backfill_id = $1 AND status = ANY($2)`,
      [backfillId, [...from], to, error ? redact(error) : null, FINAL_BACKFILL],
    );
    return (rowCount ?? 0) > 0;
  }

  async getBackfillRunCounts(
    backfillIds: readonly string[],
  ): Promise<Map<string, Partial<Record<RunStatus, number>>>> {
    const out = new Map<string, Partial<Record<RunStatus, number>>>(backfillIds.map((id) => [id, {}]));
    if (backfillIds.length === 0) return out;
    const { rows } = await this.pool.query<{ backfill_id: string; status: RunStatus; n: string }>(
      `SELECT t.value AS backfill_id, r.status, count(*) AS n
         FROM run_tags t JOIN runs r ON r.run_id = t.run_id
        WHERE t.key = $1 AND t.value = ANY($2)
        GROUP BY t.value, r.status`,
      [BACKFILL_TAG, [...backfillIds]],
    );
    for (const r of rows) out.get(r.backfill_id)![r.status] = Number(r.n);
    return out;
  }

  async cancelQueuedBackfillRuns(backfillId: string, reason: string): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ run_id: string }>(
        `UPDATE runs SET status = 'CANCELED', ended_at = date_trunc('milliseconds', now()), updated_at = now(),
                error = $3, queue_reason = NULL
          WHERE status = 'QUEUED' AND run_id IN (SELECT run_id FROM run_tags WHERE key = $1 AND value = $2)
          RETURNING run_id`,
        [BACKFILL_TAG, backfillId, redact(reason)],
      );
      if (rows.length > 0) {
        await client.query(
          `INSERT INTO event_logs (run_id, event_type, level, message)
           SELECT r, 'RUN_CANCELED', 'warn', $2 FROM unnest($1::text[]) AS u(r)`,
          [rows.map((r) => r.run_id), redact(reason)],
        );
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** SQLSTATEs of a lost or refused connection (class 08, and the server shutting down or starting). */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * Whether an error means the database could not be reached (down, restarting, connection
 * lost) rather than that the statement was wrong: the next attempt may succeed.
 */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (CONNECTION_CODES.has(code) || CONNECTION_SQLSTATES.has(code) || code.startsWith('08')) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection error|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery)|is not currently accepting connections/i.test(
    message,
  );
}

/**
 * Calls `fn`, retrying with backoff (0.1 s doubling to 2 s) while the database cannot be
 * reached, for at most `retryForMs`; any other error, or the last connection error, is thrown.
 */
export async function retryWhileUnreachable<T>(
  fn: () => Promise<T>,
  options: { retryForMs: number; onRetry?: (error: Error) => void },
): Promise<T> {
  const { default: pRetry } = await import('p-retry');
  return await pRetry(
    async () => {
      try {
        return await fn();
      } catch (error) {
        if (!isConnectionError(error)) throw new pRetry.AbortError(error as Error);
        throw error;
      }
    },
    {
      forever: true,
      maxRetryTime: options.retryForMs,
      minTimeout: 100,
      maxTimeout: 2000,
      factor: 2,
      randomize: false,
      onFailedAttempt: (error) => options.onRetry?.(error),
    },
  );
}
