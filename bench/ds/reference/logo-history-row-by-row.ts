/**
 * The pipeline's `recordLogoHistory` as it was before it became a bulk write (one DELETE and
 * one INSERT statement per row, in one transaction), kept only as the reference contender of
 * `bench/ds/logo-history.ts`. Not used by the pipeline.
 */
import type { LogoHistoryRow } from '../../../pipelines/ds/src/lib/logo-history.ts';
import type { DsDuckDb } from '../../../pipelines/ds/src/resources/ds-duckdb.ts';

/**
 * Records rows in `ds_logo_updates`, one per (file, png_md5): a row for a logo version that is
 * already there is replaced, so re-runs and runs resumed after a kill never duplicate history.
 * Delete-then-insert in one transaction (rather than a unique index and ON CONFLICT) keeps
 * DuckDB's eager constraint checks out of the way when a version is rewritten.
 */
export async function recordLogoHistoryRowByRow(
  duckdb: DsDuckDb,
  rows: readonly LogoHistoryRow[],
): Promise<void> {
  if (rows.length === 0) return;
  // The last row for a version wins, as it would with an upsert.
  const unique = new Map<string, LogoHistoryRow>();
  for (const row of rows) unique.set(`${row.file}\u0000${row.pngMd5}`, row);
  await duckdb.withConnection(async (c) => {
    await c.run('BEGIN TRANSACTION');
    try {
      for (const row of unique.values()) {
        await c.run('DELETE FROM ds_logo_updates WHERE file = $file AND png_md5 = $md5', {
          file: row.file,
          md5: row.pngMd5,
        });
        await c.run(
          `INSERT INTO ds_logo_updates
             (run_id, file, png_md5, channel_id, brand, company_id, png_url, webp_url, status, error, bytes, processed_at)
           VALUES ($run_id, $file, $md5, $channel_id, $brand, $company_id, $png_url, $webp_url, $status, $error, $bytes,
                   make_timestamptz($at::BIGINT * 1000))`,
          {
            run_id: row.runId,
            file: row.file,
            md5: row.pngMd5,
            channel_id: row.channelId,
            brand: row.brand,
            company_id: row.companyId,
            png_url: row.pngUrl,
            webp_url: row.webpUrl,
            status: row.status,
            error: row.error,
            bytes: row.bytes,
            at: row.processedAt.getTime(),
          },
        );
      }
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
