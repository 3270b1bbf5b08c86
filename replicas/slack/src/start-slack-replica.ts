import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  AuthTestOk,
  ChatPostMessageOk,
  ConversationsListOk,
  SlackConversation,
  SlackErr,
  SlackMessage,
} from './slack-shapes.ts';

/** A channel of the replica's workspace. Strings given to `startSlackReplica` become public channels the bot is in. */
export interface ReplicaChannelInput {
  /** Without the leading `#`. */
  name: string;
  /** Default: `C` + 10 characters derived from the name, so the same name keeps its id. */
  id?: string;
  private?: boolean;
  /** Whether the bot is a member. Default true. Posting to a public channel it is not in gives `not_in_channel`. */
  member?: boolean;
  archived?: boolean;
}

export interface ReplicaChannel {
  id: string;
  name: string;
  private: boolean;
  member: boolean;
  archived: boolean;
  created: number;
}

/**
 * Faults that hit the next requests; change them while the replica runs with `setFaults`.
 * Counters are used up request by request, in this order: delay, 429, 5xx.
 */
export interface SlackReplicaFaults {
  /** The next N requests get HTTP 429 `{"ok":false,"error":"ratelimited"}` with `Retry-After`. */
  rateLimited?: number;
  /** The `Retry-After` value, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** The next N requests get `serverErrorStatus`. */
  serverErrors?: number;
  /** Default 503. */
  serverErrorStatus?: number;
  /** Every answer is delayed by this many ms. */
  delayMs?: number;
  /** Only requests to these API methods (e.g. `chat.postMessage`) are hit. Default: all. */
  methods?: string[];
}

export interface SlackReplicaOptions {
  /** The one bot token the replica accepts (`Authorization: Bearer <token>`, or a `token` form field). */
  token: string;
  /** Default: `data-alerts` and `general`, both public with the bot in them. */
  channels?: (string | ReplicaChannelInput)[];
  faults?: SlackReplicaFaults;
  /** Loopback address to bind; default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

/** A message the replica accepted through `chat.postMessage`. */
export interface ReplicaMessage {
  /** Channel id. */
  channel: string;
  channelName: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  /** Every argument as received (after decoding), minus `token`. */
  args: Record<string, unknown>;
  /** How the arguments travelled. */
  encoding: 'json' | 'form' | 'multipart' | 'query';
  /** Epoch ms of arrival. */
  at: number;
}

export interface ReplicaRequest {
  httpMethod: string;
  path: string;
  /** The Web API method, e.g. `chat.postMessage`. */
  apiMethod: string;
  contentType: string | null;
  /** Where the token came from. */
  auth: 'header' | 'body' | 'none';
  /** Epoch ms of arrival. */
  at: number;
  /** HTTP status; 0 until the answer is sent (and for good, when the client hung up first). */
  status: number;
  /** The body's `error`, when `ok` was false. */
  error?: string;
  fault?: 'ratelimited' | 'server_error';
}

export interface SlackReplica {
  /** The API base, ending in `/api/`: give it to WebClient as `slackApiUrl`. */
  url: string;
  channels: ReplicaChannel[];
  /** Accepted messages, oldest first (a live array). */
  messages: ReplicaMessage[];
  /** Every request, oldest first (a live array). */
  requests: ReplicaRequest[];
  setFaults(faults: SlackReplicaFaults): void;
  close(): Promise<void>;
}

export const REPLICA_TEAM = { id: 'T0REPLICA01', name: 'dag-replica', url: 'https://dag-replica.slack.com/' };
export const REPLICA_BOT = {
  userId: 'U0REPLICA01',
  user: 'dag-alerts',
  botId: 'B0REPLICA01',
  appId: 'A0REPLICA01',
};
export const SUPPORTED_METHODS = ['auth.test', 'chat.postMessage', 'conversations.list'] as const;

const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
const KNOWN_BLOCKS = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'table',
  'video',
]);

/** A Slack error answered with HTTP 200, the way real Slack does. */
class SlackFailure extends Error {
  constructor(
    readonly code: string,
    readonly extra: Partial<SlackErr> = {},
  ) {
    super(code);
  }
}

interface ParsedArgs {
  args: Record<string, unknown>;
  encoding: ReplicaMessage['encoding'];
  /** A token found in a form/query field (never in JSON, which Slack ignores). */
  bodyToken: string | undefined;
  warnings: string[];
}

export function channelId(name: string): string {
  return `C${createHash('sha1').update(name).digest('hex').slice(0, 10).toUpperCase()}`;
}

