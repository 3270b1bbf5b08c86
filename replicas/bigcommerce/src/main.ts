import { parseArgs } from 'node:util';
import {
  ALL_READ_SCOPES,
  type BigCommerceReplicaFaults,
  startBigCommerceReplica,
} from './start-bigcommerce-replica.ts';

const USAGE = `Usage: npx tsx replicas/bigcommerce/src/main.ts [options]

Serves the BigCommerce REST API paths the governance pipeline reads (v3 customers, metafields,
catalog products, inventory; v2 orders, order products, shipments, count) on loopback, from
generated data, with the store's shared quota. Prints the API base URL on stdout.

Options (environment variable in brackets):
  --port <n>          port; 0 picks a free one [BIGCOMMERCE_REPLICA_PORT] (default 0)
  --host <addr>       loopback address [BIGCOMMERCE_REPLICA_HOST] (default 127.0.0.1)
  --seed <n>          data seed [BIGCOMMERCE_REPLICA_SEED] (default 1)
  --customers <n>     (default 10000)   --orders <n> (default 50000)   --products <n> (default 2000)
  --store-hash <h>    [BIGCOMMERCE_REPLICA_STORE_HASH] (default replica1)
  --token <t>         the accepted X-Auth-Token, with every read scope [BIGCOMMERCE_REPLICA_TOKEN] (default bc-replica-token)
  --quota <n>         requests per window, 0 lifts the quota [BIGCOMMERCE_REPLICA_QUOTA] (default 150)
  --window-ms <n>     quota window [BIGCOMMERCE_REPLICA_WINDOW_MS] (default 30000)
  --faults <json>     e.g. '{"serverErrorEvery":20,"slowEvery":10,"slowMs":2000}' [BIGCOMMERCE_REPLICA_FAULTS]
  --help              show this text

Point the client at it with BIGCOMMERCE_API_URL=<printed url> BIGCOMMERCE_STORE_HASH=<hash>
BIGCOMMERCE_ACCESS_TOKEN=<token>.`;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    seed: { type: 'string' },
    customers: { type: 'string' },
    orders: { type: 'string' },
    products: { type: 'string' },
    'store-hash': { type: 'string' },
    token: { type: 'string' },
    quota: { type: 'string' },
    'window-ms': { type: 'string' },
    faults: { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const env = process.env;
const faultsText = values.faults ?? env.BIGCOMMERCE_REPLICA_FAULTS;
let faults: BigCommerceReplicaFaults = {};
if (faultsText) {
  try {
    faults = JSON.parse(faultsText) as BigCommerceReplicaFaults;
  } catch (error) {
    throw new Error(`--faults is not valid JSON: ${faultsText}`, { cause: error });
  }
}
const count = (value: string | undefined) => (value === undefined ? undefined : Number(value));
const quota = Number(values.quota ?? env.BIGCOMMERCE_REPLICA_QUOTA ?? 150);
const token = values.token ?? env.BIGCOMMERCE_REPLICA_TOKEN ?? 'bc-replica-token';

const replica = await startBigCommerceReplica({
  seed: Number(values.seed ?? env.BIGCOMMERCE_REPLICA_SEED ?? 1),
  size: {
    customers: count(values.customers),
    orders: count(values.orders),
    products: count(values.products),
  },
  storeHash: values['store-hash'] ?? env.BIGCOMMERCE_REPLICA_STORE_HASH ?? 'replica1',
  tokens: { [token]: ALL_READ_SCOPES },
  rateLimit:
    quota === 0
      ? false
      : { quota, windowMs: Number(values['window-ms'] ?? env.BIGCOMMERCE_REPLICA_WINDOW_MS ?? 30_000) },
  faults,
  host: values.host ?? env.BIGCOMMERCE_REPLICA_HOST ?? '127.0.0.1',
  port: Number(values.port ?? env.BIGCOMMERCE_REPLICA_PORT ?? 0),
});
process.stdout.write(`${replica.url}\n`);
process.stderr.write(
  `BigCommerce replica: store ${replica.storeHash}, ${replica.store.customerCount} customers, ${replica.store.orderCount} orders, ${replica.store.productCount} products (${replica.store.onSaleProducts.length} on sale).\n`,
);

const stop = () => {
  replica.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
