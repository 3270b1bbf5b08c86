import { lazyRequire } from '@dag/core';
import type { DuckDBAppender } from '@duckdb/node-api';
import type { DsDuckDb } from '../resources/ds-duckdb.ts';

/** Loaded when history is written, not with the definitions. */
const duckdb = lazyRequire<typeof import('@duckdb/node-api')>('@duckdb/node-api', import.meta.url);

/** Outcome of one logo in one run. */
export type LogoStatus = 'updated' | 'unmatched' | 'download_failed' | 'convert_failed' | 'upload_failed';

export interface LogoHistoryRow {
  runId: string;
  /** The object key in the source bucket (the PNG's path relative to the download folder). */
  file: string;
  /** The PNG's MD5 (its etag): with `file`, the identity of a logo version. */
  pngMd5: string;
  channelId: string | null;
  brand: string | null;
  /** The company ids whose thumbnail points at this logo, comma-separated. */
  companyId: string | null;
  pngUrl: string | null;
  webpUrl: string | null;
  status: LogoStatus;
  error: string | null;
  bytes: number | null;
  processedAt: Date;
}

/** The columns of `ds_logo_updates`, in the order the staging table and the appender use. */
const COLUMNS =
  'run_id, file, png_md5, channel_id, brand, company_id, png_url, webp_url, status, error, bytes, processed_at';
const STAGING = 'ds_logo_updates_staged';

/**
 * Records rows in `ds_logo_updates`, one per (file, png_md5): a row for a logo version that is
 * already there is replaced, so re-runs and runs resumed after a kill never duplicate history.
 *
 * In bulk, in one transaction: the rows go through DuckDB's appender into a temporary staging
 * table, then one `DELETE ... USING` removes the versions being rewritten and one
 * `INSERT ... SELECT` adds them (two hash joins, whatever the number of rows; the earlier
 * statement-per-row loop needed ~2 ms a row). Delete-then-insert rather than a unique index and
 * ON CONFLICT keeps DuckDB's eager constraint checks out of the way when a version is rewritten,
 * and works on history files created before any index existed.
 */
export async function recordLogoHistory(duckdb: DsDuckDb, rows: readonly LogoHistoryRow[]): Promise<void> {
  if (rows.length === 0) return;
  // The last row for a version wins, as it would with an upsert.
  const unique = new Map<string, LogoHistoryRow>();
  for (const row of rows) unique.set(logoVersionKey(row.file, row.pngMd5), row);
  await duckdb.withConnection(async (c) => {
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(
        `CREATE OR REPLACE TEMP TABLE ${STAGING} AS SELECT ${COLUMNS} FROM ds_logo_updates LIMIT 0`,
      );
      const appender = await c.createAppender(STAGING, 'main', 'temp');
      try {
        for (const row of unique.values()) appendRow(appender, row);
      } finally {
        appender.closeSync();
      }
      await c.run(
        `DELETE FROM ds_logo_updates AS u USING ${STAGING} AS s WHERE u.file = s.file AND u.png_md5 = s.png_md5`,
      );
      await c.run(`INSERT INTO ds_logo_updates (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING}`);
      await c.run(`DROP TABLE ${STAGING}`);
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK').catch(() => {});
      throw new Error(
        `ds_duckdb: could not record ${unique.size} row(s) in ds_logo_updates of ${duckdb.path}.`,
        {
          cause: error,
        },
      );
    }
  });
}

function appendRow(appender: DuckDBAppender, row: LogoHistoryRow): void {
  const text = (value: string | null) => {
    if (value === null) appender.appendNull();
    else appender.appendVarchar(value);
  };
  text(row.runId);
  text(row.file);
  text(row.pngMd5);
  text(row.channelId);
  text(row.brand);
  text(row.companyId);
  text(row.pngUrl);
  text(row.webpUrl);
  text(row.status);
  text(row.error);
  if (row.bytes === null) appender.appendNull();
  else appender.appendBigInt(BigInt(Math.trunc(row.bytes)));
  appender.appendTimestampTZ(
    new (duckdb().DuckDBTimestampTZValue)(BigInt(row.processedAt.getTime()) * 1000n),
  );
  appender.endRow();
}

/** The key of a logo version in `ds_logo_updates`: its file and its PNG's MD5. */
export function logoVersionKey(file: string, pngMd5: string): string {
  return `${file}\u0000${pngMd5}`;
}

/** Every row of `ds_logo_updates` (one per logo version), by `logoVersionKey`. */
export async function readLogoVersions(duckdb: DsDuckDb): Promise<Map<string, LogoHistoryRow>> {
  return await duckdb.withConnection(async (c) => {
    const reader = await c.runAndReadAll(
      `SELECT run_id, file, png_md5, channel_id, brand, company_id, png_url, webp_url, status, error, bytes,
              epoch_ms(processed_at) AS at
         FROM ds_logo_updates`,
    );
    const text = (value: unknown) => (value === null ? null : String(value));
    const out = new Map<string, LogoHistoryRow>();
    for (const r of reader.getRowObjectsJS()) {
      const row: LogoHistoryRow = {
        runId: String(r.run_id),
        file: String(r.file),
        pngMd5: String(r.png_md5),
        channelId: text(r.channel_id),
        brand: text(r.brand),
        companyId: text(r.company_id),
        pngUrl: text(r.png_url),
        webpUrl: text(r.webp_url),
        status: String(r.status) as LogoStatus,
        error: text(r.error),
        bytes: r.bytes === null ? null : Number(r.bytes),
        processedAt: new Date(Number(r.at)),
      };
      out.set(logoVersionKey(row.file, row.pngMd5), row);
    }
    return out;
  });
}
