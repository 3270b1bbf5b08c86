import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BigQuery } from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import { type BigQueryErrorBody, type BigQueryReplica, startBigQueryReplica } from '../src/index.ts';

const PROJECT = 'replica-test';

interface ClientError {
  code?: number;
  message: string;
  errors?: { reason?: string; message?: string }[];
}

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  return promise.then(
    () => assert.fail('expected the call to fail'),
    (error: ClientError) => error,
  );
}

function client(replica: BigQueryReplica, retry = true): BigQuery {
  return new BigQuery({
    projectId: PROJECT,
    apiEndpoint: replica.url,
    authClient: new PassThroughClient(),
    retryOptions: { autoRetry: retry, maxRetries: 3, maxRetryDelay: 0.02 },
  });
}

describe('BigQuery replica through @google-cloud/bigquery', () => {
  let replica: BigQueryReplica;
  let bq: BigQuery;
  let dir: string;

  before(async () => {
    replica = await startBigQueryReplica({ location: 'asia-northeast3' });
    bq = client(replica);
    dir = await mkdtemp(join(tmpdir(), 'bigquery-replica-'));
    await bq.createDataset('shop', { location: 'asia-northeast3' });
  });

  after(async () => {
    await replica?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates, lists, reads and deletes datasets', async () => {
    const [dataset] = await bq.createDataset('scratch', { location: 'EU', description: 'temporary' });
    assert.equal(dataset.metadata.location, 'EU');
    const [datasets] = await bq.getDatasets();
    assert.deepEqual(datasets.map((d) => d.id).sort(), ['scratch', 'shop']);
    const [metadata] = await bq.dataset('scratch').getMetadata();
    assert.equal(metadata.id, `${PROJECT}:scratch`);
    assert.equal(metadata.description, 'temporary');
    const duplicate = await failure(bq.createDataset('scratch'));
    assert.equal(duplicate.code, 409);
    assert.equal(duplicate.errors?.[0]?.reason, 'duplicate');
    await bq.dataset('scratch').delete({ force: true });
    const missing = await failure(bq.dataset('scratch').getMetadata());
    assert.equal(missing.code, 404);
    assert.equal(missing.errors?.[0]?.reason, 'notFound');
    const bad = await failure(bq.createDataset('bad-name'));
    assert.equal(bad.code, 400);
    assert.match(bad.message, /Invalid dataset ID "bad-name"/);
  });

  it('creates tables and views, lists them and reports schemas in the REST type names', async () => {
    const dataset = bq.dataset('shop');
    await dataset.createTable('customers', {
      schema: {
        fields: [
          { name: 'id', type: 'INT64', mode: 'REQUIRED' },
          { name: 'name', type: 'STRING' },
          { name: 'joined', type: 'TIMESTAMP' },
          { name: 'balance', type: 'NUMERIC' },
          { name: 'active', type: 'BOOL' },
          { name: 'tags', type: 'STRING', mode: 'REPEATED' },
          { name: 'address', type: 'RECORD', fields: [{ name: 'city', type: 'STRING' }] },
        ],
      },
    });
    await dataset.createTable('active_customers', { view: 'SELECT id FROM shop.customers WHERE active' });
    const [tables] = await dataset.getTables();
    assert.deepEqual(
      tables.map((t) => [t.id, t.metadata.type]),
      [
        ['active_customers', 'VIEW'],
        ['customers', 'TABLE'],
      ],
    );
    const [metadata] = await dataset.table('customers').getMetadata();
    assert.deepEqual(metadata.schema.fields, [
      { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
      { name: 'name', type: 'STRING', mode: 'NULLABLE' },
      { name: 'joined', type: 'TIMESTAMP', mode: 'NULLABLE' },
      { name: 'balance', type: 'NUMERIC', mode: 'NULLABLE' },
      { name: 'active', type: 'BOOLEAN', mode: 'NULLABLE' },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      {
        name: 'address',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [{ name: 'city', type: 'STRING', mode: 'NULLABLE' }],
      },
    ]);
    assert.equal(metadata.numRows, '0');
    const missing = await failure(dataset.table('nope').getMetadata());
    assert.equal(missing.code, 404);
  });

  it('streams rows with insertAll and lists them back, page by page', async () => {
    const table = bq.dataset('shop').table('customers');
    await table.insert([
      {
        id: 1,
        name: 'Ana',
        joined: '2024-01-02T03:04:05.123456Z',
        balance: '10.50',
        active: true,
        tags: ['a', 'b'],
        address: { city: 'Seoul' },
      },
      {
        id: 2,
        name: 'Bo',
        joined: bq.timestamp('2024-02-01T00:00:00Z'),
        balance: 3,
        active: false,
        tags: [],
        address: null,
      },
      { id: 3, name: 'Cy', joined: null, balance: null, active: true },
    ]);
    const [rows] = await table.getRows({ selectedFields: undefined });
    assert.equal(rows.length, 3);
    const ana = rows.find((r) => r.id === 1) as Record<string, unknown>;
    assert.equal(ana.name, 'Ana');
    assert.match((ana.joined as { value: string }).value, /^2024-01-02T03:04:05\.123456(000)?Z$/);
    assert.equal(String(ana.balance), '10.5');
    assert.deepEqual(ana.tags, ['a', 'b']);
    assert.deepEqual(ana.address, { city: 'Seoul' });

    const [page, next] = await table.getRows({ autoPaginate: false, maxResults: 2 });
    assert.equal(page.length, 2);
    assert.ok(next?.pageToken, 'a second page');
    const [rest] = await table.getRows({ autoPaginate: false, maxResults: 2, pageToken: next.pageToken });
    assert.equal(rest.length, 1);

    // A row with an unknown field fails the whole request; the others are "stopped".
    const error = (await failure(
      table.insert([
        { id: 4, name: 'Di' },
        { id: 5, nickname: 'E' },
      ]),
    )) as unknown as {
      name: string;
      errors: { row: unknown; errors: { reason: string; message: string }[] }[];
    };
    assert.equal(error.name, 'PartialFailureError');
    const reasons = error.errors.map((e) => e.errors[0]?.reason).sort();
    assert.deepEqual(reasons, ['invalid', 'stopped']);
    assert.match(JSON.stringify(error.errors), /no such field: nickname/);
    const [after] = await table.getRows();
    assert.equal(after.length, 3, 'nothing of the failed request was written');
    // A missing REQUIRED field is invalid too.
    const required = await failure(table.insert([{ name: 'No id' }]));
    assert.match(
      JSON.stringify((required as unknown as { errors: unknown }).errors),
      /Missing required field: id/,
    );
  });

  it('answers jobs.query with typed results, DML counts and BigQuery errors', async () => {
    const [rows] = await bq.query({
      query: `SELECT 1 AS i, 2.5 AS f, 'x' AS s, TRUE AS b, DATE '2024-03-04' AS d,
                TIMESTAMP '2024-03-04 05:06:07.5+00' AS ts, NUMERIC '12.345' AS n, JSON '{"k": [1, 2]}' AS j,
                DATETIME '2024-03-04 05:06:07' AS dt, [1, 2] AS arr, @who AS who`,
      params: { who: 'param' },
    });
    const row = rows[0] as Record<string, { value?: string } | unknown>;
    assert.equal(row.i, 1);
    assert.equal(row.f, 2.5);
    assert.equal(row.s, 'x');
    assert.equal(row.b, true);
    assert.equal((row.d as { value: string }).value, '2024-03-04');
    assert.equal((row.ts as { value: string }).value, '2024-03-04T05:06:07.500Z');
    assert.equal(String(row.n), '12.345');
    assert.deepEqual(JSON.parse(row.j as string), { k: [1, 2] });
    assert.equal((row.dt as { value: string }).value, '2024-03-04T05:06:07');
    assert.deepEqual(row.arr, [1, 2]);
    assert.equal(row.who, 'param');

    await bq.query('CREATE TABLE shop.events (id INT64, kind STRING)');
    const [job] = await bq.createQueryJob({
      query: "INSERT shop.events (id, kind) VALUES (1, 'a'), (2, 'b')",
    });
    const [, , response] = (await job.getQueryResults({ autoPaginate: false })) as unknown as [
      unknown,
      unknown,
      { numDmlAffectedRows: string },
    ];
    assert.equal(response.numDmlAffectedRows, '2');
    const [insertMetadata] = await job.getMetadata();
    assert.equal(insertMetadata.statistics.query.statementType, 'INSERT');

    const syntax = await failure(bq.query('SELECT 1\nFROMM x'));
    assert.equal(syntax.code, 400);
    assert.equal(syntax.errors?.[0]?.reason, 'invalidQuery');
    assert.match(syntax.message, /^Syntax error: .* at \[2:\d+\]$/);
    const notFound = await failure(bq.query('SELECT * FROM `replica-test.nodataset.t`'));
    assert.equal(notFound.code, 404);
    assert.match(notFound.message, /Not found: Dataset replica-test:nodataset/);

    // The error body has BigQuery's shape.
    const response2 = await fetch(`${replica.url}/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT * FROM shop.nope', useLegacySql: false }),
    });
    assert.equal(response2.status, 404);
    const body = (await response2.json()) as BigQueryErrorBody;
    assert.equal(body.error.code, 404);
    assert.equal(body.error.status, 'NOT_FOUND');
    assert.equal(body.error.errors[0]?.reason, 'notFound');
    assert.equal(body.error.errors[0]?.domain, 'global');
    assert.equal(
      body.error.message,
      `Not found: Table ${PROJECT}:shop.nope was not found in location asia-northeast3`,
    );
  });

  it('writes query results to a destination table by write disposition', async () => {
    const destination = bq.dataset('shop').table('daily');
    await bq.query({
      query: 'SELECT 1 AS n UNION ALL SELECT 2',
      destination,
      writeDisposition: 'WRITE_TRUNCATE',
    });
    await bq.query({ query: 'SELECT 3 AS n', destination, writeDisposition: 'WRITE_APPEND' });
    let [rows] = await bq.query('SELECT n FROM shop.daily ORDER BY n');
    assert.deepEqual(rows, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    await bq.query({ query: 'SELECT 9 AS n', destination, writeDisposition: 'WRITE_TRUNCATE' });
    [rows] = await bq.query('SELECT n FROM shop.daily');
    assert.deepEqual(rows, [{ n: 9 }]);
    const empty = await failure(
      bq.query({ query: 'SELECT 10 AS n', destination, writeDisposition: 'WRITE_EMPTY' }),
    );
    assert.equal(empty.code, 409);
    const never = await failure(
      bq.query({
        query: 'SELECT 1 AS n',
        destination: bq.dataset('shop').table('absent'),
        createDisposition: 'CREATE_NEVER',
      }),
    );
    assert.equal(never.code, 404);
    // The job's own result is the query's rows, not the whole table.
    const [appended] = await bq.query({
      query: 'SELECT 11 AS n',
      destination,
      writeDisposition: 'WRITE_APPEND',
    });
    assert.deepEqual(appended, [{ n: 11 }]);
  });

  it('pages getQueryResults with maxResults and pageToken', async () => {
    const [job] = await bq.createQueryJob({
      query: 'SELECT n FROM UNNEST(GENERATE_ARRAY(1, 25)) AS n ORDER BY n',
    });
    const [first, next] = (await job.getQueryResults({ autoPaginate: false, maxResults: 10 })) as unknown as [
      { n: number }[],
      { pageToken?: string },
    ];
    assert.deepEqual(
      first.map((r) => r.n),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.ok(next.pageToken);
    const [second, third] = (await job.getQueryResults({
      autoPaginate: false,
      maxResults: 10,
      pageToken: next.pageToken,
    })) as unknown as [{ n: number }[], { pageToken?: string }];
    assert.deepEqual(
      second.map((r) => r.n),
      [11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
    );
    const [last, end] = (await job.getQueryResults({
      autoPaginate: false,
      maxResults: 10,
      pageToken: third.pageToken,
    })) as unknown as [{ n: number }[], { pageToken?: string } | null];
    assert.deepEqual(
      last.map((r) => r.n),
      [21, 22, 23, 24, 25],
    );
    assert.equal(end?.pageToken, undefined);
    const [all] = await job.getQueryResults();
    assert.equal(all.length, 25);
  });

  it('loads newline-delimited JSON by multipart upload', async () => {
    const file = join(dir, 'orders.json');
    await writeFile(
      file,
      [
        { id: 1, amount: 9.5, placed: '2024-05-01T10:00:00Z', note: 'first' },
        { id: 2, amount: 20, placed: '2024-05-02T11:00:00Z', note: null },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    const table = bq.dataset('shop').table('orders');
    const schema = {
      fields: [
        { name: 'id', type: 'INTEGER' },
        { name: 'amount', type: 'FLOAT' },
        { name: 'placed', type: 'TIMESTAMP' },
        { name: 'note', type: 'STRING' },
      ],
    };
    const [job] = await table.load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', schema });
    assert.equal(job.status?.state, 'DONE');
    assert.equal(job.statistics?.load?.outputRows, '2');
    await table.load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON' });
    let [rows] = await bq.query('SELECT count(*) AS c FROM shop.orders');
    assert.deepEqual(rows, [{ c: 4 }]);
    await table.load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition: 'WRITE_TRUNCATE' });
    [rows] = await bq.query('SELECT count(*) AS c, max(placed) AS latest FROM shop.orders');
    assert.equal((rows[0] as { c: number }).c, 2);

    const badFile = join(dir, 'bad.json');
    await writeFile(badFile, '{"id": 3, "colour": "red"}\n');
    const error = await failure(table.load(badFile, { sourceFormat: 'NEWLINE_DELIMITED_JSON' }));
    assert.match(error.message, /No such field: colour/);
    [rows] = await bq.query('SELECT count(*) AS c FROM shop.orders');
    assert.deepEqual(rows, [{ c: 2 }], 'the failed load wrote nothing');
  });

  it('runs scripts as one transaction: commit, rollback on error, child jobs per statement', async () => {
    await bq.query('CREATE OR REPLACE TABLE shop.stock AS SELECT 1 AS sku, 10 AS qty');
    const script = [
      'BEGIN TRANSACTION;',
      'UPDATE shop.stock SET qty = qty - 1 WHERE sku = 1;',
      'INSERT INTO shop.stock (sku, qty) VALUES (2, 5);',
      'COMMIT TRANSACTION;',
    ].join('\n');
    const [job] = await bq.createQueryJob({ query: script });
    await job.getQueryResults();
    const [scriptMetadata] = await job.getMetadata();
    assert.equal(scriptMetadata.statistics?.query?.statementType, 'SCRIPT');
    assert.equal(scriptMetadata.statistics?.numChildJobs, '4');
    const [children] = await bq.getJobs({ parentJobId: job.id });
    const byLine = new Map(
      children.map((child) => [
        child.metadata.statistics.scriptStatistics.stackFrames[0].startLine,
        child.metadata.statistics.query.numDmlAffectedRows,
      ]),
    );
    assert.equal(byLine.get(2), '1');
    assert.equal(byLine.get(3), '1');

    const failing = await failure(
      bq.query(
        [
          'BEGIN TRANSACTION;',
          'DELETE FROM shop.stock WHERE TRUE;',
          'INSERT INTO shop.stock (sku, qty) VALUES (3, CAST("many" AS INT64));',
          'COMMIT TRANSACTION;',
        ].join('\n'),
      ),
    );
    assert.equal(failing.errors?.[0]?.reason, 'invalidQuery');
    assert.match(failing.message, /at \[3:\d+\]/);
    const [rows] = await bq.query('SELECT sku, qty FROM shop.stock ORDER BY sku');
    assert.deepEqual(rows, [
      { sku: 1, qty: 9 },
      { sku: 2, qty: 5 },
    ]);

    const ddl = await failure(
      bq.query('BEGIN TRANSACTION;\nCREATE OR REPLACE TABLE shop.x AS SELECT 1 AS a;\nCOMMIT TRANSACTION;'),
    );
    assert.match(ddl.message, /not supported inside a transaction/);
    const temp = await bq.query(
      'BEGIN TRANSACTION;\nCREATE TEMP TABLE staged AS SELECT 4 AS sku, 1 AS qty;\nINSERT INTO shop.stock SELECT * FROM staged;\nCOMMIT TRANSACTION;\nSELECT count(*) AS c FROM shop.stock',
    );
    assert.deepEqual(temp[0], [{ c: 3 }]);
  });

  it('translates the GoogleSQL that dbt models use', async () => {
    await bq.query(`CREATE OR REPLACE TABLE shop.fact
      PARTITION BY DATE(happened_at) CLUSTER BY id OPTIONS(description = 'facts') AS
      SELECT 1 AS id, TIMESTAMP '2024-06-01 10:30:00+00' AS happened_at, '{"a": {"b": "x"}}' AS payload, 10 AS num, 0 AS den
      UNION ALL SELECT 2, TIMESTAMP '2024-06-02 23:59:00+00', '{"a": {"b": "y"}}', 9, 3`);
    const [rows] = await bq.query(`
      SELECT id,
        TIMESTAMP_ADD(happened_at, INTERVAL 12 HOUR) AS later,
        TIMESTAMP_SUB(happened_at, INTERVAL 1 DAY) AS earlier,
        DATE_TRUNC(DATE(happened_at), MONTH) AS month,
        TIMESTAMP_TRUNC(happened_at, DAY) AS day,
        SAFE_CAST('12' AS INT64) AS good_cast, SAFE_CAST('x' AS INT64) AS bad_cast,
        SAFE_DIVIDE(num, den) AS ratio,
        JSON_VALUE(payload, '$.a.b') AS b,
        DATE_DIFF(DATE '2024-06-10', DATE(happened_at), DAY) AS days_before,
        IFNULL(NULL, 'd') AS fallback,
        CURRENT_TIMESTAMP() > happened_at AS in_past
      FROM \`${PROJECT}.shop.fact\` ORDER BY id`);
    const [one, two] = rows as [Record<string, unknown>, Record<string, unknown>];
    assert.equal((one.later as { value: string }).value, '2024-06-01T22:30:00.000Z');
    assert.equal((one.earlier as { value: string }).value, '2024-05-31T10:30:00.000Z');
    assert.equal((one.month as { value: string }).value, '2024-06-01');
    assert.equal((two.day as { value: string }).value, '2024-06-02T00:00:00.000Z');
    assert.equal(one.good_cast, 12);
    assert.equal(one.bad_cast, null);
    assert.equal(one.ratio, null);
    assert.equal(two.ratio, 3);
    assert.equal(one.b, 'x');
    assert.equal(one.days_before, 9);
    assert.equal(one.fallback, 'd');
    assert.equal(one.in_past, true);

    await bq.query(`MERGE shop.fact T
      USING (SELECT 2 AS id, 100 AS num UNION ALL SELECT 3, 7) S ON T.id = S.id
      WHEN MATCHED THEN UPDATE SET num = S.num
      WHEN NOT MATCHED THEN INSERT (id, num) VALUES (S.id, S.num)`);
    await bq.query('DELETE shop.fact WHERE id = 1');
    await bq.query('INSERT INTO shop.fact (id, num) SELECT id + 10, num FROM shop.fact WHERE id = 3');
    const [after] = await bq.query('SELECT id, num FROM shop.fact ORDER BY id');
    assert.deepEqual(after, [
      { id: 2, num: 100 },
      { id: 3, num: 7 },
      { id: 13, num: 7 },
    ]);
    await bq.query('CREATE OR REPLACE VIEW shop.fact_v AS SELECT * EXCEPT (payload) FROM shop.fact');
    const [viewRows] = await bq.query('SELECT * FROM shop.fact_v WHERE id = 2');
    assert.deepEqual(Object.keys(viewRows[0] as object).sort(), ['den', 'happened_at', 'id', 'num']);
  });

  it("runs dbt-bigquery's incremental statements: temp relation, merge, delete+insert", async () => {
    const table = `\`${PROJECT}\`.\`shop\`.\`inc\``;
    const tmp = `\`${PROJECT}\`.\`shop\`.\`inc__dbt_tmp\``;
    await bq.query(`create or replace table ${table}
      OPTIONS()
      as (
        select 1 as id, 'a' as v union all select 2, 'b'
      );`);
    await bq.query(`create or replace table ${tmp}
      OPTIONS(expiration_timestamp=TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 12 hour))
      as (select 2 as id, 'B' as v union all select 3, 'c');`);
    await bq.query(`merge into ${table} as DBT_INTERNAL_DEST
      using (select * from ${tmp}) as DBT_INTERNAL_SOURCE
      on ((DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id))
      when matched then update set \`id\` = DBT_INTERNAL_SOURCE.\`id\`, \`v\` = DBT_INTERNAL_SOURCE.\`v\`
      when not matched then insert (\`id\`, \`v\`) values (\`id\`, \`v\`)`);
    let [rows] = await bq.query(`select id, v from ${table} order by id`);
    assert.deepEqual(rows, [
      { id: 1, v: 'a' },
      { id: 2, v: 'B' },
      { id: 3, v: 'c' },
    ]);
    await bq.query(`delete from ${table} where (id) in (select distinct id from ${tmp})`);
    await bq.query(`insert into ${table} (\`id\`, \`v\`)
      (
        select \`id\`, upper(\`v\`) from ${tmp}
      )`);
    await bq.query(`drop table if exists ${tmp}`);
    [rows] = await bq.query(
      `select id, v, split('x,y', ',')[offset(1)] as second, [10, 20][ordinal(1)] as first from ${table} order by id`,
    );
    assert.deepEqual(rows, [
      { id: 1, v: 'a', second: 'y', first: 10 },
      { id: 2, v: 'B', second: 'y', first: 10 },
      { id: 3, v: 'C', second: 'y', first: 10 },
    ]);
  });

  it('answers 403 rateLimitExceeded and 5xx backendError, which the client retries', async () => {
    const raw = client(replica, false);
    replica.setFaults({ rateLimited: 1 });
    const limited = await failure(raw.query('SELECT 1'));
    assert.equal(limited.code, 403);
    assert.equal(limited.errors?.[0]?.reason, 'rateLimitExceeded');
    replica.setFaults({ backendErrors: 1, backendErrorStatus: 500 });
    const backend = await failure(raw.query('SELECT 1'));
    assert.equal(backend.code, 500);
    assert.equal(backend.errors?.[0]?.reason, 'backendError');

    replica.setFaults({ rateLimited: 1, backendErrors: 1, methods: ['jobs.query'] });
    const before = replica.requests.length;
    const [rows] = await bq.query('SELECT 7 AS seven');
    assert.deepEqual(rows, [{ seven: 7 }]);
    const seen = replica.requests.slice(before).map((r) => r.fault ?? r.status);
    assert.deepEqual(seen, ['rateLimitExceeded', 'backendError', 200]);
  });

  it('fails the next jobs with a job-level backendError', async () => {
    replica.setFaults({ jobBackendErrors: 1 });
    const [job] = await bq.createQueryJob({ query: 'SELECT 1 AS one' });
    const error = await failure(
      client(replica, false)
        .job(job.id as string)
        .getQueryResults(),
    );
    assert.equal(error.errors?.[0]?.reason, 'backendError');
    const [metadata] = await job.getMetadata();
    assert.equal(metadata.status.errorResult.reason, 'backendError');
    const [rows] = await bq.query('SELECT 1 AS one');
    assert.deepEqual(rows, [{ one: 1 }], 'only the next job fails');
  });

  it('keeps slow jobs incomplete until their delay passes, so the client polls', async () => {
    const admin = await fetch(`${replica.url}/_replica/faults`, {
      method: 'POST',
      body: JSON.stringify({ slowJobMs: 250, holdMs: 20 }),
    });
    assert.deepEqual(await admin.json(), { slowJobMs: 250, holdMs: 20 });
    const before = replica.requests.length;
    const [rows] = await bq.query('SELECT 5 AS five');
    assert.deepEqual(rows, [{ five: 5 }]);
    const calls = replica.requests.slice(before).map((r) => r.apiMethod);
    assert.equal(calls[0], 'jobs.query');
    assert.ok(calls.filter((c) => c === 'jobs.getQueryResults').length >= 2, `polled: ${calls.join(', ')}`);
    replica.setFaults({});
  });

  it('closes at once while a slow job is still pending', { timeout: 30_000 }, async () => {
    const slow = await startBigQueryReplica({ faults: { slowJobMs: 600_000, holdMs: 10 } });
    // A long query keeps the engine busy, so the second job is still queued when close() starts.
    const [busy] = await client(slow).createQueryJob({
      query: 'SELECT count(*) FROM UNNEST(GENERATE_ARRAY(1, 100000)) a, UNNEST(GENERATE_ARRAY(1, 100000)) b',
    });
    const [queued] = await client(slow).createQueryJob({ query: 'SELECT 1 AS one' });
    assert.equal(busy.metadata.status.state, 'RUNNING');
    assert.equal(queued.metadata.status.state, 'RUNNING');
    await slow.close();
    assert.equal(slow.jobs.get(`${PROJECT}:${queued.id}`)?.status.errorResult?.reason, 'stopped');
  });
});
