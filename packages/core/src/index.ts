/**
 * @dag/core: software-defined assets, checks, ops and jobs, resources, schedules and sensors,
 * the execution engine and the PostgreSQL instance. This file is the package's only door.
 */

export type { AssetState, ConditionNode, ConditionResult } from './automation/condition.ts';
export {
  AutomationCondition,
  anyUpstreamUpdated,
  eager,
  evaluateCondition,
  inProgress,
  missing,
  onCron,
} from './automation/condition.ts';
export { AUTOMATION_TAG, evaluateAutomation } from './automation/evaluator.ts';
export type { Clock } from './daemon/clock.ts';
export { ManualClock, systemClock } from './daemon/clock.ts';
export type { DaemonOptions, TagConcurrencyLimit, TickSummary } from './daemon/daemon.ts';
export { DAEMON_TYPE, Daemon } from './daemon/daemon.ts';
export { installLastResortHandlers, untilStopSignal } from './daemon/last-resort.ts';
export { isoWithOffset, nextTicks, ticksBetween } from './daemon/schedule-ticks.ts';
export type {
  AssetCheckDefinition,
  AssetCheckOptions,
  AssetDefinition,
  AssetFn,
  AssetOptions,
  AssetRef,
  FreshnessPolicy,
  InputValues,
  ObservableSourceAssetOptions,
  ObserveFn,
  ObserveResult,
  StoredValue,
} from './definitions/asset.ts';
export {
  asset,
  assetCheck,
  DEFAULT_GROUP,
  MaterializeResult,
  observableSourceAsset,
} from './definitions/asset.ts';
export type {
  AssetSensorContext,
  AssetSensorOptions,
  DefaultStatus,
  FreshnessSensorContext,
  FreshnessSensorOptions,
  RunRequest,
  RunStatusSensorContext,
  RunStatusSensorOptions,
  ScheduleDefinition,
  ScheduleOptions,
  SensorContext,
  SensorDefinition,
  SensorLogger,
  SensorOptions,
  SensorResult,
  SensorType,
} from './definitions/automation.ts';
export { assetSensor, freshnessSensor, runStatusSensor, schedule, sensor } from './definitions/automation.ts';
export type { DefinitionsOptions } from './definitions/definitions.ts';
export { Definitions } from './definitions/definitions.ts';
export type {
  AssetJobDefinition,
  GraphJobDefinition,
  JobDefinition,
  JobOptionsBase,
  RunConfig,
} from './definitions/job.ts';
export { defineAssetJob, graphJob } from './definitions/job.ts';
export type { ImagePreview, MetadataInput, MetadataRecord, MetadataValue } from './definitions/metadata.ts';
export { formatDuration, formatMetadataValue, md, normalizeMetadata } from './definitions/metadata.ts';
export type { AssetOut, MultiAssetDefinition, MultiAssetOptions } from './definitions/multi-asset.ts';
export { multiAsset } from './definitions/multi-asset.ts';
export type { GraphNode, OpDefinition, OpOptions, OpOutput } from './definitions/op.ts';
export { op } from './definitions/op.ts';
export type {
  EnvBinding,
  ResourceCreateContext,
  ResourceDefinition,
  ResourceDescription,
  ResourceOptions,
  ResourceValue,
  ResourceValues,
} from './definitions/resource.ts';
export { registerResourceSecrets, resource } from './definitions/resource.ts';
export type { DagErrorKind, SerializedError } from './errors.ts';
export {
  ConfigError,
  DagError,
  DefinitionError,
  describeError,
  InstanceError,
  NonRetriableError,
  RetryAfterError,
  SelectionError,
  serializeError,
  UsageError,
  UserCodeError,
} from './errors.ts';
export type {
  AssetFreshness,
  AssetStatus,
  AssetStatusInput,
  DagEvent,
  DerivedStep,
  EventData,
  EventDataByType,
  EventEnvelope,
  EventOf,
  Instant,
  Json,
  RunForSteps,
} from './events/index.ts';
export {
  ASSET_STATUSES,
  assetFreshness,
  assetStatus,
  deriveSteps,
  isRunFinished,
  isRunInProgress,
  isTerminalEvent,
  latestAttemptFailed,
  normalizeEventData,
  RUN_END_EVENTS,
  STEP_EVENT_TYPES,
  stepStatusAfter,
  TERMINAL_EVENT_TYPES,
} from './events/index.ts';
export type { MetadataSeries, SeriesPoint } from './events/metadata-series.ts';
export { metadataSeries } from './events/metadata-series.ts';
export type { ExecuteOptions } from './execution/executor.ts';
export { checkRunPartitions, executeRun, materialize } from './execution/executor.ts';
export type { ExecutionPlan, PlanOptions, PlanStep } from './execution/plan.ts';
export { ASSET_JOB_NAME, planRun } from './execution/plan.ts';
export type { RunFinished, RunHandoff, RunProcessReady } from './execution/process-tree.ts';
export {
  descendants,
  exitWithParent,
  isProcessAlive,
  isRunFinishedReport,
  isRunProcessReady,
  killProcessTree,
  reportRunFinished,
  spawnProcess,
  waitForRunHandoff,
} from './execution/process-tree.ts';
export { retryDelay } from './execution/retry.ts';
export type { FinishRun, RunLiveness, TerminateOutcome } from './execution/run-lifecycle.ts';
export {
  claimQueuedRun,
  failBeforeStart,
  finishRun,
  fromStatuses,
  newRunOwner,
  ownerGone,
  RUN_TRANSITIONS,
  RunReconciler,
  requeueRun,
  retriesLeft,
  runLiveness,
  startHeartbeat,
  startRun,
  terminateRun,
} from './execution/run-lifecycle.ts';
export type { StoredRunPlan, SubmitOptions } from './execution/stored-run.ts';
export { executeStoredRun, reexecutionOptions, storedRunPlan, submitRun } from './execution/stored-run.ts';
export { AssetGraph } from './graph/asset-graph.ts';
export type { InstanceInfo, InstanceOptions } from './instance/dag-instance.ts';
export { DagInstance, resolveHome } from './instance/dag-instance.ts';
export type { EmbeddedServer } from './instance/embedded-postgres.ts';
export {
  ensureEmbeddedPostgres,
  type PostgresServerOptions,
  servePostgres,
  stopEmbeddedPostgres,
  withDatabase,
} from './instance/embedded-postgres.ts';
export type { AcquireOptions, ClaimOutcome, PoolInfo, PoolSlotHolder } from './instance/pools.ts';
export { assertPoolName, ConcurrencyPools, instancePools, POOL_CHANNEL } from './instance/pools.ts';
export {
  isConnectionError,
  knownSchemaVersion,
  PostgresStorage,
  retryWhileUnreachable,
} from './instance/postgres-storage.ts';
export type {
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
  RunOwner,
  RunPage,
  RunRecord,
  RunTransition,
  StoredEvent,
  TickRecord,
  TickRun,
  TickStatus,
  WorkerRecord,
} from './instance/storage.ts';
export type { InputContext, IOManager, OutputContext } from './io/io-manager.ts';
export { FileIOManager } from './io/io-manager.ts';
export type { BackfillProgress, LaunchBackfillOptions } from './partitions/backfill.ts';
export {
  BackfillSubmitter,
  backfillProgress,
  cancelBackfill,
  getBackfillProgress,
  launchBackfill,
  listBackfillProgress,
} from './partitions/backfill.ts';
export type { PartitionMapping } from './partitions/mappings.ts';
export {
  allPartitionsMapping,
  defaultMapping,
  dimensionPartitionMapping,
  identityPartitionMapping,
  mapPartitions,
  previousPartitionMapping,
  staticPartitionMapping,
  timeWindowPartitionMapping,
} from './partitions/mappings.ts';
// Partitions and backfills
export type {
  DynamicPartitions,
  MultiPartitions,
  PartitionKeyContext,
  PartitionKeyRange,
  PartitionsDefinition,
  StaticPartitions,
  TimeCadence,
  TimeWindow,
  TimeWindowOptions,
  TimeWindowPartitions,
} from './partitions/partitions.ts';
export {
  dailyPartitions,
  describeKeys,
  describePartitions,
  dynamicPartitionNames,
  dynamicPartitions,
  hourlyPartitions,
  monthlyPartitions,
  multiPartitions,
  partitionKeys,
  resolvePartitionSelection,
  staticPartitions,
  timeWindowOf,
  weeklyPartitions,
} from './partitions/partitions.ts';
export {
  BACKFILL_TAG,
  loadPartitionContext,
  PARTITION_RANGE_END_TAG,
  PARTITION_RANGE_START_TAG,
  PARTITION_TAG,
  partitionSelectionOf,
  partitionSelectionTags,
  partitionTags,
} from './partitions/run-partitions.ts';
export { buildScheduleFromPartitionedJob, partitionForTick } from './partitions/schedule.ts';
export { type AssetPartitionStatus, assetPartitionStatus } from './partitions/status.ts';
export type { SelectionContext, SelectionNode } from './selection/asset-selection.ts';
export {
  parseSelection,
  resolveSelection,
  selectionOfKeys,
  selectionUses,
} from './selection/asset-selection.ts';
export type {
  AssetContext,
  CheckContext,
  CheckResult,
  EventType,
  Logger,
  LogLevel,
  RetryPolicy,
  RunResult,
  RunStatus,
  SpawnOptions,
  SpawnResult,
  StepContext,
  StepKind,
  StepResult,
  StepStatus,
} from './types.ts';
export { EVENT_TYPES, FINISHED_RUN_STATUSES, IN_PROGRESS_RUN_STATUSES, RUN_STATUSES } from './types.ts';
export { connectionPasswords } from './util/connection-string.ts';
export { lazyRequire } from './util/lazy-require.ts';
export { prepareUserCodeLoading, siblingModule } from './util/module-url.ts';
export {
  maskConnectionString,
  REDACTED,
  redact,
  redactDeep,
  redactStandardStreams,
  registerConnectionSecrets,
  registerSecret,
  registerSecretsFromEnv,
} from './util/secrets.ts';
export { didYouMean } from './util/suggest.ts';
export { assetStaleness, resolveSelectionNow, selectionContextFor } from './versions/asset-staleness.ts';
export type { MaterializationVersion, StaleCause, StaleReason } from './versions/staleness.ts';
export { staleReasons } from './versions/staleness.ts';
export type { WorkerLiveness } from './workers/worker-env.ts';
export {
  MAX_RETRIES_TAG,
  RETRY_NUMBER_TAG,
  RUN_CHANNELS,
  RUN_QUEUE_NAME,
  RUN_QUEUE_SCHEMA,
  WORKER_ENV,
  WORKER_HEALTH_COMMAND,
  workerLiveness,
} from './workers/worker-env.ts';
export { type WorkspaceWatcher, watchWorkspace } from './workspace/watch-workspace.ts';
export type { CodeLocation, LocationLoadError, LocationReload } from './workspace/workspace.ts';
export {
  CODE_SNAPSHOT_ENV,
  CODE_SNAPSHOT_PRELOAD,
  findWorkspaceFile,
  loadDefinitionsFile,
  WORKSPACE_FILE,
  Workspace,
} from './workspace/workspace.ts';
