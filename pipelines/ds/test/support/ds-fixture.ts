import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  type DagInstance,
  type ExecuteOptions,
  executeRun,
  materialize,
  type RunConfig,
  type RunResult,
} from '@dag/core';
import { createObjectStore, type ObjectStore } from '@dag/object-store';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import sharp from 'sharp';
import { freshDatabase, freshInstance, tempDir } from '../../../../packages/core/test/support.ts';
import definitions from '../../src/definitions.ts';

export const SOURCE = 'ds-logos-src';
export const TARGET = 'ds-logos-tgt';

export interface DsFixture {
  instance: DagInstance;
  root: string;
  env: Record<string, string>;
  dataDir: string;
  bucketsDir: string;
  duckdbPath: string;
  pool: pg.Pool;
  source: ObjectStore;
  target: ObjectStore;
  run(
    selection: string,
    runConfig?: RunConfig,
    extra?: { signal?: AbortSignal; onEvent?: ExecuteOptions['onEvent'] },
    envOverrides?: Record<string, string>,
  ): Promise<RunResult>;
  job(
    job: string,
    extra?: { signal?: AbortSignal; onEvent?: ExecuteOptions['onEvent']; runConfig?: RunConfig },
  ): Promise<RunResult>;
  history(): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

/**
 * A fresh DS world: an instance on a fresh database, another fresh database for `company`,
 * temp folders for data, local buckets and DuckDB. `env` is what the resources read.
 */
export async function dsFixture(extraEnv: Record<string, string> = {}): Promise<DsFixture> {
  const t = await freshInstance();
  const db = await freshDatabase();
  const root = await tempDir('ds-test-');
  const dataDir = path.join(root, 'data');
  const bucketsDir = path.join(root, 'buckets');
  const duckdbPath = path.join(root, 'ds.duckdb');
  await mkdir(path.join(bucketsDir, SOURCE), { recursive: true });
  await mkdir(path.join(bucketsDir, TARGET), { recursive: true });
  const env: Record<string, string> = {
    DS_DATA_DIR: dataDir,
    DS_LOCAL_BUCKETS_DIR: bucketsDir,
    DS_DUCKDB_PATH: duckdbPath,
    DS_POSTGRES_URL: db.url,
    ...extraEnv,
  };
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const open = (bucket: string) =>
    createObjectStore({
      bucket,
      ...(env.DS_R2_ENDPOINT
        ? {
            endpoint: env.DS_R2_ENDPOINT,
            accessKeyId: env.DS_R2_ACCESS_KEY_ID ?? '',
            secretAccessKey: env.DS_R2_SECRET_ACCESS_KEY ?? '',
          }
        : { localRoot: bucketsDir }),
    });
  return {
    instance: t.instance,
    root,
    env,
    dataDir,
    bucketsDir,
    duckdbPath,
    pool,
    source: open(env.DS_R2_SOURCE_BUCKET ?? SOURCE),
    target: open(env.DS_R2_TARGET_BUCKET ?? TARGET),
    run: (selection, runConfig, extra, envOverrides) =>
      materialize({
        instance: t.instance,
        definitions,
        selection,
        env: { ...env, ...envOverrides },
        ...(runConfig ? { runConfig } : {}),
        ...(extra?.signal ? { signal: extra.signal } : {}),
        ...(extra?.onEvent ? { onEvent: extra.onEvent } : {}),
      }),
    job: (job, extra) =>
      executeRun({
        instance: t.instance,
        definitions,
        job,
        env,
        location: 'ds',
        ...(extra?.signal ? { signal: extra.signal } : {}),
        ...(extra?.onEvent ? { onEvent: extra.onEvent } : {}),
        ...(extra?.runConfig ? { runConfig: extra.runConfig } : {}),
      }),
    history: () => readHistory(duckdbPath),
    cleanup: async () => {
      await pool.end();
      await t.cleanup();
      await db.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export async function readHistory(file: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      'SELECT * FROM ds_logo_updates ORDER BY file, processed_at',
    );
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A small logo PNG, different for each seed. */
export async function logoPng(seed: number, size = 64): Promise<Buffer> {
  const r = (seed * 53) % 256;
  const g = (seed * 97) % 256;
  const b = (seed * 193) % 256;
  return await sharp({
    create: { width: size, height: size, channels: 4, background: { r, g, b, alpha: 1 } },
  })
    .composite([
      {
        input: await sharp({
          create: {
            width: size / 2,
            height: size / 2,
            channels: 4,
            background: { r: 255 - r, g: 255 - g, b, alpha: 0.8 },
          },
        })
          .png()
          .toBuffer(),
        top: size / 4,
        left: size / 4,
      },
    ])
    .png()
    .toBuffer();
}

/** Puts a logo into a bucket with the metadata the crawler writes. */
export async function putLogo(
  store: ObjectStore,
  key: string,
  body: Buffer,
  meta: { channelId?: string; brand?: string } = {},
): Promise<void> {
  await store.put(key, body, {
    contentType: 'image/png',
    metadata: {
      ...(meta.channelId ? { 'channel-id': meta.channelId } : {}),
      ...(meta.brand ? { 'brand-name': encodeURIComponent(meta.brand) } : {}),
    },
  });
}

/** Keys of a bucket, sorted. */
export async function keysOf(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list()) keys.push(o.key);
  return keys.sort();
}

export function stepOf(result: RunResult, key: string) {
  const step = result.steps.find((s) => s.key === key);
  if (!step)
    throw new Error(`no step ${key} in run ${result.runId}: ${result.steps.map((s) => s.key).join(', ')}`);
  return step;
}

/** An int metadata value of a step. */
export function intOf(result: RunResult, step: string, label: string): number {
  const value = stepOf(result, step).metadata[label];
  if (value?.type !== 'int')
    throw new Error(
      `step ${step} has no int metadata '${label}': ${JSON.stringify(stepOf(result, step).metadata)}`,
    );
  return value.value;
}

/** Rows of a table metadata value, as objects. */
export function tableOf(result: RunResult, step: string, label: string): Record<string, unknown>[] {
  const value = stepOf(result, step).metadata[label];
  if (value?.type !== 'table') return [];
  return value.rows.map((row) => Object.fromEntries(value.columns.map((c, i) => [c, row[i]])));
}
