import {
  formatDuration,
  formatMetadataValue,
  type MetadataRecord,
  type RunResult,
  type StepStatus,
  type StoredEvent,
} from '@dag/core';
import pc from 'picocolors';

/** Fixed-width columns; the last column is not padded. Width counts East Asian wide characters as 2. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) =>
    Math.max(displayWidth(h), ...rows.map((r) => displayWidth(stripAnsi(r[i] ?? '')))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) =>
        i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i]! - displayWidth(stripAnsi(c)))),
      )
      .join('  ')
      .trimEnd();
  return [pc.bold(line(headers)), ...rows.map(line)].join('\n');
}

const ANSI = /\u001b\[[0-9;]*m/g;
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    // Hangul, CJK and full-width forms take two terminal cells.
    width +=
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6)
        ? 2
        : 1;
  }
  return width;
}

export function statusColor(status: string): string {
  switch (status) {
    case 'SUCCESS':
    case 'success':
      return pc.green(status);
    case 'FAILURE':
    case 'failure':
      return pc.red(status);
    case 'CANCELED':
    case 'CANCELING':
    case 'canceled':
    case 'skipped':
      return pc.yellow(status);
    case 'STARTED':
    case 'running':
      return pc.cyan(status);
    default:
      return status;
  }
}

const STEP_ICONS: Record<StepStatus, string> = {
  pending: '·',
  running: '▶',
  success: '✔',
  failure: '✖',
  skipped: '↷',
  canceled: '■',
};

export function stepIcon(status: StepStatus): string {
  return STEP_ICONS[status];
}

export function progressBar(done: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${Math.round(ratio * 100)}% (${done}/${total})`;
}

export function formatMetadata(metadata: MetadataRecord, maxWidth = 60): string {
  const parts = Object.entries(metadata).map(
    ([k, v]) => `${k}=${formatMetadataValue(v).replace(/\s+/g, ' ')}`,
  );
  const text = parts.join(' ');
  return text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text;
}

export function summary(result: RunResult): string {
  const rows = result.steps.map((s) => [
    `${stepIcon(s.status)} ${s.key}`,
    statusColor(s.status),
    String(s.attempts),
    s.durationMs ? formatDuration(s.durationMs) : '-',
    [
      formatMetadata(s.metadata),
      ...s.checks.map((c) => `${c.passed ? pc.green('✔') : pc.red('✖')} ${c.name}`),
      s.error && s.status !== 'success' ? pc.red(s.error.split('\n')[0]!.slice(0, 100)) : '',
    ]
      .filter(Boolean)
      .join(' '),
  ]);
  return [
    table(['STEP', 'STATUS', 'ATTEMPTS', 'DURATION', 'DETAILS'], rows),
    '',
    `Run ${result.runId} ${statusColor(result.status)} in ${formatDuration(result.durationMs)}.`,
  ].join('\n');
}

export function formatEvent(event: StoredEvent): string {
  const time = event.ts.toISOString().slice(11, 23);
  const level =
    event.level === 'error'
      ? pc.red('ERROR')
      : event.level === 'warn'
        ? pc.yellow('WARN ')
        : event.level === 'debug'
          ? pc.dim('DEBUG')
          : 'INFO ';
  const step = event.stepKey ? pc.cyan(event.stepKey) : pc.dim('run');
  const type = event.type === 'LOG' ? '' : `${pc.bold(event.type)} `;
  return `${pc.dim(time)} ${level} ${step} ${type}${event.message}`;
}
