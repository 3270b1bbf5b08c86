import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pagination, V3List } from './bigcommerce-shapes.ts';
import {
  GeneratedStore,
  type MutateFractions,
  type MutateResult,
  ORDER_STATUSES,
  type StoreSize,
} from './generate-store.ts';

/** OAuth scopes, as BigCommerce names them; `<scope>_read_only` grants reading only, `<scope>` everything. */
export const SCOPES = {
  customers: 'store_v2_customers',
  orders: 'store_v2_orders',
  products: 'store_v2_products',
  inventory: 'store_inventory',
} as const;
export const ALL_READ_SCOPES = Object.values(SCOPES).map((s) => `${s}_read_only`);

export interface RateLimitOptions {
  /** Requests per window, per store, shared by every token. Default 150. */
  quota?: number;
  /** Default 30,000 ms. */
  windowMs?: number;
}

/**
 * Faults. Counters (`serverErrors`) are used up request by request; `*Every` faults count the
 * requests that reach the API (past the token and quota checks), so they do not depend on timing.
 */
export interface BigCommerceReplicaFaults {
  /** The next N API requests get `serverErrorStatus`. */
  serverErrors?: number;
  /** Every Nth API request gets `serverErrorStatus`. */
  serverErrorEvery?: number;
  /** Default 500. */
  serverErrorStatus?: number;
  /** Every answer is delayed by this many ms. */
  delayMs?: number;
  /** Every Nth API request is delayed by `slowMs` (default 1000). */
  slowEvery?: number;
  slowMs?: number;
  /** Records served malformed (a `date_modified` that is no date, a non-numeric money field), by id. */
  malformed?: { customers?: number[]; orders?: number[]; products?: number[]; metafields?: number[] };
  /** Only paths containing one of these strings (e.g. `/v2/orders`) are hit by 5xx and slow faults. Default: all. */
  paths?: string[];
}

export interface BigCommerceReplicaOptions {
  /** Default 1. */
  seed?: number;
  /** Default 10,000 customers, 50,000 orders, 2,000 products. */
  size?: StoreSize;
  /** The store hash in `/stores/{hash}/…`. Default `replica1`. */
  storeHash?: string;
  /** Accepted `X-Auth-Token`s and their scopes. Default: `bc-replica-token` with every read scope. */
  tokens?: Record<string, string[]>;
  /** `false` lifts the quota (and no `X-Rate-Limit-*` headers are sent). Default 150 per 30 s. */
  rateLimit?: RateLimitOptions | false;
  faults?: BigCommerceReplicaFaults;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface ReplicaRequestRecord {
  method: string;
  path: string;
  status: number;
  /** Epoch ms of arrival. */
  at: number;
}

export interface BigCommerceReplicaStats {
  /** Every request, answered or not. */
  requests: number;
  /** Requests answered with 2xx. */
  ok: number;
  /** 429s served. */
  rateLimited: number;
  serverErrors: number;
  unauthorized: number;
  forbidden: number;
  /** Each request, oldest first (a live array). */
  log: ReplicaRequestRecord[];
}

export interface BigCommerceReplica {
  /** The API base to give a client as BIGCOMMERCE_API_URL (e.g. http://127.0.0.1:port). */
  url: string;
  storeHash: string;
  /** The default token (the first of `tokens`). */
  token: string;
  store: GeneratedStore;
  stats: BigCommerceReplicaStats;
  /** Changes a fraction of customers / orders / products now (their `date_modified` moves to now). */
  mutate(fractions: MutateFractions): MutateResult;
  setFaults(faults: BigCommerceReplicaFaults): void;
  setRateLimit(rateLimit: RateLimitOptions | false): void;
  /** Starts a fresh quota window (e.g. between benchmark phases). */
  resetQuota(): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const STATUS_DOC = 'https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes';
const MAX_LIMIT = 250;

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

interface Route {
  version: 'v2' | 'v3';
  scope: string;
  handle: (url: URL, match: RegExpExecArray) => { status: number; body?: unknown };
}

function intParam(url: URL, name: string, fallback: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new HttpFailure(422, `The filter '${name}' must be a positive integer`, { [name]: raw });
  return value;
}

function idList(url: URL, name: string): Set<number> | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  return new Set(raw.split(',').map((part) => Number(part.trim())));
}

/** v3 filters: `YYYY-MM-DD[Thh:mm:ss]` (UTC when no offset), or a UNIX timestamp. */
function v3Date(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const seconds = /^\d+$/.test(raw)
    ? Number(raw)
    : Date.parse(
        /T.*([Zz]|[+-]\d\d:?\d\d)$/.test(raw) ? raw : /T/.test(raw) ? `${raw}Z` : `${raw}T00:00:00Z`,
      ) / 1000;
  if (!Number.isFinite(seconds))
    throw new HttpFailure(422, `The filter '${name}' is not a valid date`, { [name]: raw });
  return Math.floor(seconds);
}

/** v2 filters: RFC 2822 or ISO 8601. */
function v2Date(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms))
    throw new HttpFailure(400, `The field '${name}' is invalid: use RFC 2822 or ISO 8601`);
  return Math.floor(ms / 1000);
}

