import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A dependency of @dag/core loaded on first use rather than when the package is imported,
 * for modules only some commands need (time partitions, cron, file watching): `dag --help`
 * and `dag runs` do not pay for them. Synchronous, so the functions that use one stay so;
 * it loads the package's CommonJS build.
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(name) as T;
    return loaded;
  };
}
