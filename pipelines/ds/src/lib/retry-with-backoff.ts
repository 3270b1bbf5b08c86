import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `fn` up to `attempts` times, waiting `baseMs`, 2×, 4×... (±25% jitter) between tries.
 * Gives up at once when `signal` aborts or `isPermanent(error)` says no retry can help.
 */
export async function retryWithBackoff<T>(
  fn: () => Promise<T>,
  options: {
    attempts: number;
    baseMs?: number;
    signal?: AbortSignal;
    isPermanent?: (error: unknown) => boolean;
  },
): Promise<T> {
  const base = options.baseMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= options.attempts || options.signal?.aborted || options.isPermanent?.(error)) throw error;
      const delay = base * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => {});
    }
  }
}
