/**
 * Secrets never leave, in any form, through any output: the CLI (text and --json), `dag logs`,
 * stored rows (events, metadata keys and values, runs), a run process's log file, every API
 * route and its event stream, the UI's HTML and bundle, and the Slack alert (against the
 * Slack replica). The secret is read by an asset that does not declare the resource binding
 * it, holds `"`, `\`, `#`, `/`, `?`, a newline and Korean text, and is printed in two halves.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  connectionPasswords,
  DagInstance,
  maskConnectionString,
  REDACTED,
  redact,
  redactDeep,
  registerSecret,
  Workspace,
} from '@dag/core';
import { startSlackReplica } from '@dag/replica-slack';
import { createSlackClient, postRunFailure } from '@dag/slack';
import pg from 'pg';
import { freshDatabase, tempDir } from '../../core/test/support.ts';
import { createApp } from '../src/create-app.ts';
import { RunLauncher } from '../src/run-launcher.ts';
import { call, readSse } from './support.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'packages/cli/bin/dag.js');
const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'secrets-defs.ts');

const SECRET = 'p"w\\d#/x?y=1&z 한국어비밀\n둘째줄-9f3a';
const SLACK_TOKEN = 'xoxb-4004-5005-secretsuitetoken';

/** Every form the secret may take in output, and distinctive pieces of it. */
function formsOf(secret: string): string[] {
  const basic = Buffer.from(`user:${secret}`).toString('base64');
  const json = JSON.stringify(secret).slice(1, -1);
  return [
    secret,
    json,
    JSON.stringify(json).slice(1, -1),
    encodeURIComponent(secret),
    Buffer.from(secret).toString('base64'),
    basic.slice(8, -4),
    ...secret.split('\n'),
    '한국어비밀',
    '둘째줄-9f3a',
  ];
}

