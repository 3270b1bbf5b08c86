/**
 * @dag/slack: a Slack resource on @slack/web-api and the run-failure alert. This file is the
 * package's only door.
 */
export {
  createSlackClient,
  DEFAULT_ALERT_CHANNEL,
  DEFAULT_RETRY_CONFIG,
  DEFAULT_TIMEOUT_MS,
  type PostedMessage,
  SLACK_API_URL,
  type SlackClient,
  type SlackClientOptions,
  type SlackIdentity,
} from './create-slack-client.ts';
export { type FailureDetails, failureDetails } from './failure-details.ts';
export {
  ERROR_MAX_CHARS,
  ERROR_MAX_LINES,
  type ErrorExcerpt,
  errorExcerpt,
  escapeMrkdwn,
  formatRunFailureMessage,
  type RunFailureMessageInput,
  type SlackMessageContent,
} from './format-run-failure-message.ts';
export { DEFAULT_UI_URL, type PostRunFailureOptions, postRunFailure, runUrlFor } from './post-run-failure.ts';
export { redactSlack } from './redact-slack.ts';
export { redactingLogger, stderrLogger } from './redacting-logger.ts';
export { SlackApiError, type SlackCallSite, toSlackApiError } from './slack-api-error.ts';
export { type SlackOnRunFailureOptions, slackOnRunFailure } from './slack-on-run-failure.ts';
export { type SlackConfig, slackConfigSchema, slackResource } from './slack-resource.ts';
