import { inspect } from 'node:util';
import type { Logger, LogLevel } from '@dag/core';
import type { Logger as SlackLogger, LogLevel as SlackLogLevel } from '@slack/web-api';
import { redactSlack } from './redact-slack.ts';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Writes `<level> [slack] <message>` lines to stderr. */
export const stderrLogger: Logger = {
  debug: (message) => process.stderr.write(`debug [slack] ${message}\n`),
  info: (message) => process.stderr.write(`info [slack] ${message}\n`),
  warn: (message) => process.stderr.write(`warn [slack] ${message}\n`),
  error: (message) => process.stderr.write(`error [slack] ${message}\n`),
};

function format(parts: unknown[]): string {
  return parts
    .map((part) =>
      typeof part === 'string' ? part : inspect(part, { depth: 4, breakLength: Number.POSITIVE_INFINITY }),
    )
    .join(' ');
}

/**
 * A logger for `new WebClient(token, { logger })` that passes every line through `redactSlack`
 * before it reaches `sink`, so neither the bot token nor any other registered secret is printed,
 * whatever @slack/web-api decides to log (request bodies and headers at debug level).
 *
 * @example
 * const logs: string[] = [];
 * const logger = redactingLogger({ ...stderrLogger, info: (m) => logs.push(m) }, 'info');
 * new WebClient(token, { logger });
 */
export function redactingLogger(sink: Logger = stderrLogger, level: LogLevel = 'info'): SlackLogger {
  let current: LogLevel = level;
  let name = 'web-api';
  const emit = (at: LogLevel, parts: unknown[]) => {
    if (RANK[at] < RANK[current]) return;
    sink[at](redactSlack(`${name}: ${format(parts)}`));
  };
  return {
    debug: (...parts: unknown[]) => emit('debug', parts),
    info: (...parts: unknown[]) => emit('info', parts),
    warn: (...parts: unknown[]) => emit('warn', parts),
    error: (...parts: unknown[]) => emit('error', parts),
    setLevel: (next: SlackLogLevel) => {
      if (next in RANK) current = next as LogLevel;
    },
    getLevel: () => current as SlackLogLevel,
    setName: (next: string) => {
      name = next;
    },
  };
}
