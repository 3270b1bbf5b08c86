import { rm } from 'node:fs/promises';
import path from 'node:path';
import { freshDatabase, tempDir } from '../../core/test/support.ts';

export const SHOP = path.join(import.meta.dirname, 'fixtures', 'shop');

export interface TestWarehouse {
  kind: 'duckdb' | 'postgres';
  url: string;
  cleanup: () => Promise<void>;
}

/** A fresh warehouse of each engine: a new DuckDB file, a new database on the test server. */
export async function freshWarehouse(kind: 'duckdb' | 'postgres'): Promise<TestWarehouse> {
  if (kind === 'duckdb') {
    const dir = await tempDir('dag-sql-');
    return {
      kind,
      url: `duckdb://${path.join(dir, 'warehouse.duckdb')}`,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const db = await freshDatabase();
  return { kind, url: db.url, cleanup: db.drop };
}

/** Rows made comparable across engines: numeric text as numbers, floats rounded, dates as ISO. */
export function normalizeRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      let value = v;
      if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) value = Number(value);
      if (typeof value === 'number') value = Math.round(value * 1e6) / 1e6;
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)) {
        value = new Date(
          value.endsWith('Z') || /[+-]\d{2}(:?\d{2})?$/.test(value) ? value : `${value.replace(' ', 'T')}Z`,
        ).toISOString();
      }
      out[k] = value;
    }
    return out;
  });
}

/** Writes a project (relative path -> text) into a fresh folder and returns the folder. */
export async function writeProject(files: Record<string, string>): Promise<string> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const dir = await tempDir('dag-sql-project-');
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}
