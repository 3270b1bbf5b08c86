/**
 * Hostile input to every API route, over a real socket: malformed values known to have
 * crashed handlers, then seeded random ones. Every answer must be 2xx or 4xx, never 5xx, and
 * the server's memory must stay bounded.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Workspace } from '@dag/core';
import { prng } from '../../../bench/ui/graph-data.ts';
import { freshInstance, type TestInstance } from '../../core/test/support.ts';
import { type RunningServer, startServer } from '../src/start-server.ts';

const FUZZ_DEFS = path.join(import.meta.dirname, 'fixtures', 'fuzz-defs.ts');

interface Answer {
  status: number;
  text: string;
}

/** A raw HTTP request: the path goes on the wire as given (no normalization by a client). */
function send(
  port: number,
  method: string,
  rawPath: string,
  options: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(options.body));
    }
    const req = httpRequest({ host: '127.0.0.1', port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Streams up to `total` bytes without a Content-Length; resolves with the answer and the bytes sent. */
function sendStreaming(port: number, rawPath: string, total: number): Promise<Answer & { sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: rawPath,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), sent });
        });
      },
    );
    req.on('error', (error) => {
      // The server may close the connection after answering while we are still writing.
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

const PIECES = [
  '\0',
  '%00',
  '%',
  '%ZZ',
  '%ED%A0%80',
  '%FF',
  '..',
  '/',
  '\\',
  '(',
  ')',
  '+',
  '*',
  ':',
  '"',
  "'",
  '=',
  '&',
  '#',
  '?',
  ' ',
  '\n',
  '\r',
  '\t',
  'é',
  '한국어',
  '😀',
  '\uD800',
  'null',
  '-1',
  '1e400',
  'NaN',
  '99999999999999999999',
  '0',
  'source',
  'group:',
  'tag:',
  'not',
  'and',
  'or',
  '<script>',
  '$' + '{x}',
  'A'.repeat(300),
];

function randomText(rand: () => number): string {
  let out = '';
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    out +=
      rand() < 0.5
        ? PIECES[Math.floor(rand() * PIECES.length)]
        : String.fromCharCode(Math.floor(rand() * 0x3000));
  }
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Encodes text for a URL; the raw `%XX` escape pieces stay raw, so the server decodes them. */
function urlPart(text: string): string {
  return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD')).replace(/%25([0-9A-F]{2})/g, '%$1');
}

function randomJson(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth > 3 || r < 0.3) return randomText(rand);
  if (r < 0.4) return Math.floor(rand() * 2 ** 60) * (rand() < 0.5 ? -1 : 1);
  if (r < 0.5) return rand() < 0.5 ? null : rand() < 0.5;
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomJson(rand, depth + 1));
  const out: Record<string, unknown> = {};
  const keys = ['job', 'selection', 'runConfig', 'tags', 'location', 'fromFailure', randomText(rand)];
  for (let i = Math.floor(rand() * 4); i > 0; i--) {
    out[keys[Math.floor(rand() * keys.length)]!] = randomJson(rand, depth + 1);
  }
  return out;
}

