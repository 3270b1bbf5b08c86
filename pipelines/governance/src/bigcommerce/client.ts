import { getMaxListeners, setMaxListeners } from 'node:events';
import type { z } from 'zod';
import { QuotaPacer, type RateLimiterOptions, sleep } from './rate-limiter.ts';
import {
  type Customer,
  customerSchema,
  type InventoryItem,
  inventoryItemSchema,
  type Metafield,
  metafieldSchema,
  type OnSaleInventory,
  type Order,
  type OrderProduct,
  type OrderWithDetails,
  orderProductSchema,
  orderSchema,
  type Product,
  productSchema,
  type Shipment,
  shipmentSchema,
} from './records.ts';

export const DEFAULT_BIGCOMMERCE_API_URL = 'https://api.bigcommerce.com';

export interface BigCommerceClientOptions {
  /** Sent as `X-Auth-Token`; never logged nor put in an error. */
  accessToken: string;
  storeHash: string;
  /** Default https://api.bigcommerce.com. */
  apiUrl?: string;
  /** Requests in flight at once. Default 8. */
  maxInFlight?: number;
  /** Retries of a 429, 5xx or network failure before giving up. Default 6. */
  maxRetries?: number;
  /** First backoff delay (doubles each retry, with jitter). Default 500 ms. */
  backoffMs?: number;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  /** Quota pacing (reserve left for the store's other apps). */
  rateLimit?: RateLimiterOptions;
  signal?: AbortSignal;
  /** Where warnings go (a skipped record, a retry). */
  onWarning?: (message: string) => void;
}

export interface BigCommerceStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** List pages received. */
  pages: number;
  /** Time the pacer held requests back to stay inside the quota. */
  rateLimitWaitMs: number;
  /** 429 answers received (each was retried). */
  rateLimited: number;
  /** Retries after a 5xx or a network failure. */
  retries: number;
  /** Malformed records skipped, by kind. */
  skipped: Record<string, number>;
}

/** A BigCommerce answer the client cannot proceed with: names the request and how to fix it. */
export class BigCommerceError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly path: string,
  ) {
    super(message);
    this.name = 'BigCommerceError';
  }
}

/** The OAuth scope each API area needs (read-only suffices), for 403 messages. */
const SCOPE_BY_PATH: [RegExp, string, string][] = [
  [/^\/v3\/customers/, 'store_v2_customers_read_only', 'Customers: read-only'],
  [/^\/v2\/orders/, 'store_v2_orders_read_only', 'Orders: read-only'],
  [/^\/v3\/catalog/, 'store_v2_products_read_only', 'Products: read-only'],
  [/^\/v3\/inventory/, 'store_inventory_read_only', 'Inventory: read-only'],
];

const V3_MAX_LIMIT = 250;

interface Answer {
  status: number;
  body: unknown;
}

interface StreamOptions {
  batchSize?: number;
  /** Only records modified at or after this time. */
  modifiedSince?: Date;
}

/** v3 date filters: `YYYY-MM-DDThh:mm:ss`, in UTC. */
function v3Date(date: Date): string {
  return date.toISOString().slice(0, 19);
}

/** v2 date filters: RFC 2822. */
function v2Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

function errorTitle(body: unknown): string {
  if (Array.isArray(body)) return body.map((e) => (e as { message?: string })?.message ?? '').join('; ');
  if (body && typeof body === 'object') {
    const { title, errors } = body as { title?: string; errors?: Record<string, string> };
    return [title, errors ? JSON.stringify(errors) : ''].filter(Boolean).join(' ');
  }
  return typeof body === 'string' ? body.slice(0, 200) : '';
}

