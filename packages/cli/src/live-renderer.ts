import {
  deriveSteps,
  formatDuration,
  isTerminalEvent,
  STEP_EVENT_TYPES,
  type StepStatus,
  type StoredEvent,
  stepStatusAfter,
} from '@dag/core';
import pc from 'picocolors';
import { progressBar, stepIcon } from './format.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

/**
 * Live rendering of a run's events for humans: step states, progress bars, log lines. A step's
 * state is the core's (`stepStatusAfter`, `deriveSteps`): when the run ends, steps that it
 * ended (left running, or never started) are printed with the state the API and the UI show.
 */
export function liveRenderer(io: Io, options: { quiet: boolean }): (event: StoredEvent) => void {
  const shown = new Map<string, StepStatus>();
  const lifecycle: StoredEvent[] = [];
  let barShown = false;
  const clearBar = () => {
    if (barShown) {
      process.stderr.write('\r\u001b[2K');
      barShown = false;
    }
  };
  const mark = (step: string, status: StepStatus, text: string) => {
    shown.set(step, status);
    clearBar();
    io.err(`${stepIcon(status)} ${pc.bold(step)} ${text}`);
  };
  return (event: StoredEvent) => {
    if ((STEP_EVENT_TYPES as readonly string[]).includes(event.type)) lifecycle.push(event);
    const step = event.stepKey ?? '';
    switch (event.type) {
      case 'RUN_START':
        io.err(pc.bold(event.message));
        break;
      case 'STEP_START':
        mark(step, 'running', pc.cyan('started'));
        break;
      case 'STEP_SUCCESS':
        mark(
          step,
          'success',
          `${pc.green('succeeded')} ${pc.dim(`(${formatDuration(event.data.durationMs)})`)}`,
        );
        break;
      case 'STEP_FAILURE':
        mark(step, stepStatusAfter(event)!, pc.red(event.message.split('\n')[0] ?? ''));
        break;
      case 'STEP_SKIPPED':
        mark(step, stepStatusAfter(event)!, pc.yellow(event.message));
        break;
      case 'STEP_UP_FOR_RETRY':
        clearBar();
        io.err(`${pc.yellow('↻')} ${pc.bold(step)} ${pc.yellow(event.message.split('\n')[0] ?? '')}`);
        break;
      case 'ASSET_CHECK_EVALUATION':
        clearBar();
        io.err(`  ${event.data.passed ? pc.green('✔') : pc.red('✖')} ${event.message}`);
        break;
      case 'STEP_PROGRESS': {
        const { done, total } = event.data;
        const text = total === undefined ? `${done}` : progressBar(done, total);
        if (io.isTTY) {
          process.stderr.write(`\r\u001b[2K  ${pc.bold(step)} ${text}`);
          barShown = true;
        } else if (total === undefined || done >= total || done % Math.max(1, Math.round(total / 10)) === 0) {
          io.err(`  ${step} ${text}`);
        }
        break;
      }
      case 'LOG':
        // Lines user code printed itself (data.stream) are already on this process's output.
        if (!options.quiet && !event.data?.stream) {
          clearBar();
          io.err(
            `  ${pc.dim(step)} ${event.level === 'error' ? pc.red(event.message) : event.level === 'warn' ? pc.yellow(event.message) : event.message}`,
          );
        }
        break;
      case 'RUN_CANCELING':
        clearBar();
        io.err(pc.yellow(event.message));
        break;
      default:
        break;
    }
    if (isTerminalEvent(event.type)) {
      for (const s of deriveSteps(lifecycle)) {
        if (shown.get(s.key) !== s.status) mark(s.key, s.status, pc.dim(s.error ?? 'ended with the run'));
      }
    }
  };
}