describe('the HTTP API under hostile input', () => {
  let test_: TestInstance;
  let server: RunningServer;
  let routes: { method: string; path: string }[];
  let runId: string;
  const answers: { what: string; status: number; text: string }[] = [];
  const record = (what: string, answer: Answer) => {
    answers.push({ what, status: answer.status, text: answer.text.slice(0, 300) });
    return answer;
  };
  const fill = (route: string, value: string) => route.replace(/:[a-zA-Z]+/g, value);

  before(async () => {
    test_ = await freshInstance();
    const workspace = await Workspace.load({ file: FUZZ_DEFS });
    server = await startServer({ workspace, instance: test_.instance, port: 0, streamPollMs: 50 });
    // Every API route of the router, so a new route is fuzzed without editing this test.
    routes = server.app.routes
      .filter((r) => r.path.startsWith('/api/') && r.path !== '/api/*' && r.method !== 'ALL')
      .map((r) => ({ method: r.method, path: r.path }));
    const launched = await send(server.port, 'POST', '/api/runs', {
      body: JSON.stringify({ job: 'fuzz_job' }),
    });
    assert.equal(launched.status, 201, launched.text);
    runId = (JSON.parse(launched.text) as { runId: string }).runId;
  });
  after(async () => {
    await server.close();
    await test_.cleanup();
  });

  test('the router has the routes this test fuzzes', () => {
    assert.ok(routes.length >= 15, `only ${routes.length} API routes found: ${JSON.stringify(routes)}`);
    assert.ok(routes.some((r) => r.method === 'POST' && r.path === '/api/runs'));
  });

  test('the known-bad inputs are refused with 400, naming what is wrong', async () => {
    const port = server.port;
    const bad: [string, Answer][] = [
      ['NUL in run id', await send(port, 'GET', '/api/runs/a%00b')],
      ['NUL in run id (events)', await send(port, 'GET', '/api/runs/a%00b/events')],
      ['NUL in job filter', await send(port, 'GET', '/api/runs?job=a%00b')],
      ['NUL in tag filter', await send(port, 'GET', '/api/runs?tag=a%00=b')],
      ['NUL in check', await send(port, 'GET', '/api/assets/sink/checks?check=a%00b')],
      ['cursor Postgres cannot read', await send(port, 'GET', '/api/runs?cursor=MXx4')],
      [
        'Last-Event-ID beyond a bigint',
        await send(port, 'GET', `/api/runs/${runId}/events/stream`, {
          headers: { 'Last-Event-ID': '99999999999999999999' },
        }),
      ],
      ['5,000 open parentheses', await send(port, 'GET', `/api/graph?selection=${'('.repeat(5000)}`)],
      [
        '5,000 open parentheses in a launch',
        await send(port, 'POST', '/api/runs', { body: JSON.stringify({ selection: '('.repeat(5000) }) }),
      ],
      [
        '100,000 nots',
        await send(port, 'POST', '/api/runs', {
          body: JSON.stringify({ selection: 'not '.repeat(100_000) }),
        }),
      ],
      [
        '50,000 ors',
        await send(port, 'POST', '/api/runs', {
          body: JSON.stringify({ selection: Array(50_000).fill('source').join(',') }),
        }),
      ],
      [
        'run config nested 200,000 deep',
        await send(port, 'POST', '/api/runs', {
          body: `{"job":"fuzz_job","runConfig":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
        }),
      ],
      [
        'NUL in a tag',
        await send(port, 'POST', '/api/runs', {
          body: JSON.stringify({ job: 'fuzz_job', tags: { t: 'a\0b' } }),
        }),
      ],
      [
        'NUL in a tag key',
        await send(port, 'POST', '/api/runs', {
          body: JSON.stringify({ job: 'fuzz_job', tags: { 'a\0': 'b' } }),
        }),
      ],
      [
        'NUL in run config',
        await send(port, 'POST', '/api/runs', {
          body: JSON.stringify({ job: 'fuzz_job', runConfig: { ops: { source: { config: { x: '\0' } } } } }),
        }),
      ],
      ['NUL in a job', await send(port, 'POST', '/api/runs', { body: JSON.stringify({ job: 'fuzz\0job' }) })],
    ];
    const wrong: string[] = [];
    for (const [what, answer] of bad) {
      record(what, answer);
      const message =
        answer.status === 400
          ? (JSON.parse(answer.text) as { error: { message: string } }).error.message
          : '';
      if (answer.status !== 400 || message.length < 10)
        wrong.push(`${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    assert.deepEqual(wrong, [], `${wrong.length} of ${bad.length} were not a 400 with a message`);
  });

  test('a body over the limit is refused with 413 before it is read whole, and memory stays bounded', async () => {
    const before = process.memoryUsage().rss;
    const declared = await send(server.port, 'POST', '/api/runs', {
      body: `{"job":"fuzz_job","tags":{"t":"${'x'.repeat(2 * 1024 * 1024)}"}}`,
    });
    assert.equal(declared.status, 413, declared.text.slice(0, 300));
    assert.match(declared.text, /DAG_API_MAX_BODY_BYTES/);
    // 300 MB without a Content-Length: the server must answer once it passes the cap.
    const streamed = await sendStreaming(server.port, '/api/runs', 300 * 1024 * 1024);
    assert.equal(streamed.status, 413, streamed.text.slice(0, 300));
    assert.ok(streamed.sent < 100 * 1024 * 1024, `the client sent ${streamed.sent} bytes before an answer`);
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 150 * 1024 * 1024, `memory grew by ${Math.round(grown / 1048576)} MB`);
  });

  test('every route answers seeded random input with 2xx or 4xx, never 5xx', async () => {
    const rand = prng(20261202);
    const before = process.memoryUsage().rss;
    const port = server.port;
    const cases = 400;
    for (let i = 0; i < cases; i++) {
      const route = routes[i % routes.length]!;
      const param = urlPart(randomText(rand));
      const query = [
        'limit',
        'after',
        'before',
        'offset',
        'cursor',
        'status',
        'job',
        'tag',
        'check',
        'selection',
        'location',
        'path',
      ]
        .filter(() => rand() < 0.3)
        .map((q) => `${q}=${urlPart(randomText(rand))}`)
        .join('&');
      const rawPath = `${fill(route.path, param || 'x')}${query ? `?${query}` : ''}`;
      const headers: Record<string, string> = {};
      if (rand() < 0.3) headers['Last-Event-ID'] = randomText(rand).replace(/[^\x20-\x7e]/g, '');
      const body =
        route.method === 'POST'
          ? rand() < 0.2
            ? randomText(rand)
            : JSON.stringify(randomJson(rand))
          : undefined;
      let answer: Answer;
      try {
        answer = await send(port, route.method, rawPath, {
          headers,
          ...(body !== undefined ? { body } : {}),
        });
      } catch (error) {
        // The client refused to send it (an invalid character in a header): not the server's doing.
        if ((error as NodeJS.ErrnoException).code === 'ERR_INVALID_CHAR') continue;
        throw error;
      }
      record(`${route.method} ${rawPath} ${body ?? ''}`.slice(0, 500), answer);
    }
    const failures = answers.filter((a) => a.status >= 500 || a.status < 200);
    assert.deepEqual(failures, [], `${failures.length} answers were 5xx`);
    assert.ok(answers.length >= cases * 0.9, `only ${answers.length} requests answered`);
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 150 * 1024 * 1024, `memory grew by ${Math.round(grown / 1048576)} MB`);
  });
});
