/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in input order of start.
 * Stops starting new work once `signal` aborts; work already started is awaited.
 * Never rejects because of `fn`: callers turn per-item errors into failed items themselves.
 */
export async function mapBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      if (signal?.aborted) return;
      const index = next++;
      if (index >= items.length) return;
      await fn(items[index] as T, index);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
}
