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

/**
 * Creates the source table of a database and fills it with `rows` generated rows (for the demo
 * and the tests; production databases are the applications' own). Timestamps are whole seconds,
 * spread over the `days` before now (UTC), so an incremental window holds only some of them.
 */
export async function seedSourceDatabase(
  client: { query(sql: string, values?: unknown[]): Promise<unknown> },
  table: 'point_transaction' | 'quotation',
  options: { rows: number; customers?: number; products?: number; days?: number },
): Promise<void> {
  const customers = options.customers ?? 100;
  const days = options.days ?? 30;
  if (table === 'point_transaction') {
    await client.query(POINT_TRANSACTION_DDL);
    await client.query(
      `INSERT INTO point_transaction (customer_id, points, reason, created_at, updated_at, deleted_at)
       SELECT 1 + (g * 7919) % $2, CASE WHEN g % 5 = 0 THEN -((g % 7) + 1) * 100 ELSE ((g % 9) + 1) * 50 END,
              (ARRAY['signup', 'purchase', 'review', 'redeem', 'event'])[1 + g % 5],
              t, t, CASE WHEN g % 50 = 0 THEN t ELSE NULL END
       FROM generate_series(1, $1) AS g,
            LATERAL (SELECT date_trunc('second', (now() AT TIME ZONE 'UTC') - interval '1 day' - (g % ($3 * 24)) * interval '1 hour') AS t) AS ts`,
      [options.rows, customers, days],
    );
    return;
  }
  const products = options.products ?? 50;
  await client.query(QUOTATION_DDL);
  await client.query(
    `INSERT INTO quotation (customer_id, product_id, quantity, quoted_price, status, created_at, updated_at)
     SELECT 1 + (g * 7919) % $2, 100 + g % $3, 1 + g % 10, round((10 + (g % 90))::numeric * 1000, 4),
            (ARRAY['open', 'accepted', 'rejected', 'expired'])[1 + g % 4], t, t
     FROM generate_series(1, $1) AS g,
          LATERAL (SELECT date_trunc('second', (now() AT TIME ZONE 'UTC') - interval '1 day' - (g % ($4 * 24)) * interval '1 hour') AS t) AS ts`,
    [options.rows, customers, products, days],
  );
}
