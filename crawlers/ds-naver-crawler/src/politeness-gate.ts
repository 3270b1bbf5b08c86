import { setTimeout as sleep } from 'node:timers/promises';
import type { DelayRange } from './crawler-config.ts';

/**
 * Spaces requests out per host: a jittered pause before every request, and a shared cool-down
 * after a 429 or a 5xx so that every worker backs off together, not just the one that was refused.
 */
export class PolitenessGate {
  readonly #coolDownUntil = new Map<string, number>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  async wait(host: string, delay: DelayRange): Promise<void> {
    for (;;) {
      const remaining = (this.#coolDownUntil.get(host) ?? 0) - Date.now();
      if (remaining <= 0) break;
      await sleep(remaining);
    }
    const pause = delay.min + this.#random() * (delay.max - delay.min);
    if (pause > 0) await sleep(pause);
  }

  coolDown(host: string, ms: number): void {
    const until = Date.now() + ms;
    if (until > (this.#coolDownUntil.get(host) ?? 0)) this.#coolDownUntil.set(host, until);
  }

  /** Exponential backoff with jitter: about base·2^attempt, never more than `capMs`. */
  backoffMs(attempt: number, baseMs: number, capMs: number): number {
    const exponential = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
    return Math.round(exponential * (0.5 + this.#random() * 0.5));
  }
}

/** Milliseconds to wait from a Retry-After header (delta-seconds or an HTTP date); `undefined` if absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
