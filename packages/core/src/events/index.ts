/**
 * `@dag/core/events`: the event log's vocabulary (typed events, run and step statuses) and the
 * derivations every reader shares (steps of a run, an asset's status and freshness).
 * No Node imports: the browser bundle imports this entry.
 */
export type {
  EventType,
  LogLevel,
  RunStatus,
  StepStatus,
} from '../types.ts';
export { EVENT_TYPES, FINISHED_RUN_STATUSES, IN_PROGRESS_RUN_STATUSES, RUN_STATUSES } from '../types.ts';
export type { AssetFreshness, AssetStatus, AssetStatusInput, Instant } from './asset-status.ts';
export { ASSET_STATUSES, assetFreshness, assetStatus, latestAttemptFailed } from './asset-status.ts';
export type { DagEvent, EventData, EventDataByType, EventEnvelope, EventOf } from './events.ts';
export { normalizeEventData } from './events.ts';
export type { MetadataSeries, SeriesPoint } from './metadata-series.ts';
export { metadataSeries } from './metadata-series.ts';
export type { DerivedStep, RunForSteps } from './steps.ts';
export {
  deriveSteps,
  isRunFinished,
  isRunInProgress,
  isTerminalEvent,
  RUN_END_EVENTS,
  STEP_EVENT_TYPES,
  stepStatusAfter,
  TERMINAL_EVENT_TYPES,
} from './steps.ts';

/** Dates as JSON carries them: what a type looks like once sent over HTTP and parsed. */
export type Json<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;
