/**
 * bench/governance: loading BigCommerce under the store's quota.
 *
 *   node --import tsx bench/governance/governance-bench.ts
 *
 * The BigCommerce replica (10,000 customers, 50,000 orders) runs in a process of its own
 * (bench/governance/replica-worker.ts). Phases:
 *
 * 1. Under the real quota (150 requests per 30 s) with BENCH_LATENCY_MS (default 250) added to
 *    every answer, standing in for the distance to the real API: the full load's request
 *    sequence (customers in pages of 250, then orders in pages of 50, each with its products
 *    and shipments) for BENCH_WINDOWS quota windows (default 3), by three clients in turn:
 *    the pipeline's client (paced by X-Rate-Limit-*), a naive sequential client with the same
 *    batch sizes (waits out a 429), and 8 blind concurrent requests (retry a 429 after 1 s).
 *    A whole load is ~101,000 requests (two detail requests per order), 5.6 hours at 150 per
 *    30 s whatever the client: the bench measures a time-bounded window and extrapolates.
 * 2. With the quota lifted and no added latency: requests per second of the pipeline's client
 *    against the replica's ceiling (64 keep-alive requests in flight on one cheap path).
 * 3. Through the orchestrator, quota lifted: `src_customer` + `src_order` full load into DuckDB,
 *    then 1% of customers and orders changed and an incremental run (hours_lookback 1).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { machine, REPO_ROOT, writeResultsSection } from '../ds/harness.ts';

const TOKEN = 'bench-bigcommerce-token';
const STORE = 'benchstore';
const QUOTA = 150;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 30_000);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 3);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 250);
const LIFTED_S = Number(process.env.BENCH_LIFTED_S ?? 10);
const CUSTOMERS = 10_000;
const ORDERS = 50_000;
const SKIP_RUNS = process.env.BENCH_SKIP_RUNS === '1';

// ------------------------------------------------------------------ the replica process

class Replica {
  private next = 1;
  private readonly pending = new Map<number, (value: unknown) => void>();
  url = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id: number; result: unknown }) => {
      this.pending.get(m.id)?.(m.result);
      this.pending.delete(m.id);
    });
  }

  static async start(): Promise<Replica> {
    const child = fork(path.join(import.meta.dirname, 'replica-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_REPLICA: JSON.stringify({ token: TOKEN, storeHash: STORE }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const replica = new Replica(child);
    await new Promise<void>((resolve, reject) => {
      replica.pending.set(0, () => resolve());
      child.once('exit', (code) => reject(new Error(`the replica process exited (${code})`)));
    });
    replica.url = (await replica.call('url')) as string;
    return replica;
  }

  call(op: string, arg?: unknown): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, op, arg });
    });
  }

  async stats(from = 0) {
    return (await this.call('stats', from)) as {
      requests: number;
      rateLimited: number;
      logLength: number;
      at: number[];
      status: number[];
    };
  }

  async close(): Promise<void> {
    await this.call('close');
  }
}

// ------------------------------------------------------------------ the clients

const base = (url: string) => `${url}/stores/${STORE}`;
const headers = { 'X-Auth-Token': TOKEN, Accept: 'application/json' };

/** The pipeline's client: the full load's streams, until aborted. */
async function pacedLoad(url: string, signal: AbortSignal, maxInFlight = 8) {
  const { BigCommerceClient } = await import('../../pipelines/governance/src/bigcommerce/client.ts');
  const client = new BigCommerceClient({
    accessToken: TOKEN,
    storeHash: STORE,
    apiUrl: url,
    signal,
    maxInFlight,
  });
  try {
    for await (const _ of client.streamAllCustomers({ batchSize: 250 })) {
    }
    for await (const _ of client.streamAllOrders({ batchSize: 50 })) {
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  return { requests: client.stats.requests, seen429: client.stats.rateLimited };
}

/** One GET; on a 429 `onLimited` says how long to wait before the same request again. */
async function getWith(
  url: string,
  signal: AbortSignal,
  onLimited: (response: Response) => number,
  counts: { requests: number; seen429: number },
): Promise<unknown> {
  for (;;) {
    counts.requests++;
    const response = await fetch(url, { headers, signal });
    const text = response.status === 204 ? '' : await response.text();
    if (response.status === 429) {
      counts.seen429++;
      await sleep(onLimited(response), undefined, { signal });
      continue;
    }
    if (!response.ok) throw new Error(`${response.status} on ${url}`);
    return text ? JSON.parse(text) : undefined;
  }
}

/** Waits out the quota as the 429's headers say (the longer of reset and X-Retry-After). */
const waitOutQuota = (response: Response) =>
  Math.max(
    Number(response.headers.get('x-rate-limit-time-reset-ms') ?? 0),
    Number(response.headers.get('x-retry-after') ?? 0) * 1000,
  ) + 25;

/** The full load's requests in order: customer pages, then order pages each followed by its orders' details. */
async function* loadRequests(url: string, list: (u: string) => Promise<unknown>): AsyncGenerator<string> {
  for (let page = 1; page <= Math.ceil(CUSTOMERS / 250); page++) {
    yield `${base(url)}/v3/customers?page=${page}&limit=250`;
  }
  for (let page = 1; ; page++) {
    const orders = (await list(`${base(url)}/v2/orders?page=${page}&limit=50&sort=id%3Aasc`)) as
      | { id: number }[]
      | undefined;
    if (!orders || orders.length === 0) return;
    for (const order of orders) {
      yield `${base(url)}/v2/orders/${order.id}/products`;
      yield `${base(url)}/v2/orders/${order.id}/shipments`;
    }
    if (orders.length < 50) return;
  }
}

/** A naive client: the same requests one after another; a 429 is waited out. */
async function naiveLoad(url: string, signal: AbortSignal) {
  const counts = { requests: 0, seen429: 0 };
  const get = (u: string) => getWith(u, signal, waitOutQuota, counts);
  try {
    for await (const request of loadRequests(url, get)) await get(request);
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  return counts;
}

/** 8 blind workers over the same requests: no pacing; a 429 is retried after 1 s. */
async function blindLoad(url: string, signal: AbortSignal) {
  const counts = { requests: 0, seen429: 0 };
  const get = (u: string) => getWith(u, signal, () => 1_000, counts);
  const requests = loadRequests(url, get);
  let taking: Promise<IteratorResult<string>> | undefined;
  const take = async () => {
    // The generator is not re-entrant: workers take their next request one at a time.
    while (taking) await taking.catch(() => {});
    taking = requests.next();
    try {
      return await taking;
    } finally {
      taking = undefined;
    }
  };
  const worker = async () => {
    for (;;) {
      const next = await take();
      if (next.done) return;
      await get(next.value);
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, worker));
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  return counts;
}

/** The replica's ceiling: the most requests/s it serves on a cheap path, `inFlight` keep-alive requests at once, for `seconds`. */
async function ceiling(url: string, seconds: number, inFlight: number) {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const worker = async (w: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const response = await fetch(`${base(url)}/v2/orders/${1 + ((w * 997 + i) % ORDERS)}/shipments`, {
        headers,
      });
      await response.arrayBuffer();
      done++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  return done / ((Date.now() - started) / 1000);
}

// ------------------------------------------------------------------ phase 1: under the quota

interface QuotaFigures {
  name: string;
  accepted: number;
  use: number;
  served429: number;
  seen429: number;
  rate: number;
}

async function underQuota(
  replica: Replica,
  name: string,
  load: (url: string, signal: AbortSignal) => Promise<{ requests: number; seen429: number }>,
): Promise<QuotaFigures> {
  await replica.call('setRateLimit', { quota: QUOTA, windowMs: WINDOW_MS });
  await replica.call('setFaults', { delayMs: LATENCY_MS });
  const from = (await replica.stats()).logLength;
  const before = await replica.stats(from);
  const controller = new AbortController();
  const running = load(replica.url, controller.signal);
  // The measured span: WINDOWS whole windows from the first request's arrival.
  let first: number | undefined;
  while (first === undefined) {
    await sleep(20);
    first = (await replica.stats(from)).at[0];
  }
  const end = first + WINDOWS * WINDOW_MS;
  await sleep(Math.max(0, end - Date.now()));
  controller.abort();
  const client = await running;
  await sleep(LATENCY_MS + 100);
  const after = await replica.stats(from);
  let accepted = 0;
  let served429 = 0;
  for (let i = 0; i < after.at.length; i++) {
    if (after.at[i]! >= end) continue;
    if (after.status[i] === 429) served429++;
    else accepted++;
  }
  const figures = {
    name,
    accepted,
    use: accepted / (WINDOWS * QUOTA),
    served429,
    seen429: client.seen429,
    rate: accepted / ((WINDOWS * WINDOW_MS) / 1000),
  };
  console.error(
    `${name}: ${accepted} requests in ${WINDOWS} windows (${(figures.use * 100).toFixed(1)}% of the quota), ${served429} 429s served (${after.rateLimited - before.rateLimited} in all)`,
  );
  return figures;
}

// ------------------------------------------------------------------ phase 3: through the orchestrator

async function orchestratorRuns(replica: Replica) {
  const dir = await mkdtemp(path.join(tmpdir(), 'governance-bench-'));
  process.env.WAREHOUSE_URL = `duckdb://${path.join(dir, 'warehouse.duckdb')}`;
  const { DagInstance, materialize } = await import('@dag/core');
  const { default: definitions } = await import('../../pipelines/governance/src/definitions.ts');
  const instance = await DagInstance.open({ home: path.join(dir, 'home') });
  const env = {
    ...process.env,
    BIGCOMMERCE_API_URL: replica.url,
    BIGCOMMERCE_ACCESS_TOKEN: TOKEN,
    BIGCOMMERCE_STORE_HASH: STORE,
  };
  const selection = 'src_customer or src_order';
  const run = async (config: Record<string, unknown>) => {
    const started = performance.now();
    const result = await materialize({
      instance,
      definitions,
      env,
      selection,
      maxConcurrency: 1,
      runConfig: { ops: { src_customer: { config }, src_order: { config } } },
    });
    const ms = performance.now() - started;
    if (result.status !== 'SUCCESS') throw new Error(`the run failed: ${result.error}`);
    const int = (step: string, key: string) => {
      const value = result.steps.find((s) => s.key === step)?.metadata[key];
      return value?.type === 'int' ? value.value : 0;
    };
    return {
      ms,
      requests: int('src_customer', 'requests') + int('src_order', 'requests'),
      read: int('src_customer', 'rows read') + int('src_order', 'rows read'),
    };
  };
  try {
    await replica.call('setRateLimit', false);
    await replica.call('setFaults', {});
    console.error('orchestrator: full load...');
    const full = await run({ full_refresh: true });
    console.error(`  ${full.read} records, ${full.requests} requests, ${(full.ms / 1000).toFixed(1)} s`);
    const changed = (await replica.call('mutate', { customers: 0.01, orders: 0.01 })) as {
      customers: number[];
      orders: number[];
    };
    console.error('orchestrator: incremental...');
    const incremental = await run({ hours_lookback: 1 });
    console.error(
      `  ${incremental.read} records, ${incremental.requests} requests, ${(incremental.ms / 1000).toFixed(1)} s`,
    );
    return { full, incremental, changed: changed.customers.length + changed.orders.length };
  } finally {
    await instance.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ main

const fullLoadRequests = Math.ceil(CUSTOMERS / 250) + ORDERS / 50 + 2 * ORDERS;
const hours = (requests: number, perSecond: number) => (requests / perSecond / 3600).toFixed(2);

const replica = await Replica.start();
try {
  console.error(`replica ${replica.url}; ${WINDOWS} windows of ${WINDOW_MS} ms, ${LATENCY_MS} ms latency`);
  const quota = [
    await underQuota(replica, 'pipeline client (paced by X-Rate-Limit-*, 8 in flight)', pacedLoad),
    await underQuota(replica, 'naive client (sequential, same batch sizes, waits out a 429)', naiveLoad),
    await underQuota(replica, '8 blind concurrent requests (a 429 retried after 1 s)', blindLoad),
  ];

  await replica.call('setRateLimit', false);
  await replica.call('setFaults', {});
  const lifted: [string, number][] = [];
  for (const inFlight of [8, 32]) {
    const from = (await replica.stats()).logLength;
    const controller = new AbortController();
    const started = Date.now();
    const running = pacedLoad(replica.url, controller.signal, inFlight);
    await sleep(LIFTED_S * 1000);
    controller.abort();
    await running;
    const served = (await replica.stats(from)).at.length;
    lifted.push([`pipeline client, ${inFlight} in flight`, served / ((Date.now() - started) / 1000)]);
  }
  // After the client's runs (the replica's process is warm): the best of several concurrencies.
  const ceilings: [number, number][] = [];
  for (const inFlight of [8, 32, 128])
    ceilings.push([inFlight, await ceiling(replica.url, LIFTED_S, inFlight)]);
  const [ceilingInFlight, ceilingRate] = ceilings.reduce((a, b) => (b[1] > a[1] ? b : a));
  console.error(
    `ceiling ${ceilingRate.toFixed(0)}/s; ${lifted.map(([n, r]) => `${n}: ${r.toFixed(0)}/s`).join('; ')}`,
  );

  const runs = SKIP_RUNS ? undefined : await orchestratorRuns(replica);

  const paced = quota[0]!;
  const lines: string[] = [
    '## Governance: loading BigCommerce under its quota (`bench/governance/governance-bench.ts`)',
    '',
    `- Command: \`node --import tsx bench/governance/governance-bench.ts\` (BENCH_WINDOWS=${WINDOWS}, BENCH_WINDOW_MS=${WINDOW_MS}, BENCH_LATENCY_MS=${LATENCY_MS})`,
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine()}`,
    `- The replica (\`replicas/bigcommerce\`, 10,000 customers, 50,000 orders) runs in its own process. Quota: ${QUOTA} requests per ${WINDOW_MS / 1000} s window, as the reference says (X-Rate-Limit-* on every answer, 429 with X-Retry-After over it); ${LATENCY_MS} ms is added to every answer to stand in for the distance to the real API.`,
    `- A full load is the customers in pages of 250 and the orders in pages of 50, each order with its products and shipments: ${fullLoadRequests.toLocaleString('en-US')} requests, at least ${hours(fullLoadRequests, QUOTA / (WINDOW_MS / 1000))} h at ${QUOTA} per ${WINDOW_MS / 1000} s whatever the client. Each client below ran that load for ${WINDOWS} whole quota windows from its first request; the full load's time is extrapolated from the rate measured (not run to the end).`,
    '',
    '| client | requests in the span | quota in use | 429s served | 429s the client saw | full load, extrapolated |',
    '| --- | --- | --- | --- | --- | --- |',
    ...quota.map(
      (q) =>
        `| ${q.name} | ${q.accepted} | ${(q.use * 100).toFixed(1)}% | ${q.served429} | ${q.seen429} | ${q.rate > 0 ? `${hours(fullLoadRequests, q.rate)} h` : 'n/a'} |`,
    ),
    '',
    `- Target "≥ 95% of the quota in use with zero 429s reaching the step": **${paced.use >= 0.95 && paced.served429 === 0 && paced.seen429 === 0 ? 'met' : 'not met'}** (${(paced.use * 100).toFixed(1)}%, ${paced.served429} 429s served, ${paced.seen429} seen by the client; the client leaves max(2, 2%) of each window to the store's other apps).`,
    '',
    `With the quota lifted and no added latency (${LIFTED_S} s each):`,
    '',
    '| client | requests/s | ÷ replica ceiling |',
    '| --- | --- | --- |',
    `| replica ceiling: the best of ${ceilings.map(([n, r]) => `${n} (${r.toFixed(0)}/s)`).join(', ')} keep-alive requests in flight on /v2/orders/{id}/shipments: ${ceilingInFlight} | ${ceilingRate.toFixed(0)} | 1.00× |`,
    ...lifted.map(
      ([name, rate]) =>
        `| ${name}, the full load's requests | ${rate.toFixed(0)} | ${(rate / ceilingRate).toFixed(2)}× |`,
    ),
  ];
  if (runs) {
    const ratio = runs.incremental.ms / runs.full.ms;
    const quotaRatio = runs.incremental.requests / runs.full.requests;
    lines.push(
      '',
      'Through the orchestrator (`src_customer` then `src_order`, DuckDB warehouse, quota lifted, no added latency):',
      '',
      '| run | records read | requests | wall |',
      '| --- | --- | --- | --- |',
      `| full load (full_refresh) | ${runs.full.read} | ${runs.full.requests} | ${(runs.full.ms / 1000).toFixed(1)} s |`,
      `| incremental after 1% of customers and orders changed (${runs.changed} records; hours_lookback 1) | ${runs.incremental.read} | ${runs.incremental.requests} | ${(runs.incremental.ms / 1000).toFixed(1)} s |`,
      '',
      `- Target "an incremental run with 1% changed takes < 10% of the full load's time": **${ratio < 0.1 ? 'met' : 'not met'}** with the quota lifted (${(ratio * 100).toFixed(1)}%). Under the real quota both are bound by their requests: ${runs.incremental.requests} ÷ ${runs.full.requests} = ${(quotaRatio * 100).toFixed(1)}% (about ${(runs.incremental.requests / paced.rate / 60).toFixed(1)} min against ${hours(runs.full.requests, paced.rate)} h at the paced client's measured rate; extrapolated, not run).`,
    );
  }
  await writeResultsSection('governance', lines.join('\n'));
  console.error(`written to ${path.relative(process.cwd(), path.join(REPO_ROOT, 'bench', 'RESULTS.md'))}`);
} finally {
  await replica.close();
}
process.exit(0);
