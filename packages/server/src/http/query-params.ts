import { badRequest } from './api-error.ts';

/** An optional integer query parameter within bounds; anything else is a 400 naming it. */
export function intParam(
  value: string | undefined,
  name: string,
  bounds: { min: number; max: number; fallback?: number },
): number | undefined {
  if (value === undefined || value === '') return bounds.fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    throw badRequest(
      `Query parameter '${name}' must be an integer from ${bounds.min} to ${bounds.max}, got '${value}'.`,
    );
  }
  return n;
}
