import type { Logger, LogLevel } from '@dag/core';
import { registerSecret } from '@dag/core';
import type { KnownBlock } from '@slack/types';
import type { RetryOptions, WebClient } from '@slack/web-api';
import { redactingLogger } from './redacting-logger.ts';
import { type SlackCallSite, toSlackApiError } from './slack-api-error.ts';
import { slackWebApi } from './web-api.ts';

export const SLACK_API_URL = 'https://slack.com/api/';
export const DEFAULT_ALERT_CHANNEL = '#data-alerts';
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Retries for transport failures (5xx, timeouts, refused connections) and for 429s. A 429 first
 * waits its `Retry-After` (WebClient pauses its queue), then this backoff adds on top. Over the 4
 * retries the backoff sums to at most 15 s (plus each attempt's timeout and any Retry-After), so
 * an alert never holds a daemon tick for the ~30 minutes of WebClient's default policy.
 */
export const DEFAULT_RETRY_CONFIG: RetryOptions = {
  retries: 4,
  factor: 2,
  minTimeout: 500,
  maxTimeout: 8_000,
  randomize: true,
};

export interface SlackClientOptions {
  /** The bot token (xoxb-…). Registered as a secret: it is redacted wherever it would be printed. */
  token: string;
  /** The Web API base; default https://slack.com/api/. A replica's `url` in tests. */
  apiUrl?: string;
  /** The channel alerts go to when none is given; default #data-alerts. */
  channel?: string;
  /** Per attempt; default 10 s. 0 waits forever. */
  timeoutMs?: number;
  /** Default `DEFAULT_RETRY_CONFIG`; `{ retries: 0 }` gives up at once (a 429 is then not retried either). */
  retryConfig?: RetryOptions;
  /** Where @slack/web-api's log lines go, after redaction. Default: stderr. */
  logger?: Logger;
  /** Default 'info' (rate-limit waits are logged at info). */
  logLevel?: LogLevel;
}

export interface PostedMessage {
  /** The channel id Slack resolved the channel to. */
  channel: string;
  /** The message's timestamp: its id within the channel. */
  ts: string;
}

export interface SlackIdentity {
  team: string;
  teamId: string;
  user: string;
  userId: string;
  botId: string | undefined;
}

/** A thin client over @slack/web-api's WebClient that turns its errors into `SlackApiError`s. */
export interface SlackClient {
  /** The default channel (from config). */
  readonly channel: string;
  readonly apiUrl: string;
  /** The underlying client, for methods this wrapper does not cover. */
  readonly webClient: WebClient;
  /**
   * Posts `text` (the notification fallback, and the message when there are no blocks) to a
   * channel name (`#data-alerts`) or id. Rejects with a `SlackApiError` that says what to fix.
   */
  postMessage(channel: string, text: string, blocks?: KnownBlock[]): Promise<PostedMessage>;
  /** Checks the token and tells whose it is. */
  authTest(): Promise<SlackIdentity>;
}

/**
 * Builds a Slack client. A 429 is waited out (`Retry-After` seconds) and retried, as WebClient
 * does by default; `ok: false` answers (bad token, unknown channel) fail at once.
 *
 * @example
 * const slack = createSlackClient({ token: process.env.SLACK_BOT_TOKEN!, channel: '#data-alerts' });
 * await slack.postMessage(slack.channel, 'Nightly load finished');
 */
export function createSlackClient(options: SlackClientOptions): SlackClient {
  registerSecret(options.token);
  const apiUrl = (options.apiUrl ?? SLACK_API_URL).replace(/\/*$/, '/');
  const channel = options.channel ?? DEFAULT_ALERT_CHANNEL;
  const webClient = new (slackWebApi().WebClient)(options.token, {
    slackApiUrl: apiUrl,
    logger: redactingLogger(options.logger, options.logLevel ?? 'info'),
    retryConfig: options.retryConfig ?? DEFAULT_RETRY_CONFIG,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // Stated, not left to the default: a 429 is waited out and retried, never thrown at once.
    rejectRateLimitedCalls: false,
    // Only the configured API base is ever called.
    allowAbsoluteUrls: false,
  });

  const call = async <T>(site: SlackCallSite, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toSlackApiError(error, site);
    }
  };

  return {
    channel,
    apiUrl,
    webClient,
    postMessage: (target, text, blocks) =>
      call({ method: 'chat.postMessage', apiUrl, channel: target }, async () => {
        const result = await webClient.chat.postMessage({
          channel: target,
          text,
          ...(blocks ? { blocks } : {}),
          unfurl_links: false,
          unfurl_media: false,
        });
        return { channel: result.channel ?? target, ts: result.ts ?? '' };
      }),
    authTest: () =>
      call({ method: 'auth.test', apiUrl }, async () => {
        const result = await webClient.auth.test();
        return {
          team: result.team ?? '',
          teamId: result.team_id ?? '',
          user: result.user ?? '',
          userId: result.user_id ?? '',
          botId: result.bot_id,
        };
      }),
  };
}
