/**
 * A side measurement (no target): the pipeline's `recordLogoHistory` (DuckDB ds_logo_updates:
 * appender into a temporary table, then one DELETE ... USING and one INSERT ... SELECT in one
 * transaction), as ds_img_finalize calls it once per run, for 1,000 and 10,000 rows into a fresh
 * DuckDB file, then the same rows again (a re-run, which replaces every row). The previous
 * implementation (one DELETE + one INSERT statement per row, `reference/logo-history-row-by-row.ts`)
 * runs on the same sizes in the same run as the reference; BENCH_SKIP_ROW_BY_ROW=1 leaves it out.
 * One round each (BENCH_ROUNDS to change); median reported. After every call the table is checked:
 * exactly one row per (file, png_md5), all from the latest call.
 *
 *   node --import tsx bench/ds/logo-history.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type LogoHistoryRow, recordLogoHistory } from '../../pipelines/ds/src/lib/logo-history.ts';
import { type DsDuckDb, openDsDuckDb } from '../../pipelines/ds/src/resources/ds-duckdb.ts';
import { machine, median, seconds, timeInProcess, writeResultsSection } from './harness.ts';
import { recordLogoHistoryRowByRow } from './reference/logo-history-row-by-row.ts';

const rounds = Number(process.env.BENCH_ROUNDS) || 1;
const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const skipRowByRow = process.env.BENCH_SKIP_ROW_BY_ROW === '1';
const work = await mkdtemp(path.join(tmpdir(), 'bench-duckdb-'));

function rowsFor(n: number, runId: string): LogoHistoryRow[] {
  return Array.from({ length: n }, (_, i) => ({
    runId,
    file: `logos/${String(i).padStart(5, '0')}.png`,
    pngMd5: `${i.toString(16).padStart(32, '0')}`,
    channelId: `ch${i}`,
    brand: `Brand ${i}`,
    companyId: String(i + 1),
    pngUrl: `https://pub.example.r2.dev/logos/${i}.png`,
    webpUrl: `https://pub.example.r2.dev/logos/${i}.webp`,
    status: 'updated',
    error: null,
    bytes: 12_000,
    processedAt: new Date(),
  }));
}

/** The history rule: one row per (file, png_md5), every one written by `runId`. */
async function check(db: DsDuckDb, n: number, runId: string): Promise<void> {
  const [row] = await db.withConnection(async (c) =>
    (
      await c.runAndReadAll(
        `SELECT count(*) AS total, count(DISTINCT (file, png_md5)) AS versions,
                count(*) FILTER (WHERE run_id = '${runId}') AS latest
           FROM ds_logo_updates`,
      )
    ).getRowObjectsJS(),
  );
  const got = [row?.total, row?.versions, row?.latest].map(Number);
  if (got.some((v) => v !== n)) {
    throw new Error(`after ${runId}: total/versions/latest = ${got.join('/')}, expected ${n} each`);
  }
}

type RecordHistory = (duckdb: DsDuckDb, rows: readonly LogoHistoryRow[]) => Promise<void>;
const contenders: { name: string; record: RecordHistory }[] = [
  {
    name: 'pipeline: appender → temp table, one DELETE ... USING + one INSERT ... SELECT',
    record: recordLogoHistory,
  },
  ...(skipRowByRow
    ? []
    : [
        {
          name: 'previous: one DELETE + one INSERT per row (reference)',
          record: recordLogoHistoryRowByRow,
        },
      ]),
];

const date = new Date().toISOString();
const lines: string[] = [];
const perSize = new Map<number, Map<string, { first: number; again: number }>>();
try {
  for (const n of sizes) {
    const results = new Map<string, { first: number; again: number }>();
    perSize.set(n, results);
    for (const { name, record } of contenders) {
      const first: number[] = [];
      const again: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const db = await openDsDuckDb(
          path.join(work, `h-${n}-${contenders.findIndex((c) => c.name === name)}-${round}.duckdb`),
        );
        first.push((await timeInProcess(() => record(db, rowsFor(n, 'run-1')))).wallMs);
        await check(db, n, 'run-1');
        again.push((await timeInProcess(() => record(db, rowsFor(n, 'run-2')))).wallMs);
        await check(db, n, 'run-2');
        console.error(
          `${n} rows, ${name}: first ${seconds(first.at(-1))} s, re-run ${seconds(again.at(-1))} s`,
        );
      }
      results.set(name, { first: median(first), again: median(again) });
    }
    const reference = [...results.values()][1];
    for (const [name, r] of results) {
      const speedup = reference
        ? ` | ${(reference.first / r.first).toFixed(1)}× / ${(reference.again / r.again).toFixed(1)}×`
        : ' | n/a';
      lines.push(
        `| ${n.toLocaleString('en-US')} | ${name} | ${seconds(r.first)} | ${seconds(r.again)} | ${((r.first / n) * 1000).toFixed(0)} µs${speedup} |`,
      );
    }
  }
  const body = `## Side measurement: DuckDB history, \`recordLogoHistory\` (\`bench/ds/logo-history.ts\`)

- Command: \`${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${rounds} ` : ''}${skipRowByRow ? 'BENCH_SKIP_ROW_BY_ROW=1 ' : ''}node --import tsx bench/ds/logo-history.ts\`
- Date: ${date}
- Machine: ${machine()}
- No target; ${rounds} round(s) per size and implementation, median. Fresh DuckDB file with the pipeline's \`ds_logo_updates\` DDL; rows as ds_img_finalize builds them; "re-run" records the same (file, png_md5) keys again. After every call the table holds exactly one row per (file, png_md5), all from that call (checked).
- "previous" is the statement-per-row implementation this bulk write replaced, run in the same process for comparison.

| rows | implementation | first run (s) | re-run, every row replaced (s) | per row, first run | speed-up vs previous (first / re-run) |
|---|---|---|---|---|---|
${lines.join('\n')}
`;
  await writeResultsSection('logo-history', body);
  console.log(body);
} finally {
  await rm(work, { recursive: true, force: true });
}
