/**
 * Shapes of the `dag dev` HTTP API as they arrive in the browser (dates are ISO strings).
 * Records the core defines (runs, events, check executions, steps, statuses) are the core's,
 * as JSON carries them (`Json<T>`); imported as types only, erased at build.
 */
import type {
  AssetFreshness,
  AssetStatus,
  CheckExecution as CoreCheckExecution,
  RunRecord as CoreRunRecord,
  StoredEvent as CoreStoredEvent,
  DerivedStep,
  EventType,
  FreshnessPolicy,
  Json,
  LocationLoadError,
  LocationReload,
  LogLevel,
  MetadataRecord,
  MetadataValue,
  RunStatus,
} from '@dag/core';

export type { EventType, LogLevel, MetadataRecord, MetadataValue, RunStatus };

export interface ApiErrorBody {
  error: { name: string; message: string };
}

export interface CheckDefinition {
  name: string;
  severity: 'WARN' | 'ERROR';
  blocking: boolean;
  description?: string | null;
  /** Only in `GET /api/assets/:key`: the check's latest result. */
  latest?: CheckExecution | null;
}

export type FreshnessDefinition = FreshnessPolicy;

export interface AssetDefinition {
  key: string;
  group: string;
  deps: string[];
  kinds: string[];
  tags: Record<string, string>;
  owners?: string[];
  description?: string | null;
  checks: CheckDefinition[];
  hasConfig?: boolean;
  freshness?: FreshnessDefinition | null;
  location?: string;
  /** Only in `GET /api/assets/:key`. */
  dependents?: string[];
  /** Only in `GET /api/assets/:key`: produced outside this code location, never materialized. */
  external?: boolean;
  /** Only in `GET /api/assets/:key`: the definition's own metadata (a SQL model's SQL). */
  definitionMetadata?: MetadataRecord;
  status?: NodeStatus;
  lastRunStatus?: RunStatus | null;
  /** The asset's partitions ('daily', 'static'...), null or absent when it has none. */
  partitions?: PartitionsDescription | null;
}

/** JSON Schema, as much of it as the config form reads. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  description?: string;
  title?: string;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  format?: string;
  additionalProperties?: boolean | JsonSchema;
}

export interface JobDefinitionJson {
  name: string;
  type: string;
  selection: string | null;
  steps: string[];
  description?: string | null;
  configSchema?: JsonSchema | null;
  /** The job's own run config, merged under what a launch gives. */
  defaultRunConfig?: unknown;
  tags?: Record<string, string>;
}

export interface ResourceConfigField {
  value?: unknown;
  env?: string | null;
  secret?: boolean;
  set?: boolean;
}

export interface ResourceDefinitionJson {
  name: string;
  description?: string | null;
  config: Record<string, ResourceConfigField>;
}

export interface LocationDefinitions {
  name: string;
  file: string;
  assets: AssetDefinition[];
  jobs: JobDefinitionJson[];
  schedules: Record<string, unknown>[];
  sensors: Record<string, unknown>[];
  resources: ResourceDefinitionJson[];
  error?: string | null;
}

export type { LocationLoadError, LocationReload };

export interface DefinitionsResponse {
  locations: LocationDefinitions[];
  /** Code locations whose latest (re)load failed; they keep serving their last good definitions. */
  errors: LocationLoadError[];
  /** Changes whenever a reload changed a location's definitions. */
  generation: number;
}

/** POST /api/definitions/reload */
export interface ReloadResponse {
  results: LocationReload[];
  errors: LocationLoadError[];
  generation: number;
}

export interface LatestMaterialization {
  materializedAt: string;
  runId: string;
  metadata: MetadataRecord | null;
}

export interface AssetSummary {
  key: string;
  location: string;
  group: string;
  deps: string[];
  kinds: string[];
  tags: Record<string, string>;
  description?: string | null;
  checks: CheckDefinition[];
  latest: LatestMaterialization | null;
  lastRunStatus: RunStatus | null;
  /** The same status the graph shows (the core's rule, computed by the server). */
  status: NodeStatus;
  freshness: AssetFreshness | null;
}

export interface AssetsResponse {
  assets: AssetSummary[];
}

export type NodeStatus = AssetStatus;

export interface GraphNodeJson {
  key: string;
  location: string;
  group: string;
  kinds: string[];
  status: NodeStatus;
}

export interface GraphResponse {
  nodes: GraphNodeJson[];
  edges: { from: string; to: string }[];
  groups: { location: string; group: string; count: number }[];
}

/** `GET /api/graph?format=compact` (docs/api.md): parallel arrays of indices, and the layout. */
export type { CompactGraphJson as CompactGraphResponse } from '../../../server/src/api/graph-payload.ts';

