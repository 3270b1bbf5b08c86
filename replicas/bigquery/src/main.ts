import { parseArgs } from 'node:util';
import { type BigQueryReplicaFaults, startBigQueryReplica } from './start-bigquery-replica.ts';

const USAGE = `Usage: npx tsx replicas/bigquery/src/main.ts [options]

Serves the BigQuery v2 REST API (datasets, tables, tabledata, jobs, queries, multipart load
uploads) on loopback, executing SQL on an in-memory DuckDB. Prints the endpoint on stdout.

Options (environment variable in brackets):
  --port <n>          port to listen on; 0 picks a free one [BIGQUERY_REPLICA_PORT] (default 0)
  --host <addr>       loopback address to bind [BIGQUERY_REPLICA_HOST] (default 127.0.0.1)
  --location <loc>    location of datasets created without one [BIGQUERY_REPLICA_LOCATION] (default US)
  --faults <json>     e.g. '{"rateLimited":2}' or '{"slowJobMs":2000,"holdMs":200}' [BIGQUERY_REPLICA_FAULTS]
  --help              show this text

Point the client at it with BIGQUERY_EMULATOR_HOST=<printed url>. Change faults while it runs:
  curl -X POST <url>/_replica/faults -d '{"backendErrors":1}'`;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    location: { type: 'string' },
    faults: { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const env = process.env;
const faultsText = values.faults ?? env.BIGQUERY_REPLICA_FAULTS;
let faults: BigQueryReplicaFaults = {};
if (faultsText) {
  try {
    faults = JSON.parse(faultsText) as BigQueryReplicaFaults;
  } catch (error) {
    throw new Error(`--faults is not valid JSON: ${faultsText}`, { cause: error });
  }
}

const replica = await startBigQueryReplica({
  location: values.location ?? env.BIGQUERY_REPLICA_LOCATION ?? 'US',
  faults,
  host: values.host ?? env.BIGQUERY_REPLICA_HOST ?? '127.0.0.1',
  port: Number(values.port ?? env.BIGQUERY_REPLICA_PORT ?? 0),
});
process.stdout.write(`${replica.url}\n`);

const stop = () => {
  replica.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
