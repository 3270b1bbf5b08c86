import type { RunRecord, StoredEvent } from '@dag/core';
import type { PostedMessage, SlackClient } from './create-slack-client.ts';
import { failureDetails } from './failure-details.ts';
import { formatRunFailureMessage } from './format-run-failure-message.ts';

export const DEFAULT_UI_URL = 'http://127.0.0.1:3000';

export interface PostRunFailureOptions {
  run: RunRecord;
  /** The run's events (at least its STEP_FAILURE and RUN_FAILURE events). */
  events: readonly StoredEvent[];
  /** Default: the client's channel (SLACK_ALERT_CHANNEL, #data-alerts). */
  channel?: string;
  /** The UI's base URL; default DAG_UI_URL or http://127.0.0.1:3000. Ignored when `runUrl` is given. */
  baseUrl?: string;
  /** The run's link, as a run-status sensor gets it. */
  runUrl?: string;
}

/** The UI's page of a run (a hash route): `http://127.0.0.1:3000/#/runs/<id>`. */
export function runUrlFor(baseUrl: string, runId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/#/runs/${encodeURIComponent(runId)}`;
}

/**
 * Posts the failure alert for one run: job, failed step, first lines of the error, link.
 * Rejects with a `SlackApiError` when Slack refuses (bad token, unknown channel) or stays
 * unreachable after the client's retries.
 *
 * @example
 * await postRunFailure(slack, { run, events: await storage.getEvents(run.runId) });
 */
export async function postRunFailure(
  client: SlackClient,
  options: PostRunFailureOptions,
): Promise<PostedMessage & { text: string }> {
  const { run } = options;
  const runUrl =
    options.runUrl ?? runUrlFor(options.baseUrl ?? (process.env.DAG_UI_URL || DEFAULT_UI_URL), run.runId);
  const details = failureDetails(options.events);
  const { text, blocks } = formatRunFailureMessage({
    run,
    runUrl,
    ...(details.failedStep ? { failedStep: details.failedStep } : {}),
    ...(details.otherFailedSteps.length > 0 ? { otherFailedSteps: details.otherFailedSteps } : {}),
    ...((details.error ?? run.error) ? { error: details.error ?? run.error ?? '' } : {}),
  });
  const posted = await client.postMessage(options.channel ?? client.channel, text, blocks);
  return { ...posted, text };
}
