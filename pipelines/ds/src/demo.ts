/**
 * The offline demo of the DS pipeline. From the repository root:
 *
 *   node --import tsx pipelines/ds/src/demo.ts
 *
 * Starts the Naver Shopping Live replica on loopback, seeds `company` rows (most match a
 * replica brand, by channel id or by name; a few match nothing), opens the default instance
 * (embedded PostgreSQL under .dag/), runs ds_node_job with its log streaming live, and prints
 * where everything ended up. Local buckets, data/images/ds and data/ds.duckdb are used unless
 * the DS_* variables say otherwise. Exit code 0 on success, 1 on failure.
 */
import path from 'node:path';
import { DagInstance, executeRun, formatMetadataValue, type StoredEvent } from '@dag/core';
import { startNaverReplica } from '@dag/replica-naver-shopping-live';
import { DuckDBInstance } from '@duckdb/node-api';
import type pg from 'pg';
import definitions from './definitions.ts';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_DUCKDB_PATH,
  DEFAULT_LOCAL_BUCKETS_DIR,
  DEFAULT_SOURCE_BUCKET,
  DEFAULT_TARGET_BUCKET,
  REPO_ROOT,
} from './ds-paths.ts';
import { dsPostgres } from './resources/ds-postgres.ts';

const DEMO_CHANNELS = 120;
const DEMO_SEED = 2026;
/** Modest limits: a few category pages, no politeness delay against our own replica. */
const CRAWL_ENV: Record<string, string> = {
  DS_CATEGORIES: 'dc:1,dc:2,dc:3,dc:4',
  DS_MAX_PAGES: '3',
  DS_REQUEST_DELAY_MS: '0',
  DS_IMAGE_DELAY_MS: '0',
  DS_MAX_CONCURRENCY: '4',
  DS_MAX_REQUESTS_PER_MINUTE: '100000',
};

const rel = (p: string) => path.relative(process.cwd(), p) || '.';

function printEvent(event: StoredEvent): void {
  const step = event.stepKey ? `[${event.stepKey}] ` : '';
  switch (event.type) {
    case 'LOG':
      // The crawler's per-request chatter is long; its DS_* report lines and warnings are the story.
      if (
        event.stepKey === 'ds_img_r2_node' &&
        event.level === 'info' &&
        !/^DS_|^Crawling/.test(event.message)
      )
        return;
      console.log(`  ${step}${event.message}`);
      return;
    case 'STEP_PROGRESS':
      return;
    case 'ASSET_CHECK_EVALUATION':
    case 'STEP_START':
    case 'STEP_SUCCESS':
    case 'STEP_FAILURE':
    case 'STEP_SKIPPED':
    case 'RUN_START':
    case 'RUN_SUCCESS':
    case 'RUN_FAILURE':
    case 'RUN_CANCELED':
      console.log(`${event.type.padEnd(22)} ${step}${event.message}`);
      return;
    default:
  }
}

async function seedCompanies(
  brands: { channelId: number; name: string; hasLogo: boolean }[],
): Promise<pg.Pool> {
  const home = path.resolve(process.env.DAG_HOME || path.join(REPO_ROOT, '.dag'));
  const db = await dsPostgres.create(dsPostgres.resolveConfig(), { home, runId: 'demo-seed' });
  const withLogo = brands.filter((b) => b.hasLogo).slice(0, 60);
  await db.pool.query('BEGIN');
  // The replica's brands are the same every time (fixed seed): remove what an earlier demo seeded.
  await db.pool.query(
    `DELETE FROM company WHERE name LIKE 'demo:%' OR naver_channel_id = ANY($1::text[]) OR name = ANY($2::text[])`,
    [withLogo.map((b) => String(b.channelId)), withLogo.map((b) => `  ${b.name.toUpperCase()} `)],
  );
  for (const [i, brand] of withLogo.entries()) {
    // Two thirds carry their channel id; the rest only a name, spelled as a person would type it.
    const byChannel = i % 3 !== 2;
    const name = byChannel ? brand.name : `  ${brand.name.toUpperCase()} `;
    await db.pool.query('INSERT INTO company (name, naver_channel_id) VALUES ($1, $2)', [
      name,
      byChannel ? String(brand.channelId) : null,
    ]);
  }
  for (const name of ['demo:Unknown Trading Co', 'demo:없는 브랜드', 'demo:Ghost Lab']) {
    await db.pool.query('INSERT INTO company (name) VALUES ($1)', [name]);
  }
  await db.pool.query('COMMIT');
  console.log(
    `Seeded ${withLogo.length + 3} company rows in ${db.location} (${withLogo.length} replica brands, 3 that match nothing).`,
  );
  return db.pool;
}

