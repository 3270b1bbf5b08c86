import {
  type EventEnvelope,
  type EventType,
  type Logger,
  normalizeEventData,
  type RunRecord,
  type StoredEvent,
} from '@dag/core';

export const TOKEN = 'xoxb-2001-3002-slackpackagetesttoken';

/** A logger that keeps every line, to check what would have been printed. */
export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
  };
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

export function failedRun(overrides: Partial<RunRecord> = {}): RunRecord {
  const at = new Date('2026-03-01T17:05:00Z');
  return {
    runId: '7f3c2a91-5d2e-4c1b-9a8e-2b6f0c1d9e44',
    jobName: 'orders_daily',
    location: null,
    status: 'FAILURE',
    assetSelection: ['extract', 'load'],
    selection: null,
    stepKeys: null,
    runConfig: {},
    tags: {},
    parentRunId: null,
    rootRunId: null,
    error: 'Step failed: load',
    pid: null,
    hostname: null,
    heartbeatAt: null,
    attemptId: null,
    queueReason: null,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    endedAt: at,
    ...overrides,
  };
}

let nextId = 1;

/** An event as storage returns it (its data normalized the way storage reads it). */
export function event(
  type: EventType,
  fields: Partial<EventEnvelope> & { data?: Record<string, unknown> | null } = {},
): StoredEvent {
  const { data, ...envelope } = fields;
  return {
    id: nextId++,
    runId: '7f3c2a91-5d2e-4c1b-9a8e-2b6f0c1d9e44',
    type,
    ts: new Date(),
    stepKey: null,
    assetKey: null,
    level: 'info',
    message: '',
    ...envelope,
    data: normalizeEventData(type, data ?? null),
  } as StoredEvent;
}

/** The events the executor stores when step `load` throws `error` (wrapped in UserCodeError). */
export function stepFailureEvents(stepKey: string, error: Error): StoredEvent[] {
  const wrapper = `Error in asset '${stepKey}' (step '${stepKey}', run 7f3c2a91): ${error.message}`;
  return [
    event('RUN_START', { message: 'Started run.', data: { steps: [stepKey], pid: 1 } }),
    event('STEP_START', { stepKey, message: `Started asset '${stepKey}'.` }),
    event('STEP_FAILURE', {
      stepKey,
      assetKey: stepKey,
      level: 'error',
      message: `${wrapper}\n  caused by: ${error.name}: ${error.message}`,
      data: {
        error: {
          name: 'UserCodeError',
          message: wrapper,
          cause: { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) },
        },
        attempts: 1,
      },
    }),
    event('RUN_FAILURE', {
      level: 'error',
      message: `Step failed: ${stepKey}`,
      data: { failedSteps: [stepKey] },
    }),
  ];
}
