/**
 * Response shapes of the Slack Web API methods the replica serves, as documented in
 * shared/reference/slack-web-api.md. Every body is an object with a boolean `ok`; failures carry a
 * snake_case `error` code and still travel with HTTP 200 (only rate limiting uses 429).
 */

export interface SlackMeta {
  warnings?: string[];
  messages?: string[];
  next_cursor?: string;
}

export interface SlackOk {
  ok: true;
  /** Comma-separated warning codes, also listed in `response_metadata.warnings`. */
  warning?: string;
  response_metadata?: SlackMeta;
}

export interface SlackErr {
  ok: false;
  error: string;
  needed?: string;
  provided?: string;
  warning?: string;
  response_metadata?: SlackMeta;
}

export interface SlackMessage {
  type: 'message';
  subtype?: 'bot_message';
  text: string;
  ts: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  username?: string;
  thread_ts?: string;
  blocks?: unknown[];
  attachments?: unknown[];
}

export interface ChatPostMessageOk extends SlackOk {
  /** Always the channel ID, also when the request named the channel. */
  channel: string;
  ts: string;
  message: SlackMessage;
}

export interface AuthTestOk extends SlackOk {
  url: string;
  team: string;
  user: string;
  team_id: string;
  user_id: string;
  bot_id?: string;
  app_id?: string;
  is_enterprise_install?: boolean;
}

export interface SlackConversation {
  id: string;
  name: string;
  is_channel: boolean;
  is_group: boolean;
  is_im: boolean;
  is_private: boolean;
  is_archived: boolean;
  is_member: boolean;
  is_general: boolean;
  created: number;
  creator: string;
  name_normalized: string;
  num_members: number;
  topic: { value: string; creator: string; last_set: number };
  purpose: { value: string; creator: string; last_set: number };
}

export interface ConversationsListOk extends SlackOk {
  channels: SlackConversation[];
  response_metadata: SlackMeta & { next_cursor: string };
}
