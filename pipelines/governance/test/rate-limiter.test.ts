import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { QuotaPacer } from '../src/bigcommerce/rate-limiter.ts';

const quotaHeaders = (left: number, resetMs: number) =>
  new Headers({
    'X-Rate-Limit-Requests-Quota': '150',
    'X-Rate-Limit-Time-Window-Ms': '30000',
    'X-Rate-Limit-Requests-Left': String(left),
    'X-Rate-Limit-Time-Reset-Ms': String(resetMs),
  });

/** How many acquires complete before the pacer makes the next one wait (up to `max`). */
async function admitted(pacer: QuotaPacer, max: number, signal: AbortSignal): Promise<number> {
  let n = 0;
  for (; n < max; n++) {
    const next = pacer.acquire(signal);
    next.catch(() => {}); // a waiter left behind is aborted when the test ends
    const won = await Promise.race([
      next.then(() => true),
      new Promise<false>((r) => setImmediate(() => r(false))),
    ]);
    if (!won) return n;
  }
  return n;
}

describe('the quota pacer', () => {
  let stop: AbortController;
  beforeEach(() => {
    stop = new AbortController();
  });
  afterEach(() => stop.abort());

  it('before any answer, sends one request at a time', async () => {
    assert.equal(await admitted(new QuotaPacer(), 5, stop.signal), 1);
  });

  it('spends what the store says is left, keeping the reserve for the other apps', async () => {
    const pacer = new QuotaPacer();
    await pacer.acquire();
    pacer.release(quotaHeaders(12, 20_000));
    // 12 left, a reserve of max(2, 2% of 150) = 3: 9 may start now.
    assert.equal(await admitted(pacer, 20, stop.signal), 9);
    for (let i = 0; i < 9; i++) pacer.release(quotaHeaders(3, 19_000));
    // Nothing above the reserve, nothing in flight: the next request waits for the reset.
    assert.equal(await admitted(pacer, 1, stop.signal), 0);
    assert.equal(pacer.snapshot?.left, 3);
  });

  it('answers without quota headers (no limit to follow): as many at once as the client sends', async () => {
    const pacer = new QuotaPacer();
    await pacer.acquire();
    pacer.release(new Headers({ 'Content-Type': 'application/json' }));
    assert.equal(await admitted(pacer, 8, stop.signal), 8);
  });
});
