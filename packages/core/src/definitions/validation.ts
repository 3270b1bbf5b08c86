import type { z } from 'zod';
import { DefinitionError } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';

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

/**
 * Throws when an options object has a key its definition function does not know: a typo such
 * as `dep:` for `deps:` would otherwise load silently and change what the definition means.
 * `known` is a record of every option name (typed against the options interface by the
 * caller, so the list cannot drift from it).
 */
export function assertKnownOptions(
  options: unknown,
  known: Readonly<Record<string, true>>,
  what: string,
): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new DefinitionError(`${what}: the options must be an object like { name: '...' }.`);
  }
  const names = Object.keys(known);
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(known, key)) {
      throw new DefinitionError(
        `${what}: unknown option '${key}'.${didYouMean(key, names)} Options are: ${names.join(', ')}.`,
      );
    }
  }
}

/** The schema inside optional/nullable/default/readonly wrappers. */
function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = current.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (
      ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(
        def.type,
      ) &&
      def.innerType
    ) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else break;
  }
  return current;
}

/**
 * Keys of `value` that an object schema would silently drop (zod's default `z.object` strips
 * unknown keys, so `minAmont: 100` would leave `minAmount` at its default). Objects declared
 * with `z.looseObject`/`.catchall()` accept extra keys and are not reported. Returns dotted
 * paths with the closest known key, e.g. [{ path: 'filters.minAmont', suggestion: " Did you mean 'minAmount'?" }].
 */
export function unknownConfigKeys(
  schema: z.ZodType,
  value: unknown,
  prefix = '',
): { path: string; suggestion: string }[] {
  const inner = unwrapSchema(schema);
  const def = inner.def as {
    type: string;
    shape?: Record<string, z.ZodType>;
    catchall?: z.ZodType;
    element?: z.ZodType;
  };
  const out: { path: string; suggestion: string }[] = [];
  if (
    def.type === 'object' &&
    def.shape &&
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value)
  ) {
    const shape = def.shape;
    for (const [key, v] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const field = shape[key];
      if (field) out.push(...unknownConfigKeys(field, v, path));
      else if (!def.catchall) out.push({ path, suggestion: didYouMean(key, Object.keys(shape)) });
    }
  } else if (def.type === 'array' && def.element && Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...unknownConfigKeys(def.element, v, `${prefix}[${i}]`));
  }
  return out;
}
