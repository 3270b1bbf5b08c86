import { type EventOf, type SerializedError, type StoredEvent, stepStatusAfter } from '@dag/core';

export interface FailureDetails {
  /** The step that failed first; undefined when the run failed before any step (or none is named). */
  failedStep: string | undefined;
  /** The error text of that step, or of the run when no step failed. */
  error: string | undefined;
  /** Other steps that failed in the run, in order. */
  otherFailedSteps: string[];
}

const MAX_FRAMES = 5;

function isSerializedError(value: unknown): value is SerializedError {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as SerializedError).name === 'string' &&
    typeof (value as SerializedError).message === 'string'
  );
}

/** The user's error (under the orchestrator's UserCodeError wrapper): its messages, then a few stack frames. */
function describeStepError(event: EventOf<'STEP_FAILURE'>): string {
  const recorded = event.data.error;
  if (!isSerializedError(recorded) || recorded.name !== 'UserCodeError' || !recorded.cause)
    return event.message;
  const lines: string[] = [];
  let current: SerializedError | undefined = recorded.cause;
  let innermost = current;
  for (let depth = 0; current && depth < 6; depth++) {
    lines.push(
      depth === 0 ? `${current.name}: ${current.message}` : `caused by: ${current.name}: ${current.message}`,
    );
    innermost = current;
    current = current.cause;
  }
  const frames = (innermost.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, MAX_FRAMES);
  return [...lines, ...frames].join('\n');
}

/**
 * What went wrong in a run, from its STEP_FAILURE and RUN_FAILURE events: the first step that
 * failed (steps terminated by a cancel are not failures) and its error.
 *
 * @example
 * const { failedStep, error } = failureDetails(await instance.storage.getEvents(runId));
 */
export function failureDetails(events: readonly StoredEvent[]): FailureDetails {
  const ordered = [...events].sort((a, b) => a.id - b.id);
  const stepFailures = ordered.filter(
    (e): e is EventOf<'STEP_FAILURE'> => stepStatusAfter(e) === 'failure' && e.stepKey !== null,
  );
  const runFailure = ordered.findLast((e): e is EventOf<'RUN_FAILURE'> => e.type === 'RUN_FAILURE');
  const first = stepFailures[0];
  const seen = new Set<string>();
  const stepKeys: string[] = [];
  for (const event of stepFailures) {
    if (event.stepKey && !seen.has(event.stepKey)) {
      seen.add(event.stepKey);
      stepKeys.push(event.stepKey);
    }
  }
  if (stepKeys.length === 0 && runFailure) {
    for (const key of runFailure.data?.failedSteps ?? []) stepKeys.push(key);
  }
  return {
    failedStep: stepKeys[0],
    error: first ? describeStepError(first) : runFailure?.message || undefined,
    otherFailedSteps: stepKeys.slice(1),
  };
}
