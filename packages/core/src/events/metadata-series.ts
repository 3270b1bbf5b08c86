/**
 * Numeric metadata across materializations, one series per metadata key: what the asset page
 * plots (rows loaded, companies updated, duration), as Dagster's Plots tab. Pure and free of
 * Node imports (browser-safe).
 */
import type { MetadataValue } from '../definitions/metadata.ts';

export interface SeriesPoint {
  /** The materialization's event id. */
  id: number;
  runId: string;
  /** ISO time of the materialization. */
  ts: string;
  value: number;
}

export interface MetadataSeries {
  key: string;
  /** 'int', 'float' or 'duration' (milliseconds). */
  type: 'int' | 'float' | 'duration';
  /** Oldest first. */
  points: SeriesPoint[];
}

/** The number a metadata value plots as, or undefined when it is not numeric. */
function numeric(
  value: MetadataValue | undefined,
): { type: MetadataSeries['type']; value: number } | undefined {
  if (!value) return undefined;
  if ((value.type === 'int' || value.type === 'float') && Number.isFinite(value.value)) {
    return { type: value.type, value: value.value };
  }
  if (value.type === 'duration' && Number.isFinite(value.ms)) return { type: 'duration', value: value.ms };
  return undefined;
}

/** Series of every numeric metadata key of these materializations (any order in; oldest first out). */
export function metadataSeries(
  materializations: readonly {
    id: number;
    runId: string;
    ts: Date | string;
    data: { metadata?: Record<string, MetadataValue> } | null;
  }[],
): MetadataSeries[] {
  const byKey = new Map<string, MetadataSeries>();
  const ordered = [...materializations].sort((a, b) => a.id - b.id);
  for (const m of ordered) {
    for (const [key, value] of Object.entries(m.data?.metadata ?? {})) {
      const n = numeric(value);
      if (!n) continue;
      const series = byKey.get(key) ?? { key, type: n.type, points: [] };
      byKey.set(key, series);
      series.points.push({
        id: m.id,
        runId: m.runId,
        ts: typeof m.ts === 'string' ? m.ts : m.ts.toISOString(),
        value: n.value,
      });
    }
  }
  return [...byKey.values()];
}
