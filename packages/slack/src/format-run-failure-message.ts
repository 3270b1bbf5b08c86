import type { RunRecord } from '@dag/core';
import type { KnownBlock } from '@slack/types';
import { redactSlack } from './redact-slack.ts';

export const ERROR_MAX_LINES = 10;
export const ERROR_MAX_CHARS = 1500;
const HEADER_MAX = 150;
const NAME_MAX = 200;
const FALLBACK_ERROR_MAX = 200;

export interface RunFailureMessageInput {
  run: RunRecord;
  /** The step that failed first. */
  failedStep?: string;
  /** Other steps that failed in the same run. */
  otherFailedSteps?: string[];
  /** The error text; only its first lines are shown. */
  error?: string;
  /** Link to the run in the UI. */
  runUrl: string;
}

export interface SlackMessageContent {
  /** Notification fallback (and what clients without Block Kit show). */
  text: string;
  blocks: KnownBlock[];
}

export interface ErrorExcerpt {
  /** mrkdwn-escaped, at most `maxChars` characters. */
  text: string;
  totalLines: number;
  shownLines: number;
  truncated: boolean;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes the three characters Slack's mrkdwn reserves. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c] ?? c);
}

/**
 * Escapes and cuts to at most `max` UTF-16 units (Slack counts characters, so this is never
 * over), walking by code point so no surrogate pair or entity is split.
 */
function escapeClip(text: string, max: number): { text: string; clipped: boolean } {
  let out = '';
  for (const char of text) {
    const piece = ENTITIES[char] ?? char;
    if (out.length + piece.length > max) return { text: out, clipped: true };
    out += piece;
  }
  return { text: out, clipped: false };
}

/** The longest prefix of at most `max` UTF-16 units that ends on a whole code point. */
function clipPlain(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max) break;
    out += char;
  }
  return out;
}

function clipName(text: string, max = NAME_MAX): string {
  const { text: clipped, clipped: cut } = escapeClip(text.replace(/`/g, "'"), max - 1);
  return cut ? `${clipped}…` : clipped;
}

const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]/g;

/** The first lines of an error, cleaned (no colour codes, no ``` that would close the block) and escaped. */
export function errorExcerpt(
  error: string,
  maxLines = ERROR_MAX_LINES,
  maxChars = ERROR_MAX_CHARS,
): ErrorExcerpt {
  const lines = redactSlack(error)
    .replace(ANSI, '')
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '  ')
    .replace(/```/g, "'''")
    .split('\n');
  while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
  while (lines.length > 0 && lines[0]?.trim() === '') lines.shift();
  const head = lines.slice(0, maxLines);
  const { text, clipped } = escapeClip(head.join('\n'), maxChars);
  const shownLines = clipped ? text.split('\n').length : head.length;
  return {
    text: clipped ? `${text}…` : text,
    totalLines: lines.length,
    shownLines,
    truncated: clipped || head.length < lines.length,
  };
}

function slackLink(url: string, label: string): string {
  // `|` and `>` end the link syntax; percent-encoding keeps the URL working.
  const safeUrl = url.replace(/\|/g, '%7C').replace(/>/g, '%3E').replace(/</g, '%3C');
  return `<${safeUrl}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>`;
}

function slackDate(date: Date): string {
  const seconds = Math.floor(date.getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time_secs}|${date.toISOString()}>`;
}

/**
 * The Slack message for a failed run: the job, the failed step, the first lines of the error
 * (at most 10 lines and 1,500 characters, in a code block) and a link to the run. Names and
 * error text are escaped for mrkdwn and cut by code point, so Korean (or any) text stays intact.
 *
 * @example
 * const { text, blocks } = formatRunFailureMessage({ run, failedStep: 'load', error: 'timeout', runUrl });
 * await slack.postMessage('#data-alerts', text, blocks);
 */
export function formatRunFailureMessage(input: RunFailureMessageInput): SlackMessageContent {
  const { run, failedStep, runUrl } = input;
  const others = input.otherFailedSteps ?? [];
  const job = clipName(run.jobName);
  const step = failedStep ? clipName(failedStep) : undefined;
  const error = input.error ? errorExcerpt(input.error) : undefined;

  const firstLine = input.error
    ? redactSlack(input.error)
        .replace(ANSI, '')
        .split(/\r?\n/)
        .find((line) => line.trim() !== '')
    : undefined;
  const fallbackError = firstLine ? escapeClip(firstLine.trim(), FALLBACK_ERROR_MAX) : undefined;
  const text =
    `Run ${escapeMrkdwn(run.runId.slice(0, 8))} of ${job} failed` +
    (step ? ` in step ${step}` : '') +
    (fallbackError ? `: ${fallbackError.text}${fallbackError.clipped ? '…' : ''}` : '');

  // plain_text: no escaping, only the length limit.
  const headerText = `🚨 Run failed: ${run.jobName}`;
  const headerCut = clipPlain(headerText, HEADER_MAX - 1);
  const header = headerCut === headerText ? headerText : `${headerCut}…`;

  const othersNote =
    others.length > 0
      ? ` (and ${others.length} more: ${others
          .slice(0, 5)
          .map((s) => `\`${clipName(s, 60)}\``)
          .join(', ')})`
      : '';
  const stepField = step ? `\`${step}\`${othersNote}` : '_unknown_';
  const fields = [
    { type: 'mrkdwn' as const, text: `*Job*\n\`${job}\`` },
    { type: 'mrkdwn' as const, text: `*Failed step*\n${stepField}` },
    { type: 'mrkdwn' as const, text: `*Run*\n${slackLink(runUrl, run.runId)}` },
  ];
  const ended = run.endedAt ?? run.updatedAt;
  if (ended) fields.push({ type: 'mrkdwn', text: `*Ended*\n${slackDate(ended)}` });

  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: header, emoji: true } },
    { type: 'section', fields },
  ];
  if (error?.text) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Error*\n\`\`\`${error.text}\`\`\`` } });
    if (error.truncated) {
      blocks.push({
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `First ${error.shownLines} of ${error.totalLines} line${error.totalLines === 1 ? '' : 's'} shown; the full error is in the run's log.`,
          },
        ],
      });
    }
  } else {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: '_No error message was recorded._' } });
  }
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: `${slackLink(runUrl, 'Open the run')} · run \`${escapeMrkdwn(run.runId)}\`` },
    ],
  });
  return { text, blocks };
}