function assertClean(label: string, text: string, forms: string[]): void {
  for (const form of forms) {
    const at = text.indexOf(form);
    assert.ok(
      at < 0,
      `${label} leaks ${JSON.stringify(form)}: …${text.slice(Math.max(0, at - 80), at + 80)}…`,
    );
  }
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function dag(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('redaction matches a secret in every shape', () => {
  test('escaped, encoded and base64 forms, and metadata keys', () => {
    const secret = 'q"uo\\te#/?&한글-unit-77';
    registerSecret(secret);
    const basic = Buffer.from(`alice:${secret}`).toString('base64');
    const text = [
      secret,
      JSON.stringify({ secret }),
      JSON.stringify(JSON.stringify({ secret })),
      `https://h/?k=${encodeURIComponent(secret)}`,
      `a=${encodeURIComponent(secret).replace(/%20/g, '+')}`,
      `Authorization: Basic ${basic}`,
      Buffer.from(secret).toString('base64url'),
    ].join('\n');
    assertClean(
      'redact()',
      redact(text),
      formsOf(secret).filter((f) => f !== 'alice'),
    );
    assert.ok(!redact(`Basic ${basic}`).includes(basic.slice(8, -4)));
    const deep = redactDeep({ [`k ${secret}`]: { v: secret } });
    assert.deepEqual(deep, { [`k ${REDACTED}`]: { v: REDACTED } });
  });

  test('connection strings are masked in every form', () => {
    const cases: [string, string][] = [
      ['postgresql://u:pa%23ss@db:5432/x', 'pa%23ss'],
      ['postgresql://u@db:5432/x?sslmode=require&password=qp-secret-1', 'qp-secret-1'],
      ['postgres://u:pa#ss/w?rd-77@db:5432/x', 'pa#ss/w?rd-77'],
      ['postgres://u:a@b@db/x', 'a@b'],
      ["host=db user=u password='dsn pass\\'88' dbname=x", "dsn pass\\'88"],
      ['host=db password=dsnpass-99 dbname=x', 'dsnpass-99'],
    ];
    for (const [url, password] of cases) {
      const shown = maskConnectionString(url);
      assert.ok(!shown.includes(password), `${url} shown as ${shown}`);
      assert.ok(shown.includes(REDACTED), shown);
      assert.match(shown, /db/, `the host stays visible: ${shown}`);
      assert.ok(connectionPasswords(url).includes(password.replace("\\'", "'").replace('%23', '#')), url);
    }
    // A URL that parses without a password has none: nothing of it becomes a secret.
    assert.deepEqual(connectionPasswords('https://registry.example:8080/a/@scope/b'), []);
  });
});

describe('a secret read behind the resource’s back leaks through no output', () => {
  let dbUrl: string;
  let queryUrl: string;
  let dbPassword: string;
  let home: string;
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let forms: string[];
  const outputs: [string, string][] = [];

  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    dbUrl = db.url;
    const parsed = new URL(dbUrl);
    dbPassword = decodeURIComponent(parsed.password);
    // The instance URL with its password as a query parameter, as libpq allows.
    parsed.password = '';
    parsed.searchParams.set('password', dbPassword);
    queryUrl = parsed.toString();
    home = await tempDir('dag-secrets-');
    env = { DAG_POSTGRES_URL: queryUrl, DAG_HOME: home, SECRETS_SUITE_KEY: SECRET };
    forms = [...formsOf(SECRET), dbPassword, encodeURIComponent(dbPassword), SLACK_TOKEN];
  });
  after(async () => {
    await drop();
    await rm(home, { recursive: true, force: true });
  });

  test('the CLI: materialize, runs, logs and instance info, as text and as JSON', async () => {
    const json = await dag(['-f', FIXTURE, 'materialize', '-s', 'sneaky', '--json'], env);
    outputs.push(['materialize --json', json.stdout + json.stderr]);
    assert.notEqual(json.code, 0, 'the run fails (its asset throws)');
    // User code's own prints come before the JSON result.
    const runId = json.stdout.match(/"runId":\s*"([^"]+)"/)?.[1] ?? '';
    assert.ok(runId, json.stdout);
    const text = await dag(['-f', FIXTURE, 'materialize', '-s', 'sneaky'], env);
    outputs.push(['materialize', text.stdout + text.stderr]);
    assert.match(text.stdout + text.stderr, /the key is \*\*\*/);
    for (const args of [
      ['runs', '--json'],
      ['runs'],
      ['logs', runId],
      ['logs', runId, '--json'],
      ['instance', 'info'],
      ['instance', 'info', '--json'],
    ]) {
      const result = await dag(['-f', FIXTURE, ...args], env);
      assert.equal(result.code, 0, `dag ${args.join(' ')}: ${result.stderr}`);
      outputs.push([`dag ${args.join(' ')}`, result.stdout + result.stderr]);
    }
    const info = outputs.find(([label]) => label === 'dag instance info --json')![1];
    assert.match(info, /password=\*\*\*/, info);
    // A connection error on a password with unencoded special characters.
    const failed = await dag(['-f', FIXTURE, 'instance', 'info'], {
      ...env,
      DAG_POSTGRES_URL: 'postgres://u:pa#ss/w?rd-77@127.0.0.1:1/db',
    });
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /Cannot connect/);
    assertClean('a connection error', failed.stdout + failed.stderr, ['pa#ss/w?rd-77', 'ss/w?rd-77']);
    for (const [label, output] of outputs) assertClean(label, output, forms);
  });

  test('dag dev: a run process, its log file, every API route, the event stream, the UI', async () => {
    process.env.SECRETS_SUITE_KEY = SECRET;
    const instance = await DagInstance.open({ home, postgresUrl: queryUrl });
    const workspace = await Workspace.load({ file: FIXTURE });
    const launcher = new RunLauncher({ instance, workspace, graceMs: 3000, treePollMs: 200 });
    try {
      const app = createApp({ workspace, instance, launcher, streamPollMs: 50 });
      const launched = await call<{ runId: string }>(app, '/api/runs', { json: { selection: 'sneaky' } });
      assert.equal(launched.status, 201, launched.text);
      const { runId } = launched.body;
      const stream = await app.request(`http://localhost/api/runs/${runId}/events/stream`);
      let sse = '';
      for await (const m of readSse(stream)) sse += `${m.event} ${m.data}\n`;
      outputs.push(['event stream', sse]);
      await launcher.waitFor(runId);
      assert.match(sse, /the key is \*\*\*/);

      const log = await readFile(launcher.logFile(runId), 'utf8');
      outputs.push(['run log file', log]);
      // The two halves, redacted as one (lines of the other stream may come between them).
      assert.match(log, /\*\*\* \(end of split\)/, log);

      // Every GET route of the router, with its parameters filled in.
      const routes = app.routes.filter(
        (r) => r.method === 'GET' && r.path.startsWith('/api/') && r.path !== '/api/*',
      );
      for (const route of routes) {
        if (route.path.endsWith('/stream')) continue;
        const url = route.path.replace(':id', runId).replace(':key', 'sneaky').replace(':name', 'x');
        const res = await call(
          app,
          url === '/api/files' ? `/api/files?path=${encodeURIComponent(home)}` : url,
        );
        assert.ok(res.status < 500, `${url}: ${res.status} ${res.text.slice(0, 200)}`);
        outputs.push([`GET ${url}`, res.text]);
      }
      const run = await call<{ run: { status: string } }>(app, `/api/runs/${runId}`);
      assert.equal(run.body.run.status, 'FAILURE');

      // The UI's page and every file it loads.
      const page = await app.request('http://localhost/');
      const html = await page.text();
      outputs.push(['UI /', html]);
      for (const asset of html.matchAll(/(?:src|href)="(\/[^"]+)"/g)) {
        const res = await app.request(`http://localhost${asset[1]}`);
        outputs.push([`UI ${asset[1]}`, await res.text()]);
      }

      // Stored rows: every table of the instance, as text.
      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      try {
        const { rows: tables } = await client.query<{ t: string }>(
          "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'",
        );
        for (const { t } of tables) {
          const { rows } = await client.query<{ r: string }>(
            `SELECT row_to_json(x)::text AS r FROM "${t}" x`,
          );
          outputs.push([`table ${t}`, rows.map((r) => r.r).join('\n')]);
        }
      } finally {
        await client.end();
      }
      const stored = outputs
        .filter(([l]) => l.startsWith('table '))
        .map(([, t]) => t)
        .join('\n');
      assert.match(stored, /key \*\*\*/, 'the metadata key was stored, redacted');

      // The Slack alert for the failed run, posted to the Slack replica.
      const replica = await startSlackReplica({ token: SLACK_TOKEN });
      try {
        const slack = createSlackClient({ token: SLACK_TOKEN, apiUrl: replica.url });
        const failed = (await instance.storage.getRun(runId))!;
        await postRunFailure(slack, { run: failed, events: await instance.storage.getEvents(runId) });
        assert.equal(replica.messages.length, 1);
        outputs.push(['Slack alert', JSON.stringify(replica.messages)]);
        assert.match(JSON.stringify(replica.messages), /bad key \*\*\*/);
      } finally {
        await replica.close();
      }
    } finally {
      await launcher.close();
      await instance.close();
    }
    for (const [label, output] of outputs) assertClean(label, output, forms);
  });
});
