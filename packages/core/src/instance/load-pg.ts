import type pg from 'pg';

let loaded: Promise<typeof pg> | undefined;

/**
 * The PostgreSQL client, loaded on first use: commands that never touch the instance
 * (`dag --help`, `dag list`) do not pay for loading it.
 */
export function loadPg(): Promise<typeof pg> {
  loaded ??= import('pg').then((m) => m.default);
  return loaded;
}
