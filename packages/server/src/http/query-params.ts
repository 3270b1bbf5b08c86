import { badRequest } from './api-error.ts';

/** An optional integer query parameter (or header) within bounds; anything else is a 400 naming it. */
export function intParam(
  value: string | undefined,
  name: string,
  bounds: { min: number; max: number; fallback?: number; label?: string },
): number | undefined {
  if (value === undefined || value === '') return bounds.fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    throw badRequest(
      `${bounds.label ?? `Query parameter '${name}'`} must be an integer from ${bounds.min} to ${bounds.max}, got '${value}'.`,
    );
  }
  return n;
}
