import { type AssetContext, type AssetDefinition, asset, MaterializeResult, md } from '@dag/core';
import type { BigCommerceClient } from '../bigcommerce/client.ts';
import { BIGCOMMERCE_POOL, type BigCommerceResource, bigcommerce } from '../resources/bigcommerce.ts';
import { governanceWarehouse } from '../transformer.ts';
import { type IncrementalConfig, incrementalConfig, windowStart } from './incremental.ts';
import {
  RAW_SCHEMA,
  type RawTable,
  replaceRows,
  type SkippedRow,
  timestampText,
  upsertRows,
} from './load.ts';
import {
  BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY,
  SRC_CUSTOMER,
  SRC_CUSTOMER_METAFIELDS,
  SRC_ORDER,
  SRC_ORDER_ITEM,
  SRC_PRODUCT,
  SRC_SHIPMENT,
  SRC_SKU,
} from './raw-tables.ts';

type Warehouse = Parameters<typeof upsertRows>[0];

/** What one load wrote, per raw table. */
class LoadTally {
  read = 0;
  readonly upserted: Record<string, number> = {};
  readonly skipped: SkippedRow[] = [];

  constructor(
    private readonly warehouse: Warehouse,
    private readonly signal: AbortSignal,
  ) {}

  async upsert(table: RawTable, rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    const result = await upsertRows(this.warehouse, table, rows, { signal: this.signal });
    this.upserted[table.name] = (this.upserted[table.name] ?? 0) + result.upserted;
    this.skipped.push(...result.skipped.map((s) => ({ ...s, reason: `${table.name}: ${s.reason}` })));
  }

  async replace(table: RawTable, rows: Record<string, unknown>[]): Promise<void> {
    const result = await replaceRows(this.warehouse, table, rows, { signal: this.signal });
    this.upserted[table.name] = (this.upserted[table.name] ?? 0) + result.upserted;
    this.skipped.push(...result.skipped.map((s) => ({ ...s, reason: `${table.name}: ${s.reason}` })));
  }
}

type SourceContext = AssetContext<
  IncrementalConfig,
  { bigcommerce: BigCommerceResource; warehouse: Awaited<ReturnType<typeof governanceWarehouse.create>> }
>;

/**
 * A BigCommerce source asset: streams the records modified in the window (`hours_lookback`,
 * or everything with `full_refresh`) and upserts them by id into `raw.*`. Its step takes a slot
 * of the `bigcommerce` pool: steps calling the store share its quota. Metadata: rows read,
 * rows upserted (per table), malformed records skipped, pages, requests, time waited for the
 * rate limit, 429s.
 */
function bigcommerceSource(options: {
  name: string;
  group: string;
  description: string;
  tables: RawTable[];
  /** Incremental (config `hours_lookback`, `full_refresh`); a snapshot takes no window. */
  incremental?: boolean;
  load: (client: BigCommerceClient, tally: LoadTally, since: Date | null, loadedAt: string) => Promise<void>;
}): AssetDefinition {
  const relations = options.tables.map((t) => `${RAW_SCHEMA}.${t.name}`).join(', ');
  return asset(
    {
      name: options.name,
      group: options.group,
      description: options.description,
      kinds: ['bigcommerce', 'source'],
      pool: BIGCOMMERCE_POOL,
      config: incrementalConfig,
      resources: { bigcommerce, warehouse: governanceWarehouse },
      metadata: { relation: relations },
      io: false,
    },
    async (ctx: SourceContext) => {
      const started = performance.now();
      const since = options.incremental === false ? null : windowStart(ctx.config);
      const loadedAt = timestampText(new Date());
      const store = ctx.resources.bigcommerce;
      ctx.log.info(
        since
          ? `Reading BigCommerce store ${store.storeHash} records modified since ${since.toISOString()} (hours_lookback ${ctx.config.hours_lookback}).`
          : `Reading every record of BigCommerce store ${store.storeHash}${options.incremental === false ? ' (a snapshot)' : ' (full_refresh)'}.`,
      );
      let warnings = 0;
      const client = store.client({
        signal: ctx.signal,
        onWarning: (message) => {
          // The first ones in the log; all of them in the counts.
          if (++warnings <= 20) ctx.log.warn(message);
        },
      });
      const tally = new LoadTally(ctx.resources.warehouse, ctx.signal);
      await options.load(client, tally, since, loadedAt);
      const malformed = Object.values(client.stats.skipped).reduce((a, b) => a + b, 0);
      for (const s of tally.skipped.slice(0, 10)) ctx.log.warn(`Skipped row ${s.key}: ${s.reason}`);
      const upserted = Object.values(tally.upserted).reduce((a, b) => a + b, 0);
      ctx.log.info(
        `Read ${tally.read} records in ${client.stats.requests} requests (${client.stats.pages} pages, ${Math.round(client.stats.rateLimitWaitMs)} ms waiting for the rate limit); upserted ${upserted} rows into ${relations}.`,
      );
      return new MaterializeResult({
        metadata: {
          'rows read': md.int(tally.read),
          'rows upserted': md.int(upserted),
          ...Object.fromEntries(
            Object.entries(tally.upserted).map(([table, n]) => [`rows upserted: ${table}`, md.int(n)]),
          ),
          'rows skipped': md.int(malformed + tally.skipped.length),
          'malformed records skipped': md.json(client.stats.skipped),
          pages: md.int(client.stats.pages),
          requests: md.int(client.stats.requests),
          'rate limit wait': md.duration(client.stats.rateLimitWaitMs),
          'rate limited (429)': md.int(client.stats.rateLimited),
          retries: md.int(client.stats.retries),
          'window start': since ? since.toISOString() : 'full refresh',
          relation: relations,
          duration: md.duration(performance.now() - started),
        },
      });
    },
  );
}

