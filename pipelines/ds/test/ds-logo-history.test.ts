import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../../packages/core/test/support.ts';
import {
  type LogoHistoryRow,
  logoVersionKey,
  readLogoVersions,
  recordLogoHistory,
} from '../src/lib/logo-history.ts';
import { type DsDuckDb, dsDuckDb } from '../src/resources/ds-duckdb.ts';
import { readHistory } from './support/ds-fixture.ts';

function row(i: number, overrides: Partial<LogoHistoryRow> = {}): LogoHistoryRow {
  return {
    runId: 'run-1',
    file: `logos/${i}.png`,
    pngMd5: `md5-${i}`,
    channelId: String(i),
    brand: `브랜드 ${i}`,
    companyId: String(100 + i),
    pngUrl: `https://img.example.com/logos/${i}.png`,
    webpUrl: `https://img.example.com/logos/${i}.webp`,
    status: 'updated',
    error: null,
    bytes: 1000 + i,
    processedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, i % 1000)),
    ...overrides,
  };
}

describe('recordLogoHistory: one bulk write per call, one row per (file, png_md5)', () => {
  let root: string;
  let duckdb: DsDuckDb;

  before(async () => {
    root = await tempDir('ds-history-');
    duckdb = await dsDuckDb.create(
      dsDuckDb.resolveConfig({}, { DS_DUCKDB_PATH: path.join(root, 'h.duckdb') }),
      {
        home: root,
        runId: 'test',
      },
    );
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes every column as given, NULLs and timestamps included', async () => {
    await recordLogoHistory(duckdb, [
      row(1),
      row(2, {
        channelId: null,
        brand: null,
        companyId: null,
        pngUrl: null,
        webpUrl: null,
        status: 'convert_failed',
        error: 'corrupt PNG',
        bytes: null,
      }),
    ]);
    const rows = await readHistory(duckdb.path);
    assert.equal(rows.length, 2);
    assert.deepEqual(
      { ...rows[0], processed_at: undefined },
      {
        run_id: 'run-1',
        file: 'logos/1.png',
        png_md5: 'md5-1',
        channel_id: '1',
        brand: '브랜드 1',
        company_id: '101',
        png_url: 'https://img.example.com/logos/1.png',
        webp_url: 'https://img.example.com/logos/1.webp',
        status: 'updated',
        error: null,
        bytes: '1001',
        processed_at: undefined,
      },
    );
    assert.equal(new Date(String(rows[0]?.processed_at)).getTime(), row(1).processedAt.getTime());
    assert.deepEqual(
      [
        rows[1]?.channel_id,
        rows[1]?.brand,
        rows[1]?.png_url,
        rows[1]?.bytes,
        rows[1]?.status,
        rows[1]?.error,
      ],
      [null, null, null, null, 'convert_failed', 'corrupt PNG'],
    );
    // Read back by version, as ds_img_finalize compares them: every column as written.
    const versions = await readLogoVersions(duckdb);
    assert.deepEqual(
      [...versions.keys()],
      [logoVersionKey('logos/1.png', 'md5-1'), logoVersionKey('logos/2.png', 'md5-2')].sort(),
    );
    assert.deepEqual(versions.get(logoVersionKey('logos/1.png', 'md5-1')), row(1));
    assert.equal(versions.get(logoVersionKey('logos/2.png', 'md5-2'))?.status, 'convert_failed');
  });

  it('replaces the rows of versions it writes again, adds new versions, and lets the last row of a call win', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => row(i + 10));
    await recordLogoHistory(duckdb, many);
    await recordLogoHistory(duckdb, [
      ...many.slice(0, 1000).map((r) => ({ ...r, runId: 'run-2', status: 'unmatched' as const })),
      // A new version of a file already recorded: a second row for that file.
      row(10, { runId: 'run-2', pngMd5: 'md5-10-new' }),
      // The same version twice in one call: the last one is kept.
      row(11, { runId: 'run-2', error: 'first' }),
      row(11, { runId: 'run-2', error: 'second' }),
    ]);
    const rows = await readHistory(duckdb.path);
    assert.equal(rows.length, 2 + 2500 + 1);
    assert.equal(new Set(rows.map((r) => `${r.file}|${r.png_md5}`)).size, rows.length, 'one row per version');
    assert.equal(rows.filter((r) => r.run_id === 'run-2').length, 1001);
    assert.equal(rows.filter((r) => r.file === 'logos/10.png').length, 2);
    const eleven = rows.filter((r) => r.file === 'logos/11.png');
    assert.deepEqual(
      eleven.map((r) => [r.run_id, r.error]),
      [['run-2', 'second']],
    );
    assert.equal(rows.find((r) => r.file === 'logos/2000.png')?.run_id, 'run-1');
  });

  it('writes all of a call or none of it', async () => {
    const before = await readHistory(duckdb.path);
    const broken = { ...row(5000), runId: null } as unknown as LogoHistoryRow;
    await assert.rejects(
      recordLogoHistory(duckdb, [row(10, { runId: 'run-3' }), row(4999), broken]),
      /could not record 3 row\(s\) in ds_logo_updates/,
    );
    assert.deepEqual(await readHistory(duckdb.path), before);
    // The connection's temporary staging table does not outlive the call: the next one works.
    await recordLogoHistory(duckdb, [row(4999)]);
    assert.equal((await readHistory(duckdb.path)).length, before.length + 1);
  });
});
