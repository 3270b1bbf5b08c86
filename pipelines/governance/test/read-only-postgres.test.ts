import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { freshDatabase } from '../../../packages/core/test/support.ts';
import {
  commercePostgres,
  openReadOnlyPostgres,
  type ReadOnlyPostgres,
  ReadOnlyPostgresError,
  wisePostgres,
} from '../src/resources/read-only-postgres.ts';
import { closedPort } from './support/closed-port.ts';

async function refusal(db: ReadOnlyPostgres, sql: string): Promise<ReadOnlyPostgresError> {
  try {
    await db.query(sql);
  } catch (error) {
    assert.ok(error instanceof ReadOnlyPostgresError, `${sql}: ${String(error)}`);
    return error;
  }
  assert.fail(`the server accepted: ${sql}`);
}

describe('read-only PostgreSQL resources (wise_postgres, commerce_postgres)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let admin: pg.Pool;
  let wise: ReadOnlyPostgres;

  const snapshot = async () =>
    (await admin.query('SELECT id, points, reason, deleted_at FROM point_transaction ORDER BY id')).rows;

  before(async () => {
    db = await freshDatabase();
    admin = new pg.Pool({ connectionString: db.url, max: 2 });
    await admin.query(`
      CREATE TABLE point_transaction (
        id bigserial PRIMARY KEY, customer_id bigint NOT NULL, points integer NOT NULL,
        reason text, created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now(),
        deleted_at timestamp);
      INSERT INTO point_transaction (customer_id, points, reason, deleted_at)
        VALUES (1, 100, 'signup', NULL), (2, -30, 'redeem', '2026-01-02 03:04:05');
      CREATE SEQUENCE audit_seq;
      CREATE TABLE audit (n integer);
      CREATE FUNCTION write_audit() RETURNS integer LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO audit VALUES (1); RETURN 1; END $$;`);
    const config = wisePostgres.resolveConfig({}, { WISE_POSTGRES_URL: db.url }) as { url: string };
    wise = await wisePostgres.create({ ...config, statementTimeoutMs: 300 }, { home: '/tmp', runId: 'r' });
  });

  after(async () => {
    await wise?.close();
    await admin?.end();
    await db?.drop();
  });

  it('reads, including a column named deleted_at', async () => {
    const rows = await wise.query<{ id: string; deleted_at: Date | null }>(
      'SELECT id, deleted_at FROM point_transaction WHERE deleted_at IS NOT NULL OR id = $1 ORDER BY id',
      [1],
    );
    assert.deepEqual(
      rows.map((r) => [Number(r.id), r.deleted_at === null]),
      [
        [1, true],
        [2, false],
      ],
    );
  });

  const writes: [string, string][] = [
    ['INSERT', 'INSERT INTO point_transaction (customer_id, points) VALUES (9, 9)'],
    ['UPDATE', 'UPDATE point_transaction SET points = 0'],
    ['DELETE', 'DELETE FROM point_transaction'],
    ['DDL: DROP', 'DROP TABLE point_transaction'],
    ['DDL: CREATE', 'CREATE TABLE x (a int)'],
    ['DDL: ALTER', 'ALTER TABLE point_transaction ADD COLUMN y int'],
    ['DDL: TRUNCATE', 'TRUNCATE point_transaction'],
    [
      'WITH ... DELETE',
      'WITH gone AS (DELETE FROM point_transaction RETURNING id) SELECT count(*) FROM gone',
    ],
    ['nextval', "SELECT nextval('audit_seq')"],
    ['a function that writes', 'SELECT write_audit()'],
    ['COPY ... FROM', 'COPY point_transaction (customer_id, points) FROM STDIN'],
  ];
  for (const [what, sql] of writes) {
    it(`refuses ${what}`, async () => {
      const before = await snapshot();
      const error = await refusal(wise, sql);
      assert.equal(error.reason, 'read_only', error.message);
      assert.match(error.message, /^wise_postgres is read-only/);
      assert.deepEqual(await snapshot(), before);
      assert.equal((await admin.query('SELECT count(*)::int AS n FROM audit')).rows[0].n, 0);
      assert.equal((await admin.query("SELECT to_regclass('x') AS r")).rows[0].r, null);
    });
  }

  it('refuses a second statement smuggled after COMMIT, and a switch to read-write', async () => {
    const before = await snapshot();
    const error = await refusal(wise, 'COMMIT; DELETE FROM point_transaction');
    assert.match(error.message, /multiple commands/);
    await wise.query('SET TRANSACTION READ WRITE').catch(() => {});
    await wise.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE').catch(() => {});
    assert.equal((await refusal(wise, 'DELETE FROM point_transaction')).reason, 'read_only');
    assert.deepEqual(await snapshot(), before);
  });

  it('cuts off a query longer than the statement timeout', async () => {
    const error = await refusal(wise, 'SELECT pg_sleep(30)');
    assert.equal(error.reason, 'timeout');
    assert.match(error.message, /wise_postgres: the query ran longer than its statement timeout \(300 ms\)/);
    assert.match(error.message, /WISE_POSTGRES_STATEMENT_TIMEOUT_MS/);
    // The pool is still usable afterwards.
    assert.equal((await wise.query('SELECT 1 AS one'))[0]?.one, 1);
  });

  it('names the resource when its URL is missing, and when the server is unreachable, without the password', async () => {
    assert.throws(
      () => commercePostgres.resolveConfig({}, {}),
      (error: Error) =>
        /commerce_postgres/.test(error.message) && /COMMERCE_POSTGRES_URL/.test(error.message),
    );
    const port = await closedPort();
    const db2 = openReadOnlyPostgres({
      name: 'commerce_postgres',
      url: `postgresql://reader:Sup3rS3cretPw@127.0.0.1:${port}/commerce`,
      envVar: 'COMMERCE_POSTGRES_URL',
    });
    try {
      const error = await refusal(db2, 'SELECT 1');
      assert.equal(error.reason, 'unreachable');
      assert.match(error.message, /^commerce_postgres: cannot reach postgresql:\/\/reader:\*+@127\.0\.0\.1/);
      assert.match(error.message, /Check COMMERCE_POSTGRES_URL/);
      assert.ok(!error.message.includes('Sup3rS3cretPw'));
      assert.ok(!db2.location.includes('Sup3rS3cretPw'));
    } finally {
      await db2.close();
    }
  });
});