export const src_customer = bigcommerceSource({
  name: 'src_customer',
  group: 'customer',
  description:
    'BigCommerce customers (v3), incremental on date_modified, upserted by id into raw.src_customer.',
  tables: [SRC_CUSTOMER],
  load: async (client, tally, since, loadedAt) => {
    for await (const batch of client.streamAllCustomers({
      batchSize: 250,
      ...(since ? { modifiedSince: since } : {}),
    })) {
      tally.read += batch.length;
      await tally.upsert(
        SRC_CUSTOMER,
        batch.map((c) => ({ ...c, _loaded_at: loadedAt })),
      );
    }
  },
});

export const src_customer_metafields = bigcommerceSource({
  name: 'src_customer_metafields',
  group: 'customer',
  description:
    'BigCommerce customer metafields (v3 /customers/metafields; product subscriptions among them), incremental, upserted by id.',
  tables: [SRC_CUSTOMER_METAFIELDS],
  load: async (client, tally, since, loadedAt) => {
    for await (const batch of client.streamCustomerMetafields({
      batchSize: 250,
      ...(since ? { modifiedSince: since } : {}),
    })) {
      tally.read += batch.length;
      await tally.upsert(
        SRC_CUSTOMER_METAFIELDS,
        batch.map((m) => ({ ...m, customer_id: m.resource_id, _loaded_at: loadedAt })),
      );
    }
  },
});

export const src_order = bigcommerceSource({
  name: 'src_order',
  group: 'order',
  description:
    'BigCommerce orders (v2) with their line items and shipments, incremental on date_modified, upserted by id into raw.src_order, raw.src_order_item and raw.src_shipment.',
  tables: [SRC_ORDER, SRC_ORDER_ITEM, SRC_SHIPMENT],
  load: async (client, tally, since, loadedAt) => {
    for await (const batch of client.streamAllOrders({
      batchSize: 50,
      ...(since ? { modifiedSince: since } : {}),
    })) {
      tally.read += batch.length;
      await tally.upsert(
        SRC_ORDER,
        batch.map(({ order }) => ({ ...order, _loaded_at: loadedAt })),
      );
      await tally.upsert(
        SRC_ORDER_ITEM,
        batch.flatMap(({ products }) => products.map((p) => ({ ...p, _loaded_at: loadedAt }))),
      );
      await tally.upsert(
        SRC_SHIPMENT,
        batch.flatMap(({ shipments }) => shipments.map((s) => ({ ...s, _loaded_at: loadedAt }))),
      );
    }
  },
});

export const src_product = bigcommerceSource({
  name: 'src_product',
  group: 'product',
  description:
    'BigCommerce catalog products (v3, include=variants), incremental on date_modified, upserted by id into raw.src_product and their variants into raw.src_sku.',
  tables: [SRC_PRODUCT, SRC_SKU],
  load: async (client, tally, since, loadedAt) => {
    for await (const batch of client.streamAllProducts({
      batchSize: 250,
      ...(since ? { modifiedSince: since } : {}),
    })) {
      tally.read += batch.length;
      await tally.upsert(
        SRC_PRODUCT,
        batch.map(({ variants: _, ...p }) => ({ ...p, _loaded_at: loadedAt })),
      );
      await tally.upsert(
        SRC_SKU,
        batch.flatMap((p) => p.variants.map((v) => ({ ...v, _loaded_at: loadedAt }))),
      );
    }
  },
});

export const bigcommerce_onsale_product_inventory = bigcommerceSource({
  name: 'bigcommerce_onsale_product_inventory',
  group: 'product',
  description:
    'Every variant on sale now, with its stock across inventory locations: a snapshot of raw.bigcommerce_onsale_product_inventory (a variant no longer on sale disappears).',
  tables: [BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY],
  incremental: false,
  load: async (client, tally, _since, loadedAt) => {
    const rows: Record<string, unknown>[] = [];
    for await (const batch of client.streamOnSaleInventory({ batchSize: 250 })) {
      tally.read += batch.length;
      rows.push(...batch.map((r) => ({ ...r, observed_at: loadedAt })));
    }
    await tally.replace(BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY, rows);
  },
});
