import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError, describeError, serializeError } from '@dag/core';
import { channelId, REPLICA_BOT, type SlackReplica, startSlackReplica } from '@dag/replica-slack';
import { waitFor } from '../../core/test/support.ts';
import {
  createSlackClient,
  postRunFailure,
  redactingLogger,
  SlackApiError,
  type SlackClient,
  slackResource,
} from '../src/index.ts';
import { captureLogger, failedRun, stepFailureEvents, TOKEN } from './support.ts';

const CONTEXT = { home: '/tmp', runId: 'test-run' };

/** Everything about an error that could reach a log line, a stored event or a terminal. */
function everyRendering(error: unknown): string {
  return [
    String(error),
    describeError(error),
    JSON.stringify(serializeError(error)),
    inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
  ].join('\n');
}

describe('@dag/slack against the Slack replica', () => {
  let replica: SlackReplica;
  before(async () => {
    replica = await startSlackReplica({ token: TOKEN, channels: ['data-alerts', 'ops'] });
  });
  afterEach(() => replica.setFaults({}));
  after(() => replica.close());

  const postsSince = (start: number) =>
    replica.requests.slice(start).filter((r) => r.apiMethod === 'chat.postMessage');

  it('posts a run-failure message with the job, the step, the error lines and a link', async () => {
    const logger = captureLogger();
    const client = createSlackClient({ token: TOKEN, apiUrl: replica.url, logger });
    const start = replica.requests.length;
    const messagesBefore = replica.messages.length;
    const run = failedRun();
    const posted = await postRunFailure(client, {
      run,
      events: stepFailureEvents('load', new Error('적재 실패: 테이블 orders 가 잠겨 있습니다')),
      baseUrl: 'http://dag.internal:3000',
    });

    assert.equal(posted.channel, channelId('data-alerts'), 'the default channel #data-alerts');
    assert.equal(replica.messages.length, messagesBefore + 1, 'exactly one message');
    const message = replica.messages.at(-1)!;
    assert.equal(message.ts, posted.ts);
    assert.equal(message.channelName, 'data-alerts');
    assert.equal(message.encoding, 'form', 'WebClient sends form bodies');
    assert.equal(
      message.text,
      'Run 7f3c2a91 of orders_daily failed in step load: Error: 적재 실패: 테이블 orders 가 잠겨 있습니다',
    );
    const shown = JSON.stringify(message.blocks);
    assert.ok(shown.includes('`orders_daily`'));
    assert.ok(shown.includes('*Failed step*\\n`load`'));
    assert.ok(shown.includes('```Error: 적재 실패: 테이블 orders 가 잠겨 있습니다\\n    at '), shown);
    assert.ok(shown.includes(`<http://dag.internal:3000/#/runs/${run.runId}|Open the run>`));
    assert.deepEqual(
      postsSince(start).map((r) => [r.status, r.auth, r.contentType]),
      [[200, 'header', 'application/x-www-form-urlencoded']],
      'one request, authenticated with the bearer header',
    );
    assert.deepEqual(
      logger.lines.filter((l) => !l.startsWith('debug')),
      [],
    );
  });

  it('stays within Block Kit limits for long names and long Korean errors (the replica checks them)', async () => {
    const client = createSlackClient({ token: TOKEN, apiUrl: replica.url, logger: captureLogger() });
    const error = new Error(
      Array.from({ length: 40 }, (_, i) => `${i + 1}번째 줄: ${'가나다라 🙂 '.repeat(60)}`).join('\n'),
    );
    const posted = await postRunFailure(client, {
      run: failedRun({ jobName: `job_${'x'.repeat(400)}` }),
      events: stepFailureEvents(`step_${'y'.repeat(400)}`, error),
    });
    assert.equal(replica.messages.at(-1)?.ts, posted.ts);
  });

  it('waits out a 429 for Retry-After seconds, retries, and posts exactly one message', async () => {
    const logger = captureLogger();
    const client = createSlackClient({ token: TOKEN, apiUrl: replica.url, logger });
    replica.setFaults({ rateLimited: 1, retryAfterSeconds: 1 });
    const start = replica.requests.length;
    const messagesBefore = replica.messages.length;
    const began = Date.now();

    await client.postMessage('#ops', 'after the rate limit');

    const posts = postsSince(start);
    assert.deepEqual(
      posts.map((r) => [r.status, r.fault ?? null]),
      [
        [429, 'ratelimited'],
        [200, null],
      ],
    );
    const gap = posts[1]!.at - posts[0]!.at;
    assert.ok(gap >= 1000, `the retry came ${gap} ms after the 429; Retry-After said 1 s`);
    assert.ok(gap < 5000, `the retry came ${gap} ms after the 429`);
    assert.equal(replica.messages.length, messagesBefore + 1);
    assert.equal(replica.messages.at(-1)?.text, 'after the rate limit');
    assert.ok(
      logger.lines.some((l) => /info .*rate limiting\. Will retry in 1 seconds/.test(l)),
      logger.lines.join('\n'),
    );
    console.log(`# 429 + Retry-After: 1 -> posted after ${Date.now() - began} ms (retry gap ${gap} ms)`);
  });

  it('gives up with a clear error when Slack keeps answering 429', async () => {
    const client = createSlackClient({
      token: TOKEN,
      apiUrl: replica.url,
      logger: captureLogger(),
      retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 },
    });
    replica.setFaults({ rateLimited: 5, retryAfterSeconds: 0 });
    const start = replica.requests.length;
    const error = await client.postMessage('#ops', 'never').catch((e: unknown) => e);
    assert.ok(error instanceof SlackApiError);
    assert.equal(error.code, 'ratelimited');
    assert.equal(error.retriable, true);
    assert.match(error.message, /still rate limited \(HTTP 429\) after 2 attempts/);
    assert.equal(postsSince(start).length, 2);
  });

  it('retries 5xx answers and times out slow ones', async () => {
    const client = createSlackClient({
      token: TOKEN,
      apiUrl: replica.url,
      logger: captureLogger(),
      // Generous: on a loaded machine a short timeout would cut an ordinary answer.
      timeoutMs: 10_000,
      retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 },
    });
    replica.setFaults({ serverErrors: 2, serverErrorStatus: 503 });
    let start = replica.requests.length;
    const posted = await client.postMessage('#data-alerts', 'after two 503s');
    assert.deepEqual(
      postsSince(start).map((r) => r.status),
      [503, 503, 200],
    );
    assert.equal(replica.messages.at(-1)?.ts, posted.ts);

    // An answer ten times slower than the timeout.
    const impatient = createSlackClient({
      token: TOKEN,
      apiUrl: replica.url,
      logger: captureLogger(),
      timeoutMs: 300,
      retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 },
    });
    replica.setFaults({ delayMs: 3000 });
    start = replica.requests.length;
    const error = await impatient.postMessage('#data-alerts', 'too slow').catch((e: unknown) => e);
    assert.ok(error instanceof SlackApiError);
    assert.equal(error.code, 'request_error');
    assert.match(
      error.message,
      /Could not reach Slack chat\.postMessage at http:\/\/127\.0\.0\.1:\d+\/api\/ after 3 attempts/,
    );
    assert.match(error.message, /Check SLACK_API_URL/);
    assert.equal(postsSince(start).length, 3);
    // A timed-out call may still have posted: Slack (and the replica) finish what they received.
    // That is why the timeout is generous by default; a duplicate alert beats a lost one.
    await waitFor('the three timed-out posts to arrive at the replica', async () =>
      replica.messages.filter((m) => m.text === 'too slow').length >= 3 ? true : undefined,
    );
    assert.equal(replica.messages.filter((m) => m.text === 'too slow').length, 3);
  });

  it('fails on a wrong token with an error naming SLACK_BOT_TOKEN, and the token appears nowhere', async () => {
    const wrong = 'xoxb-1234-5678-WRONGwrongWRONGwrong';
    const logger = captureLogger();
    const client = createSlackClient({ token: wrong, apiUrl: replica.url, logger, logLevel: 'debug' });
    const start = replica.requests.length;
    const error = await client.postMessage('#data-alerts', 'x').catch((e: unknown) => e);

    assert.ok(error instanceof SlackApiError);
    assert.equal(error.code, 'invalid_auth');
    assert.equal(error.retriable, false);
    assert.match(error.message, /Slack rejected the bot token \(invalid_auth\)\. Check SLACK_BOT_TOKEN/);
    assert.equal(postsSince(start).length, 1, 'an auth error is not retried');
    assert.ok(!everyRendering(error).includes(wrong), 'the token is in no rendering of the error');
    assert.ok(!everyRendering(error).includes('WRONGwrong'));
    assert.ok(logger.lines.length > 3, 'debug logging was on, so WebClient logged its requests');
    assert.ok(logger.lines.some((l) => l.includes('http request headers')));
    for (const line of logger.lines) assert.ok(!line.includes('WRONGwrong'), line);
  });

  it('through the resource: SLACK_BOT_TOKEN is secret, a wrong one fails clearly, nothing prints it', async () => {
    const wrong = 'xoxb-4321-8765-resourceWRONGtoken';
    const env = { SLACK_BOT_TOKEN: wrong, SLACK_API_URL: replica.url };
    const described = JSON.stringify(slackResource.describe(env));
    assert.ok(!described.includes(wrong));
    assert.match(described, /"token":\{"value":"\*\*\*","env":"SLACK_BOT_TOKEN","secret":true,"set":true\}/);

    const config = slackResource.resolveConfig({}, env);
    assert.ok(!JSON.stringify(slackResource.describe(env)).includes(wrong));
    const client: SlackClient = await slackResource.create(config, CONTEXT);
    assert.equal(client.channel, '#data-alerts');
    assert.equal(client.apiUrl, replica.url);

    // The resource logs to stderr: capture it for the duration of the call.
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let error: unknown;
    try {
      error = await client.postMessage(client.channel, 'x').catch((e: unknown) => e);
    } finally {
      process.stderr.write = write;
    }
    assert.ok(error instanceof SlackApiError);
    assert.match(error.message, /SLACK_BOT_TOKEN/);
    assert.ok(!everyRendering(error).includes('resourceWRONG'));
    assert.ok(!written.join('').includes('resourceWRONG'));
  });

  it('without a token the resource refuses to configure and names SLACK_BOT_TOKEN; no token sent is not_authed', async () => {
    assert.throws(
      () => slackResource.resolveConfig({}, { SLACK_API_URL: replica.url }),
      (error: unknown) => error instanceof ConfigError && /SLACK_BOT_TOKEN/.test(error.message),
    );
    const client = createSlackClient({ token: '', apiUrl: replica.url, logger: captureLogger() });
    const error = await client.postMessage('#data-alerts', 'x').catch((e: unknown) => e);
    assert.ok(error instanceof SlackApiError);
    assert.equal(error.code, 'not_authed');
    assert.match(error.message, /no bot token was sent \(not_authed\)\. Set SLACK_BOT_TOKEN/);
  });

  it('fails clearly on an unknown channel, without retrying', async () => {
    const client = createSlackClient({ token: TOKEN, apiUrl: replica.url, channel: '#no-such-channel' });
    const start = replica.requests.length;
    const messagesBefore = replica.messages.length;
    const error = await postRunFailure(client, {
      run: failedRun(),
      events: stepFailureEvents('load', new Error('boom')),
    }).catch((e: unknown) => e);
    assert.ok(error instanceof SlackApiError);
    assert.equal(error.code, 'channel_not_found');
    assert.match(
      error.message,
      /channel #no-such-channel was not found \(channel_not_found\)\. Check SLACK_ALERT_CHANNEL/,
    );
    assert.equal(postsSince(start).length, 1);
    assert.equal(replica.messages.length, messagesBefore);
  });

  it('resolves the resource config from the environment and checks the token with auth.test', async () => {
    const config = slackResource.resolveConfig(
      {},
      { SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: replica.url, SLACK_ALERT_CHANNEL: '#ops' },
    );
    const client = await slackResource.create(config, CONTEXT);
    assert.equal(client.channel, '#ops');
    assert.deepEqual(await client.authTest(), {
      team: 'dag-replica',
      teamId: 'T0REPLICA01',
      user: REPLICA_BOT.user,
      userId: REPLICA_BOT.userId,
      botId: REPLICA_BOT.botId,
    });
    const posted = await postRunFailure(client, {
      run: failedRun(),
      events: stepFailureEvents('load', new Error('boom')),
      runUrl: 'http://ui/#/runs/x',
    });
    assert.equal(posted.channel, channelId('ops'));
  });
});

describe('redactingLogger', () => {
  it('masks registered secrets and anything shaped like a Slack token, and honours the level', () => {
    const logger = captureLogger();
    const slack = redactingLogger(logger, 'info');
    slack.debug('hidden at info');
    slack.info('sent', { headers: { Authorization: 'Bearer xoxb-1-2-unregisteredtoken' } });
    slack.warn('app token xapp-1-A0-123456-abcdef');
    slack.setLevel('debug' as Parameters<typeof slack.setLevel>[0]);
    slack.debug('shown now');
    assert.equal(logger.lines.length, 3);
    assert.match(
      logger.lines[0] ?? '',
      /^info web-api: sent \{ headers: \{ Authorization: 'Bearer \*\*\*' \} \}$/,
    );
    assert.equal(logger.lines[1], 'warn web-api: app token ***');
    assert.equal(logger.lines[2], 'debug web-api: shown now');
  });
});
