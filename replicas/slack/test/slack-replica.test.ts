import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type AuthTestOk,
  type ChatPostMessageOk,
  type ConversationsListOk,
  channelId,
  REPLICA_BOT,
  type SlackErr,
  type SlackReplica,
  startSlackReplica,
} from '../src/index.ts';

const TOKEN = 'xoxb-1111-2222-replicatesttoken';

type Body = Record<string, unknown>;

interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

async function call<T = Body>(
  replica: SlackReplica,
  method: string,
  init: {
    form?: Record<string, string>;
    json?: unknown;
    token?: string | null;
    contentType?: string;
    raw?: string;
  },
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers.Authorization = `Bearer ${init.token ?? TOKEN}`;
  let body: string | Blob | undefined;
  if (init.form) {
    headers['Content-Type'] = init.contentType ?? 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.json !== undefined) {
    headers['Content-Type'] = init.contentType ?? 'application/json; charset=utf-8';
    body = JSON.stringify(init.json);
  } else if (init.raw !== undefined) {
    if (init.contentType) headers['Content-Type'] = init.contentType;
    // A typeless Blob, not a string: fetch labels a string body text/plain by itself.
    body = new Blob([init.raw]);
  }
  const response = await fetch(`${replica.url}${method}`, { method: 'POST', headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (response.headers.get('content-type')?.startsWith('application/json')
      ? JSON.parse(text)
      : text) as T,
  };
}

describe('Slack replica: chat.postMessage', () => {
  let replica: SlackReplica;
  before(async () => {
    replica = await startSlackReplica({
      token: TOKEN,
      channels: [
        'data-alerts',
        { name: 'general', id: 'C0GENERAL01' },
        { name: 'secret-ops', private: true, member: false },
        { name: 'bot-free', member: false },
        { name: 'old-news', archived: true },
      ],
    });
  });
  after(() => replica.close());

  it('serves the API under /api/ on loopback', () => {
    assert.match(replica.url, /^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });

  it('accepts a form body as @slack/web-api sends it, resolving #name, name and id, and parses blocks', async () => {
    const before = replica.messages.length;
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*실패* 했습니다' } }];
    const byHash = await call<ChatPostMessageOk>(replica, 'chat.postMessage', {
      form: { channel: '#data-alerts', text: '실행 실패: orders_daily', blocks: JSON.stringify(blocks) },
    });
    assert.equal(byHash.status, 200);
    assert.equal(byHash.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(byHash.body.ok, true);
    assert.equal(byHash.body.channel, channelId('data-alerts'));
    assert.match(byHash.body.ts, /^\d{10}\.\d{6}$/);
    assert.equal(byHash.body.message.text, '실행 실패: orders_daily');
    assert.deepEqual(byHash.body.message.blocks, blocks);
    assert.equal(byHash.body.message.bot_id, REPLICA_BOT.botId);
    assert.equal(byHash.body.warning, undefined);

    const byName = await call<ChatPostMessageOk>(replica, 'chat.postMessage', {
      form: { channel: 'general', text: 'two' },
    });
    const byId = await call<ChatPostMessageOk>(replica, 'chat.postMessage', {
      form: { channel: 'C0GENERAL01', text: 'three' },
    });
    assert.equal(byName.body.channel, 'C0GENERAL01');
    assert.equal(byId.body.channel, 'C0GENERAL01');
    assert.ok(byId.body.ts > byName.body.ts, 'ts grows');

    const stored = replica.messages.slice(before);
    assert.deepEqual(
      stored.map((m) => [m.channelName, m.text, m.encoding]),
      [
        ['data-alerts', '실행 실패: orders_daily', 'form'],
        ['general', 'two', 'form'],
        ['general', 'three', 'form'],
      ],
    );
    assert.deepEqual(stored[0]?.blocks, blocks);
    assert.equal(stored[0]?.args.token, undefined);
  });

  it('accepts JSON with the bearer header, warning when the charset is missing', async () => {
    const withCharset = await call<ChatPostMessageOk>(replica, 'chat.postMessage', {
      json: { channel: '#data-alerts', text: 'json', blocks: [{ type: 'divider' }] },
    });
    assert.equal(withCharset.body.ok, true);
    assert.equal(withCharset.body.warning, undefined);
    assert.equal(replica.messages.at(-1)?.encoding, 'json');
    assert.deepEqual(replica.messages.at(-1)?.blocks, [{ type: 'divider' }]);

    const noCharset = await call<ChatPostMessageOk>(replica, 'chat.postMessage', {
      json: { channel: '#data-alerts', text: 'json' },
      contentType: 'application/json',
    });
    assert.equal(noCharset.body.ok, true);
    assert.equal(noCharset.body.warning, 'missing_charset');
    assert.deepEqual(noCharset.body.response_metadata?.warnings, ['missing_charset']);

    const formCharset = await call<ChatPostMessageOk>(replica, 'chat.postMessage', {
      form: { channel: '#data-alerts', text: 'form' },
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
    });
    assert.equal(formCharset.body.ok, true);
    assert.equal(formCharset.body.warning, 'superfluous_charset');
  });

  it('checks the token: not_authed without one, invalid_auth for a wrong one, both with HTTP 200', async () => {
    const count = replica.messages.length;
    const none = await call<SlackErr>(replica, 'chat.postMessage', {
      form: { channel: '#data-alerts', text: 'x' },
      token: null,
    });
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, { ok: false, error: 'not_authed' });

    const wrong = await call<SlackErr>(replica, 'chat.postMessage', {
      form: { channel: '#data-alerts', text: 'x' },
      token: 'xoxb-wrong',
    });
    assert.equal(wrong.status, 200);
    assert.deepEqual(wrong.body, { ok: false, error: 'invalid_auth' });

    // A token inside a JSON body is ignored; JSON calls must use the header.
    const inJson = await call<SlackErr>(replica, 'chat.postMessage', {
      json: { channel: '#data-alerts', text: 'x', token: TOKEN },
      token: null,
    });
    assert.deepEqual(inJson.body, { ok: false, error: 'not_authed' });
    assert.equal(replica.messages.length, count, 'nothing was stored');

    // A token form field is accepted.
    const inForm = await call<ChatPostMessageOk>(replica, 'chat.postMessage', {
      form: { channel: '#data-alerts', text: 'form token', token: TOKEN },
      token: null,
    });
    assert.equal(inForm.body.ok, true);
    assert.equal(replica.requests.at(-1)?.auth, 'body');
    assert.equal(replica.messages.at(-1)?.args.token, undefined);
  });

  it('answers Slack error codes for channels, text and blocks', async () => {
    const count = replica.messages.length;
    const post = async (form: Record<string, string>) =>
      (await call<SlackErr>(replica, 'chat.postMessage', { form })).body;
    assert.deepEqual(await post({ channel: '#nowhere', text: 'x' }), {
      ok: false,
      error: 'channel_not_found',
    });
    assert.deepEqual(await post({ text: 'x' }), { ok: false, error: 'channel_not_found' });
    assert.deepEqual(await post({ channel: '#secret-ops', text: 'x' }), {
      ok: false,
      error: 'channel_not_found',
    });
    assert.deepEqual(await post({ channel: '#bot-free', text: 'x' }), { ok: false, error: 'not_in_channel' });
    assert.deepEqual(await post({ channel: '#old-news', text: 'x' }), { ok: false, error: 'is_archived' });
    assert.deepEqual(await post({ channel: '#data-alerts' }), { ok: false, error: 'no_text' });
    assert.deepEqual(await post({ channel: '#data-alerts', text: 'x', blocks: '[{' }), {
      ok: false,
      error: 'invalid_blocks_format',
    });
    const tooLong = await post({
      channel: '#data-alerts',
      text: 'x',
      blocks: JSON.stringify([{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }]),
    });
    assert.equal(tooLong.error, 'invalid_blocks');
    assert.match(
      tooLong.response_metadata?.messages?.[0] ?? '',
      /150 characters \[json-pointer:\/blocks\/0\/text\/text\]/,
    );
    assert.equal(replica.messages.length, count, 'no failed call stored a message');
  });

  it('rejects unknown methods and malformed requests', async () => {
    assert.deepEqual((await call(replica, 'chat.nothing', { form: { a: '1' } })).body, {
      ok: false,
      error: 'unknown_method',
    });
    assert.deepEqual((await call(replica, 'chat.postMessage', { raw: 'channel=x' })).body, {
      ok: false,
      error: 'missing_post_type',
    });
    assert.deepEqual(
      (await call(replica, 'chat.postMessage', { raw: 'x', contentType: 'text/plain' })).body,
      {
        ok: false,
        error: 'invalid_post_type',
      },
    );
    assert.deepEqual(
      (
        await call(replica, 'chat.postMessage', {
          json: { channel: '#data-alerts', text: 'x' },
          contentType: 'application/json; charset=shift_jis',
        })
      ).body,
      { ok: false, error: 'invalid_charset' },
    );
    const notApi = await fetch(replica.url.replace(/api\/$/, 'elsewhere'));
    assert.equal(notApi.status, 404);
    await notApi.text();
  });

  it('accepts multipart bodies', async () => {
    const form = new FormData();
    form.set('channel', '#data-alerts');
    form.set('text', 'multipart 본문');
    const response = await fetch(`${replica.url}chat.postMessage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: form,
    });
    const body = (await response.json()) as ChatPostMessageOk;
    assert.equal(body.ok, true);
    assert.equal(replica.messages.at(-1)?.text, 'multipart 본문');
    assert.equal(replica.messages.at(-1)?.encoding, 'multipart');
  });
});

describe('Slack replica: auth.test and conversations.list', () => {
  let replica: SlackReplica;
  before(async () => {
    replica = await startSlackReplica({
      token: TOKEN,
      channels: [
        'a',
        'b',
        'c',
        { name: 'closed', archived: true },
        { name: 'team-private', private: true },
        { name: 'hidden', private: true, member: false },
      ],
    });
  });
  after(() => replica.close());

  it('auth.test names the bot and checks the token', async () => {
    const ok = await call<AuthTestOk>(replica, 'auth.test', {});
    assert.equal(ok.body.ok, true);
    assert.equal(ok.body.user_id, REPLICA_BOT.userId);
    assert.equal(ok.body.bot_id, REPLICA_BOT.botId);
    assert.equal(typeof ok.body.team_id, 'string');
    assert.deepEqual((await call(replica, 'auth.test', { token: 'xoxb-bad' })).body, {
      ok: false,
      error: 'invalid_auth',
    });
    assert.deepEqual((await call(replica, 'auth.test', { token: null })).body, {
      ok: false,
      error: 'not_authed',
    });
  });

  it('conversations.list pages with cursors and filters by type and archive state', async () => {
    const names: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const form: Record<string, string> = { limit: '2', types: 'public_channel,private_channel' };
      if (cursor) form.cursor = cursor;
      const { body } = await call<ConversationsListOk>(replica, 'conversations.list', { form });
      assert.equal(body.ok, true);
      assert.ok(body.channels.length <= 2);
      names.push(...body.channels.map((c) => c.name));
      cursor = body.response_metadata.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(names, ['a', 'b', 'c', 'closed', 'team-private']);

    const publicOnly = await call<ConversationsListOk>(replica, 'conversations.list', {
      form: { exclude_archived: 'true' },
    });
    assert.deepEqual(
      publicOnly.body.channels.map((c) => [c.name, c.id, c.is_private, c.is_member]),
      [
        ['a', channelId('a'), false, true],
        ['b', channelId('b'), false, true],
        ['c', channelId('c'), false, true],
      ],
    );
    assert.deepEqual((await call(replica, 'conversations.list', { form: { cursor: 'bad' } })).body, {
      ok: false,
      error: 'invalid_cursor',
    });
  });
});

describe('Slack replica: faults', () => {
  let replica: SlackReplica;
  before(async () => {
    replica = await startSlackReplica({ token: TOKEN, faults: { rateLimited: 2, retryAfterSeconds: 3 } });
  });
  after(() => replica.close());

  const post = (text: string) =>
    call<ChatPostMessageOk | SlackErr>(replica, 'chat.postMessage', {
      form: { channel: '#data-alerts', text },
    });

  it('answers N requests with 429, Retry-After and a ratelimited body, then serves normally', async () => {
    for (let i = 0; i < 2; i++) {
      const limited = await post('limited');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '3');
      assert.equal(limited.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(limited.body, { ok: false, error: 'ratelimited' });
    }
    const ok = await post('through');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ok, true);
    assert.deepEqual(
      replica.messages.map((m) => m.text),
      ['through'],
    );
    assert.deepEqual(
      replica.requests.map((r) => [r.apiMethod, r.status, r.fault ?? null]),
      [
        ['chat.postMessage', 429, 'ratelimited'],
        ['chat.postMessage', 429, 'ratelimited'],
        ['chat.postMessage', 200, null],
      ],
    );
  });

  it('serves 5xx, delays, and scopes faults to methods', async () => {
    replica.setFaults({ serverErrors: 1, serverErrorStatus: 502, methods: ['chat.postMessage'] });
    const auth = await call<AuthTestOk>(replica, 'auth.test', {});
    assert.equal(auth.status, 200, 'auth.test is outside the faulted methods');
    const failed = await post('x');
    assert.equal(failed.status, 502);
    assert.equal((await post('after the 502')).status, 200);

    replica.setFaults({ delayMs: 300 });
    const started = Date.now();
    const slow = await post('slow');
    assert.equal(slow.status, 200);
    assert.ok(Date.now() - started >= 290, `answered after ${Date.now() - started} ms`);
    replica.setFaults({});
  });
});

describe('Slack replica: command line', () => {
  it('prints its URL, serves requests and stops on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, '--token', TOKEN, '--channels', 'ops,data-alerts'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      const url = chunk.toString().trim();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
      const response = await fetch(`${url}chat.postMessage`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ channel: '#ops', text: 'from the cli test' }),
      });
      const body = (await response.json()) as ChatPostMessageOk;
      assert.equal(body.channel, channelId('ops'));
    } finally {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
    }
  });
});
