import { Definitions } from '@dag/core';
import { opProductNotificationEvent } from './assets/op-product-notification-event.ts';
import { srcCustomerRequiredColumns, srcProductRequiredColumns } from './checks/required-columns.ts';
import {
  createProductNotificationEvent,
  dailyCustomerSync,
  governanceFailureAlert,
  hourlyProductNotification,
  syncCustomer,
} from './governance-automation.ts';
import { gcs } from './resources/gcs.ts';
import { legacyBigquery } from './resources/legacy-bigquery.ts';
// The BigCommerce source assets; this is the only place that imports them.
import {
  bigcommerce_onsale_product_inventory,
  src_customer,
  src_customer_metafields,
  src_order,
  src_product,
} from './sources/bigcommerce.ts';
import { srcPointTransaction, srcQuotation } from './sources/postgres-sources.ts';
import { transformer } from './transformer.ts';

/**
 * The data-governance pipeline (the "Wisely" warehouse): BigCommerce and two read-only
 * PostgreSQL databases loaded into the warehouse's `raw` schema, the `transformer/` SQL project
 * (dim, fct, mart) on top, and product notification events.
 *
 *   src_customer ───────────┬─> dim/dim_customer ─────────────┬─> mart/mart_complete_purchase_order
 *   src_customer_metafields ┘                                  │
 *   src_order ──> fct/fct_order ─> fct/fct_order_item, fct/fct_shipment ┘
 *   src_product ─> dim/dim_product ─> dim/dim_sku
 *   bigcommerce_onsale_product_inventory ─> fct/fct_onsale_product_inventory ─┐
 *   dim/dim_customer, src_customer_metafields ─────────────────────────────────┴> op_product_notification_event
 *   src_point_transaction ─> fct/fct_point_transaction;  src_quotation ─> fct/fct_quotation
 *
 * Jobs `sync_customer` and `create_product_notification_event`; schedules `daily_customer_sync`
 * (02:00) and `hourly_product_notification` (hourly), Asia/Seoul, off by default; failures of
 * either job post to Slack #data-alerts.
 */
export default new Definitions({
  assets: [
    src_customer,
    src_customer_metafields,
    src_order,
    src_product,
    bigcommerce_onsale_product_inventory,
    srcPointTransaction,
    srcQuotation,
    ...transformer.assets,
    opProductNotificationEvent,
  ],
  assetChecks: [...transformer.checks, srcCustomerRequiredColumns, srcProductRequiredColumns],
  jobs: [syncCustomer, createProductNotificationEvent],
  schedules: [dailyCustomerSync, hourlyProductNotification],
  sensors: [governanceFailureAlert],
  resources: [gcs, legacyBigquery],
});
