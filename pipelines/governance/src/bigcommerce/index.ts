export {
  BigCommerceClient,
  type BigCommerceClientOptions,
  BigCommerceError,
  type BigCommerceStats,
  DEFAULT_BIGCOMMERCE_API_URL,
} from './client.ts';
export { defaultReserve, QuotaPacer, type QuotaSnapshot, type RateLimiterOptions } from './rate-limiter.ts';
export type * from './records.ts';