export interface AssetDetailResponse {
  asset: AssetDefinition;
  latest: LatestMaterialization | null;
}

/** A stored event, discriminated on `type` (the core's DagEvent, dates as strings). */
export type StoredEvent = Json<CoreStoredEvent>;

export type CheckExecution = Json<CoreCheckExecution>;

export type RunRecord = Json<CoreRunRecord>;

export interface RunsResponse {
  runs: RunRecord[];
  nextCursor: string | null;
}

/** A step of `GET /api/runs/:id`, as the core's `deriveSteps` gives it. */
export type RunStep = DerivedStep<string>;

export interface RunDetailResponse {
  run: RunRecord;
  steps: RunStep[];
}

export interface InstanceResponse {
  info: {
    home?: string;
    storage?: string;
    url?: string;
    schemaVersion?: number;
    postgresVersion?: string;
    runs?: number;
    events?: number;
    assets?: number;
    databaseSize?: number | string;
    [key: string]: unknown;
  };
  versions: Record<string, string | null | undefined>;
  daemon: { heartbeat: string | null; [key: string]: unknown } | null;
}

/** The core's own lists (a module of plain constants, safe in the browser bundle). */
export {
  EVENT_TYPES as ALL_EVENT_TYPES,
  FINISHED_RUN_STATUSES as TERMINAL_RUN_STATUSES,
  RUN_STATUSES as ALL_RUN_STATUSES,
} from '@dag/core/types';

export type PartitionStatus = 'MATERIALIZED' | 'FAILED' | 'IN_PROGRESS' | 'MISSING';

/** How an asset is partitioned: 'daily', 'static', 'dynamic', 'multi'...; `dynamic`: names of its dynamic partitions. */
export interface PartitionsDescription {
  type: string;
  description: string;
  dynamic?: string[];
  /** Multi-partitions: the dimension names, in the order of the parts of a key ('a|b'). */
  dimensions?: string[];
}

/** `GET /api/assets/:key/partitions`. */
export interface AssetPartitionsResponse {
  assetKey: string;
  partitions: PartitionsDescription;
  keys: string[];
  statuses: PartitionStatus[];
  counts: Record<PartitionStatus, number>;
}

/** `GET /api/assets/:key/partitions?format=compact` (packages/server/src/api/partitions-payload.ts). */
export interface CompactPartitionsResponse {
  format: 'compact/1';
  assetKey: string;
  partitions: PartitionsDescription;
  counts: Record<PartitionStatus, number>;
  /** What each character of `statuses` indexes. */
  statusNames: PartitionStatus[];
  /** One character per partition: the index of its status in `statusNames`. */
  statuses: string;
  /** Front-coded: a base-36 digit (characters shared with the key before), then the rest. */
  keys: string[];
}

/** `GET /api/partitions`: every partitioned asset with its counts, and the dynamic partitions. */
export interface PartitionsIndexResponse {
  assets: {
    assetKey: string;
    location: string;
    group: string;
    partitions: PartitionsDescription;
    total: number;
    firstKey: string | null;
    lastKey: string | null;
    counts: Record<PartitionStatus, number>;
  }[];
  dynamic: { name: string; keyCount: number; assets: string[] }[];
}

/** `GET /api/partitions/:name`: the keys of dynamic partitions. */
export interface DynamicPartitionsResponse {
  name: string;
  keys: string[];
}

export interface BackfillSummary {
  backfillId: string;
  status: 'REQUESTED' | 'COMPLETED' | 'FAILED' | 'CANCELING' | 'CANCELED';
  location: string | null;
  jobName: string | null;
  selection: string | null;
  singleRun: boolean;
  fromFailure: boolean;
  submitted: number;
  error: string | null;
  createdAt: string;
  endedAt: string | null;
  runCounts: Partial<Record<RunStatus, number>>;
  partitionCounts: {
    total: number;
    submitted: number;
    succeeded: number;
    failed: number;
    inProgress: number;
    queued: number;
  };
  partitionCount: number;
  firstPartition: string | null;
  lastPartition: string | null;
}

/** `GET /api/workers`. */
export interface WorkersResponse {
  workers: {
    workerId: string;
    hostname: string;
    pid: number;
    state: 'running' | 'draining';
    concurrency: number;
    startedAt: string;
    lastHeartbeat: string;
    ageSeconds: number;
    alive: boolean;
    runs: string[];
  }[];
  timeoutSeconds: number;
}

/** GET /api/pools: concurrency pools with their limit (null: unlimited) and slots in use. */
export interface PoolsResponse {
  pools: {
    name: string;
    limit: number | null;
    inUse: number;
    holders: { runId: string; slotKey: string; claimedAt: string }[];
  }[];
}
