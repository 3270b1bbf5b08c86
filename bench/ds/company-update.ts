/**
 * Updating 10,000 `company` rows' thumbnail on a real PostgreSQL (the embedded server of
 * @dag/core, in a temporary instance folder): the pipeline's batched update (CompanyIndex.load +
 * updateThumbnails, as ds_img_finalize does) vs a row-by-row `UPDATE ... WHERE id = $1` loop
 * (each statement its own transaction, as a naive loop runs), plus the same loop inside one
 * transaction. Medians of BENCH_ROUNDS (3) rounds in rotation; every round writes new URLs,
 * so every row really changes.
 *
 *   node --import tsx bench/ds/company-update.ts
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres, withDatabase } from '@dag/core';
import pg from 'pg';
import { CompanyIndex, updateThumbnails } from '../../pipelines/ds/src/lib/company-index.ts';
import { COMPANY_DDL } from '../../pipelines/ds/src/resources/ds-postgres.ts';
import {
  type Contender,
  machine,
  ratio,
  rotate,
  roundWalls,
  type Sample,
  seconds,
  summarize,
  timeInProcess,
  writeResultsSection,
} from './harness.ts';

const rounds = Number(process.env.BENCH_ROUNDS) || 3;
const ROWS = 10_000;

const home = await mkdtemp(path.join(tmpdir(), 'bench-pg-'));
await chmod(home, 0o755);
let pool: pg.Pool | undefined;
try {
  const server = await ensureEmbeddedPostgres(home);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE ds');
  await admin.end();
  // The pipeline's pool (ds_postgres): max 4 connections.
  pool = new pg.Pool({ connectionString: withDatabase(server.url, 'ds'), max: 4 });
  const db = pool;
  await db.query(COMPANY_DDL);
  await db.query(
    `INSERT INTO company (name, naver_channel_id) SELECT 'Brand ' || g, 'ch' || g FROM generate_series(1, $1) AS g`,
    [ROWS],
  );
  await db.query('VACUUM ANALYZE company');
  const setting = async (name: string) =>
    (await db.query<{ setting: string }>('SELECT setting FROM pg_settings WHERE name = $1', [name])).rows[0]
      ?.setting ?? '?';
  const durability = `fsync=${await setting('fsync')}, synchronous_commit=${await setting('synchronous_commit')}, shared_buffers=${await setting('shared_buffers')}×8kB`;
  const ids = (await db.query<{ id: string }>('SELECT id::text AS id FROM company ORDER BY id')).rows.map(
    (r) => r.id,
  );
  if (ids.length !== ROWS) throw new Error(`expected ${ROWS} rows, got ${ids.length}`);
  const url = (tag: string, round: number, id: string) =>
    `https://pub.example.r2.dev/${tag}/${round}/logos/${id}.png`;

  const check = async (tag: string, round: number) => {
    const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM company WHERE thumbnail LIKE $1`, [
      `https://pub.example.r2.dev/${tag}/${round}/%`,
    ]);
    if (Number(r.rows[0]?.n) !== ROWS) throw new Error(`${tag} round ${round}: ${r.rows[0]?.n} rows updated`);
  };

  const BATCHED =
    'pipeline: CompanyIndex.load + updateThumbnails (unnest, 1000 per statement, one transaction)';
  const BATCHED_ONLY = 'pipeline: updateThumbnails alone (index already loaded)';
  const LOOP = 'row-by-row UPDATE ... WHERE id = $1, autocommit';
  const LOOP_TX = 'row-by-row UPDATE ... WHERE id = $1, in one transaction';

  const contenders: Contender[] = [
    {
      name: BATCHED,
      async run(round): Promise<Sample> {
        let loadMs = 0;
        const t = await timeInProcess(async () => {
          const started = performance.now();
          const client = await db.connect();
          let index: CompanyIndex;
          try {
            index = await CompanyIndex.load(client);
          } finally {
            client.release();
          }
          loadMs = performance.now() - started;
          const thumbnails = new Map(ids.map((id) => [id, url('batched', round, id)]));
          const changed = await updateThumbnails(db, index, thumbnails);
          if (changed !== ROWS) throw new Error(`updateThumbnails changed ${changed} rows`);
        });
        await check('batched', round);
        return { ...t, extra: { indexLoadMs: loadMs } };
      },
    },
    {
      name: BATCHED_ONLY,
      async run(round): Promise<Sample> {
        const client = await db.connect();
        let index: CompanyIndex;
        try {
          index = await CompanyIndex.load(client);
        } finally {
          client.release();
        }
        const thumbnails = new Map(ids.map((id) => [id, url('batched-only', round, id)]));
        const t = await timeInProcess(async () => {
          const changed = await updateThumbnails(db, index, thumbnails);
          if (changed !== ROWS) throw new Error(`updateThumbnails changed ${changed} rows`);
        });
        await check('batched-only', round);
        return t;
      },
    },
    {
      name: LOOP,
      async run(round): Promise<Sample> {
        const client = await db.connect();
        try {
          const t = await timeInProcess(async () => {
            for (const id of ids) {
              await client.query('UPDATE company SET thumbnail = $2, updated_at = now() WHERE id = $1', [
                id,
                url('loop', round, id),
              ]);
            }
          });
          await check('loop', round);
          return t;
        } finally {
          client.release();
        }
      },
    },
    {
      name: LOOP_TX,
      async run(round): Promise<Sample> {
        const client = await db.connect();
        try {
          const t = await timeInProcess(async () => {
            await client.query('BEGIN');
            for (const id of ids) {
              await client.query('UPDATE company SET thumbnail = $2, updated_at = now() WHERE id = $1', [
                id,
                url('loop-tx', round, id),
              ]);
            }
            await client.query('COMMIT');
          });
          await check('loop-tx', round);
          return t;
        } finally {
          client.release();
        }
      },
    },
  ];
  const date = new Date().toISOString();
  const summary = summarize(await rotate(contenders, rounds));
  const get = (name: string) => summary.find((s) => s.name === name);
  const batched = get(BATCHED);
  const loop = get(LOOP);
  const loopTx = get(LOOP_TX);
  if (!batched || !loop || !loopTx) throw new Error('missing results');
  const rows = summary.map(
    (s) =>
      `| ${s.name} | ${seconds(s.wallMs)} | ${seconds(s.cpuMs)} | ${ratio(loop.wallMs, s.wallMs)} | ${ratio(loopTx.wallMs, s.wallMs)} | ${roundWalls(s)} |`,
  );
  const body = `## Updating 10,000 company thumbnails (\`bench/ds/company-update.ts\`)

- Command: \`node --import tsx bench/ds/company-update.ts\`
- Date: ${date}
- Machine: ${machine()}
- PostgreSQL ${server.version} (embedded, \`ensureEmbeddedPostgres\` in a temporary folder, as @dag/core configures it: ${durability}), database \`ds\`, the pipeline's \`company\` DDL with ${ROWS.toLocaleString('en-US')} rows; every round sets a new URL on every row. Medians of ${rounds} rounds in rotation.
- Client CPU: \`process.cpuUsage()\` of the bench process (node-postgres); the server's CPU is not counted.

| contender | wall (s) | client CPU (s) | speed ÷ autocommit loop's | speed ÷ one-transaction loop's | wall per round (s) |
|---|---|---|---|---|---|
${rows.join('\n')}

Loading the CompanyIndex (information_schema + all 10,000 rows) took ${((batched.extra.indexLoadMs ?? 0) / 1000).toFixed(3)} s of the pipeline's ${seconds(batched.wallMs)} s.

- Target "< 1 s": **${batched.wallMs < 1000 ? 'met' : 'not met'}** (${seconds(batched.wallMs)} s, index load included).
- Target "≥ 20× the row-by-row loop": **${loop.wallMs / batched.wallMs >= 20 ? 'met' : 'not met'}** (${ratio(loop.wallMs, batched.wallMs)} the autocommit loop; ${ratio(loopTx.wallMs, batched.wallMs)} the loop run in one transaction).
`;
  await writeResultsSection('company-update', body);
  console.log(body);
} finally {
  await pool?.end().catch(() => {});
  await stopEmbeddedPostgres(home).catch((error: unknown) => console.error(error));
  await rm(home, { recursive: true, force: true });
}
