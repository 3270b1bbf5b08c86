import {
  type EventType,
  FINISHED_RUN_STATUSES,
  type RunRecord,
  type StepStatus,
  type StoredEvent,
} from '@dag/core';

export interface RunStep {
  key: string;
  status: StepStatus;
  startedAt: Date | null;
  endedAt: Date | null;
  attempts: number;
  /** The failure or skip reason, for a step that did not succeed. */
  error: string | null;
}

/** The events `deriveSteps` reads: a run's plan and its steps' lifecycle. */
export const STEP_EVENT_TYPES: EventType[] = [
  'RUN_START',
  'STEP_START',
  'STEP_SUCCESS',
  'STEP_FAILURE',
  'STEP_SKIPPED',
  'STEP_UP_FOR_RETRY',
  'STEP_RESTARTED',
];

/**
 * Each step of a run with its status, times and attempts, from the run's STEP_* events.
 * Steps are listed in plan order (RUN_START's step list, else the run's asset selection).
 * Once the run has finished, a step left running ended with the run (failure or canceled)
 * and a step that never started was skipped.
 */
export function deriveSteps(run: RunRecord, events: StoredEvent[]): RunStep[] {
  const steps = new Map<string, RunStep>();
  const step = (key: string): RunStep => {
    let s = steps.get(key);
    if (!s) {
      s = { key, status: 'pending', startedAt: null, endedAt: null, attempts: 0, error: null };
      steps.set(key, s);
    }
    return s;
  };
  const planned = events.find((e) => e.type === 'RUN_START')?.data?.steps;
  const plan = Array.isArray(planned)
    ? planned.map(String)
    : (run.assetSelection ?? []).filter((k) => run.stepKeys === null || run.stepKeys.includes(k));
  for (const key of plan) step(key);

  for (const e of events) {
    if (!e.stepKey || e.type === 'RUN_START') continue;
    const s = step(e.stepKey);
    switch (e.type) {
      case 'STEP_START':
        s.status = 'running';
        s.startedAt = e.ts;
        s.attempts = Math.max(1, s.attempts);
        break;
      case 'STEP_RESTARTED':
        s.status = 'running';
        s.attempts += 1;
        break;
      case 'STEP_SUCCESS':
        s.status = 'success';
        s.endedAt = e.ts;
        s.attempts = Number(e.data?.attempts ?? s.attempts) || s.attempts;
        break;
      case 'STEP_FAILURE':
        s.status = e.data?.canceled ? 'canceled' : 'failure';
        s.endedAt = e.ts;
        s.error = e.message;
        s.attempts = Number(e.data?.attempts ?? s.attempts) || s.attempts;
        break;
      case 'STEP_SKIPPED':
        s.status = e.data?.reason === 'the run was terminated' ? 'canceled' : 'skipped';
        s.endedAt = e.ts;
        s.error = e.message;
        break;
      default:
        break;
    }
  }

  if (FINISHED_RUN_STATUSES.includes(run.status)) {
    for (const s of steps.values()) {
      if (s.status === 'running') {
        s.status = run.status === 'CANCELED' ? 'canceled' : 'failure';
        s.endedAt = run.endedAt;
        s.error ??= run.error;
      } else if (s.status === 'pending') {
        s.status = run.status === 'CANCELED' ? 'canceled' : 'skipped';
      }
    }
  }
  return [...steps.values()];
}
