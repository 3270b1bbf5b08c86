import { formatDuration } from '@dag/core';

/**
 * Formats progress lines with rate and ETA, at most once per `intervalMs`:
 * `downloaded 120/1,000 PNGs (12%), 45.2/s, ETA 19.5s`.
 */
export class EtaReporter {
  private readonly started: number;
  /** The first line waits one interval: a rate from the first item or two is mostly start-up. */
  private last: number;
  /** Items counted by `tick`. */
  done = 0;

  constructor(
    private readonly verb: string,
    private readonly noun: string,
    private readonly total: number,
    private readonly intervalMs = 2000,
    /** The time in milliseconds (tests pass their own clock). */
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    this.last = this.started;
  }

  /** The line to log now, or undefined when the last one is too recent (the final one always passes). */
  line(done: number): string | undefined {
    const now = this.now();
    if (done < this.total && now - this.last < this.intervalMs) return undefined;
    this.last = now;
    const elapsed = now - this.started;
    const rate = elapsed > 0 ? (done / elapsed) * 1000 : 0;
    const remaining = rate > 0 ? ((this.total - done) / rate) * 1000 : undefined;
    const percent = this.total > 0 ? Math.floor((done / this.total) * 100) : 100;
    const eta =
      done >= this.total
        ? `done in ${formatDuration(elapsed)}`
        : `ETA ${remaining === undefined ? '?' : formatDuration(remaining)}`;
    return `${this.verb} ${done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')} ${this.noun} (${percent}%), ${rate.toFixed(1)}/s, ${eta}`;
  }

  /**
   * Counts one more item done: the step's progress (`120/1,000 PNGs`), and the ETA line in its
   * log when one is due.
   */
  tick(ctx: {
    progress(done: number, total: number, message?: string): void;
    log: { info(message: string): void };
  }): void {
    this.done += 1;
    ctx.progress(this.done, this.total, `${this.done}/${this.total} ${this.noun}`);
    const line = this.line(this.done);
    if (line) ctx.log.info(line);
  }
}
