/** The packages the CLI loads, compiled into their dist/ (see build-dist.js). */
export const DIST_PACKAGES: readonly string[];
/** True if the package's dist/ was built from its src/ as it is now. */
export function isFresh(name: string): boolean;
/** Compiles one package's src/ into dist/. */
export function buildPackage(name: string): Promise<void>;
/** Builds every stale package; false if one cannot be built. */
export function ensureDist(): Promise<boolean>;
