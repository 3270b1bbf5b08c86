import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { freshDatabase, tempDir } from '../../../packages/core/test/support.ts';
import { recordLogoHistory } from '../src/lib/logo-history.ts';
import { normalizeBrandName } from '../src/lib/normalize-brand-name.ts';
import { dsDuckDb } from '../src/resources/ds-duckdb.ts';
import { dsFiles } from '../src/resources/ds-files.ts';
import { dsPostgres } from '../src/resources/ds-postgres.ts';
import { dsR2Source } from '../src/resources/ds-r2-source.ts';
import { dsR2Target } from '../src/resources/ds-r2-target.ts';
import { readHistory } from './support/ds-fixture.ts';

const context = { home: '/nonexistent-home', runId: 'test-run' };

describe('bucket resources in local-directory mode', () => {
  it('create the bucket folder, give file:// public URLs by default and DS_PUBLIC_URL when set', async () => {
    const dir = await tempDir('ds-res-');
    try {
      const env = { DS_LOCAL_BUCKETS_DIR: dir };
      const target = await dsR2Target.create(dsR2Target.resolveConfig({}, env), context);
      assert.equal(target.mode, 'local');
      assert.equal(target.bucket, 'ds-logos-tgt');
      assert.equal(target.localDir, path.join(dir, 'ds-logos-tgt'));
      await target.store.headBucket();
      assert.equal(
        target.publicUrl('a b/로고.png'),
        `file://${dir}/ds-logos-tgt/a%20b/%EB%A1%9C%EA%B3%A0.png`,
      );
      const published = await dsR2Target.create(
        dsR2Target.resolveConfig(
          {},
          { ...env, DS_PUBLIC_URL: 'http://localhost/ds-logos-tgt', DS_R2_TARGET_BUCKET: 'logos-b' },
        ),
        context,
      );
      assert.equal(published.bucket, 'logos-b');
      assert.equal(published.publicUrl('x.png'), 'http://localhost/ds-logos-tgt/x.png');

      const source = await dsR2Source.create(
        dsR2Source.resolveConfig({}, { ...env, DS_R2_SOURCE_BUCKET: 'src-b' }),
        context,
      );
      assert.deepEqual(source.crawlerEnv(), { DS_R2_SOURCE_BUCKET: 'src-b', DS_LOCAL_BUCKETS_DIR: dir });
      await source.store.put('k.png', Buffer.from('x'));
      assert.deepEqual(await source.store.get('k.png'), Buffer.from('x'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reject a bad config naming the variable to fix', () => {
    assert.throws(
      () => dsR2Source.resolveConfig({}, { DS_R2_ENDPOINT: 'not a url' }),
      /ds_r2_source.*DS_R2_ENDPOINT/s,
    );
  });
});

describe('ds_files, ds_duckdb and ds_postgres', () => {
  it('ds_files lays out the data folder', async () => {
    const files = await dsFiles.create(dsFiles.resolveConfig({}, { DS_DATA_DIR: '/d/ds' }), context);
    assert.equal(files.downloadDir('src'), '/d/ds/src');
    assert.equal(files.finalDir, '/d/ds/final');
  });

  it('ds_duckdb creates ds_logo_updates; history keeps one row per (file, png_md5)', async () => {
    const dir = await tempDir('ds-duck-');
    try {
      const file = path.join(dir, 'nested', 'ds.duckdb');
      const duckdb = await dsDuckDb.create(dsDuckDb.resolveConfig({}, { DS_DUCKDB_PATH: file }), context);
      assert.equal(duckdb.path, file);
      const row = {
        runId: 'r1',
        file: 'a.png',
        pngMd5: 'm1',
        channelId: '1',
        brand: '브랜드',
        companyId: null,
        pngUrl: null,
        webpUrl: null,
        status: 'unmatched' as const,
        error: 'unmatched',
        bytes: 10,
        processedAt: new Date('2026-01-01T00:00:00Z'),
      };
      await recordLogoHistory(duckdb, [row]);
      await recordLogoHistory(duckdb, [
        { ...row, runId: 'r2', status: 'updated', companyId: '7', error: null },
      ]);
      await recordLogoHistory(duckdb, [{ ...row, runId: 'r3', pngMd5: 'm2' }]);
      const rows = await readHistory(file);
      assert.deepEqual(
        rows.map((r) => [r.file, r.png_md5, r.run_id, r.status, r.company_id, r.brand]),
        [
          ['a.png', 'm1', 'r2', 'updated', '7', '브랜드'],
          ['a.png', 'm2', 'r3', 'unmatched', null, '브랜드'],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ds_postgres uses DS_POSTGRES_URL, creates the company table, and never shows the password', async () => {
    const db = await freshDatabase();
    try {
      const config = dsPostgres.resolveConfig({}, { DS_POSTGRES_URL: db.url });
      const value = await dsPostgres.create(config, context);
      try {
        const password = decodeURIComponent(new URL(db.url).password);
        assert.ok(!value.location.includes(password));
        assert.ok(!JSON.stringify(dsPostgres.describe({ DS_POSTGRES_URL: db.url })).includes(password));
        const { rows } = await value.pool.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'company' ORDER BY ordinal_position`,
        );
        assert.deepEqual(
          rows.map((r) => r.column_name),
          ['id', 'name', 'naver_channel_id', 'thumbnail', 'updated_at'],
        );
      } finally {
        await dsPostgres.dispose(value);
      }
    } finally {
      await db.drop();
    }
  });

  it('ds_postgres without a URL creates the ds database on the instance’s embedded server', async () => {
    const home = process.env.DAG_TEST_HOME_ROOT;
    assert.ok(home, 'run through scripts/run-tests.ts, which starts the embedded test server');
    const value = await dsPostgres.create(dsPostgres.resolveConfig({}, {}), { home, runId: 'test' });
    try {
      assert.equal(value.database, 'ds');
      const { rows } = await value.pool.query<{ db: string }>('SELECT current_database() AS db');
      assert.equal(rows[0]?.db, 'ds');
      await value.pool.query('SELECT id, name, naver_channel_id, thumbnail, updated_at FROM company LIMIT 1');
    } finally {
      await dsPostgres.dispose(value);
      const admin = new pg.Client({ connectionString: process.env.DAG_TEST_PG_ADMIN_URL });
      await admin.connect();
      await admin.query('DROP DATABASE IF EXISTS ds WITH (FORCE)');
      await admin.end();
    }
  });
});

describe('brand name normalisation', () => {
  it('compares NFC, trimmed, whitespace-collapsed, case-folded', () => {
    assert.equal(normalizeBrandName('  Aurora   LAB '), 'aurora lab');
    // 한 as decomposed jamo (NFD) equals the composed syllable.
    assert.equal(normalizeBrandName('\u1112\u1161\u11ab 스튜디오'), normalizeBrandName('한 스튜디오'));
    assert.notEqual(normalizeBrandName('Aurora Lab'), normalizeBrandName('AuroraLab'));
  });
});
