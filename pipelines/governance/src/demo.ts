/**
 * The offline demo of the governance pipeline. From the repository root:
 *
 *   npm run demo:governance
 *
 * Starts the BigCommerce replica on loopback, creates and seeds the two read-only source
 * databases (point_transaction, quotation) on the instance's embedded PostgreSQL, and runs, into
 * a DuckDB warehouse (`data/governance/warehouse.duckdb` unless WAREHOUSE_URL says otherwise):
 * the PostgreSQL sources, `sync_customer`, `create_product_notification_event`, then the orders
 * and products with every remaining model. Prints where the results are and a few rows of each
 * mart. Exit code 0 on success, 1 on failure.
 */
import path from 'node:path';
import {
  DagInstance,
  ensureEmbeddedPostgres,
  executeRun,
  formatMetadataValue,
  instancePools,
  materialize,
  type RunConfig,
  type RunResult,
  type StoredEvent,
  withDatabase,
} from '@dag/core';
import { openWarehouse } from '@dag/sql';
import pg from 'pg';
import { BIGCOMMERCE_POOL } from './resources/bigcommerce.ts';
import { seedSourceDatabase } from './sources/source-databases.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const DEMO_TOKEN = 'demo-bigcommerce-token';
const DEMO_STORE = 'wiselydemo';

/** The BigCommerce replica's module; loaded by name so that this file does not need it to typecheck. */
const BIGCOMMERCE_REPLICA = '@dag/replica-bigcommerce';

interface BigCommerceReplicaHandle {
  url: string;
  close(): Promise<void>;
}

const rel = (p: string) => path.relative(process.cwd(), p) || '.';

function printEvent(event: StoredEvent): void {
  const step = event.stepKey ? `[${event.stepKey}] ` : '';
  if (event.type === 'LOG' && event.level !== 'debug') console.log(`  ${step}${event.message}`);
  // A step's engine events: waiting for (and taking) a slot of the bigcommerce pool.
  if (event.type === 'ENGINE_EVENT' && event.stepKey) console.log(`  ${step}${event.message}`);
  if (['STEP_FAILURE', 'RUN_SUCCESS', 'RUN_FAILURE'].includes(event.type)) {
    console.log(`${event.type.padEnd(14)} ${step}${event.message}`);
  }
}

function summarize(title: string, result: RunResult): void {
  console.log(
    `\n=== ${title}: ${result.status} in ${(result.durationMs / 1000).toFixed(1)}s (run ${result.runId}) ===`,
  );
  for (const step of result.steps) {
    const checks = step.checks.length
      ? `, checks ${step.checks.filter((c) => c.passed).length}/${step.checks.length} passed`
      : '';
    console.log(
      `  ${step.key}: ${step.status}${checks}${step.error ? `: ${step.error.split('\n')[0]}` : ''}`,
    );
    for (const label of ['rows read', 'rows upserted', 'row_count', 'events created', 'already notified']) {
      const value = step.metadata[label];
      if (value) console.log(`    ${label}: ${formatMetadataValue(value)}`);
    }
  }
}

async function ensureDatabase(serverUrl: string, database: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  return withDatabase(serverUrl, database);
}

/** The source databases on the embedded server, seeded once (their tables are kept between demos). */
async function seedSources(home: string): Promise<{ wise: string; commerce: string }> {
  const server = await ensureEmbeddedPostgres(home);
  const wise = await ensureDatabase(server.url, 'governance_wise');
  const commerce = await ensureDatabase(server.url, 'governance_commerce');
  for (const [url, table, rows] of [
    [wise, 'point_transaction', 5_000],
    [commerce, 'quotation', 1_000],
  ] as const) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const exists = await client.query('SELECT to_regclass($1) AS t', [table]);
      if (exists.rows[0].t === null) {
        await seedSourceDatabase(client, table, { rows, customers: 500, products: 200 });
        console.log(`Seeded ${rows} rows of ${table}.`);
      }
    } finally {
      await client.end();
    }
  }
  return { wise, commerce };
}

async function startBigCommerce(): Promise<BigCommerceReplicaHandle> {
  let module: {
    startBigCommerceReplica(options: Record<string, unknown>): Promise<BigCommerceReplicaHandle>;
    ALL_READ_SCOPES: string[];
  };
  try {
    module = await import(BIGCOMMERCE_REPLICA);
  } catch (error) {
    throw new Error(
      `The BigCommerce replica (${BIGCOMMERCE_REPLICA}, replicas/bigcommerce) cannot be loaded: ${(error as Error).message}. Run npm install at the repository root.`,
    );
  }
  // A small store, and the real quota's size per a shorter window (150 requests per 3 s), so
  // the demo takes seconds; the pacing is the same as against a real store.
  return await module.startBigCommerceReplica({
    host: '127.0.0.1',
    tokens: { [DEMO_TOKEN]: module.ALL_READ_SCOPES },
    storeHash: DEMO_STORE,
    size: { customers: 500, orders: 400, products: 120 },
    rateLimit: { quota: 150, windowMs: 3_000 },
  });
}

