import { createHash } from 'node:crypto';
import { asset, MaterializeResult, md } from '@dag/core';
import type { Warehouse } from '@dag/sql';
import { RAW_SCHEMA, type RawTable, sqlType, timestampText, upsertRows } from '../sources/load.ts';
import { SRC_CUSTOMER_METAFIELDS } from '../sources/raw-tables.ts';
import { governanceWarehouse, transformer } from '../transformer.ts';

/** Where a customer's subscription to a product is kept: a metafield, value = the product id. */
export const SUBSCRIPTION_NAMESPACE = 'wisely';
export const SUBSCRIPTION_KEY = 'product_subscription';

/**
 * One row per notification to send: a subscribed customer, a product now on sale and in stock.
 * `event_id` is derived from customer, product and sale price, so the same sale never notifies
 * the same customer twice, whatever the number of runs; a new sale price is a new event.
 */
export const PRODUCT_NOTIFICATION_EVENT: RawTable = {
  schema: 'mart',
  name: 'product_notification_event',
  key: 'event_id',
  columns: {
    event_id: 'string',
    event_type: 'string',
    customer_id: 'bigint',
    email: 'string',
    product_id: 'bigint',
    price: 'decimal',
    sale_price: 'decimal',
    inventory_level: 'int',
    created_at: 'timestamp',
  },
};

export interface NotificationCandidate {
  customer_id: number;
  email: string | null;
  product_id: number;
  price: string;
  sale_price: string;
  inventory_level: number;
}

/** The event id: a digest of customer, product and sale price (4 decimals, as stored). */
export function notificationEventId(
  customerId: number | string,
  productId: number | string,
  salePrice: unknown,
): string {
  const price = Number(salePrice).toFixed(4);
  return createHash('sha256')
    .update(`product_on_sale|${customerId}|${productId}|${price}`)
    .digest('hex')
    .slice(0, 32);
}

function modelRelation(warehouse: Warehouse, name: string): string {
  const model = transformer.files.models.get(name);
  if (!model) throw new Error(`the transformer project has no model ${name}`);
  return warehouse.relation(model.schema, model.identifier);
}

/** Subscribed customers of products on sale and in stock, one row per customer and product. */
export async function findNotificationCandidates(warehouse: Warehouse): Promise<NotificationCandidate[]> {
  const onSale = modelRelation(warehouse, 'fct_onsale_product_inventory');
  const customers = modelRelation(warehouse, 'dim_customer');
  const metafields = warehouse.relation(RAW_SCHEMA, SRC_CUSTOMER_METAFIELDS.name);
  const q = (name: string) => warehouse.quoteIdentifier(name);
  const { rows } = await warehouse.query(`
    WITH on_sale AS (
      SELECT product_id, max(price) AS price, min(sale_price) AS sale_price, sum(inventory_level) AS inventory_level
      FROM ${onSale}
      WHERE is_in_stock = TRUE AND inventory_level > 0
      GROUP BY product_id
    ),
    subscription AS (
      SELECT DISTINCT m.customer_id, m.${q('value')} AS product_ref
      FROM ${metafields} AS m
      WHERE m.${q('namespace')} = '${SUBSCRIPTION_NAMESPACE}' AND m.${q('key')} = '${SUBSCRIPTION_KEY}'
    )
    SELECT c.customer_id, c.email, s.product_id, s.price, s.sale_price, s.inventory_level
    FROM on_sale AS s
    JOIN subscription AS sub ON sub.product_ref = CAST(s.product_id AS ${sqlType(warehouse.kind, 'string')})
    JOIN ${customers} AS c ON c.customer_id = sub.customer_id
    ORDER BY c.customer_id, s.product_id`);
  return rows.map((r) => ({
    customer_id: Number(r.customer_id),
    email: (r.email as string | null) ?? null,
    product_id: Number(r.product_id),
    price: String(r.price),
    sale_price: String(r.sale_price),
    inventory_level: Number(r.inventory_level),
  }));
}

/**
 * Finds the customers subscribed to a product that is now on sale and in stock, and writes one
 * `mart.product_notification_event` row for each, once: an event already written (same
 * customer, product and sale price) is not written again.
 */
export const opProductNotificationEvent = asset(
  {
    name: 'op_product_notification_event',
    group: 'product',
    description:
      'Notification events for customers subscribed (customer metafield wisely/product_subscription) to a product now on sale and in stock; one per customer, product and sale price, never duplicated.',
    deps: ['fct/fct_onsale_product_inventory', 'dim/dim_customer', 'src_customer_metafields'],
    kinds: ['sql'],
    resources: { warehouse: governanceWarehouse },
    metadata: { relation: `${PRODUCT_NOTIFICATION_EVENT.schema}.${PRODUCT_NOTIFICATION_EVENT.name}` },
    io: false,
  },
  async (ctx) => {
    const warehouse = ctx.resources.warehouse;
    const candidates = await findNotificationCandidates(warehouse);
    const events = candidates.map((c) => ({
      event_id: notificationEventId(c.customer_id, c.product_id, c.sale_price),
      event_type: 'product_on_sale',
      ...c,
    }));
    const existing = new Set<string>();
    const relation = warehouse.relation(PRODUCT_NOTIFICATION_EVENT.schema!, PRODUCT_NOTIFICATION_EVENT.name);
    if (
      (await warehouse.relationType(PRODUCT_NOTIFICATION_EVENT.schema!, PRODUCT_NOTIFICATION_EVENT.name)) !==
      null
    ) {
      for (let i = 0; i < events.length; i += 1000) {
        const ids = events.slice(i, i + 1000).map((e) => `'${e.event_id}'`);
        if (ids.length === 0) break;
        const { rows } = await warehouse.query(
          `SELECT event_id FROM ${relation} WHERE event_id IN (${ids.join(', ')})`,
        );
        for (const row of rows) existing.add(String(row.event_id));
      }
    }
    const createdAt = timestampText(new Date());
    const fresh = events
      .filter((e) => !existing.has(e.event_id))
      .map((e) => ({ ...e, created_at: createdAt }));
    const result = await upsertRows(warehouse, PRODUCT_NOTIFICATION_EVENT, fresh, { signal: ctx.signal });
    ctx.log.info(
      `${candidates.length} subscribed customer/product pairs on sale and in stock; ${result.upserted} new notification events, ${existing.size} already notified.`,
    );
    return new MaterializeResult({
      metadata: {
        'subscribers on sale': md.int(candidates.length),
        'events created': md.int(result.upserted),
        'already notified': md.int(existing.size),
        relation: `${PRODUCT_NOTIFICATION_EVENT.schema}.${PRODUCT_NOTIFICATION_EVENT.name}`,
        ...(fresh.length > 0
          ? {
              preview: md.table({
                columns: ['customer_id', 'product_id', 'sale_price', 'event_id'],
                rows: fresh.slice(0, 10).map((e) => [e.customer_id, e.product_id, e.sale_price, e.event_id]),
              }),
            }
          : {}),
      },
    });
  },
);
