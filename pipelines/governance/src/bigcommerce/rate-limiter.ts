/**
 * Paces requests to a BigCommerce store's quota, which every app installed on the store shares.
 *
 * BigCommerce publishes the quota's state on every answer (`X-Rate-Limit-Requests-Left`,
 * `X-Rate-Limit-Time-Reset-Ms`, `…-Requests-Quota`, `…-Time-Window-Ms`). The limiter treats
 * `Requests-Left` as a token bucket that refills completely when the window resets: a request may
 * start while (left − requests already in flight) stays above a reserve kept free for the other
 * apps; otherwise the limiter waits for the reset. Generic rate-limit libraries (token buckets
 * with a fixed refill rate) cannot follow a server-reported, shared budget, hence this small class.
 */

export interface QuotaSnapshot {
  /** Requests allowed per window. */
  quota: number;
  windowMs: number;
  /** Requests left in the current window, as the last answer of this window said. */
  left: number;
  /** Epoch ms at which the window resets. */
  resetAt: number;
}

export interface RateLimiterOptions {
  /**
   * Requests of each window left for the other apps of the store. Default: 2% of the quota,
   * at least 2.
   */
  reserve?: number | ((quota: number) => number);
  /** Extra wait after the announced reset, for clock and network slack. Default 25 ms. */
  resetSlackMs?: number;
  now?: () => number;
}

export const defaultReserve = (quota: number): number => Math.max(2, Math.ceil(quota * 0.02));

export class QuotaPacer {
  #state: QuotaSnapshot | undefined;
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  #sleeping: Promise<void> | undefined;
  #waitedMs = 0;
  /** The last answer carried no quota headers: the store (or a proxy before it) sets no limit. */
  #unlimited = false;
  readonly #reserve: (quota: number) => number;
  readonly #slack: number;
  readonly #now: () => number;

  constructor(options: RateLimiterOptions = {}) {
    const reserve = options.reserve ?? defaultReserve;
    this.#reserve = typeof reserve === 'number' ? () => reserve : reserve;
    this.#slack = options.resetSlackMs ?? 25;
    this.#now = options.now ?? Date.now;
  }

  /** Total ms the limiter held requests back to stay inside the quota. */
  get waitedMs(): number {
    return this.#waitedMs;
  }

  get snapshot(): QuotaSnapshot | undefined {
    return this.#state ? { ...this.#state } : undefined;
  }

  /** Waits until a request may start inside the quota, and counts it as in flight. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const state = this.#state;
      if (state && this.#now() >= state.resetAt) {
        // The window has reset: the whole quota is back (the next answer corrects it if not).
        state.left = state.quota;
        state.resetAt = this.#now() + state.windowMs;
      }
      if (!state) {
        // Until an answer tells the quota, one request at a time; none to follow, no pacing.
        if (this.#inFlight === 0 || this.#unlimited) break;
      } else if (state.left - this.#inFlight > this.#reserve(state.quota)) {
        break;
      } else if (this.#inFlight === 0) {
        await this.#sleepUntil(state.resetAt + this.#slack, signal);
        continue;
      }
      // Wait for an answer in flight: it brings the quota's latest state.
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#inFlight++;
  }

  /**
   * Records an answer's rate-limit headers (absent when the store has no limit) and releases
   * the request's slot.
   */
  release(headers: Headers | undefined): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (headers) {
      this.#unlimited = !headers.has('x-rate-limit-requests-left');
      this.observe(headers);
    }
    this.#wake();
  }

  /** Updates the quota's state from an answer's headers. */
  observe(headers: Headers): void {
    const quota = Number(headers.get('x-rate-limit-requests-quota'));
    const left = Number(headers.get('x-rate-limit-requests-left'));
    const resetMs = Number(headers.get('x-rate-limit-time-reset-ms'));
    const windowMs = Number(headers.get('x-rate-limit-time-window-ms'));
    if (!headers.has('x-rate-limit-requests-left') || !Number.isFinite(left) || !Number.isFinite(resetMs))
      return;
    const now = this.#now();
    const resetAt = now + resetMs;
    const state = this.#state;
    // Answers of one window report resets that differ only by their latency; the next window's
    // reset is a whole window later.
    const window = windowMs > 0 ? windowMs : (state?.windowMs ?? 1000);
    const sameWindow = state !== undefined && Math.abs(state.resetAt - resetAt) < window / 2;
    if (state && sameWindow) {
      // Answers of one window arrive out of order: the lowest count is the latest truth.
      state.left = Math.min(state.left, left);
      state.resetAt = Math.max(state.resetAt, resetAt);
      if (quota > 0) state.quota = quota;
      if (windowMs > 0) state.windowMs = windowMs;
    } else if (!state || resetAt > state.resetAt) {
      // A newer window (an answer of an older one, arriving late, is ignored).
      this.#state = {
        quota: quota > 0 ? quota : (state?.quota ?? left),
        windowMs: windowMs > 0 ? windowMs : (state?.windowMs ?? resetMs),
        left,
        resetAt,
      };
    }
  }

  /** A 429: nothing is left until `waitMs` from now. */
  exhausted(waitMs: number): void {
    const now = this.#now();
    const state = this.#state ?? { quota: 1, windowMs: waitMs, left: 0, resetAt: now + waitMs };
    state.left = 0;
    state.resetAt = Math.max(state.resetAt, now + waitMs);
    this.#state = state;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** One shared sleep, so the time waited counts once however many requests wait. */
  async #sleepUntil(until: number, signal?: AbortSignal): Promise<void> {
    if (!this.#sleeping) {
      const ms = Math.max(0, until - this.#now());
      const started = this.#now();
      this.#sleeping = sleep(ms, signal).finally(() => {
        this.#waitedMs += this.#now() - started;
        this.#sleeping = undefined;
        this.#wake();
      });
    }
    await this.#sleeping;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
