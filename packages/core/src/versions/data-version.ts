import { createHash, randomUUID } from 'node:crypto';
import type stableStringifyModule from 'safe-stable-stringify';
import type { z } from 'zod';
import type { AssetVersionRecord } from '../instance/storage.ts';
import { encodeValue } from '../io/value-codec.ts';
import { lazyRequire } from '../util/lazy-require.ts';

/** Loaded on first use: only runs compute config versions. */
const stableStringify = lazyRequire<typeof stableStringifyModule>('safe-stable-stringify', import.meta.url);

/** A short, stable fingerprint of some text or bytes. */
export function fingerprint(input: string | Uint8Array): string {
  return createHash('sha256').update(input).digest('hex').slice(0, 16);
}

/**
 * The data version of a stored value: a hash of how the default IO manager writes it, so two
 * materializations that stored the same value have the same version. A value that cannot be
 * encoded (a custom IO manager stores it), or no value at all, gets a fresh version: each
 * materialization is then new data.
 */
export function valueDataVersion(value: unknown, key: string): string {
  if (value === undefined) return randomUUID();
  if (Buffer.isBuffer(value)) return fingerprint(value);
  try {
    return fingerprint(encodeValue(value, key, key));
  } catch {
    return randomUUID();
  }
}

/** The version of a step's config: a hash of its canonical JSON; null for an asset without config. */
export function configVersion(config: unknown): string | null {
  if (config === undefined) return null;
  return fingerprint(stableStringify()(config) ?? 'null');
}

/**
 * The version of the config an asset runs with when none is given: its schema's defaults.
 * Null when it has no config, or the config has required fields (there is no default).
 */
export function defaultConfigVersion(schema: z.ZodType | undefined): string | null {
  if (!schema) return null;
  const parsed = schema.safeParse({});
  return parsed.success ? configVersion(parsed.data) : null;
}

/** An asset's current data version: of its latest materialization or observation, whichever is newer. */
export function currentDataVersion(record: AssetVersionRecord | undefined): string | null {
  if (!record) return null;
  const mat = record.lastMaterializationId ?? 0;
  const obs = record.lastObservationId ?? 0;
  if (obs > mat) return record.observedDataVersion;
  if (mat === 0) return null;
  // Materializations stored before versions were recorded: their event id stands for the data.
  return record.version?.data ?? `event:${mat}`;
}
