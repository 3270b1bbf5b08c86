import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ModelRunError, runModel, sqlProject, type Warehouse } from '../src/index.ts';
import { freshWarehouse, normalizeRows, SOURCE_TYPES, type TestWarehouse, writeProject } from './support.ts';

const LOOKBACK_HOURS = 12;

const incrementalModel = (
  strategy: string,
) => `{{ config(materialized='incremental', unique_key='id', incremental_strategy='${strategy}') }}
select id, amount, updated_at from {{ source('raw', 'events') }}
{% if is_incremental() %}
-- coalesce: a first run that found no rows leaves an empty table, whose max() is null
-- (the fallback goes through dateadd too, so both have its type: DATETIME on BigQuery)
where updated_at >= (select coalesce({{ dbt.dateadd('hour', -var('lookback_hours'), 'max(updated_at)') }}, {{ dbt.dateadd('hour', 0, "timestamp '1900-01-01'") }}) from {{ this }})
{% endif %}
`;

const FILES = {
  'dbt_project.yml': `name: inc\nvars:\n  lookback_hours: ${LOOKBACK_HOURS}\n`,
  'models/sources.yml':
    'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n      - name: keyed\n',
  'models/inc/events_merge.sql': incrementalModel('merge'),
  'models/inc/events_delete_insert.sql': incrementalModel('delete+insert'),
  'models/inc/events_append.sql': `{{ config(materialized='incremental') }}
select id, amount, updated_at from {{ source('raw', 'events') }}
{% if is_incremental() %}where updated_at > (select max(updated_at) from {{ this }}){% endif %}
`,
  'models/inc/keyed.sql': `{{ config(materialized='incremental', unique_key=['k1', 'k2']) }}
select k1, k2, v from {{ source('raw', 'keyed') }}
`,
};

/** A seeded random number generator, so a failure can be replayed (the seed is in the message). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;

/** Randomized runs per engine: the BigQuery replica answers over HTTP, so it gets a short series. */
const RANDOM_RUNS = { duckdb: 100, postgres: 100, bigquery: 12 } as const;

