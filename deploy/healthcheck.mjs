// Health checks of the dag image's services, for Docker healthchecks (the image has no curl):
//
//   node deploy/healthcheck.mjs http <url>...   every URL answers 2xx within 5 s
//   node deploy/healthcheck.mjs postgres        the instance database answers a query: the URL
//                                               in DAG_POSTGRES_URL, else the local server of
//                                               `dag instance serve-postgres` (user dag, database
//                                               dag, DAG_POSTGRES_PASSWORD, port DAG_POSTGRES_PORT)
//
// Exits 0 when healthy, 1 with one line on stderr (no secrets) otherwise.
import { createRequire } from 'node:module';

const [mode, ...args] = process.argv.slice(2);
const fail = (message) => {
  process.stderr.write(`unhealthy: ${message}\n`);
  process.exit(1);
};

if (mode === 'http') {
  if (args.length === 0) fail('no URL given');
  for (const url of args) {
    let res;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    } catch (error) {
      fail(`${url}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!res.ok) fail(`${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  }
} else if (mode === 'postgres') {
  const pg = createRequire(import.meta.url)('pg');
  const url =
    process.env.DAG_POSTGRES_URL ||
    `postgresql://dag:${encodeURIComponent(process.env.DAG_POSTGRES_PASSWORD ?? '')}@127.0.0.1:${process.env.DAG_POSTGRES_PORT || 5432}/dag`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    fail(`the database does not answer: ${(error?.message ?? String(error)).replaceAll(url, '<url>')}`);
  } finally {
    await client.end().catch(() => {});
  }
} else {
  fail(`unknown check '${mode ?? ''}': use 'http <url>...' or 'postgres'`);
}