async function main(): Promise<number> {
  process.env.WAREHOUSE_URL ||= `duckdb://${path.join(REPO_ROOT, 'data', 'governance', 'warehouse.duckdb')}`;
  const home = process.env.DAG_HOME || path.join(REPO_ROOT, '.dag');
  const instance = await DagInstance.open({ home });
  let replica: BigCommerceReplicaHandle | undefined;
  try {
    console.log(`Instance: ${rel(instance.home)} (${instance.kind})`);
    const sources = await seedSources(instance.home);
    // The steps that call the store share its quota: one at a time, unless a limit is set.
    const pools = instancePools(instance);
    const limit = (await pools.list()).find((p) => p.name === BIGCOMMERCE_POOL)?.limit;
    if (limit === undefined || limit === null) await pools.setLimit(BIGCOMMERCE_POOL, 1);
    console.log(
      `Pool ${BIGCOMMERCE_POOL}: ${limit ?? 1} step${(limit ?? 1) === 1 ? '' : 's'} at a time (npx dag pool set ${BIGCOMMERCE_POOL} <n> to change)`,
    );
    replica = await startBigCommerce();
    console.log(`BigCommerce replica: ${replica.url}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      WISE_POSTGRES_URL: sources.wise,
      COMMERCE_POSTGRES_URL: sources.commerce,
      BIGCOMMERCE_API_URL: replica.url,
      BIGCOMMERCE_ACCESS_TOKEN: DEMO_TOKEN,
      BIGCOMMERCE_STORE_HASH: DEMO_STORE,
    };
    // The definitions compile the SQL project for WAREHOUSE_URL when they load: import them now.
    const { default: definitions } = await import('./definitions.ts');
    const fullRefresh = (keys: string[]): RunConfig => ({
      ops: Object.fromEntries(keys.map((k) => [k, { config: { full_refresh: true } }])),
    });
    const runs: [string, () => Promise<RunResult>][] = [
      [
        'PostgreSQL sources',
        () =>
          materialize({
            instance,
            definitions,
            env,
            selection: 'src_point_transaction or src_quotation',
            runConfig: fullRefresh(['src_point_transaction', 'src_quotation']),
            onEvent: printEvent,
          }),
      ],
      [
        'sync_customer',
        () =>
          executeRun({
            instance,
            definitions,
            env,
            job: 'sync_customer',
            location: 'governance',
            runConfig: fullRefresh(['src_customer', 'src_customer_metafields']),
            onEvent: printEvent,
          }),
      ],
      [
        'create_product_notification_event',
        () =>
          executeRun({
            instance,
            definitions,
            env,
            job: 'create_product_notification_event',
            location: 'governance',
            onEvent: printEvent,
          }),
      ],
      [
        'orders, products and the other models',
        () =>
          materialize({
            instance,
            definitions,
            env,
            selection: 'src_order or src_product or key:dim/* or key:fct/* or key:mart/*',
            runConfig: fullRefresh(['src_order', 'src_product']),
            onEvent: printEvent,
          }),
      ],
    ];
    let ok = true;
    for (const [title, run] of runs) {
      console.log(`\nRunning ${title}...`);
      const result = await run();
      summarize(title, result);
      ok &&= result.status === 'SUCCESS';
    }

    const warehouse = await openWarehouse(process.env.WAREHOUSE_URL);
    try {
      console.log(`\nWhere the results are:\n  warehouse: ${warehouse.displayName}`);
      console.log(
        `  raw tables: schema raw; models: schemas dim, fct, mart; instance: ${rel(instance.home)}`,
      );
      console.log('  UI: npx dag dev, then open the governance code location');
      for (const [schema, name, order] of [
        ['mart', 'mart_complete_purchase_order', 'order_id'],
        ['mart', 'product_notification_event', 'customer_id'],
      ] as const) {
        if ((await warehouse.relationType(schema, name)) === null) {
          console.log(`\n${schema}.${name}: not built`);
          continue;
        }
        const relation = warehouse.relation(schema, name);
        const count = await warehouse.query(`SELECT count(*) AS n FROM ${relation}`);
        const { rows } = await warehouse.query(`SELECT * FROM ${relation} ORDER BY ${order} LIMIT 5`);
        console.log(`\n${schema}.${name}: ${count.rows[0]?.n} rows; the first ${rows.length}:`);
        if (rows.length > 0) console.table(rows);
      }
    } finally {
      await warehouse.close();
    }
    return ok ? 0 : 1;
  } finally {
    await replica?.close();
    await instance.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
