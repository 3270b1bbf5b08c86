import { createRequire } from 'node:module';

/**
 * A dependency loaded on first use rather than when the importing module loads: for heavy
 * packages only some commands or assets need (time partitions, cron, file watching, image
 * codecs, SDKs), so that `dag --help`, `dag list` and loading a definitions file do not pay
 * for them. Synchronous, so the functions that use one stay so; it loads the package's
 * CommonJS build, resolved from `from` (the caller's `import.meta.url`).
 *
 * @example
 * const sharp = lazyRequire<typeof import('sharp')>('sharp', import.meta.url);
 * await sharp()(file).webp().toBuffer();
 */
export function lazyRequire<T>(name: string, from: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= createRequire(from)(name) as T;
    return loaded;
  };
}
