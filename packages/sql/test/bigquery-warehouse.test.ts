import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BigQueryReplica, startBigQueryReplica } from '@dag/replica-bigquery';
import { BigQueryWarehouse } from '../src/warehouses/bigquery.ts';

const PROJECT = 'dag-test';
const LOCATION = 'asia-northeast3';

/** A well-formed service-account key whose private key is fresh for this run. */
function serviceAccountKey(): { json: string; privateKey: string } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = {
    type: 'service_account',
    project_id: PROJECT,
    private_key_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    private_key: privateKey,
    client_email: `dag-runner@${PROJECT}.iam.gserviceaccount.com`,
    client_id: '100000000000000000001',
    token_uri: 'https://oauth2.googleapis.com/token',
  };
  return { json: JSON.stringify(key), privateKey };
}

/** Lines of the PEM body: a leak of any part of the key shows up as one of them. */
function keyFragments(privateKey: string): string[] {
  return privateKey
    .split('\n')
    .filter((line) => line.length > 20 && !line.startsWith('-----'))
    .concat([JSON.stringify(privateKey).slice(1, 60)]);
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('BigQueryWarehouse against the BigQuery replica', () => {
  let replica: BigQueryReplica;
  let warehouse: BigQueryWarehouse;
  let dir: string;
  let key: { json: string; privateKey: string };

  before(async () => {
    replica = await startBigQueryReplica({ location: 'US', pageSize: 50 });
    dir = await mkdtemp(join(tmpdir(), 'bigquery-warehouse-'));
    key = serviceAccountKey();
    const keyFile = join(dir, 'key.json');
    await writeFile(keyFile, key.json);
    warehouse = new BigQueryWarehouse({
      url: `bigquery://${PROJECT}/analytics?location=${LOCATION}`,
      credentials: keyFile,
      apiEndpoint: replica.url,
      retry: { maxRetries: 4, maxDelayMs: 20 },
    });
    await warehouse.ensureSchema('dim');
  });

  after(async () => {
    await warehouse?.close();
    await replica?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names relations as project.<prefix>_<schema>.name and never shows the key', () => {
    assert.equal(warehouse.kind, 'bigquery');
    assert.equal(warehouse.relation('dim', 'dim_customer'), '`dag-test.analytics_dim.dim_customer`');
    assert.equal(warehouse.quoteIdentifier('order`id'), '`order\\`id`');
    assert.match(warehouse.displayName, /^bigquery:\/\/dag-test\/analytics\?location=asia-northeast3/);
    for (const fragment of keyFragments(key.privateKey)) assert.ok(!warehouse.displayName.includes(fragment));
  });

  it('creates a schema as a dataset in the URL location, and again without error', async () => {
    await warehouse.ensureSchema('fct');
    await warehouse.ensureSchema('fct');
    const response = await fetch(`${replica.url}/bigquery/v2/projects/${PROJECT}/datasets/analytics_fct`);
    assert.equal(response.status, 200);
    const dataset = (await response.json()) as { location: string };
    assert.equal(dataset.location, LOCATION);
    // The emulator path sends no credentials at all.
    assert.ok(replica.requests.every((request) => !request.authorized));
  });

  it('runs statements, reports relation types and columns in GoogleSQL names', async () => {
    const customers = warehouse.relation('dim', 'customers');
    await warehouse.execute(
      `CREATE OR REPLACE TABLE ${customers} AS
       SELECT CAST(id AS INT64) AS id, CONCAT('c', CAST(id AS STRING)) AS name,
              TIMESTAMP_ADD(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL id HOUR) AS created_at,
              CAST(id * 1.5 AS NUMERIC) AS score, id > 2 AS vip
       FROM UNNEST([1, 2, 3, 4]) AS id`,
    );
    await warehouse.execute(
      `CREATE OR REPLACE VIEW ${warehouse.relation('dim', 'vip_customers')} AS SELECT * FROM ${customers} WHERE vip`,
    );
    assert.equal(await warehouse.relationType('dim', 'customers'), 'table');
    assert.equal(await warehouse.relationType('dim', 'vip_customers'), 'view');
    assert.equal(await warehouse.relationType('dim', 'missing'), null);
    assert.equal(await warehouse.relationType('nowhere', 'missing'), null);
    assert.deepEqual(await warehouse.columns('dim', 'customers'), [
      { name: 'id', type: 'INT64' },
      { name: 'name', type: 'STRING' },
      { name: 'created_at', type: 'TIMESTAMP' },
      { name: 'score', type: 'NUMERIC' },
      { name: 'vip', type: 'BOOL' },
    ]);
    assert.deepEqual(await warehouse.columns('dim', 'missing'), []);

    const result = await warehouse.query(
      `SELECT id, name, created_at, score, vip FROM ${customers} ORDER BY id`,
    );
    assert.deepEqual(
      result.columns.map((c) => c.type),
      ['INT64', 'STRING', 'TIMESTAMP', 'NUMERIC', 'BOOL'],
    );
    assert.equal(result.rows.length, 4);
    assert.deepEqual(result.rows[0], {
      id: 1,
      name: 'c1',
      created_at: new Date('2024-01-01T01:00:00Z'),
      score: '1.5',
      vip: false,
    });
  });

  it('reads every page of a large result', async () => {
    const before = replica.requests.filter((r) => r.apiMethod === 'jobs.getQueryResults').length;
    const result = await warehouse.query('SELECT n FROM UNNEST(GENERATE_ARRAY(1, 120)) AS n ORDER BY n');
    assert.equal(result.rows.length, 120);
    assert.deepEqual(result.rows.at(-1), { n: 120 });
    const pages = replica.requests.filter((r) => r.apiMethod === 'jobs.getQueryResults').length - before;
    assert.ok(pages >= 3, `expected 3 pages of 50 rows, saw ${pages} getQueryResults calls`);
  });

  it('reports rows affected by DML, and per statement in a transaction', async () => {
    const orders = warehouse.relation('dim', 'orders');
    await warehouse.execute(
      `CREATE OR REPLACE TABLE ${orders} (id INT64 NOT NULL, status STRING, amount FLOAT64)`,
    );
    const inserted = await warehouse.execute(
      `INSERT INTO ${orders} (id, status, amount) VALUES (1, 'new', 10), (2, 'new', 20), (3, 'paid', 30)`,
    );
    assert.equal(inserted.rowsAffected, 3);
    const results = await warehouse.transaction([
      `DELETE FROM ${orders} WHERE status = 'paid'`,
      `UPDATE ${orders} SET status = 'paid' WHERE id = 1`,
      `MERGE ${orders} T USING (SELECT 2 AS id, 'void' AS status, 0.0 AS amount UNION ALL SELECT 4, 'new', 40.0) S
       ON T.id = S.id
       WHEN MATCHED THEN UPDATE SET status = S.status
       WHEN NOT MATCHED THEN INSERT (id, status, amount) VALUES (S.id, S.status, S.amount)`,
    ]);
    assert.deepEqual(results, [{ rowsAffected: 1 }, { rowsAffected: 1 }, { rowsAffected: 2 }]);
    const rows = await warehouse.query(`SELECT id, status FROM ${orders} ORDER BY id`);
    assert.deepEqual(rows.rows, [
      { id: 1, status: 'paid' },
      { id: 2, status: 'void' },
      { id: 4, status: 'new' },
    ]);
  });

  it('leaves the table as it was when a statement of a transaction fails, naming the statement and line', async () => {
    const ledger = warehouse.relation('dim', 'ledger');
    await warehouse.execute(`CREATE OR REPLACE TABLE ${ledger} AS SELECT 1 AS id, 'kept' AS note`);
    await assert.rejects(
      warehouse.transaction([
        `DELETE FROM ${ledger} WHERE TRUE`,
        `INSERT INTO ${ledger} (id, note)\nSELECT id, no_such_column FROM ${ledger}`,
      ]),
      (error: Error) => {
        assert.match(error.message, /no_such_column/);
        assert.match(error.message, /statement 2 of the transaction/);
        return true;
      },
    );
    const rows = await warehouse.query(`SELECT id, note FROM ${ledger}`);
    assert.deepEqual(rows.rows, [{ id: 1, note: 'kept' }]);
  });

  it('never puts the key into errors', async () => {
    const error = await warehouse.query('SELECT * FROM `dag-test.analytics_dim.nope`').then(
      () => assert.fail('expected the query to fail'),
      (e: Error) => e,
    );
    assert.match(error.message, /Not found/);
    const everything = `${error.message}\n${error.stack}\n${JSON.stringify(error)}`;
    for (const fragment of keyFragments(key.privateKey))
      assert.ok(!everything.includes(fragment), 'key leaked');
    assert.ok(!everything.includes('a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'), 'key id leaked');

    const syntax = await warehouse.execute('SELECT 1 FROMM x').then(
      () => assert.fail('expected a syntax error'),
      (e: Error) => e,
    );
    assert.match(syntax.message, /Syntax error.*at \[1:\d+\].*invalidQuery/);
  });

  it('refuses a key that is neither JSON nor a file, without echoing it', () => {
    const secret = 'private_key: not-json-but-secret-material-123456';
    assert.throws(
      () =>
        new BigQueryWarehouse({ url: 'bigquery://p/x', credentials: `{${secret}`, apiEndpoint: replica.url }),
      (error: Error) => {
        assert.match(error.message, /GCP_SERVICE_ACCOUNT_KEY is not valid JSON/);
        assert.ok(!error.message.includes('secret-material'));
        return true;
      },
    );
    assert.throws(
      () => new BigQueryWarehouse({ url: 'bigquery://p/x', credentials: join(dir, 'missing.json') }),
      /GCP_SERVICE_ACCOUNT_KEY is neither service-account JSON nor a readable file \(ENOENT\)/,
    );
    assert.throws(() => new BigQueryWarehouse({ url: 'bigquery:///x' }), /names no project/);
    assert.throws(
      () => new BigQueryWarehouse({ url: 'bigquery://p/bad-prefix' }),
      /dataset prefix "bad-prefix"/,
    );
  });

  it('reaches the emulator when BIGQUERY_EMULATOR_HOST is set without a scheme', async () => {
    const previous = process.env.BIGQUERY_EMULATOR_HOST;
    const hostPort = replica.url.replace(/^http:\/\//, '');
    process.env.BIGQUERY_EMULATOR_HOST = hostPort;
    try {
      const viaEnv = new BigQueryWarehouse({ url: `bigquery://${PROJECT}/analytics`, apiEndpoint: hostPort });
      assert.deepEqual((await viaEnv.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      await viaEnv.close();
    } finally {
      if (previous === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
      else process.env.BIGQUERY_EMULATOR_HOST = previous;
    }
  });

  it('retries rateLimitExceeded and backendError answers and failed jobs', async () => {
    replica.setFaults({ rateLimited: 2, methods: ['jobs.insert'] });
    assert.deepEqual((await warehouse.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    replica.setFaults({ backendErrors: 2, backendErrorStatus: 503, methods: ['jobs.getQueryResults'] });
    assert.deepEqual((await warehouse.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
    replica.setFaults({ jobBackendErrors: 1 });
    assert.deepEqual((await warehouse.query('SELECT 3 AS three')).rows, [{ three: 3 }]);
    const faults = replica.requests.filter((r) => r.fault);
    assert.equal(faults.filter((r) => r.fault === 'rateLimitExceeded').length, 2);
    assert.equal(faults.filter((r) => r.fault === 'backendError').length, 2);
    replica.setFaults({});
  });

  it('polls a slow job until it completes', async () => {
    replica.setFaults({ slowJobMs: 300, holdMs: 20 });
    const before = replica.requests.length;
    const result = await warehouse.query('SELECT 42 AS answer');
    assert.deepEqual(result.rows, [{ answer: 42 }]);
    const polls = replica.requests.slice(before).filter((r) => r.apiMethod === 'jobs.getQueryResults').length;
    assert.ok(polls >= 2, `expected the client to poll, saw ${polls} getQueryResults calls`);
    replica.setFaults({});
  });

  it('cancels the job when the signal aborts', async () => {
    replica.setFaults({ slowJobMs: 60_000, holdMs: 20 });
    const controller = new AbortController();
    const before = replica.requests.length;
    const running = warehouse.query('SELECT 1 AS slow', { signal: controller.signal });
    await until(
      () => replica.requests.slice(before).some((r) => r.apiMethod === 'jobs.getQueryResults'),
      'the first poll',
    );
    controller.abort();
    await assert.rejects(running, { name: 'AbortError' });
    await until(
      () => replica.requests.slice(before).some((r) => r.apiMethod === 'jobs.cancel'),
      'jobs.cancel',
    );
    replica.setFaults({});
  });
});