function toChannel(input: string | ReplicaChannelInput, index: number): ReplicaChannel {
  const spec = typeof input === 'string' ? { name: input } : input;
  const name = spec.name.replace(/^#/, '');
  return {
    id: spec.id ?? channelId(name),
    name,
    private: spec.private ?? false,
    member: spec.member ?? true,
    archived: spec.archived ?? false,
    created: 1_700_000_000 + index * 86_400,
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseContentType(
  header: string | undefined,
): { type: string; charset: string | undefined } | undefined {
  if (!header) return undefined;
  const [type = '', ...params] = header.split(';').map((part) => part.trim());
  let charset: string | undefined;
  for (const param of params) {
    const [key, value] = param.split('=');
    if (key?.trim().toLowerCase() === 'charset') charset = value?.trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { type: type.toLowerCase(), charset };
}

/** Decodes the arguments the way Slack does: query parameters, then a form, multipart or JSON body on top. */
async function parseArgs(req: IncomingMessage, url: URL, raw: Buffer): Promise<ParsedArgs> {
  const args: Record<string, unknown> = {};
  let bodyToken = url.searchParams.get('token') ?? undefined;
  for (const [key, value] of url.searchParams) if (key !== 'token') args[key] = value;
  const warnings: string[] = [];
  if (raw.length === 0) return { args, encoding: 'query', bodyToken, warnings };

  const contentType = parseContentType(req.headers['content-type']);
  if (!contentType) throw new SlackFailure('missing_post_type');
  const { type, charset } = contentType;
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'iso-8859-1') {
    throw new SlackFailure('invalid_charset');
  }
  const text = raw.toString(charset === 'iso-8859-1' ? 'latin1' : 'utf8');

  if (type === 'application/json') {
    if (charset === undefined) warnings.push('missing_charset');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new SlackFailure('invalid_json');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new SlackFailure('invalid_json');
    // A token inside a JSON body is ignored: JSON calls must authenticate with the header.
    for (const [key, value] of Object.entries(body)) if (key !== 'token') args[key] = value;
    return { args, encoding: 'json', bodyToken, warnings };
  }
  if (type === 'application/x-www-form-urlencoded') {
    if (charset !== undefined) warnings.push('superfluous_charset');
    for (const [key, value] of new URLSearchParams(text)) {
      if (key === 'token') bodyToken = value;
      else args[key] = value;
    }
    return { args, encoding: 'form', bodyToken, warnings };
  }
  if (type === 'multipart/form-data') {
    const headers = { 'content-type': req.headers['content-type'] ?? '' };
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(raw), { headers }).formData();
    } catch {
      throw new SlackFailure('invalid_form_data');
    }
    form.forEach((value, key) => {
      if (typeof value !== 'string') return;
      if (key === 'token') bodyToken = value;
      else args[key] = value;
    });
    return { args, encoding: 'multipart', bodyToken, warnings };
  }
  throw new SlackFailure('invalid_post_type');
}

function stringArg(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : String(value);
}

function boolArg(args: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = args[name];
  if (value === undefined || value === null || value === '') return fallback;
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** Block Kit checks that catch the mistakes an alert formatter makes; Slack's own are stricter. */
function validateBlocks(value: unknown): unknown[] {
  let blocks = value;
  if (typeof blocks === 'string') {
    try {
      blocks = JSON.parse(blocks);
    } catch {
      throw new SlackFailure('invalid_blocks_format');
    }
  }
  if (!Array.isArray(blocks)) throw new SlackFailure('invalid_blocks_format');
  const problems: string[] = [];
  const fail = (index: number, pointer: string, message: string): void => {
    problems.push(`[ERROR] ${message} [json-pointer:/blocks/${index}${pointer}]`);
  };
  if (blocks.length > MAX_BLOCKS)
    problems.push(`[ERROR] no more than ${MAX_BLOCKS} items allowed [json-pointer:/blocks]`);
  for (const [index, block] of blocks.entries()) {
    if (block === null || typeof block !== 'object') {
      fail(index, '', 'must be an object');
      continue;
    }
    const b = block as Record<string, unknown>;
    if (typeof b.type !== 'string' || !KNOWN_BLOCKS.has(b.type)) {
      fail(index, '/type', 'unknown block type');
      continue;
    }
    const text = b.text as { type?: unknown; text?: unknown } | undefined;
    if (b.type === 'header') {
      if (text?.type !== 'plain_text') fail(index, '/text/type', 'must be plain_text');
      if (typeof text?.text !== 'string' || text.text.length === 0 || text.text.length > 150) {
        fail(index, '/text/text', 'must be between 1 and 150 characters');
      }
    }
    if (b.type === 'section') {
      const fields = b.fields as unknown[] | undefined;
      if (text === undefined && fields === undefined) fail(index, '', 'must have text or fields');
      if (text !== undefined) {
        if (text.type !== 'mrkdwn' && text.type !== 'plain_text') {
          fail(index, '/text/type', 'must be mrkdwn or plain_text');
        }
        if (typeof text.text !== 'string' || text.text.length === 0 || text.text.length > 3000) {
          fail(index, '/text/text', 'must be between 1 and 3000 characters');
        }
      }
      if (fields !== undefined && (!Array.isArray(fields) || fields.length > 10)) {
        fail(index, '/fields', 'no more than 10 items allowed');
      }
      if (Array.isArray(fields)) {
        for (const [f, field] of fields.entries()) {
          const t = (field as { text?: unknown } | null)?.text;
          if (typeof t !== 'string' || t.length === 0 || t.length > 2000) {
            fail(index, `/fields/${f}/text`, 'must be between 1 and 2000 characters');
          }
        }
      }
    }
    if (b.type === 'context') {
      const elements = b.elements;
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) {
        fail(index, '/elements', 'must have between 1 and 10 items');
      }
    }
  }
  if (problems.length > 0) {
    throw new SlackFailure('invalid_blocks', { response_metadata: { messages: problems } });
  }
  return blocks;
}

function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64');
}

