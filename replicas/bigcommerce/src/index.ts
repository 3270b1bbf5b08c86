export type * from './bigcommerce-shapes.ts';
export {
  GeneratedStore,
  iso,
  type MutateFractions,
  type MutateResult,
  ORDER_STATUSES,
  rfc2822,
  type StoreSize,
  SUBSCRIPTION_KEY,
  SUBSCRIPTION_NAMESPACE,
  type VariantFacts,
} from './generate-store.ts';
export {
  ALL_READ_SCOPES,
  type BigCommerceReplica,
  type BigCommerceReplicaFaults,
  type BigCommerceReplicaOptions,
  type BigCommerceReplicaStats,
  type RateLimitOptions,
  type ReplicaRequestRecord,
  SCOPES,
  startBigCommerceReplica,
} from './start-bigcommerce-replica.ts';