function v3Page<T>(url: URL, ids: number[], build: (id: number) => T): V3List<T> {
  const limit = intParam(url, 'limit', 50);
  if (limit > MAX_LIMIT)
    throw new HttpFailure(413, `The limit must be at most ${MAX_LIMIT}`, { limit: String(limit) });
  const page = intParam(url, 'page', 1);
  const total = ids.length;
  const totalPages = Math.ceil(total / limit);
  const slice = ids.slice((page - 1) * limit, page * limit);
  const query = (p: number) => {
    const params = new URLSearchParams(url.searchParams);
    params.set('page', String(p));
    params.set('limit', String(limit));
    return `?${params}`;
  };
  const pagination: Pagination = {
    total,
    count: slice.length,
    per_page: limit,
    current_page: page,
    total_pages: totalPages,
    links: { current: query(page) },
  };
  if (page > 1) pagination.links.previous = query(page - 1);
  if (page < totalPages) pagination.links.next = query(page + 1);
  return { data: slice.map(build), meta: { pagination } };
}

/** A v2 page: a bare array, or 204 with no body when nothing is left. */
function v2Page<T, R = T>(url: URL, items: T[], build?: (item: T) => R): { status: number; body?: unknown } {
  const limit = Math.min(intParam(url, 'limit', 50), MAX_LIMIT);
  const page = intParam(url, 'page', 1);
  const slice = items.slice((page - 1) * limit, page * limit);
  if (slice.length === 0) return { status: 204 };
  return { status: 200, body: build ? slice.map(build) : slice };
}

function range(from: number, to: number, keep: (id: number) => boolean): number[] {
  const out: number[] = [];
  for (let id = from; id <= to; id++) if (keep(id)) out.push(id);
  return out;
}

/** Sorts ids by a per-id value (`date_modified`, `date_created`), id breaking ties. */
function sortIds(ids: number[], sort: string | null, value: (field: string, id: number) => number): number[] {
  if (!sort) return ids;
  const [field = 'id', direction = 'asc'] = sort.split(':');
  const sign = direction === 'desc' ? -1 : 1;
  if (field === 'id') return sign === 1 ? ids : [...ids].reverse();
  return [...ids].sort((a, b) => sign * (value(field, a) - value(field, b) || a - b));
}

