/**
 * @dag/pipeline-governance: the data-governance code location. Its definitions are the default
 * export of `definitions.ts`; the pieces are exported here for tests, the demo and other code.
 */
export {
  findNotificationCandidates,
  notificationEventId,
  opProductNotificationEvent,
  PRODUCT_NOTIFICATION_EVENT,
  SUBSCRIPTION_KEY,
  SUBSCRIPTION_NAMESPACE,
} from './assets/op-product-notification-event.ts';
export { requiredColumnsCheck } from './checks/required-columns.ts';
export { default as definitions } from './definitions.ts';
export * from './governance-automation.ts';
export { GCS_XML_API, type GcsBucket, gcs } from './resources/gcs.ts';
export { legacyBigquery } from './resources/legacy-bigquery.ts';
export * from './resources/read-only-postgres.ts';
export * from './sources/incremental.ts';
export * from './sources/load.ts';
export { SOURCE_PAGE_SIZE, srcPointTransaction, srcQuotation } from './sources/postgres-sources.ts';
export * from './sources/raw-tables.ts';
export { POINT_TRANSACTION_DDL, QUOTATION_DDL, seedSourceDatabase } from './sources/source-databases.ts';
export { governanceWarehouse, transformer } from './transformer.ts';
