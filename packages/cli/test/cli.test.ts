import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../core/test/support.ts';
import { cliInstance, dag } from './run-dag.ts';

const fixture = (name: string) => path.join(import.meta.dirname, 'fixtures', `${name}.ts`);

describe('dag CLI against an external instance URL', () => {
  const setup = cliInstance('dag-cli-');

  test('list and deps, human and JSON', async () => {
    const list = await dag(['-f', fixture('good'), 'list', '--json'], setup.env);
    assert.equal(list.code, 0, list.stderr);
    const assets = (JSON.parse(list.stdout) as { assets: { key: string; group: string }[] }).assets;
    assert.deepEqual(
      assets.map((a) => a.key),
      ['raw', 'lonely', 'slowpoke', 'broken', 'clean', 'report'],
    );
    const grouped = await dag(['-f', fixture('good'), 'list', '--group', 'demo'], setup.env);
    assert.match(grouped.stdout, /^ASSET\s+GROUP/);
    assert.match(grouped.stdout, /clean\s+demo\s+raw/);
    assert.doesNotMatch(grouped.stdout, /lonely/);
    const deps = await dag(['-f', fixture('good'), 'deps', 'clean', '--json'], setup.env);
    assert.deepEqual(JSON.parse(deps.stdout), {
      asset: 'clean',
      parents: ['raw'],
      children: ['report'],
      upstream: ['raw'],
      downstream: ['report'],
    });
    const tree = await dag(['-f', fixture('good'), 'deps', 'report'], setup.env);
    assert.match(tree.stdout, /Upstream of report \(2\):\n\s+└─ clean\n\s+└─ raw/);
  });

  test('materialize --json prints one result; runs and logs show it', async () => {
    const run = await dag(['-f', fixture('good'), 'materialize', '--select', '+report', '--json'], setup.env);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as {
      runId: string;
      status: string;
      steps: { key: string; status: string; durationMs: number; metadata: Record<string, unknown> }[];
    };
    assert.equal(result.status, 'SUCCESS');
    assert.deepEqual(
      result.steps.map((s) => [s.key, s.status]),
      [
        ['raw', 'success'],
        ['clean', 'success'],
        ['report', 'success'],
      ],
    );
    assert.deepEqual(result.steps[1]?.metadata.n, { type: 'int', value: 3 });
    const runs = await dag(['runs', '--json', '--limit', '5'], setup.env);
    const listed = JSON.parse(runs.stdout) as { runs: { runId: string; status: string }[] };
    assert.equal(listed.runs[0]?.runId, result.runId);
    const logs = await dag(['logs', result.runId], setup.env);
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /RUN_START/);
    assert.match(logs.stdout, /raw loading raw/);
    assert.match(logs.stdout, /RUN_SUCCESS/);
    const follow = await dag(['logs', result.runId, '--follow', '--json'], setup.env);
    assert.equal(follow.stdout.trim().split('\n').length, logs.stdout.trim().split('\n').length);
  });

  test('human output shows steps live, progress and a summary table', async () => {
    const run = await dag(['-f', fixture('good'), 'job', 'execute', '-j', 'demo_job'], setup.env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /▶ raw started/);
    assert.match(run.stderr, /✔ clean succeeded/);
    assert.match(run.stderr, /report \[█+░*\] \d+% \(\d\/4\)/);
    assert.match(run.stderr, /STEP\s+STATUS\s+ATTEMPTS\s+DURATION/);
    assert.match(run.stderr, /Run [0-9a-f-]{36} SUCCESS/);
  });

  test('a failed run exits 1', async () => {
    const run = await dag(['-f', fixture('good'), 'job', 'execute', '-j', 'broken_job', '--json'], setup.env);
    assert.equal(run.code, 1);
    const result = JSON.parse(run.stdout) as { status: string; steps: { error: string }[] };
    assert.equal(result.status, 'FAILURE');
    assert.match(result.steps[0]!.error, /Error in asset 'broken'.*broken on purpose/);
    const failed = await dag(['runs', '--status', 'FAILURE', '--json'], setup.env);
    assert.equal((JSON.parse(failed.stdout) as { runs: unknown[] }).runs.length, 1);
  });

  test('config from a YAML file; wrong type or unknown step is exit 2 and writes nothing', async () => {
    const good = path.join(setup.home, 'good.yaml');
    await writeFile(good, 'ops:\n  clean:\n    config:\n      factor: 3\n');
    const ok = await dag(
      ['-f', fixture('good'), 'materialize', '-s', 'raw or clean', '-c', good, '--json'],
      setup.env,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const before = JSON.parse((await dag(['runs', '--json', '-n', '100'], setup.env)).stdout) as {
      runs: unknown[];
    };
    const bad = path.join(setup.home, 'bad.yaml');
    await writeFile(bad, 'ops:\n  clean:\n    config:\n      factor: three\n');
    const wrong = await dag(['-f', fixture('good'), 'materialize', '-s', 'clean', '-c', bad], setup.env);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /Invalid config for asset 'clean': field 'factor'/);
    const stray = path.join(setup.home, 'stray.json');
    await writeFile(stray, JSON.stringify({ ops: { nope: { config: {} } } }));
    const unknown = await dag(['-f', fixture('good'), 'materialize', '-s', 'clean', '-c', stray], setup.env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /config for 'nope', which is not a step of this run/);
    const afterRuns = JSON.parse((await dag(['runs', '--json', '-n', '100'], setup.env)).stdout) as {
      runs: unknown[];
    };
    assert.equal(afterRuns.runs.length, before.runs.length, 'a rejected run must not be stored');
  });

  const usageErrors: [string, string[], RegExp][] = [
    [
      'a cycle',
      ['-f', fixture('cycle'), 'list'],
      /Dependency cycle between assets: (a -> b -> a|b -> a -> b)/,
    ],
    ['a duplicate key', ['-f', fixture('duplicate'), 'list'], /Duplicate asset key 'a'/],
    ['an unknown dep', ['-f', fixture('unknown-dep'), 'list'], /depends on unknown asset 'missing_upstream'/],
    [
      'a file that throws',
      ['-f', fixture('throws'), 'list'],
      /threw while loading: Error: cannot reach the config service/,
    ],
    ['a file without Definitions', ['-f', fixture('no-default'), 'list'], /has no Definitions/],
    ['a missing file', ['-f', 'nope/definitions.ts', 'list'], /Definitions file not found/],
    [
      'an invalid selection',
      ['-f', fixture('good'), 'materialize', '-s', 'group:demo and'],
      /Invalid selection at position 14/,
    ],
    [
      'an unknown asset',
      ['-f', fixture('good'), 'materialize', '-s', 'claen'],
      /Unknown asset 'claen'.*Did you mean 'clean'/,
    ],
    [
      'a wildcard that matches no asset',
      ['-f', fixture('good'), 'materialize', '-s', 'zzz*'],
      /Selection 'zzz\*' matches no assets/,
    ],
    ['an unknown asset for deps', ['-f', fixture('good'), 'deps', 'rew'], /Unknown asset 'rew'/],
    [
      'an unknown job',
      ['-f', fixture('good'), 'job', 'execute', '-j', 'demo_jb'],
      /Unknown job 'demo_jb'.*Did you mean 'demo_job'/,
    ],
    ['an unknown run', ['logs', '00000000-0000-0000-0000-000000000000'], /Unknown run/],
    ['an unknown flag', ['list', '--bogus'], /unknown option '--bogus'/],
    ['a bad limit', ['runs', '--limit', 'x'], /--limit must be a positive integer/],
  ];
  for (const [what, args, message] of usageErrors) {
    test(`${what} is a clear error with exit code 2`, async () => {
      const result = await dag(args, setup.env);
      assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stderr, message);
    });
  }

  test('an unreachable DAG_POSTGRES_URL is exit 2, with the password masked', async () => {
    const result = await dag(['-f', fixture('good'), 'materialize', '-s', 'raw'], {
      DAG_POSTGRES_URL: 'postgresql://dag:s3cr3t-pw-value@127.0.0.1:1/dag',
    });
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /Cannot connect to the PostgreSQL instance at postgresql:\/\/dag:\*\*\*@127\.0\.0\.1:1\/dag \(DAG_POSTGRES_URL\)/,
    );
    assert.doesNotMatch(result.stdout + result.stderr, /s3cr3t-pw-value/);
  });

  test("what user code prints in the CLI's process is redacted", async () => {
    const token = 'tok-51d2c8e0a7f94b3c';
    for (const args of [
      ['materialize', '-s', 'leaky'],
      ['materialize', '-s', 'leaky', '--json'],
    ]) {
      const result = await dag(['-f', fixture('prints-secret'), ...args], {
        ...setup.env,
        LEAKY_API_TOKEN: token,
      });
      assert.equal(result.code, 0, result.stderr);
      const output = result.stdout + result.stderr;
      assert.doesNotMatch(output, new RegExp(token));
      assert.match(output, /token is \*\*\*/);
      assert.match(output, /again: \*\*\*/);
    }
  });

  test('execute-run executes a run stored by another process', async () => {
    const { DagInstance, submitRun } = await import('@dag/core');
    const { default: defs } = await import('./fixtures/good.ts');
    const instance = await DagInstance.open({ home: setup.home, postgresUrl: setup.env.DAG_POSTGRES_URL! });
    let runId: string;
    try {
      runId = (await submitRun(instance, defs, { selection: 'raw', location: 'good' })).runId;
    } finally {
      await instance.close();
    }
    const result = await dag(['-f', fixture('good'), 'execute-run', runId, '--json'], setup.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { runId: string; status: string }).status, 'SUCCESS');
    const again = await dag(['-f', fixture('good'), 'execute-run', runId], setup.env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /only a NOT_STARTED, QUEUED or STARTING run can be executed/);
  });

  test('schedules: list, preview with zone offsets, start and stop', async () => {
    const f = ['-f', fixture('automation')];
    const preview = await dag(
      [...f, 'schedule', 'preview', 'seoul_nightly', '--count', '3', '--json'],
      setup.env,
    );
    assert.equal(preview.code, 0, preview.stderr);
    const ticks = (JSON.parse(preview.stdout) as { ticks: string[] }).ticks;
    assert.equal(ticks.length, 3);
    for (const tick of ticks) assert.match(tick, /^\d{4}-\d{2}-\d{2}T02:00:00\+09:00$/);
    assert.ok(Date.parse(ticks[0]!) > Date.now());
    const list = JSON.parse((await dag([...f, 'schedule', 'list', '--json'], setup.env)).stdout) as {
      schedules: { name: string; status: string }[];
    };
    assert.equal(list.schedules[0]?.status, 'STOPPED');
    assert.equal((await dag([...f, 'schedule', 'start', 'seoul_nightly'], setup.env)).code, 0);
    const started = JSON.parse(
      (await dag([...f, 'schedule', 'list', '--json'], setup.env)).stdout,
    ) as typeof list;
    assert.equal(started.schedules[0]?.status, 'RUNNING');
    await dag([...f, 'schedule', 'stop', 'seoul_nightly'], setup.env);
    const unknown = await dag([...f, 'schedule', 'preview', 'nope'], setup.env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown schedule 'nope'/);
  });

  test('sensors: tick queues a run once per run key, leaves the sensor stopped; a failed tick exits 1', async () => {
    const f = ['-f', fixture('automation')];
    const tick = await dag([...f, 'sensor', 'tick', 'always_one', '--json'], setup.env);
    assert.equal(tick.code, 0, tick.stderr);
    const first = JSON.parse(tick.stdout) as {
      status: string;
      runsRequested: string[];
      cursor: string;
    };
    assert.equal(first.status, 'SUCCESS');
    // The tick stored a cursor; the sensor's on/off state is still its default (stopped).
    const states = JSON.parse((await dag([...f, 'sensor', 'list', '--json'], setup.env)).stdout) as {
      sensors: { name: string; status: string; cursor: string | null }[];
    };
    assert.deepEqual(
      states.sensors.filter((s) => s.name === 'always_one').map((s) => [s.status, s.cursor]),
      [['STOPPED', '1']],
    );
    const broken = await dag([...f, 'sensor', 'tick', 'broken_sensor', '--json'], setup.env);
    assert.equal(broken.code, 1, broken.stderr);
    const failed = JSON.parse(broken.stdout) as { status: string; error: string };
    assert.equal(failed.status, 'FAILURE');
    assert.match(failed.error, /the bucket listing failed/);
    const human = await dag([...f, 'sensor', 'tick', 'broken_sensor'], setup.env);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /broken_sensor: FAILURE/);
    assert.equal(first.runsRequested.length, 1);
    const second = JSON.parse(
      (await dag([...f, 'sensor', 'tick', 'always_one', '--json'], setup.env)).stdout,
    ) as typeof first;
    assert.equal(second.runsRequested.length, 0, 'the same run key is never requested twice');
    assert.equal(second.cursor, '2');
    const list = JSON.parse((await dag([...f, 'sensor', 'list', '--json'], setup.env)).stdout) as {
      sensors: { name: string; lastTick: { status: string } | null }[];
    };
    assert.equal(list.sensors[0]?.name, 'always_one');
    assert.ok(list.sensors[0]?.lastTick);
    const runs = JSON.parse((await dag(['runs', '--job', 'target_job', '--json'], setup.env)).stdout) as {
      runs: { status: string }[];
    };
    assert.deepEqual(
      runs.runs.map((r) => r.status),
      ['QUEUED'],
    );
  });

  test('a failed blocking ERROR check fails the run: exit 1, the check named in its error', async () => {
    const run = await dag(['-f', fixture('blocking-check'), 'materialize', '-s', '*', '--json'], setup.env);
    assert.equal(run.code, 1, run.stderr);
    const result = JSON.parse(run.stdout) as {
      status: string;
      error: string;
      steps: { key: string; status: string }[];
    };
    assert.equal(result.status, 'FAILURE');
    assert.match(result.error, /orders \(blocking check 'orders_not_empty' failed\)/);
    assert.deepEqual(
      result.steps.map((s) => [s.key, s.status]),
      [
        ['orders', 'failure'],
        ['orders_report', 'skipped'],
      ],
    );
  });

  test('--json: stdout is only the JSON; what user code prints goes to stderr and the run log', async () => {
    const f = ['-f', fixture('prints')];
    const commands = [
      ['list', '--json'],
      ['deps', 'chatty', '--json'],
      ['materialize', '-s', 'chatty', '--json'],
      ['job', 'execute', '-j', 'chatty_job', '--json'],
      ['sensor', 'tick', 'chatty_sensor', '--json'],
    ];
    const results = await Promise.all(commands.map((args) => dag([...f, ...args], setup.env)));
    for (const [i, r] of results.entries()) {
      const what = commands[i]!.join(' ');
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      assert.doesNotThrow(() => JSON.parse(r.stdout), `${what} printed more than JSON: ${r.stdout}`);
      assert.match(r.stderr, /loading the definitions file/, what);
    }
    const [, , materialized, executed, ticked] = results;
    assert.match(materialized!.stderr, /hello from chatty/);
    assert.match(executed!.stderr, /hello from chatty/);
    assert.match(ticked!.stderr, /the sensor looked/);
    const runId = (JSON.parse(materialized!.stdout) as { runId: string }).runId;
    const logs = (await dag(['logs', runId, '--json'], setup.env)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; stepKey: string; level: string; message: string });
    assert.deepEqual(
      logs.filter((e) => e.type === 'LOG').map((e) => [e.stepKey, e.level, e.message]),
      [
        ['chatty', 'info', 'hello from chatty'],
        ['chatty', 'warn', 'a warning from chatty'],
      ],
    );
  });

  test('dev loop: .env is loaded, list shows owners, runs filter by tag, run reexecute --from-failure', async () => {
    const dir = await tempDir('dag-dotenv-');
    const token = 'tok-dotenv-5e1f0c77';
    await writeFile(
      path.join(dir, '.env'),
      `# loaded like dagster dev does\nDEVLOOP_GREETING="from dotenv # not a comment"\nDEVLOOP_PRESET=from-file\nDEVLOOP_API_TOKEN=${token}\n`,
    );
    const f = ['-f', fixture('devloop')];
    const local = { ...setup.env, DEVLOOP_PRESET: 'from-env' };
    try {
      const [list, first] = await Promise.all([
        dag([...f, 'list', '--json'], local, dir),
        dag([...f, 'materialize', '-s', '*', '--tag', 'team=devloop', '--json'], local, dir),
      ]);
      const assets = (JSON.parse(list.stdout) as { assets: { key: string; owners: string[] }[] }).assets;
      assert.deepEqual(assets.find((a) => a.key === 'greet')?.owners, ['data@example.com']);
      assert.equal(first.code, 1, first.stderr);
      const parent = JSON.parse(first.stdout) as { runId: string; steps: { key: string; status: string }[] };
      assert.deepEqual(
        parent.steps.map((s) => [s.key, s.status]),
        [
          ['greet', 'success'],
          ['flaky', 'failure'],
        ],
      );
      const logs = await dag(['logs', parent.runId, '--json'], local, dir);
      assert.match(logs.stdout, /greeting=from dotenv # not a comment preset=from-env token=\*\*\*/);
      assert.ok(!logs.stdout.includes(token) && !first.stderr.includes(token), 'the .env secret leaked');

      const again = await dag(
        [...f, 'run', 'reexecute', parent.runId, '--from-failure', '--json'],
        { ...local, DEVLOOP_FLAKY_OK: '1' },
        dir,
      );
      assert.equal(again.code, 0, again.stderr);
      const child = JSON.parse(again.stdout) as { runId: string; status: string; steps: { key: string }[] };
      assert.equal(child.status, 'SUCCESS');
      assert.deepEqual(
        child.steps.map((s) => s.key),
        ['flaky'],
      );
      const tagged = JSON.parse(
        (await dag(['runs', '--tag', 'team=devloop', '--json'], local, dir)).stdout,
      ) as {
        runs: { runId: string; parentRunId: string | null }[];
      };
      assert.deepEqual(
        tagged.runs.map((r) => [r.runId, r.parentRunId]),
        [
          [child.runId, parent.runId],
          [parent.runId, null],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('instance info, migrate and purge', async () => {
    const info = await dag(['instance', 'info', '--json'], setup.env);
    assert.equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { storage: string; schemaVersion: number; url: string };
    assert.equal(parsed.storage, 'postgres');
    assert.ok(parsed.schemaVersion >= 1);
    assert.doesNotMatch(info.stdout, new RegExp(new URL(setup.env.DAG_POSTGRES_URL!).password));
    const migrate = await dag(['instance', 'migrate'], setup.env);
    assert.match(migrate.stdout, /Schema is up to date/);
    const purge = await dag(['instance', 'purge', '--older-than', '0'], setup.env);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /Deleted \d+ events? older than 0 days/);
  });
});

describe('dag CLI on an embedded instance', () => {
  test('two processes materializing different assets at once both succeed and both runs are stored', async () => {
    const home = await tempDir('dag-embedded-');
    const env = { DAG_HOME: home, DAG_POSTGRES_URL: '' };
    try {
      const [one, two] = await Promise.all([
        dag(['-f', fixture('good'), 'materialize', '-s', 'lonely', '--json'], env),
        dag(['-f', fixture('good'), 'materialize', '-s', 'slowpoke', '--json'], env),
      ]);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(two.code, 0, two.stderr);
      const runs = JSON.parse((await dag(['runs', '--json'], env)).stdout) as {
        runs: { runId: string; status: string }[];
      };
      assert.deepEqual(
        runs.runs.map((r) => r.runId).sort(),
        [JSON.parse(one.stdout).runId, JSON.parse(two.stdout).runId].sort(),
      );
      assert.ok(runs.runs.every((r) => r.status === 'SUCCESS'));
      const info = JSON.parse((await dag(['instance', 'info', '--json'], env)).stdout) as { storage: string };
      assert.equal(info.storage, 'embedded-postgres');
    } finally {
      const stop = await dag(['instance', 'stop'], env);
      assert.match(stop.stdout, /Stopped the embedded PostgreSQL/);
      await rm(home, { recursive: true, force: true });
    }
  });
});
