import type { RetryPolicy } from '../types.ts';

/** Milliseconds to wait before retry number `attempt` (1 = first retry) of a policy. */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.max(0, policy.delayMs ?? 1000);
  const backoff = policy.backoff ?? 'exponential';
  const raw =
    backoff === 'constant' ? base : backoff === 'linear' ? base * attempt : base * 2 ** (attempt - 1);
  const jitter = policy.jitter ?? 'plus-minus';
  const delay = jitter === 'full' ? raw * random() : jitter === 'plus-minus' ? raw * (0.5 + random()) : raw;
  return Math.round(delay);
}
