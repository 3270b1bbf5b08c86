/**
 * Run and step states as the event log tells them: the one derivation that the server's API,
 * the CLI, the UI and Slack alerts share. Pure and free of Node imports (browser-safe).
 */
import {
  type EventType,
  FINISHED_RUN_STATUSES,
  IN_PROGRESS_RUN_STATUSES,
  type RunStatus,
  type StepStatus,
} from '../types.ts';
import type { DagEvent } from './events.ts';

/** The events that end a run, and the run status each one records. */
export const RUN_END_EVENTS = {
  RUN_SUCCESS: 'SUCCESS',
  RUN_FAILURE: 'FAILURE',
  RUN_CANCELED: 'CANCELED',
} as const satisfies Partial<Record<EventType, RunStatus>>;

export const TERMINAL_EVENT_TYPES = Object.keys(RUN_END_EVENTS) as (keyof typeof RUN_END_EVENTS)[];

/** The event ends its run (RUN_SUCCESS, RUN_FAILURE or RUN_CANCELED). */
export function isTerminalEvent(type: string): type is keyof typeof RUN_END_EVENTS {
  return Object.hasOwn(RUN_END_EVENTS, type);
}

export function isRunFinished(status: string | null | undefined): status is RunStatus {
  return (FINISHED_RUN_STATUSES as readonly (string | null | undefined)[]).includes(status);
}

export function isRunInProgress(status: string | null | undefined): status is RunStatus {
  return (IN_PROGRESS_RUN_STATUSES as readonly (string | null | undefined)[]).includes(status);
}

/** The events `deriveSteps` reads: a run's plan, its steps' lifecycle and its end. */
export const STEP_EVENT_TYPES: readonly EventType[] = [
  'RUN_START',
  'STEP_START',
  'STEP_SUCCESS',
  'STEP_FAILURE',
  'STEP_SKIPPED',
  'STEP_UP_FOR_RETRY',
  'STEP_RESTARTED',
  ...TERMINAL_EVENT_TYPES,
];

/**
 * The status a step event moves its step to; undefined for an event that does not change a
 * step's status. A step the run's termination stopped (or kept from starting) is `canceled`.
 */
export function stepStatusAfter(event: DagEvent<unknown>): StepStatus | undefined {
  switch (event.type) {
    case 'STEP_START':
    case 'STEP_UP_FOR_RETRY':
    case 'STEP_RESTARTED':
      return 'running';
    case 'STEP_SUCCESS':
      return 'success';
    case 'STEP_FAILURE':
      return event.data.canceled ? 'canceled' : 'failure';
    case 'STEP_SKIPPED':
      return event.data.canceled ? 'canceled' : 'skipped';
    default:
      return undefined;
  }
}

/** One step of a run. TS is Date in Node, an ISO string in the browser. */
export interface DerivedStep<TS = Date> {
  key: string;
  status: StepStatus;
  startedAt: TS | null;
  endedAt: TS | null;
  /** Attempts made so far (0 before the step starts). */
  attempts: number;
  /** The failure, cancel or skip reason, for a step that did not succeed. */
  error: string | null;
}

/** What `deriveSteps` reads of the run record (when it has one). */
export interface RunForSteps<TS = Date> {
  status: RunStatus;
  /** Asset keys of an asset run: the plan of a run whose RUN_START is missing. */
  assetSelection: string[] | null;
  stepKeys?: string[] | null;
  endedAt: TS | null;
  error: string | null;
}

/**
 * Each step of a run with its status, times and attempts, from the run's events.
 *
 * Steps are listed in plan order (RUN_START's step list, else the run's asset selection), then
 * any other step the events name. Once the run has ended (its record says so, or the log has its
 * RUN_SUCCESS/RUN_FAILURE/RUN_CANCELED), a step left running ended with the run (canceled if the
 * run was, else failed) and a step that never started was canceled or skipped.
 */
export function deriveSteps<TS>(events: readonly DagEvent<TS>[], run?: RunForSteps<TS>): DerivedStep<TS>[] {
  const steps = new Map<string, DerivedStep<TS>>();
  const step = (key: string): DerivedStep<TS> => {
    let s = steps.get(key);
    if (!s) {
      s = { key, status: 'pending', startedAt: null, endedAt: null, attempts: 0, error: null };
      steps.set(key, s);
    }
    return s;
  };
  let plan: readonly string[] | undefined;
  let end: { status: RunStatus; at: TS | null; message: string } | undefined;
  for (const e of events) {
    if (e.type === 'RUN_START') plan ??= e.data.steps;
    else if (isTerminalEvent(e.type))
      end ??= { status: RUN_END_EVENTS[e.type], at: e.ts, message: e.message };
  }
  plan ??= (run?.assetSelection ?? []).filter((k) => !run?.stepKeys || run.stepKeys.includes(k));
  for (const key of plan) step(key);

  for (const e of events) {
    if (!e.stepKey) continue;
    const status = stepStatusAfter(e);
    if (status === undefined) continue;
    const s = step(e.stepKey);
    s.status = status;
    switch (e.type) {
      case 'STEP_START':
        s.startedAt = e.ts;
        s.endedAt = null;
        s.attempts = Math.max(1, s.attempts);
        break;
      case 'STEP_RESTARTED':
        s.attempts += 1;
        break;
      case 'STEP_SUCCESS':
        s.endedAt = e.ts;
        s.attempts = e.data.attempts || s.attempts;
        break;
      case 'STEP_FAILURE':
        s.endedAt = e.ts;
        s.error = e.message;
        s.attempts = e.data.attempts || s.attempts;
        break;
      case 'STEP_SKIPPED':
        s.endedAt = e.ts;
        s.error = e.message;
        break;
      default:
        break;
    }
  }

  if (run && isRunFinished(run.status)) {
    end = {
      status: run.status,
      at: run.endedAt ?? end?.at ?? null,
      message: run.error ?? end?.message ?? '',
    };
  }
  if (end) {
    const canceled = end.status === 'CANCELED';
    for (const s of steps.values()) {
      if (s.status === 'running') {
        s.status = canceled ? 'canceled' : 'failure';
        s.endedAt = end.at;
        s.error ??= end.message || null;
      } else if (s.status === 'pending') {
        s.status = canceled ? 'canceled' : 'skipped';
      }
    }
  }
  return [...steps.values()];
}