async function main(): Promise<number> {
  const started = Date.now();
  const replica = await startNaverReplica({
    channelCount: DEMO_CHANNELS,
    seed: DEMO_SEED,
    host: '127.0.0.1',
  });
  console.log(`Naver Shopping Live replica: ${replica.url} (${replica.channels.length} channels)`);
  for (const [name, value] of Object.entries({ DS_NAVER_API_URL: replica.url, ...CRAWL_ENV })) {
    process.env[name] ??= value;
  }
  process.env.DS_NAVER_API_URL = replica.url;
  let instance: DagInstance | undefined;
  let pool: pg.Pool | undefined;
  try {
    instance = await DagInstance.open({ home: process.env.DAG_HOME || path.join(REPO_ROOT, '.dag') });
    console.log(`Instance: ${rel(instance.home)} (${instance.kind})`);
    pool = await seedCompanies(replica.brands);
    console.log('\nRunning ds_node_job...\n');
    const result = await executeRun({
      instance,
      definitions,
      job: 'ds_node_job',
      location: 'ds',
      onEvent: printEvent,
    });

    console.log(
      `\n=== ds_node_job ${result.status} in ${(result.durationMs / 1000).toFixed(1)}s (run ${result.runId}) ===`,
    );
    for (const step of result.steps) {
      console.log(`\n${step.key}: ${step.status}${step.error ? `: ${step.error.split('\n')[0]}` : ''}`);
      for (const [label, value] of Object.entries(step.metadata)) {
        console.log(`  ${label}: ${formatMetadataValue(value)}`);
      }
      for (const check of step.checks)
        console.log(`  check ${check.name}: ${check.passed ? 'passed' : 'FAILED'}`);
    }

    const buckets = path.resolve(process.env.DS_LOCAL_BUCKETS_DIR || DEFAULT_LOCAL_BUCKETS_DIR);
    const dataDir = path.resolve(process.env.DS_DATA_DIR || DEFAULT_DATA_DIR);
    const duckdbPath = path.resolve(process.env.DS_DUCKDB_PATH || DEFAULT_DUCKDB_PATH);
    console.log('\nWhere the results are:');
    if (process.env.DS_R2_ENDPOINT) console.log(`  buckets:        ${process.env.DS_R2_ENDPOINT} (S3 API)`);
    else {
      console.log(
        `  source bucket:  ${rel(path.join(buckets, process.env.DS_R2_SOURCE_BUCKET || DEFAULT_SOURCE_BUCKET))}/`,
      );
      console.log(
        `  target bucket:  ${rel(path.join(buckets, process.env.DS_R2_TARGET_BUCKET || DEFAULT_TARGET_BUCKET))}/`,
      );
    }
    console.log(`  final images:   ${rel(path.join(dataDir, 'final'))}/`);
    console.log(`  DuckDB:         ${rel(duckdbPath)} (table ds_logo_updates)`);
    const duck = await DuckDBInstance.create(duckdbPath);
    const connection = await duck.connect();
    try {
      const counts = await connection.runAndReadAll(
        'SELECT status, count(*)::INTEGER AS n FROM ds_logo_updates GROUP BY status ORDER BY status',
      );
      console.log(
        `                  ${counts
          .getRowObjectsJS()
          .map((r) => `${r.status}: ${r.n}`)
          .join(', ')}`,
      );
    } finally {
      connection.closeSync();
      duck.closeSync();
    }
    const sample = await pool.query<{
      id: string;
      name: string;
      naver_channel_id: string | null;
      thumbnail: string;
    }>(
      `SELECT id::text AS id, name, naver_channel_id, thumbnail FROM company WHERE thumbnail IS NOT NULL ORDER BY id LIMIT 5`,
    );
    const total = await pool.query<{ updated: string; total: string }>(
      'SELECT count(thumbnail)::text AS updated, count(*)::text AS total FROM company',
    );
    console.log(
      `  PostgreSQL:     database '${pool.options.database ?? 'ds'}', table company: ${total.rows[0]?.updated} of ${total.rows[0]?.total} rows have a thumbnail. Sample:`,
    );
    for (const row of sample.rows) {
      console.log(
        `    #${row.id} ${row.name.trim()} (channel ${row.naver_channel_id ?? '-'}) -> ${row.thumbnail}`,
      );
    }
    console.log(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
    console.log(
      [
        '',
        'Next:',
        '  npx dag dev                 the web UI on http://127.0.0.1:3000 (this run, its logs, the logos)',
        "  npx dag runs                run history; npx dag logs <runId> for a run's event log",
        ...(instance.kind === 'embedded-postgres'
          ? [
              `  npx dag instance stop       stop the instance's PostgreSQL (it keeps running in ${rel(instance.home)})`,
            ]
          : []),
      ].join('\n'),
    );
    return result.status === 'SUCCESS' ? 0 : 1;
  } finally {
    await pool?.end();
    await instance?.close();
    await replica.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('The demo failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