function decodeCursor(cursor: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString());
  if (!match) throw new SlackFailure('invalid_cursor');
  return Number(match[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts an HTTP server on loopback that answers the Slack Web API methods the alert bot uses
 * (`chat.postMessage`, `auth.test`, `conversations.list`) under `/api/<method>`, with real Slack's
 * auth rules, error codes and rate-limit answers, and switchable faults.
 *
 * @example
 * const replica = await startSlackReplica({ token: 'xoxb-test', faults: { rateLimited: 1 } });
 * const web = new WebClient('xoxb-test', { slackApiUrl: replica.url });
 * await web.chat.postMessage({ channel: '#data-alerts', text: 'hello' });
 * replica.messages[0]?.text; // 'hello'
 * await replica.close();
 */
export async function startSlackReplica(options: SlackReplicaOptions): Promise<SlackReplica> {
  if (!options.token) throw new Error('startSlackReplica: `token` (the bot token to accept) is required.');
  const channels = (options.channels ?? ['data-alerts', 'general']).map(toChannel);
  const messages: ReplicaMessage[] = [];
  const requests: ReplicaRequest[] = [];
  let faults: SlackReplicaFaults = { ...(options.faults ?? {}) };
  let lastMicros = 0;

  const nextTs = (): string => {
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
  };

  const findChannel = (ref: string): ReplicaChannel | undefined => {
    const name = ref.replace(/^#/, '');
    const found = channels.find((c) => c.id === ref || c.name === name);
    // A private channel the bot is not in is invisible to it.
    return found && (!found.private || found.member) ? found : undefined;
  };

  const conversation = (c: ReplicaChannel): SlackConversation => ({
    id: c.id,
    name: c.name,
    is_channel: !c.private,
    is_group: c.private,
    is_im: false,
    is_private: c.private,
    is_archived: c.archived,
    is_member: c.member,
    is_general: c.name === 'general',
    created: c.created,
    creator: REPLICA_BOT.userId,
    name_normalized: c.name,
    num_members: c.member ? 2 : 1,
    topic: { value: '', creator: '', last_set: 0 },
    purpose: { value: '', creator: '', last_set: 0 },
  });

  const postMessage = (parsed: ParsedArgs, at: number): ChatPostMessageOk => {
    const { args } = parsed;
    const ref = stringArg(args, 'channel');
    if (!ref) throw new SlackFailure('channel_not_found');
    const channel = findChannel(ref);
    if (!channel) throw new SlackFailure('channel_not_found');
    if (channel.archived) throw new SlackFailure('is_archived');
    if (!channel.member) throw new SlackFailure('not_in_channel');

    const blocks = args.blocks === undefined || args.blocks === '' ? undefined : validateBlocks(args.blocks);
    const attachments = args.attachments;
    let text = stringArg(args, 'text') ?? '';
    if (!text && !blocks?.length && (attachments === undefined || attachments === '')) {
      throw new SlackFailure('no_text');
    }
    if (text.length > MAX_TEXT) {
      text = text.slice(0, MAX_TEXT);
      parsed.warnings.push('message_truncated');
    }
    const ts = nextTs();
    const threadTs = stringArg(args, 'thread_ts');
    const message: SlackMessage = {
      type: 'message',
      text,
      ts,
      user: REPLICA_BOT.userId,
      bot_id: REPLICA_BOT.botId,
      app_id: REPLICA_BOT.appId,
      team: REPLICA_TEAM.id,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(blocks ? { blocks } : {}),
    };
    messages.push({
      channel: channel.id,
      channelName: channel.name,
      ts,
      text,
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { threadTs } : {}),
      args,
      encoding: parsed.encoding,
      at,
    });
    return { ok: true, channel: channel.id, ts, message };
  };

  const authTest = (): AuthTestOk => ({
    ok: true,
    url: REPLICA_TEAM.url,
    team: REPLICA_TEAM.name,
    user: REPLICA_BOT.user,
    team_id: REPLICA_TEAM.id,
    user_id: REPLICA_BOT.userId,
    bot_id: REPLICA_BOT.botId,
    app_id: REPLICA_BOT.appId,
    is_enterprise_install: false,
  });

  const conversationsList = ({ args }: ParsedArgs): ConversationsListOk => {
    const types = new Set((stringArg(args, 'types') ?? 'public_channel').split(',').map((t) => t.trim()));
    const excludeArchived = boolArg(args, 'exclude_archived', false);
    const limitText = stringArg(args, 'limit');
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) throw new SlackFailure('invalid_limit');
    const cursor = stringArg(args, 'cursor');
    const offset = cursor ? decodeCursor(cursor) : 0;
    const visible = channels.filter(
      (c) =>
        (c.private ? types.has('private_channel') && c.member : types.has('public_channel')) &&
        !(excludeArchived && c.archived),
    );
    const page = visible.slice(offset, offset + Math.min(limit, 1000));
    const end = offset + page.length;
    return {
      ok: true,
      channels: page.map(conversation),
      response_metadata: { next_cursor: end < visible.length ? encodeCursor(end) : '' },
    };
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': typeof body === 'string' ? 'text/html; charset=utf-8' : JSON_TYPE,
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, record: ReplicaRequest): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://replica.invalid');
    const raw = await readBody(req);
    if (!url.pathname.startsWith('/api/')) return send(res, 404, '<html><body>Not Found</body></html>');

    const hit = !faults.methods || faults.methods.includes(record.apiMethod);
    if (hit && faults.delayMs && faults.delayMs > 0) await sleep(faults.delayMs);
    if (hit && faults.rateLimited && faults.rateLimited > 0) {
      faults.rateLimited -= 1;
      record.fault = 'ratelimited';
      record.error = 'ratelimited';
      return send(res, 429, { ok: false, error: 'ratelimited' } satisfies SlackErr, {
        'Retry-After': String(faults.retryAfterSeconds ?? 1),
      });
    }
    if (hit && faults.serverErrors && faults.serverErrors > 0) {
      faults.serverErrors -= 1;
      record.fault = 'server_error';
      const status = faults.serverErrorStatus ?? 503;
      return send(res, status, `<html><body><h1>${status} Service Unavailable</h1></body></html>`);
    }

    let parsed: ParsedArgs | undefined;
    const answer = (body: object) => {
      const warnings = parsed?.warnings ?? [];
      const withWarnings =
        warnings.length > 0
          ? {
              ...body,
              warning: warnings.join(','),
              response_metadata: { warnings, ...(body as SlackErr).response_metadata },
            }
          : body;
      if ('error' in withWarnings && typeof withWarnings.error === 'string')
        record.error = withWarnings.error;
      send(res, 200, withWarnings);
    };

    try {
      if (!(SUPPORTED_METHODS as readonly string[]).includes(record.apiMethod)) {
        throw new SlackFailure('unknown_method');
      }
      parsed = await parseArgs(req, url, raw);
      const header = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      const token = header?.[1] ?? parsed.bodyToken;
      record.auth = header ? 'header' : parsed.bodyToken ? 'body' : 'none';
      if (!token) throw new SlackFailure('not_authed');
      if (token !== options.token) throw new SlackFailure('invalid_auth');

      if (record.apiMethod === 'auth.test') return answer(authTest());
      if (record.apiMethod === 'conversations.list') return answer(conversationsList(parsed));
      return answer(postMessage(parsed, record.at));
    } catch (error) {
      if (!(error instanceof SlackFailure)) throw error;
      return answer({ ok: false, error: error.code, ...error.extra });
    }
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const record: ReplicaRequest = {
      httpMethod: req.method ?? 'GET',
      path,
      apiMethod: path.startsWith('/api/') ? decodeURIComponent(path.slice('/api/'.length)) : '',
      contentType: req.headers['content-type'] ?? null,
      auth: 'none',
      at: Date.now(),
      status: 0,
    };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    handle(req, res, record).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      record.error = 'fatal_error';
      send(res, 200, { ok: false, error: 'fatal_error', detail: String(error) });
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/api/`,
    channels,
    messages,
    requests,
    setFaults(next) {
      faults = { ...next };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