for (const kind of ['duckdb', 'postgres', 'bigquery'] as const) {
  const types = SOURCE_TYPES[kind];
  /** A source timestamp literal (BigQuery's raw tables hold DATETIME, what dbt.dateadd returns). */
  const ts = (ms: number) =>
    `${types.datetime} '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
  describe(`incremental models on ${kind}`, () => {
    let w: TestWarehouse;
    let dir: string;
    let wh: Warehouse;
    before(async () => {
      w = await freshWarehouse(kind);
      dir = await writeProject(FILES);
      wh = await w.open();
      await wh.ensureSchema('raw');
      await wh.execute(
        `CREATE TABLE ${wh.relation('raw', 'events')} (id ${types.int}, amount ${types.int}, updated_at ${types.datetime})`,
      );
      await wh.execute(
        `CREATE TABLE ${wh.relation('raw', 'keyed')} (k1 ${types.int}, k2 ${types.text}, v ${types.int})`,
      );
    });
    after(async () => {
      await wh.close();
      await w.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    const project = () => sqlProject({ dir, warehouse: w.url, env: w.env });
    const rel = (name: string) => wh.relation(name.split('.')[0]!, name.split('.')[1]!);
    const run = (name: string, fullRefresh = false) => {
      const p = project();
      return runModel(p.files, wh, p.files.models.get(name)!, { fullRefresh });
    };
    const contents = async (relation: string, columns = 'id, amount, updated_at', order = 'id') =>
      normalizeRows((await wh.query(`SELECT ${columns} FROM ${rel(relation)} ORDER BY ${order}`)).rows);

    test('randomized: after every run (late rows, skipped runs, updates) the table equals a full refresh', async () => {
      const seed = Number(process.env.DAG_SQL_SEED ?? Date.now() % 100_000);
      const random = mulberry32(seed);
      const p = project();
      const models = ['events_merge', 'events_delete_insert'].map((n) => p.files.models.get(n)!);
      let clock = Date.UTC(2026, 0, 1);
      const rows = new Map<number, { amount: number; updatedAt: number }>();
      let nextId = 1;
      let runs = 0;
      let incrementalRuns = 0;
      for (let tick = 0; runs < RANDOM_RUNS[kind]; tick++) {
        clock += (1 + Math.floor(random() * 3)) * HOUR;
        const lateBy = () => Math.floor(random() * LOOKBACK_HOURS * 3600) * 1000;
        const inserts: string[] = [];
        for (let i = Math.floor(random() * 6); i > 0; i--) {
          const id = nextId++;
          const row = { amount: Math.floor(random() * 1000), updatedAt: clock - lateBy() };
          rows.set(id, row);
          inserts.push(`(${id}, ${row.amount}, ${ts(row.updatedAt)})`);
        }
        if (inserts.length > 0)
          await wh.execute(`INSERT INTO ${rel('raw.events')} VALUES ${inserts.join(', ')}`);
        for (let i = Math.floor(random() * 4); i > 0 && rows.size > 0; i--) {
          const id = 1 + Math.floor(random() * (nextId - 1));
          const old = rows.get(id)!;
          const row = {
            amount: Math.floor(random() * 1000),
            updatedAt: Math.max(old.updatedAt + 1000, clock - lateBy()),
          };
          rows.set(id, row);
          await wh.execute(
            `UPDATE ${rel('raw.events')} SET amount = ${row.amount}, updated_at = ${ts(row.updatedAt)} WHERE id = ${id}`,
          );
        }
        if (random() < 0.25) continue; // a skipped run
        runs++;
        const expected = await contents('raw.events');
        for (const model of models) {
          const result = await runModel(p.files, wh, model);
          if (result.incremental) incrementalRuns++;
          assert.deepEqual(
            await contents(`inc.${model.name}`),
            expected,
            `${model.name} differs from a full refresh after run ${runs} (tick ${tick}, seed ${seed}; replay with DAG_SQL_SEED=${seed})`,
          );
        }
      }
      assert.ok(
        incrementalRuns >= 2 * (RANDOM_RUNS[kind] - 5),
        `the runs after the first merged incrementally (${incrementalRuns})`,
      );
    });

    test('append adds only the new rows; full_refresh rebuilds from scratch', async () => {
      await wh.execute(`DELETE FROM ${rel('raw.events')} WHERE true`);
      await wh.execute(`INSERT INTO ${rel('raw.events')} VALUES (1, 10, ${ts(Date.UTC(2026, 5, 1))})`);
      const first = await run('events_append', true);
      assert.equal(first.rows, 1);
      await wh.execute(`INSERT INTO ${rel('raw.events')} VALUES (2, 20, ${ts(Date.UTC(2026, 5, 2))})`);
      await wh.execute(`UPDATE ${rel('raw.events')} SET amount = 11 WHERE id = 1`);
      const second = await run('events_append');
      assert.equal(second.incremental, true);
      assert.equal(second.rows, 1, 'one row appended');
      assert.deepEqual(
        (await contents('inc.events_append')).map((r) => [r.id, r.amount]),
        [
          [1, 10],
          [2, 20],
        ],
      );
      const rebuilt = await run('events_append', true);
      assert.equal(rebuilt.incremental, false);
      assert.deepEqual(
        (await contents('inc.events_append')).map((r) => [r.id, r.amount]),
        [
          [1, 11],
          [2, 20],
        ],
      );
    });

    test('a duplicate or null unique_key fails the step naming the keys, with the table unchanged', async () => {
      await wh.execute(`INSERT INTO ${rel('raw.keyed')} VALUES (1, 'a', 1), (1, 'b', 2)`);
      await run('keyed');
      const before = await contents('inc.keyed', 'k1, k2, v', 'k1, k2');
      await wh.execute(`INSERT INTO ${rel('raw.keyed')} VALUES (1, 'a', 3), (2, 'c', 4)`);
      await assert.rejects(run('keyed'), (e: Error) => {
        assert.ok(e instanceof ModelRunError);
        assert.match(e.message, /Model 'inc\/keyed' \(models\/inc\/keyed\.sql\)/);
        assert.match(e.message, /duplicate unique_key \(k1, k2\).*k1=1, k2="a" \(2 rows\)/);
        assert.match(e.message, /unchanged/);
        return true;
      });
      assert.deepEqual(await contents('inc.keyed', 'k1, k2, v', 'k1, k2'), before);
      await wh.execute(`DELETE FROM ${rel('raw.keyed')} WHERE v = 3`);
      await wh.execute(`INSERT INTO ${rel('raw.keyed')} VALUES (NULL, 'z', 5)`);
      await assert.rejects(run('keyed'), /null unique_key \(k1, k2\): \{"k1":null,"k2":"z"\}/);
      assert.deepEqual(await contents('inc.keyed', 'k1, k2, v', 'k1, k2'), before);
      assert.equal(await wh.relationType('inc', 'keyed__dag_tmp'), null, 'no temporary table is left behind');
      await wh.execute(`DELETE FROM ${rel('raw.keyed')} WHERE k1 IS NULL`);
      const merged = await run('keyed');
      assert.equal(merged.rows, 3);
      assert.deepEqual((await contents('inc.keyed', 'k1, k2, v', 'k1, k2')).length, 3);
    });
  });
}
