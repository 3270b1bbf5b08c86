import { resource } from '@dag/core';
import { z } from 'zod';
import {
  createSlackClient,
  DEFAULT_ALERT_CHANNEL,
  DEFAULT_RETRY_CONFIG,
  DEFAULT_TIMEOUT_MS,
  SLACK_API_URL,
  type SlackClient,
} from './create-slack-client.ts';

export const slackConfigSchema = z.object({
  /** The bot token (xoxb-…), from SLACK_BOT_TOKEN. */
  token: z.string().min(1),
  apiUrl: z.url({ protocol: /^https?$/ }).default(SLACK_API_URL),
  channel: z.string().min(1).default(DEFAULT_ALERT_CHANNEL),
  timeoutMs: z.number().int().min(0).default(DEFAULT_TIMEOUT_MS),
  /** Attempts after the first, for 429s and transport failures. */
  retries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .default(DEFAULT_RETRY_CONFIG.retries ?? 4),
});

export type SlackConfig = z.output<typeof slackConfigSchema>;

/**
 * The Slack resource: a `SlackClient` built from SLACK_BOT_TOKEN (a secret: never printed,
 * stored or returned), SLACK_API_URL (default https://slack.com/api/) and SLACK_ALERT_CHANNEL
 * (default #data-alerts).
 *
 * @example
 * const report = asset({ name: 'report', resources: { slack: slackResource } }, async (ctx) => {
 *   await ctx.resources.slack.postMessage(ctx.resources.slack.channel, 'Report ready');
 * });
 */
export const slackResource = resource({
  name: 'slack',
  description: 'Slack Web API client (bot token) for alerts.',
  config: slackConfigSchema,
  env: {
    token: { env: 'SLACK_BOT_TOKEN', secret: true },
    apiUrl: 'SLACK_API_URL',
    channel: 'SLACK_ALERT_CHANNEL',
  },
  create: (config): SlackClient =>
    createSlackClient({
      token: config.token,
      apiUrl: config.apiUrl,
      channel: config.channel,
      timeoutMs: config.timeoutMs,
      retryConfig: { ...DEFAULT_RETRY_CONFIG, retries: config.retries },
    }),
});
