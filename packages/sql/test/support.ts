import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { startBigQueryReplica } from '@dag/replica-bigquery';
import { freshDatabase, tempDir } from '../../core/test/support.ts';
import { openWarehouse, type Warehouse } from '../src/index.ts';

export const SHOP = path.join(import.meta.dirname, 'fixtures', 'shop');

export type EngineKind = 'duckdb' | 'postgres' | 'bigquery';

export interface TestWarehouse {
  kind: EngineKind;
  url: string;
  /** The environment the project and `openWarehouse` read (BIGQUERY_EMULATOR_HOST for the replica). */
  env: NodeJS.ProcessEnv;
  /** A new connection to it. */
  open: () => Promise<Warehouse>;
  cleanup: () => Promise<void>;
}

/**
 * A fresh warehouse of each engine: a new DuckDB file, a new database on the test server, a
 * BigQuery replica on loopback reached through the real client (BIGQUERY_EMULATOR_HOST).
 */
export async function freshWarehouse(kind: EngineKind): Promise<TestWarehouse> {
  const made = (url: string, env: NodeJS.ProcessEnv, cleanup: () => Promise<void>): TestWarehouse => ({
    kind,
    url,
    env,
    open: () => openWarehouse(url, env),
    cleanup,
  });
  if (kind === 'duckdb') {
    const dir = await tempDir('dag-sql-');
    return made(`duckdb://${path.join(dir, 'warehouse.duckdb')}`, process.env, () =>
      rm(dir, { recursive: true, force: true }),
    );
  }
  if (kind === 'bigquery') {
    const replica = await startBigQueryReplica({ location: 'asia-northeast3' });
    return made(
      `bigquery://dag-test/t${randomBytes(4).toString('hex')}?location=asia-northeast3`,
      { ...process.env, BIGQUERY_EMULATOR_HOST: replica.url },
      () => replica.close(),
    );
  }
  const db = await freshDatabase();
  return made(db.url, process.env, db.drop);
}

/** Column types to create source tables with, per engine (BigQuery has no VARCHAR). */
export const SOURCE_TYPES: Record<EngineKind, { int: string; text: string; datetime: string }> = {
  duckdb: { int: 'integer', text: 'varchar', datetime: 'timestamp' },
  postgres: { int: 'integer', text: 'varchar', datetime: 'timestamp' },
  bigquery: { int: 'INT64', text: 'STRING', datetime: 'DATETIME' },
};

/** A string as a regular expression that matches it literally. */
export function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rows made comparable across engines: numeric text as numbers, floats rounded, dates as ISO. */
export function normalizeRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      let value = v instanceof Date ? v.toISOString() : v;
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
