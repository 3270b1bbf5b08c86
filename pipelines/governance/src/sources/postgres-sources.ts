import { type AssetDefinition, asset, MaterializeResult, md, type ResourceDefinition } from '@dag/core';
import { z } from 'zod';
import { commercePostgres, type ReadOnlyPostgres, wisePostgres } from '../resources/read-only-postgres.ts';
import { governanceWarehouse } from '../transformer.ts';
import { incrementalConfig, windowStart } from './incremental.ts';
import { ensureRawTable, RAW_SCHEMA, type RawTable, timestampText, upsertRows } from './load.ts';
import { SRC_POINT_TRANSACTION, SRC_QUOTATION } from './raw-tables.ts';

/** Rows per page read from a source database (keyset pagination on id). */
export const SOURCE_PAGE_SIZE = 5_000;

const postgresSourceConfig = incrementalConfig.extend({
  page_size: z.number().int().min(1).max(50_000).default(SOURCE_PAGE_SIZE).describe('Rows per page read.'),
});

/**
 * An incremental source asset reading one table of a read-only PostgreSQL database into
 * `raw.<asset>`: the rows whose modification column falls in the window (or all of them with
 * `full_refresh`), in pages by id, each page upserted by id.
 */
function postgresSource(options: {
  name: string;
  group: string;
  description: string;
  database: ResourceDefinition<ReadOnlyPostgres>;
  /** The source table, as the source database names it. */
  sourceTable: string;
  /** The column that moves when a row changes. */
  modifiedColumn: string;
  raw: RawTable;
}): AssetDefinition {
  const sourceColumns = Object.keys(options.raw.columns).filter((c) => c !== '_loaded_at');
  const select = `SELECT ${sourceColumns.join(', ')} FROM ${options.sourceTable}
    WHERE ($1::timestamp IS NULL OR ${options.modifiedColumn} >= $1::timestamp) AND id > $2::bigint
    ORDER BY id LIMIT $3::integer`;
  return asset(
    {
      name: options.name,
      group: options.group,
      description: options.description,
      kinds: ['postgres', 'source'],
      config: postgresSourceConfig,
      resources: { source: options.database, warehouse: governanceWarehouse },
      metadata: { relation: `${RAW_SCHEMA}.${options.raw.name}`, source_table: options.sourceTable },
      io: false,
    },
    async (ctx) => {
      const started = performance.now();
      const source = ctx.resources.source;
      const from = windowStart(ctx.config);
      const loadedAt = timestampText(new Date());
      ctx.log.info(
        from
          ? `Reading ${options.sourceTable} of ${source.location} modified since ${from.toISOString()} (hours_lookback ${ctx.config.hours_lookback}).`
          : `Reading all of ${options.sourceTable} of ${source.location} (full_refresh).`,
      );
      let read = 0;
      let upserted = 0;
      let pages = 0;
      const skipped: { key: string | null; reason: string }[] = [];
      let after = '0';
      // An empty window still leaves the table in place for the models that read it.
      await ensureRawTable(ctx.resources.warehouse, options.raw);
      for (;;) {
        ctx.signal.throwIfAborted();
        const rows = await source.query(select, [
          from ? timestampText(from) : null,
          after,
          ctx.config.page_size,
        ]);
        pages += 1;
        if (rows.length === 0) break;
        read += rows.length;
        after = String(rows.at(-1)!.id);
        const result = await upsertRows(
          ctx.resources.warehouse,
          options.raw,
          rows.map((r) => ({ ...r, _loaded_at: loadedAt })),
          { signal: ctx.signal },
        );
        upserted += result.upserted;
        skipped.push(...result.skipped);
        if (rows.length < ctx.config.page_size) break;
      }
      for (const s of skipped.slice(0, 10))
        ctx.log.warn(`Skipped ${options.sourceTable} row ${s.key}: ${s.reason}`);
      ctx.log.info(
        `Upserted ${upserted} of ${read} rows into ${RAW_SCHEMA}.${options.raw.name} in ${pages} pages.`,
      );
      return new MaterializeResult({
        metadata: {
          'rows read': md.int(read),
          'rows upserted': md.int(upserted),
          'rows skipped': md.int(skipped.length),
          pages: md.int(pages),
          requests: md.int(pages),
          'window start': from ? from.toISOString() : 'full refresh',
          source: source.location,
          relation: `${RAW_SCHEMA}.${options.raw.name}`,
          duration: md.duration(performance.now() - started),
        },
      });
    },
  );
}

/** Point transactions of Wisely customers (wise_postgres `point_transaction`). */
export const srcPointTransaction = postgresSource({
  name: 'src_point_transaction',
  group: 'customer',
  description:
    'Point transactions from wise_postgres (point_transaction), incremental on updated_at, upserted by id.',
  database: wisePostgres,
  sourceTable: 'point_transaction',
  modifiedColumn: 'updated_at',
  raw: SRC_POINT_TRANSACTION,
});

/** Quotations (commerce_postgres `quotation`). */
export const srcQuotation = postgresSource({
  name: 'src_quotation',
  group: 'order',
  description: 'Quotations from commerce_postgres (quotation), incremental on updated_at, upserted by id.',
  database: commercePostgres,
  sourceTable: 'quotation',
  modifiedColumn: 'updated_at',
  raw: SRC_QUOTATION,
});
