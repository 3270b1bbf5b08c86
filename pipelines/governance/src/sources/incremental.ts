import { z } from 'zod';

/** Config of every incremental source asset: the window to re-read, or everything. */
export const incrementalConfig = z
  .object({
    hours_lookback: z
      .number()
      .positive()
      .default(12)
      .describe('Re-read records modified in the last this many hours.'),
    full_refresh: z.boolean().default(false).describe('Read every record, whatever its modification time.'),
  })
  .strict();

export type IncrementalConfig = z.output<typeof incrementalConfig>;

/** The earliest modification time to read; null for a full refresh. */
export function windowStart(config: IncrementalConfig, now: Date = new Date()): Date | null {
  if (config.full_refresh) return null;
  return new Date(now.getTime() - config.hours_lookback * 3_600_000);
}
