import { REDACTED, redact } from '@dag/core';

/**
 * Slack token shapes: bot (xoxb), user (xoxp), app-level (xapp), legacy and config tokens.
 * Masked even when unregistered, so a token that reached this process some other way (a
 * different env var, a token typed into a config file) still never reaches a log line.
 */
const SLACK_TOKEN = /\b(?:xox[abeoprs]|xapp)-[A-Za-z0-9-]{6,}/g;

/** `redact()` of @dag/core (every registered secret), plus anything shaped like a Slack token. */
export function redactSlack(text: string): string {
  return redact(text).replace(SLACK_TOKEN, REDACTED);
}
