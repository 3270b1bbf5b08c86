import type { WebAPIPlatformError } from '@slack/web-api';
import { redactSlack } from './redact-slack.ts';
import { slackWebApi } from './web-api.ts';

/**
 * A Slack call failed. `code` is Slack's own error code (`invalid_auth`, `channel_not_found`, …)
 * or, when no answer came back, `http_error`, `request_error` or `ratelimited`. The message says
 * what to fix and never holds the token; the @slack/web-api error is the `cause`.
 */
export class SlackApiError extends Error {
  readonly code: string;
  /** The Web API method, e.g. `chat.postMessage`. */
  readonly method: string;
  /** True for transport failures (worth trying again later), false when Slack refused the call. */
  readonly retriable: boolean;
  constructor(
    message: string,
    options: { code: string; method: string; retriable: boolean; cause?: unknown },
  ) {
    super(redactSlack(message), { cause: options.cause });
    this.name = 'SlackApiError';
    this.code = options.code;
    this.method = options.method;
    this.retriable = options.retriable;
  }
}

/** Where a call went, for the message. */
export interface SlackCallSite {
  method: string;
  apiUrl: string;
  channel?: string;
}

const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
]);

function attempts(error: unknown): string {
  const count = (error as { attemptNumber?: unknown }).attemptNumber;
  return typeof count === 'number' ? ` after ${count} attempt${count === 1 ? '' : 's'}` : '';
}

function platformMessage(data: WebAPIPlatformError['data'], site: SlackCallSite): string {
  const code = data.error;
  const where = `Slack ${site.method} at ${site.apiUrl}`;
  const channel = site.channel ?? '(none given)';
  if (code === 'not_authed') {
    return `${where} failed: no bot token was sent (not_authed). Set SLACK_BOT_TOKEN to the app's bot token (xoxb-…).`;
  }
  if (TOKEN_ERRORS.has(code)) {
    return `${where} failed: Slack rejected the bot token (${code}). Check SLACK_BOT_TOKEN: it must be a current bot token (xoxb-…) of this workspace.`;
  }
  if (code === 'channel_not_found') {
    return `${where} failed: channel ${channel} was not found (channel_not_found). Check SLACK_ALERT_CHANNEL (a name like #data-alerts or an id like C0123ABCD); a private channel is visible only after the bot is invited.`;
  }
  if (code === 'not_in_channel') {
    return `${where} failed: the bot is not a member of ${channel} (not_in_channel). Invite it (/invite @your-bot) or grant the chat:write.public scope.`;
  }
  if (code === 'is_archived') {
    return `${where} failed: channel ${channel} is archived (is_archived). Unarchive it or point SLACK_ALERT_CHANNEL elsewhere.`;
  }
  if (code === 'missing_scope') {
    const scopes = data as { needed?: unknown; provided?: unknown };
    const needed = typeof scopes.needed === 'string' ? scopes.needed : 'unknown';
    const provided = typeof scopes.provided === 'string' ? scopes.provided : 'unknown';
    return `${where} failed: the bot token lacks a scope (missing_scope; needed ${needed}, granted ${provided}). Add it in the app's OAuth settings and reinstall the app.`;
  }
  const details = data.response_metadata?.messages?.join('; ');
  return `${where} failed: ${code}${details ? ` (${details})` : ''}.`;
}

/** Turns whatever @slack/web-api threw into a `SlackApiError` with a message that says what to fix. */
export function toSlackApiError(error: unknown, site: SlackCallSite): SlackApiError {
  if (error instanceof SlackApiError) return error;
  const { method, apiUrl } = site;
  const { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } = slackWebApi();
  if (error instanceof WebAPIPlatformError) {
    return new SlackApiError(platformMessage(error.data, site), {
      code: error.data.error,
      method,
      retriable: false,
      cause: error,
    });
  }
  if (error instanceof WebAPIRateLimitedError) {
    return new SlackApiError(
      `Slack ${method} at ${apiUrl} was rate limited; Slack asks to retry after ${error.retryAfter} s.`,
      { code: 'ratelimited', method, retriable: true, cause: error },
    );
  }
  if (error instanceof WebAPIHTTPError) {
    return new SlackApiError(
      `Slack ${method} at ${apiUrl} answered HTTP ${error.statusCode}${attempts(error)}. Slack's Web API only answers 200 or 429, so this is an outage, a proxy, or a wrong SLACK_API_URL.`,
      { code: 'http_error', method, retriable: true, cause: error },
    );
  }
  if (error instanceof WebAPIRequestError) {
    if (/rate limit was exceeded/i.test(error.original.message)) {
      return new SlackApiError(
        `Slack ${method} at ${apiUrl} was still rate limited (HTTP 429)${attempts(error)}; try again later.`,
        { code: 'ratelimited', method, retriable: true, cause: error },
      );
    }
    return new SlackApiError(
      `Could not reach Slack ${method} at ${apiUrl}${attempts(error)}: ${error.original.message}. Check SLACK_API_URL and the network.`,
      { code: 'request_error', method, retriable: true, cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SlackApiError(`Slack ${method} at ${apiUrl} failed: ${message}`, {
    code: 'unknown',
    method,
    retriable: false,
    cause: error,
  });
}
