import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CheckContext } from '@dag/core';
import { type BigQueryReplica, startBigQueryReplica } from '@dag/replica-bigquery';
import { openWarehouse, type Warehouse } from '@dag/sql';
import { tempDir } from '../../../packages/core/test/support.ts';
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY_ID,
  startS3rver,
} from '../../../packages/object-store/test/start-s3rver.ts';
import { srcCustomerRequiredColumns } from '../src/checks/required-columns.ts';
import { gcs } from '../src/resources/gcs.ts';
import { legacyBigquery } from '../src/resources/legacy-bigquery.ts';
import { replaceRows, timestampText, upsertRows } from '../src/sources/load.ts';
import {
  BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY,
  SRC_CUSTOMER,
  SRC_POINT_TRANSACTION,
} from '../src/sources/raw-tables.ts';

const CTX = { home: '/tmp', runId: 'test' };

describe('raw loading, the required-columns checks, gcs and legacy_bigquery', () => {
  let dir: string;
  let wh: Warehouse;

  before(async () => {
    dir = await tempDir('governance-load-');
    wh = await openWarehouse(`duckdb://${path.join(dir, 'w.duckdb')}`);
  });

  after(async () => {
    await wh?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const points = async () =>
    (await wh.query('SELECT id, points, reason FROM raw.src_point_transaction ORDER BY id')).rows.map((r) => [
      Number(r.id),
      r.points,
      r.reason,
    ]);

  it('upserts by id, skips and reports malformed rows, and is idempotent', async () => {
    const rows = [
      { id: 1, customer_id: 7, points: 100, reason: "it's a 'quote'", created_at: '2026-12-01 00:00:00' },
      { id: 2, customer_id: 7, points: 'lots', reason: 'malformed' },
      { customer_id: 7, points: 5, reason: 'no id' },
      { id: 3, customer_id: 8, points: 9_999_999_999, reason: 'out of range' },
      { id: 4, customer_id: 8, points: -20, reason: 'first' },
      { id: 4, customer_id: 8, points: -25, reason: 'the later page wins' },
    ];
    const first = await upsertRows(wh, SRC_POINT_TRANSACTION, rows);
    assert.equal(first.upserted, 2);
    assert.deepEqual(
      first.skipped.map((s) => [s.key, s.reason]),
      [
        ['2', 'points: not an integer: "lots"'],
        [null, 'no id'],
        ['3', 'points: out of range for a 32-bit integer: 9999999999'],
      ],
    );
    const expected = [
      [1, 100, "it's a 'quote'"],
      [4, -25, 'the later page wins'],
    ];
    assert.deepEqual(await points(), expected);
    await upsertRows(wh, SRC_POINT_TRANSACTION, rows);
    assert.deepEqual(await points(), expected);
  });

  it('reads timestamps without a zone as UTC, and RFC 2822 dates as BigCommerce v2 sends them', () => {
    assert.equal(timestampText('2026-12-01T09:00'), '2026-12-01 09:00:00.000');
    assert.equal(timestampText('2026-12-01 09:00:00.25'), '2026-12-01 09:00:00.250');
    assert.equal(timestampText('2026-12-01T09:00:00+09:00'), '2026-12-01 00:00:00.000');
    assert.equal(timestampText('Wed, 10 Jan 2018 21:05:30 +0000'), '2018-01-10 21:05:30.000');
    assert.throws(() => timestampText('yesterday'), /not a timestamp: "yesterday"/);
  });

  it('replaceRows keeps only the new snapshot', async () => {
    const row = (variant: number) => ({ product_id: 1, variant_id: variant, price: '10', sale_price: '8' });
    await replaceRows(wh, BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY, [row(1), row(2)]);
    await replaceRows(wh, BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY, [row(2), row(3)]);
    const { rows } = await wh.query(
      'SELECT variant_id FROM raw.bigcommerce_onsale_product_inventory ORDER BY variant_id',
    );
    assert.deepEqual(
      rows.map((r) => Number(r.variant_id)),
      [2, 3],
    );
  });

  it('src_customer_required_columns fails on a missing or blank email, naming the rows', async () => {
    const check = (await srcCustomerRequiredColumns.fn({
      resources: { warehouse: wh },
    } as unknown as CheckContext<Record<string, unknown>>)) as { passed: boolean; description?: string };
    // The table does not exist yet.
    assert.equal(check.passed, false);
    await upsertRows(wh, SRC_CUSTOMER, [
      { id: 1, email: 'a@example.com' },
      { id: 2, email: 'b@example.com' },
    ]);
    const run = async () =>
      (await srcCustomerRequiredColumns.fn({
        resources: { warehouse: wh },
      } as unknown as CheckContext<Record<string, unknown>>)) as { passed: boolean; description?: string };
    assert.equal((await run()).passed, true);
    await upsertRows(wh, SRC_CUSTOMER, [
      { id: 3, email: null },
      { id: 4, email: '  ' },
    ]);
    const failed = await run();
    assert.equal(failed.passed, false);
    assert.equal(failed.description, 'missing values in src_customer: email (2 rows); ids 3, 4');
  });

  describe('gcs on an S3-protocol server', () => {
    let s3: RunningS3rver;
    before(async () => {
      s3 = await startS3rver(['wisely-exports']);
    });
    after(async () => {
      await s3?.close();
    });

    it('reads and writes the bucket through the XML (S3) API, and names the missing variables', async () => {
      const config = gcs.resolveConfig(
        {},
        {
          GCS_BUCKET: 'wisely-exports',
          GCS_HMAC_ACCESS_ID: S3RVER_ACCESS_KEY_ID,
          GCS_HMAC_SECRET: 'gcs-hmac-secret-value',
          GCS_ENDPOINT: s3.endpoint,
        },
      );
      const bucket = await gcs.create(config, CTX);
      await bucket.store.put('exports/customers.csv', Buffer.from('id,email\n1,a@example.com\n'));
      const keys: string[] = [];
      for await (const o of bucket.store.list('exports/')) keys.push(o.key);
      assert.deepEqual(keys, ['exports/customers.csv']);
      assert.equal(
        (await bucket.store.get('exports/customers.csv')).toString().split('\n')[1],
        '1,a@example.com',
      );
      assert.ok(!bucket.location.includes('gcs-hmac-secret-value'));
      assert.throws(
        () => gcs.resolveConfig({}, { GCS_BUCKET: 'wisely-exports' }),
        (e: Error) => /gcs/.test(e.message) && /GCS_HMAC_ACCESS_ID/.test(e.message),
      );
    });
  });

  describe('legacy_bigquery on the BigQuery replica', () => {
    let replica: BigQueryReplica;
    before(async () => {
      replica = await startBigQueryReplica({ location: 'asia-northeast3' });
    });
    after(async () => {
      await replica?.close();
    });

    it('opens the second project with LEGACY_GCP_SERVICE_ACCOUNT_KEY and never shows the key', async () => {
      const { privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const key = JSON.stringify({
        type: 'service_account',
        project_id: 'wisely-legacy',
        private_key_id: 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed',
        private_key: privateKey,
        client_email: 'legacy-reader@wisely-legacy.iam.gserviceaccount.com',
        token_uri: 'https://oauth2.googleapis.com/token',
      });
      const env = {
        LEGACY_BIGQUERY_URL: 'bigquery://wisely-legacy/legacy?location=asia-northeast3',
        LEGACY_GCP_SERVICE_ACCOUNT_KEY: key,
        BIGQUERY_EMULATOR_HOST: replica.url,
      };
      const legacy = await legacyBigquery.create(legacyBigquery.resolveConfig({}, env), CTX);
      try {
        assert.equal(legacy.kind, 'bigquery');
        assert.equal(legacy.relation('raw', 'orders'), '`wisely-legacy.legacy_raw.orders`');
        const { rows } = await legacy.query('SELECT 1 + 1 AS two');
        assert.equal(Number(rows[0]?.two), 2);
        assert.ok(!legacy.displayName.includes('PRIVATE KEY'));
        assert.ok(!legacy.displayName.includes('f00dfeed'));
      } finally {
        await legacy.close();
      }
      assert.throws(
        () => legacyBigquery.resolveConfig({}, { LEGACY_BIGQUERY_URL: env.LEGACY_BIGQUERY_URL }),
        (e: Error) => /legacy_bigquery/.test(e.message) && /LEGACY_GCP_SERVICE_ACCOUNT_KEY/.test(e.message),
      );
    });
  });
});
