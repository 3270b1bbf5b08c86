/**
 * The tables the read-only sources read, as the source databases define them. The pipeline
 * never creates them in production (it cannot: the resources are read-only); the demo and the
 * tests create and seed them on the embedded PostgreSQL server.
 */
export const POINT_TRANSACTION_DDL = `
CREATE TABLE IF NOT EXISTS point_transaction (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL,
  points integer NOT NULL,
  reason text NOT NULL,
  created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  updated_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  deleted_at timestamp
);
CREATE INDEX IF NOT EXISTS point_transaction_updated_at ON point_transaction (updated_at)`;

export const QUOTATION_DDL = `
CREATE TABLE IF NOT EXISTS quotation (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL,
  product_id bigint NOT NULL,
  quantity integer NOT NULL,
  quoted_price numeric(18,4) NOT NULL,
  status text NOT NULL,
  created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  updated_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX IF NOT EXISTS quotation_updated_at ON quotation (updated_at)`;
