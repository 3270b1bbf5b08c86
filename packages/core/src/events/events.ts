/**
 * The event log's vocabulary: one shape per event type, discriminated on `type`.
 *
 * Writers (the executor, the launcher, the daemon) build events from these shapes, and every
 * reader (the server's API, the CLI, the UI, Slack alerts) narrows on `type` instead of guessing
 * what `data` holds. Event type names are persisted strings (see EVENT_TYPES) and never change.
 *
 * Fields added after events were first stored are filled in for old events by
 * `normalizeEventData`, which storage applies to every event it reads: readers never see an
 * event without them.
 *
 * This module has no Node imports: the browser bundle imports it (`@dag/core/events`).
 */
import type { MetadataRecord } from '../definitions/metadata.ts';
import type { SerializedError } from '../errors.ts';
import type { EventType, LogLevel } from '../types.ts';
import type { MaterializationVersion } from '../versions/staleness.ts';

/** The owner (host, pid) of a run the instance ended because that owner was gone. */
export interface GoneOwner {
  pid: number | null;
  hostname: string | null;
}

/** What `data` holds for each event type. */
export interface EventDataByType {
  /** Not written by this version; kept readable. */
  RUN_STARTING: null;
  RUN_START: {
    /** The step keys the run plans to execute, in plan order. */
    steps: string[];
    /** The process executing the run. */
    pid: number;
  };
  RUN_SUCCESS: null;
  /** Null when the run ended before or outside its steps (could not start, process died). */
  RUN_FAILURE: {
    failedSteps: string[];
    /** Blocking ERROR checks that failed, and the step each belongs to: causes of the failure. */
    failedChecks?: { step: string; check: string }[];
    /** Set when the instance ended the run because its owner was gone. */
    reconciled?: GoneOwner;
  } | null;
  RUN_CANCELING: null;
  RUN_CANCELED: { reconciled?: GoneOwner } | null;
  /** `partitions`: the partitions a step of a partitioned asset materializes. */
  STEP_START: { partitions?: string[] } | null;
  STEP_SUCCESS: { durationMs: number; attempts: number };
  STEP_FAILURE: {
    /** The step stopped because the run was terminated (not a failure of its own). */
    canceled: boolean;
    error: SerializedError;
    /** Attempts made; absent in events of terminated steps written by older versions. */
    attempts?: number;
  };
  STEP_SKIPPED: {
    /** Why the step did not run, e.g. "upstream step 'a' failed". */
    reason: string;
    /** The step did not run because the run was terminated. */
    canceled: boolean;
  };
  STEP_UP_FOR_RETRY: { attempt: number; delayMs: number; error: SerializedError };
  STEP_RESTARTED: null;
  STEP_PROGRESS: { done: number; total?: number };
  ASSET_MATERIALIZATION: {
    metadata: MetadataRecord;
    /** What it was computed from; absent in events stored before versions were recorded. */
    version?: MaterializationVersion;
    /** The partition materialized, for a partitioned asset. */
    partition?: string;
  };
  /** An observable source asset reported its data version; nothing was materialized. */
  ASSET_OBSERVATION: { dataVersion: string; metadata: MetadataRecord };
  ASSET_CHECK_EVALUATION: {
    checkName: string;
    passed: boolean;
    severity: 'WARN' | 'ERROR';
    blocking: boolean;
    description: string | null;
    metadata: MetadataRecord;
  };
  /** `extra` is the second argument of `ctx.log.info(message, extra)`. */
  LOG: {
    extra?: Record<string, unknown>;
    /** Set when the line is what the step's code printed itself, on this stream. */
    stream?: 'stdout' | 'stderr';
  } | null;
  ENGINE_EVENT: null;
}

export type EventData<T extends EventType = EventType> = EventDataByType[T];

/** Fields every stored event has. TS is Date in Node, an ISO string once sent as JSON. */
export interface EventEnvelope<TS = Date> {
  id: number;
  runId: string;
  ts: TS;
  stepKey: string | null;
  assetKey: string | null;
  level: LogLevel;
  message: string;
}

/** One stored event of type T. */
export type EventOf<T extends EventType, TS = Date> = EventEnvelope<TS> & {
  type: T;
  data: EventDataByType[T];
};

/** A stored event: a union discriminated on `type`, so `data` narrows with it. */
export type DagEvent<TS = Date> = { [T in EventType]: EventOf<T, TS> }[EventType];

/** The reason STEP_SKIPPED gave for a terminated run before it had a `canceled` field. */
const LEGACY_TERMINATED_REASON = 'the run was terminated';

/**
 * Fills in fields that events stored by older versions lack, from what those versions wrote
 * instead. The one place that knows old shapes; storage calls it for every event it reads.
 */
export function normalizeEventData(type: EventType, data: Record<string, unknown> | null): unknown {
  switch (type) {
    case 'STEP_FAILURE':
      return { ...data, canceled: data?.canceled === true };
    case 'STEP_SKIPPED': {
      const reason = typeof data?.reason === 'string' ? data.reason : '';
      const canceled =
        typeof data?.canceled === 'boolean' ? data.canceled : reason === LEGACY_TERMINATED_REASON;
      return { ...data, reason, canceled };
    }
    default:
      return data;
  }
}
