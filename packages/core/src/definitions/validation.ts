import type { z } from 'zod';
import { DefinitionError } from '../errors.ts';

/** Asset, job, op, check and resource names: what Dagster accepts, so keys port over unchanged. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertValidName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new DefinitionError(
      `Invalid ${what} name ${JSON.stringify(name)}: names must start with a letter or underscore and contain only letters, digits and underscores (e.g. 'ds_png2webp').`,
    );
  }
}

/**
 * Asset keys: one name, or several joined by '/' (`dim/dim_customer`), the path a key has in
 * Dagster (`AssetKey(["dim", "dim_customer"])`). Every plain name is a valid key.
 */
export function assertValidAssetKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !key.split('/').every((part) => NAME.test(part))) {
    throw new DefinitionError(
      `Invalid asset name ${JSON.stringify(key)}: an asset key is a name, or names joined by '/' (e.g. 'ds_png2webp', 'dim/dim_customer'); each name must start with a letter or underscore and contain only letters, digits and underscores.`,
    );
  }
}

/** "field 'a.b': expected number, received string; field 'c': required" */
export function formatZodIssues(error: z.ZodError, hint?: (path: PropertyKey[]) => string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      const where = path ? `field '${path}'` : 'config';
      return `${where}: ${issue.message}${hint ? hint(issue.path) : ''}`;
    })
    .join('; ');
}