function positive(headers: Headers, name: string): number | undefined {
  const value = Number(headers.get(name));
  return headers.has(name) && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * A typed client of the BigCommerce REST API on `fetch`, for reading a store in bulk: async
 * streams of batches, at most `maxInFlight` requests at once, paced to the store's shared quota
 * from its `X-Rate-Limit-*` headers, with retries of 429 / 5xx and both pagination styles (v3
 * `meta.pagination`, v2 bare arrays ending in 204).
 */
export class BigCommerceClient {
  readonly stats: BigCommerceStats = {
    requests: 0,
    pages: 0,
    rateLimitWaitMs: 0,
    rateLimited: 0,
    retries: 0,
    skipped: {},
  };
  readonly #base: string;
  readonly #token: string;
  readonly #storeHash: string;
  readonly #maxInFlight: number;
  readonly #maxRetries: number;
  readonly #backoffMs: number;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #warn: (message: string) => void;
  readonly #pacer: QuotaPacer;
  #inFlight = 0;
  #slots: (() => void)[] = [];

  constructor(options: BigCommerceClientOptions) {
    if (!options.accessToken) {
      throw new Error(
        'BIGCOMMERCE_ACCESS_TOKEN is empty: set it to the access token of a store API account.',
      );
    }
    if (!options.storeHash || !/^[a-z0-9]+$/i.test(options.storeHash)) {
      throw new Error(
        `BIGCOMMERCE_STORE_HASH ${JSON.stringify(options.storeHash ?? '')} is not a store hash: use the letters and digits after /stores/ in the store's API path.`,
      );
    }
    this.#token = options.accessToken;
    this.#storeHash = options.storeHash;
    this.#base = `${(options.apiUrl ?? DEFAULT_BIGCOMMERCE_API_URL).replace(/\/+$/, '')}/stores/${options.storeHash}`;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 8);
    this.#maxRetries = options.maxRetries ?? 6;
    this.#backoffMs = options.backoffMs ?? 500;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#signal = options.signal;
    // Each request in flight (and the quota pacer's sleep) listens to the signal until it ends:
    // this client's share of listeners, so that several clients on one step's signal do not
    // set off Node's "possible memory leak" warning (10 by default) for what is bounded.
    if (this.#signal) setMaxListeners(getMaxListeners(this.#signal) + this.#maxInFlight + 1, this.#signal);
    this.#warn = options.onWarning ?? (() => {});
    this.#pacer = new QuotaPacer(options.rateLimit);
  }

  /** The last quota state the store reported. */
  get quota() {
    return this.#pacer.snapshot;
  }

  // ------------------------------------------------------------------ transport

  async #slot(): Promise<void> {
    while (this.#inFlight >= this.#maxInFlight)
      await new Promise<void>((resolve) => this.#slots.push(resolve));
    this.#inFlight++;
  }

  #freeSlot(): void {
    this.#inFlight--;
    this.#slots.shift()?.();
  }

  /** One GET, retried on 429 / 5xx / network failure; returns 2xx answers (body undefined for 204). */
  async get(path: string, params: Record<string, string | number | undefined> = {}): Promise<Answer> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
    const qs = query.toString();
    const url = `${this.#base}${path}${qs ? `?${qs}` : ''}`;
    const where = `GET ${path}${qs ? `?${decodeURIComponent(qs)}` : ''}`;
    await this.#slot();
    try {
      for (let attempt = 0; ; attempt++) {
        await this.#pacer.acquire(this.#signal);
        this.stats.rateLimitWaitMs = this.#pacer.waitedMs;
        let response: Response;
        let text: string;
        this.stats.requests++;
        try {
          ({ response, text } = await this.#fetchText(url));
        } catch (error) {
          this.#pacer.release(undefined);
          this.#signal?.throwIfAborted();
          if (attempt >= this.#maxRetries) {
            throw new BigCommerceError(
              `BigCommerce store ${this.#storeHash} did not answer ${where} after ${attempt + 1} attempts: ${(error as Error).message}. Check BIGCOMMERCE_API_URL and the network.`,
              0,
              path,
            );
          }
          this.stats.retries++;
          await sleep(this.#backoff(attempt), this.#signal);
          continue;
        }
        if (response.status === 429) {
          this.stats.rateLimited++;
          const resetMs = positive(response.headers, 'x-rate-limit-time-reset-ms');
          const retryAfter = positive(response.headers, 'x-retry-after');
          // With the quota headers: wait for the reset (the longer of both). Without them the
          // platform itself is overloaded: back off, growing.
          const waitMs =
            resetMs !== undefined || retryAfter !== undefined
              ? Math.max(resetMs ?? 0, (retryAfter ?? 0) * 1000)
              : this.#backoff(attempt);
          this.#pacer.observe(response.headers);
          this.#pacer.exhausted(waitMs);
          this.#pacer.release(undefined);
          if (attempt >= this.#maxRetries) {
            throw new BigCommerceError(
              `BigCommerce kept answering 429 Too Many Requests to ${where} (${attempt + 1} attempts): other apps of store ${this.#storeHash} may be using up its quota.`,
              429,
              path,
            );
          }
          continue;
        }
        this.#pacer.release(response.headers);
        if (response.status >= 500) {
          if (attempt >= this.#maxRetries) {
            throw new BigCommerceError(
              `BigCommerce answered ${response.status} to ${where} ${attempt + 1} times: ${errorTitle(safeJson(text))}`.trim(),
              response.status,
              path,
            );
          }
          this.stats.retries++;
          this.#warn(
            `BigCommerce answered ${response.status} to ${where}; retrying (attempt ${attempt + 2}).`,
          );
          await sleep(this.#backoff(attempt), this.#signal);
          continue;
        }
        if (response.status === 401) {
          throw new BigCommerceError(
            `BIGCOMMERCE_ACCESS_TOKEN was refused by BigCommerce (401 on ${where} for store ${this.#storeHash}): check that the token is current and was made for the store BIGCOMMERCE_STORE_HASH names.`,
            401,
            path,
          );
        }
        if (response.status === 403) {
          const [, scope, label] = SCOPE_BY_PATH.find(([pattern]) => pattern.test(path)) ?? [];
          throw new BigCommerceError(
            `BigCommerce refused ${where} (403): the API account of BIGCOMMERCE_ACCESS_TOKEN lacks the scope ${scope ? `${scope} (${label})` : 'this path needs'}. Add it to the store's API account and use the new token.`,
            403,
            path,
          );
        }
        if (response.status >= 400) {
          throw new BigCommerceError(
            `BigCommerce answered ${response.status} to ${where}: ${errorTitle(safeJson(text))}`,
            response.status,
            path,
          );
        }
        if (text === '') return { status: response.status, body: undefined };
        const body = safeJson(text);
        if (body === undefined) {
          throw new BigCommerceError(
            `BigCommerce answered ${where} with a body that is not JSON.`,
            response.status,
            path,
          );
        }
        return { status: response.status, body };
      }
    } finally {
      this.stats.rateLimitWaitMs = this.#pacer.waitedMs;
      this.#freeSlot();
    }
  }

  /**
   * One request and its body, cut off after `timeoutMs` or when the client's signal aborts. Its
   * own controller, unlinked when done: a listener per request on a step's long-lived signal
   * (as `AbortSignal.any` leaves them) would pile up over a load of 100,000 requests.
   */
  async #fetchText(url: string): Promise<{ response: Response; text: string }> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    const onAbort = () => controller.abort(this.#signal?.reason);
    this.#signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.#signal?.throwIfAborted();
      const response = await fetch(url, {
        headers: { 'X-Auth-Token': this.#token, Accept: 'application/json' },
        signal: controller.signal,
      });
      const text = response.status === 204 ? '' : await response.text();
      return { response, text };
    } finally {
      clearTimeout(timer);
      this.#signal?.removeEventListener('abort', onAbort);
    }
  }

  #backoff(attempt: number): number {
    const base = this.#backoffMs * 2 ** attempt;
    return Math.min(30_000, base / 2 + Math.random() * base);
  }

  // ------------------------------------------------------------------ pagination

  /** Keeps what fits the schema; counts and reports the rest. */
  #valid<S extends z.ZodType>(kind: string, schema: S, items: unknown[]): z.output<S>[] {
    const out: z.output<S>[] = [];
    for (const item of items) {
      const parsed = schema.safeParse(item);
      if (parsed.success) {
        out.push(parsed.data);
        continue;
      }
      this.stats.skipped[kind] = (this.stats.skipped[kind] ?? 0) + 1;
      const id = (item as { id?: unknown } | null)?.id;
      const issue = parsed.error.issues[0];
      this.#warn(
        `Skipped a malformed BigCommerce ${kind} (id ${JSON.stringify(id ?? null)}): field '${issue?.path.join('.') ?? '?'}' ${issue?.message ?? 'is invalid'}.`,
      );
    }
    return out;
  }

  /**
   * A v3 list, page by page: page 1 tells `total_pages`; the rest are fetched concurrently
   * (in order of yield), up to `maxInFlight` pages ahead.
   */
  async *#v3Pages<S extends z.ZodType>(
    kind: string,
    schema: S,
    path: string,
    params: Record<string, string | number | undefined>,
    limit: number,
  ): AsyncGenerator<z.output<S>[]> {
    const pageSize = Math.min(V3_MAX_LIMIT, Math.max(1, limit));
    const page = async (n: number) => {
      const answer = await this.get(path, { ...params, page: n, limit: pageSize });
      const body = answer.body as
        | { data?: unknown[]; meta?: { pagination?: { total_pages?: number } } }
        | undefined;
      if (body !== undefined && !Array.isArray(body?.data)) {
        throw new BigCommerceError(
          `BigCommerce answered GET ${path} without a data array.`,
          answer.status,
          path,
        );
      }
      this.stats.pages++;
      return { data: body?.data ?? [], totalPages: body?.meta?.pagination?.total_pages };
    };
    const first = await page(1);
    yield this.#valid(kind, schema, first.data);
    // Without pagination totals, follow pages until an empty or short one.
    const totalPages = first.totalPages ?? (first.data.length < pageSize ? 1 : Number.POSITIVE_INFINITY);
    if (totalPages === Number.POSITIVE_INFINITY) {
      for (let n = 2; ; n++) {
        const next = await page(n);
        if (next.data.length > 0) yield this.#valid(kind, schema, next.data);
        if (next.data.length < pageSize) return;
      }
    }
    const numbers = Array.from({ length: Math.max(0, totalPages - 1) }, (_, i) => i + 2);
    for await (const next of ordered(numbers, this.#maxInFlight, page)) {
      yield this.#valid(kind, schema, next.data);
    }
  }

  /**
   * A v2 list: bare arrays, no totals, 204 (no body) past the end. Pages are fetched `lookahead`
   * at a time; the first empty or short page ends it.
   */
  async *#v2Pages(
    path: string,
    params: Record<string, string | number | undefined>,
    limit: number,
    lookahead: number,
  ): AsyncGenerator<unknown[]> {
    const pageSize = Math.min(V3_MAX_LIMIT, Math.max(1, limit));
    const page = async (n: number) => {
      const answer = await this.get(path, { ...params, page: n, limit: pageSize });
      if (answer.status === 204 || answer.body === undefined) return [];
      if (!Array.isArray(answer.body)) {
        throw new BigCommerceError(
          `BigCommerce answered GET ${path} (v2) with something other than an array.`,
          answer.status,
          path,
        );
      }
      this.stats.pages++;
      return answer.body as unknown[];
    };
    for (let start = 1; ; start += lookahead) {
      const numbers = Array.from({ length: lookahead }, (_, i) => start + i);
      for await (const items of ordered(numbers, lookahead, page)) {
        if (items.length > 0) yield items;
        if (items.length < pageSize) return;
      }
    }
  }

  async #v2All<S extends z.ZodType>(kind: string, schema: S, path: string): Promise<z.output<S>[]> {
    const out: z.output<S>[] = [];
    for await (const items of this.#v2Pages(path, {}, V3_MAX_LIMIT, 1))
      out.push(...this.#valid(kind, schema, items));
    return out;
  }

  // ------------------------------------------------------------------ streams

  /** A v3 list filtered by `date_modified:min`, `batchSize` (default 250) per batch. */
  #v3Stream<S extends z.ZodType>(
    kind: string,
    schema: S,
    path: string,
    options: StreamOptions,
    params: Record<string, string> = {},
  ): AsyncGenerator<z.output<S>[]> {
    const since = options.modifiedSince ? v3Date(options.modifiedSince) : undefined;
    return this.#v3Pages(
      kind,
      schema,
      path,
      { ...params, 'date_modified:min': since },
      options.batchSize ?? 250,
    );
  }

  /** Customers (v3), oldest id first. */
  streamAllCustomers(options: StreamOptions = {}): AsyncGenerator<Customer[]> {
    return this.#v3Stream('customer', customerSchema, '/v3/customers', options);
  }

  /** Every customer metafield (`/v3/customers/metafields`). */
  streamCustomerMetafields(options: StreamOptions = {}): AsyncGenerator<Metafield[]> {
    return this.#v3Stream('customer metafield', metafieldSchema, '/v3/customers/metafields', options);
  }

  /** Products with their variants (`include=variants`). */
  streamAllProducts(options: StreamOptions = {}): AsyncGenerator<Product[]> {
    return this.#v3Stream('product', productSchema, '/v3/catalog/products', options, { include: 'variants' });
  }

  /** Line items of one order (`/v2/orders/{id}/products`, every page). */
  orderProducts(orderId: number): Promise<OrderProduct[]> {
    return this.#v2All('order product', orderProductSchema, `/v2/orders/${orderId}/products`);
  }

  /** Shipments of one order (`/v2/orders/{id}/shipments`; 204 when none). */
  orderShipments(orderId: number): Promise<Shipment[]> {
    return this.#v2All('shipment', shipmentSchema, `/v2/orders/${orderId}/shipments`);
  }

  /**
   * Orders (v2), `batchSize` (default 50) per batch, each with its line items and shipments.
   * Two pages are read ahead so the detail requests of one page overlap the next.
   */
  async *streamAllOrders(options: StreamOptions = {}): AsyncGenerator<OrderWithDetails[]> {
    const params = {
      sort: 'id:asc',
      min_date_modified: options.modifiedSince ? v2Date(options.modifiedSince) : undefined,
    };
    const pages = this.#v2Pages('/v2/orders', params, options.batchSize ?? 50, 2);
    const detailed = mapAhead(pages, 2, async (items) => {
      const orders = this.#valid('order', orderSchema, items);
      return await Promise.all(
        orders.map(async (order: Order) => {
          const [products, shipments] = await Promise.all([
            this.orderProducts(order.id),
            this.orderShipments(order.id),
          ]);
          return { order, products, shipments };
        }),
      );
    });
    yield* detailed;
  }

  /**
   * Every variant on sale (its sale price above 0 and below its price; a variant without its own
   * prices takes the product's), with its stock from `/v3/inventory/items` (all locations).
   */
  async *streamOnSaleInventory(options: { batchSize?: number } = {}): AsyncGenerator<OnSaleInventory[]> {
    for await (const products of this.streamAllProducts({ batchSize: options.batchSize ?? 250 })) {
      const onSale: OnSaleInventory[] = [];
      for (const product of products) {
        for (const variant of product.variants) {
          const price = variant.price ?? product.price;
          const salePrice = variant.sale_price ?? product.sale_price;
          if (!(salePrice > 0 && salePrice < price)) continue;
          onSale.push({
            product_id: product.id,
            variant_id: variant.id,
            sku: variant.sku,
            price,
            sale_price: salePrice,
            inventory_level: variant.inventory_level,
            is_in_stock: variant.inventory_level > 0,
          });
        }
      }
      if (onSale.length === 0) continue;
      // Stock by location, 50 variants a request (a URL stays short).
      const chunks: OnSaleInventory[][] = [];
      for (let i = 0; i < onSale.length; i += 50) chunks.push(onSale.slice(i, i + 50));
      await Promise.all(
        chunks.map(async (chunk) => {
          const items: InventoryItem[] = [];
          for await (const page of this.#v3Pages(
            'inventory item',
            inventoryItemSchema,
            '/v3/inventory/items',
            { 'variant_id:in': chunk.map((row) => row.variant_id).join(',') },
            V3_MAX_LIMIT,
          ))
            items.push(...page);
          const byVariant = new Map(items.map((item) => [item.identity.variant_id, item]));
          for (const row of chunk) {
            const item = byVariant.get(row.variant_id);
            if (!item) continue;
            const enabled = item.locations.filter((l) => l.location_enabled);
            row.inventory_level = enabled.reduce((sum, l) => sum + l.available_to_sell, 0);
            row.is_in_stock = enabled.some((l) => l.settings?.is_in_stock ?? l.available_to_sell > 0);
          }
        }),
      );
      yield onSale;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Runs `fn` over `items` with at most `concurrency` at once, yielding results in input order. */
async function* ordered<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const running: Promise<R>[] = [];
  let next = 0;
  const fill = () => {
    while (next < items.length && running.length < concurrency) {
      const promise = fn(items[next++] as T);
      promise.catch(() => {}); // awaited below in order; avoids an unhandled rejection meanwhile
      running.push(promise);
    }
  };
  fill();
  while (running.length > 0) {
    const value = await running.shift()!;
    fill();
    yield value;
  }
}

/** Maps an async iterable with up to `ahead` items in progress, yielding in order. */
async function* mapAhead<T, R>(
  source: AsyncIterable<T>,
  ahead: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const running: Promise<R>[] = [];
  for await (const item of source) {
    const promise = fn(item);
    promise.catch(() => {});
    running.push(promise);
    if (running.length >= ahead) yield await running.shift()!;
  }
  while (running.length > 0) yield await running.shift()!;
}
