import { UsageError } from '../errors.ts';

/** A duration in milliseconds from the environment variable `name`, or `fallback` when unset. */
export function envMillis(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new UsageError(`${name} must be a positive whole number of milliseconds, got '${raw}'.`);
  }
  return value;
}