export async function startBigCommerceReplica(
  options: BigCommerceReplicaOptions = {},
): Promise<BigCommerceReplica> {
  const store = new GeneratedStore(options.seed ?? 1, options.size);
  const storeHash = options.storeHash ?? 'replica1';
  const tokens = new Map(Object.entries(options.tokens ?? { 'bc-replica-token': ALL_READ_SCOPES }));
  let faults: BigCommerceReplicaFaults = { ...(options.faults ?? {}) };
  let rateLimit: Required<RateLimitOptions> | false =
    options.rateLimit === false ? false : { quota: 150, windowMs: 30_000, ...(options.rateLimit ?? {}) };
  let windowStart = 0;
  let windowUsed = 0;
  let apiRequests = 0;
  const stats: BigCommerceReplicaStats = {
    requests: 0,
    ok: 0,
    rateLimited: 0,
    serverErrors: 0,
    unauthorized: 0,
    forbidden: 0,
    log: [],
  };
  let baseUrl = '';
  const malformed = (kind: keyof NonNullable<BigCommerceReplicaFaults['malformed']>, id: number) =>
    faults.malformed?.[kind]?.includes(id) ?? false;

  const customerIds = (url: URL): number[] => {
    const min = v3Date(url, 'date_modified:min');
    const max = v3Date(url, 'date_modified:max');
    const createdMin = v3Date(url, 'date_created:min');
    const idIn = idList(url, 'id:in');
    const ids = range(1, store.customerCount, (id) => {
      const modified = store.customerModified[id] ?? 0;
      if (min !== undefined && modified < min) return false;
      if (max !== undefined && modified > max) return false;
      if (createdMin !== undefined && store.created(id, 1) < createdMin) return false;
      return !idIn || idIn.has(id);
    });
    return sortIds(ids, url.searchParams.get('sort'), (field, id) =>
      field === 'date_created' ? store.created(id, 1) : (store.customerModified[id] ?? 0),
    );
  };

  const customerRecord = (id: number) => {
    const customer = store.customer(id);
    if (!malformed('customers', id)) return customer;
    return { ...customer, date_modified: 'not-a-date', customer_group_id: 'vip' };
  };

  const metafieldList = (url: URL, customerId?: number) => {
    const min = v3Date(url, 'date_modified:min');
    const namespace = url.searchParams.get('namespace') ?? url.searchParams.get('namespace:in');
    const key = url.searchParams.get('key') ?? url.searchParams.get('key:in');
    const matches = store.metafields.filter(
      (m) =>
        (customerId === undefined || m.resource_id === customerId) &&
        (min === undefined || Date.parse(m.date_modified) / 1000 >= min) &&
        (!namespace || namespace.split(',').includes(m.namespace)) &&
        (!key || key.split(',').includes(m.key)),
    );
    const byId = new Map(matches.map((m) => [m.id, m]));
    return v3Page(url, [...byId.keys()], (id) => {
      const metafield = byId.get(id)!;
      return malformed('metafields', id)
        ? { ...metafield, resource_id: null, date_modified: 'soon' }
        : metafield;
    });
  };

  const productIds = (url: URL): number[] => {
    const min = v3Date(url, 'date_modified:min');
    const max = v3Date(url, 'date_modified:max');
    const idIn = idList(url, 'id:in');
    const visible = url.searchParams.get('is_visible');
    return range(1, store.productCount, (id) => {
      const modified = store.productModified[id] ?? 0;
      if (min !== undefined && modified < min) return false;
      if (max !== undefined && modified > max) return false;
      if (visible !== null && String(store.product(id, false).is_visible) !== visible) return false;
      return !idIn || idIn.has(id);
    });
  };

  const orderIds = (url: URL): number[] => {
    const minModified = v2Date(url, 'min_date_modified');
    const maxModified = v2Date(url, 'max_date_modified');
    const minCreated = v2Date(url, 'min_date_created');
    const maxCreated = v2Date(url, 'max_date_created');
    const minId = url.searchParams.has('min_id') ? Number(url.searchParams.get('min_id')) : 1;
    const maxId = url.searchParams.has('max_id') ? Number(url.searchParams.get('max_id')) : store.orderCount;
    const status = url.searchParams.get('status_id');
    const customer = url.searchParams.get('customer_id');
    const ids = range(Math.max(1, minId), Math.min(store.orderCount, maxId), (id) => {
      const modified = store.orderModified[id] ?? 0;
      if (minModified !== undefined && modified < minModified) return false;
      if (maxModified !== undefined && modified > maxModified) return false;
      if (minCreated !== undefined || maxCreated !== undefined) {
        const created = store.created(id, 2);
        if (minCreated !== undefined && created < minCreated) return false;
        if (maxCreated !== undefined && created > maxCreated) return false;
      }
      if (status !== null && store.orderStatus(id) !== Number(status)) return false;
      return customer === null || store.orderCustomer(id) === Number(customer);
    });
    return sortIds(ids, url.searchParams.get('sort'), (field, id) =>
      field === 'date_created'
        ? store.created(id, 2)
        : field === 'date_modified'
          ? (store.orderModified[id] ?? 0)
          : id,
    );
  };

  const orderRecord = (id: number) => {
    const order = store.order(id, `${baseUrl}/stores/${storeHash}`);
    return malformed('orders', id)
      ? { ...order, date_modified: 'yesterday-ish', total_inc_tax: 'lots' }
      : order;
  };

  const variantsById = (productIds: Iterable<number>) => [...productIds].flatMap((id) => store.variants(id));

  /** `/v2/orders/{id}/<what>`: a v2 list of one order's details (204 when it has none). */
  const orderDetailRoute = (what: string, list: (orderId: number) => unknown[]): [RegExp, Route] => [
    new RegExp(`^/v2/orders/(\\d+)/${what}$`),
    {
      version: 'v2',
      scope: SCOPES.orders,
      handle: (url, match) => {
        const id = Number(match[1]);
        if (id < 1 || id > store.orderCount)
          throw new HttpFailure(404, 'The requested resource was not found.');
        return v2Page(url, list(id));
      },
    },
  ];

  const routes: [RegExp, Route][] = [
    [
      /^\/v3\/customers$/,
      {
        version: 'v3',
        scope: SCOPES.customers,
        handle: (url) => {
          const ids = customerIds(url);
          const after = url.searchParams.get('after');
          if (after !== null) {
            // Cursor pagination: the cursor is the base64 of the last id served.
            const last = Number(Buffer.from(after, 'base64').toString('utf8'));
            const limit = Math.min(intParam(url, 'limit', 50), MAX_LIMIT);
            const rest = ids.filter((id) => id > last).slice(0, limit);
            const cursor = (id: number | undefined) => Buffer.from(String(id ?? last)).toString('base64');
            return {
              status: 200,
              body: {
                data: rest.map(customerRecord),
                meta: {
                  cursor_pagination: {
                    count: rest.length,
                    per_page: limit,
                    start_cursor: cursor(rest[0]),
                    end_cursor: cursor(rest.at(-1)),
                    links:
                      rest.length === limit ? { next: `?after=${cursor(rest.at(-1))}&limit=${limit}` } : {},
                  },
                },
              },
            };
          }
          const list = v3Page(url, ids, customerRecord);
          if (list.meta.pagination?.current_page === 1 && list.data.length > 0) {
            const first = Buffer.from(String(list.data[0]!.id)).toString('base64');
            const last = Buffer.from(String(list.data.at(-1)!.id)).toString('base64');
            list.meta.cursor_pagination = {
              count: list.data.length,
              per_page: list.meta.pagination.per_page,
              start_cursor: first,
              end_cursor: last,
              links: list.meta.pagination.links.next
                ? { next: `?after=${last}&limit=${list.meta.pagination.per_page}` }
                : {},
            };
          }
          return { status: 200, body: list };
        },
      },
    ],
    [
      /^\/v3\/customers\/metafields$/,
      {
        version: 'v3',
        scope: SCOPES.customers,
        handle: (url) => ({ status: 200, body: metafieldList(url) }),
      },
    ],
    [
      /^\/v3\/customers\/(\d+)\/metafields$/,
      {
        version: 'v3',
        scope: SCOPES.customers,
        handle: (url, match) => {
          const id = Number(match[1]);
          if (id < 1 || id > store.customerCount) throw new HttpFailure(404, `Customer ${id} was not found`);
          return { status: 200, body: metafieldList(url, id) };
        },
      },
    ],
    [
      /^\/v3\/catalog\/products$/,
      {
        version: 'v3',
        scope: SCOPES.products,
        handle: (url) => {
          const include = (url.searchParams.get('include') ?? '').split(',');
          return {
            status: 200,
            body: v3Page(url, productIds(url), (id) => {
              const product = store.product(id, include.includes('variants'));
              return malformed('products', id)
                ? { ...product, price: 'free', date_modified: 'n/a' }
                : product;
            }),
          };
        },
      },
    ],
    [
      /^\/v3\/inventory\/(?:locations\/1\/)?items$/,
      {
        version: 'v3',
        scope: SCOPES.inventory,
        handle: (url) => {
          const products = idList(url, 'product_id:in');
          const variantIds = idList(url, 'variant_id:in');
          const skus = url.searchParams.get('sku:in')?.split(',');
          const candidates = products
            ? variantsById(products)
            : variantsById(range(1, store.productCount, () => true));
          const facts = candidates.filter(
            (f) => (!variantIds || variantIds.has(f.id)) && (!skus || skus.includes(f.sku)),
          );
          const byId = new Map(facts.map((f) => [f.id, f]));
          return {
            status: 200,
            body: v3Page(url, [...byId.keys()], (id) => store.inventoryItem(byId.get(id)!)),
          };
        },
      },
    ],
    [
      /^\/v2\/orders$/,
      { version: 'v2', scope: SCOPES.orders, handle: (url) => v2Page(url, orderIds(url), orderRecord) },
    ],
    [
      /^\/v2\/orders\/count$/,
      {
        version: 'v2',
        scope: SCOPES.orders,
        handle: (url) => {
          const ids = orderIds(url);
          const counts = new Map<number, number>();
          for (const id of ids)
            counts.set(store.orderStatus(id), (counts.get(store.orderStatus(id)) ?? 0) + 1);
          const statuses = Object.entries(ORDER_STATUSES).map(([id, name], i) => ({
            id: Number(id),
            name,
            system_label: name,
            custom_label: name,
            system_description: name,
            count: counts.get(Number(id)) ?? 0,
            sort_order: i,
          }));
          return { status: 200, body: { statuses, count: ids.length } };
        },
      },
    ],
    orderDetailRoute('products', (id) => store.orderProducts(id)),
    orderDetailRoute('shipments', (id) => store.shipments(id)),
  ];

  const errorBody = (version: 'v2' | 'v3', status: number, title: string, errors?: Record<string, string>) =>
    version === 'v2'
      ? [{ status, message: title }]
      : { status, title, type: STATUS_DOC, ...(errors ? { errors } : {}) };

  const rateHeaders = (res: ServerResponse, now: number): number => {
    if (!rateLimit) return 0;
    const reset = Math.max(0, windowStart + rateLimit.windowMs - now);
    res.setHeader('X-Rate-Limit-Time-Window-Ms', String(rateLimit.windowMs));
    res.setHeader('X-Rate-Limit-Time-Reset-Ms', String(reset));
    res.setHeader('X-Rate-Limit-Requests-Quota', String(rateLimit.quota));
    res.setHeader('X-Rate-Limit-Requests-Left', String(Math.max(0, rateLimit.quota - windowUsed)));
    return reset;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = Date.now();
    stats.requests++;
    const record: ReplicaRequestRecord = { method: req.method ?? 'GET', path: req.url ?? '', status: 0, at };
    stats.log.push(record);
    const send = (status: number, body?: unknown) => {
      record.status = status;
      if (status >= 200 && status < 300) stats.ok++;
      if (status === 204 || body === undefined) {
        res.writeHead(status).end();
        return;
      }
      res.writeHead(status, { 'Content-Type': JSON_TYPE }).end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://replica');
    const prefix = `/stores/${storeHash}`;
    const apiPath = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : undefined;
    const version = apiPath?.startsWith('/v2/') ? 'v2' : 'v3';
    if (apiPath === undefined)
      return send(
        404,
        errorBody('v3', 404, `No store at ${url.pathname}: use /stores/${storeHash}/v3/… or /v2/…`),
      );
    const found = routes.map(([pattern, route]) => [pattern.exec(apiPath), route] as const).find(([m]) => m);
    if (!found) return send(404, errorBody(version, 404, 'The requested resource was not found.'));
    const [match, route] = found as [RegExpExecArray, Route];
    if (req.method !== 'GET') return send(405, errorBody(version, 405, `${req.method} is not allowed here`));

    const token = req.headers['x-auth-token'];
    const scopes = typeof token === 'string' ? tokens.get(token) : undefined;
    if (!scopes) {
      stats.unauthorized++;
      return send(
        401,
        errorBody(
          route.version,
          401,
          'You have not provided authentication credentials or the X-Auth-Token is invalid.',
        ),
      );
    }
    if (!scopes.includes(route.scope) && !scopes.includes(`${route.scope}_read_only`)) {
      stats.forbidden++;
      return send(
        403,
        errorBody(
          route.version,
          403,
          `You don't have a required scope to access the endpoint (needs ${route.scope}_read_only).`,
        ),
      );
    }

    if (rateLimit) {
      if (windowStart === 0 || at >= windowStart + rateLimit.windowMs) {
        windowStart = at;
        windowUsed = 0;
      }
      if (windowUsed >= rateLimit.quota) {
        stats.rateLimited++;
        const reset = rateHeaders(res, at);
        res.setHeader('X-Retry-After', String(Math.max(1, Math.ceil(reset / 1000))));
        return send(
          429,
          errorBody(route.version, 429, 'Too many requests: the store quota for this window is used up.'),
        );
      }
      windowUsed++;
      rateHeaders(res, at);
    }

    const hit = !faults.paths || faults.paths.some((p) => apiPath.includes(p));
    const n = hit ? ++apiRequests : 0;
    const delay =
      (faults.delayMs ?? 0) +
      (hit && faults.slowEvery && n % faults.slowEvery === 0 ? (faults.slowMs ?? 1000) : 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const errorNow =
      hit &&
      ((faults.serverErrors ?? 0) > 0 ||
        (faults.serverErrorEvery !== undefined && n % faults.serverErrorEvery === 0));
    if (errorNow) {
      if ((faults.serverErrors ?? 0) > 0) faults.serverErrors = (faults.serverErrors ?? 0) - 1;
      stats.serverErrors++;
      const status = faults.serverErrorStatus ?? 500;
      return send(
        status,
        errorBody(route.version, status, status === 503 ? 'Service Unavailable' : 'Internal Server Error'),
      );
    }
    try {
      const answer = route.handle(url, match);
      send(answer.status, answer.body);
    } catch (error) {
      if (error instanceof HttpFailure)
        return send(error.status, errorBody(route.version, error.status, error.message, error.errors));
      throw error;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': JSON_TYPE });
      res.end(JSON.stringify({ status: 500, title: `Replica error: ${error.message}`, type: STATUS_DOC }));
    });
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://${host}:${port}`;

  return {
    url: baseUrl,
    storeHash,
    token: [...tokens.keys()][0] ?? '',
    store,
    stats,
    mutate: (fractions) => store.mutate(fractions),
    setFaults(next) {
      faults = { ...next };
      apiRequests = 0;
    },
    setRateLimit(next) {
      rateLimit = next === false ? false : { quota: 150, windowMs: 30_000, ...next };
      windowStart = 0;
      windowUsed = 0;
    },
    resetQuota() {
      windowStart = 0;
      windowUsed = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
