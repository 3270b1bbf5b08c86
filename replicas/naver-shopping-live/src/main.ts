import { parseArgs } from 'node:util';
import { generateCatalog, listBrands } from './generate-catalog.ts';
import { type RequestFaults, startNaverReplica } from './start-naver-replica.ts';

const USAGE = `Usage: npx tsx replicas/naver-shopping-live/src/main.ts [options]

Serves Naver Shopping Live's public endpoints and image hosts on loopback from generated data.

Options (environment variable in brackets):
  --port <n>        port to listen on; 0 picks a free one [NAVER_REPLICA_PORT] (default 0)
  --host <addr>     loopback address to bind [NAVER_REPLICA_HOST] (default 127.0.0.1)
  --seed <s>        data seed [NAVER_REPLICA_SEED] (default 1)
  --channels <n>    number of channels (brands) [NAVER_REPLICA_CHANNELS] (default 3000)
  --faults <json>   request faults, e.g. '{"errorRate":0.1,"rateLimit":{"every":20,"burst":3}}' [NAVER_REPLICA_FAULTS]
  --logo-faults <json>  logo faults as fractions of channels, e.g. '{"corrupt":0.01}' [NAVER_REPLICA_LOGO_FAULTS]
  --brands          print the generated brands as JSON and exit (to seed a company table)
  --help            show this text

Per request, ?__fault=429|500|502|503|block|slow (&__slowMs=<ms>) forces a fault.`;

function parseJson<T>(text: string | undefined, what: string): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${text}`, { cause: error });
  }
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    seed: { type: 'string' },
    channels: { type: 'string' },
    faults: { type: 'string' },
    'logo-faults': { type: 'string' },
    brands: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const env = process.env;
const seedText = values.seed ?? env.NAVER_REPLICA_SEED ?? '1';
const seed = /^\d+$/.test(seedText) ? Number(seedText) : seedText;
const channelCount = Number(values.channels ?? env.NAVER_REPLICA_CHANNELS ?? 3000);
const logoFaults = parseJson<Record<string, number>>(
  values['logo-faults'] ?? env.NAVER_REPLICA_LOGO_FAULTS,
  '--logo-faults',
);

if (values.brands) {
  const catalog = generateCatalog({ seed, channelCount, ...(logoFaults ? { logoFaults } : {}) });
  process.stdout.write(`${JSON.stringify(listBrands(catalog), null, 2)}\n`);
  process.exit(0);
}

const replica = await startNaverReplica({
  seed,
  channelCount,
  host: values.host ?? env.NAVER_REPLICA_HOST ?? '127.0.0.1',
  port: Number(values.port ?? env.NAVER_REPLICA_PORT ?? 0),
  ...(logoFaults ? { logoFaults } : {}),
  faults: parseJson<RequestFaults>(values.faults ?? env.NAVER_REPLICA_FAULTS, '--faults') ?? {},
});
process.stdout.write(`${replica.url}\n`);
process.stderr.write(
  `Naver Shopping Live replica: ${replica.channels.length} channels, seed ${String(seed)}. ` +
    `Try ${replica.url}/selectiveweb/live_commerce_web/v1/category/gathering?categoryId=dc:1&sort=LATEST&size=10\n`,
);

const stop = () => {
  replica.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
