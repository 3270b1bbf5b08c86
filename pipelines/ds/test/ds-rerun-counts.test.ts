import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import {
  type RunningS3rver,
  S3RVER_ACCESS_KEY_ID,
  startS3rver,
} from '../../../packages/object-store/test/start-s3rver.ts';
import { type DsFixture, dsFixture, intOf, logoPng, putLogo } from './support/ds-fixture.ts';
import { COMPANY_DDL } from './support/replica-env.ts';

const SRC = 'ds-src-count';
const TGT = 'ds-tgt-count';

/** What one run asked of the outside: HTTP requests by kind, queries on the DS database, DuckDB use. */
interface Counts {
  requests: Record<string, number>;
  companyQueries: number;
  duckdbOpens: number;
  duckdbStatements: number;
}

/**
 * A re-run over unchanged files checks the destination with work that grows per listing page,
 * not per object: the same requests, queries and DuckDB statements for 4 logos as for 16 (both
 * within one page of 1,000). The counts are observed from outside the pipeline's code: Node's
 * HTTP client diagnostics channel, and the pg and DuckDB client classes' methods.
 */
describe('a re-run over unchanged files costs the same requests and queries at any size (s3rver)', () => {
  let s3: RunningS3rver;
  let f: DsFixture;
  let counting: Counts | undefined;
  let dsDatabase = '';
  const restore: (() => void)[] = [];

  const onRequest = (message: unknown) => {
    if (!counting) return;
    const request = (message as { request: { method: string; path: string } }).request;
    const [pathname = '', query = ''] = request.path.split('?');
    const segments = pathname.split('/').filter(Boolean).length;
    // A listing of one key is a bucket check (the asset checks'), not a page of the listing.
    const kind = /(^|&)max-keys=1(&|$)/.test(query)
      ? 'BUCKET CHECK'
      : query.includes('list-type=2')
        ? 'LIST'
        : `${request.method} ${segments > 1 ? 'object' : 'bucket'}`;
    counting.requests[kind] = (counting.requests[kind] ?? 0) + 1;
  };

  let seeded = 0;
  const addLogos = async (count: number) => {
    for (let i = seeded; i < seeded + count; i++) {
      const channelId = String(700 + i);
      await putLogo(f.source, `logos/${700 + i}.png`, await logoPng(i), { channelId, brand: `Brand ${i}` });
      await f.pool.query('INSERT INTO company (name, naver_channel_id) VALUES ($1, $2)', [
        `Brand ${i}`,
        channelId,
      ]);
    }
    seeded += count;
  };

  const runCounted = async () => {
    counting = { requests: {}, companyQueries: 0, duckdbOpens: 0, duckdbStatements: 0 };
    try {
      const result = await f.run('ds_r2_download+');
      assert.equal(result.status, 'SUCCESS', result.error);
      return { result, counts: counting };
    } finally {
      counting = undefined;
    }
  };

  before(async () => {
    s3 = await startS3rver([SRC, TGT]);
    f = await dsFixture({
      DS_R2_ENDPOINT: s3.endpoint,
      DS_R2_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
      DS_R2_SECRET_ACCESS_KEY: 'S3RVER',
      DS_R2_SOURCE_BUCKET: SRC,
      DS_R2_TARGET_BUCKET: TGT,
    });
    dsDatabase = new URL(f.env.DS_POSTGRES_URL ?? '').pathname.slice(1);
    await f.pool.query(COMPANY_DDL);

    diagnostics.subscribe('http.client.request.start', onRequest);
    restore.push(() => diagnostics.unsubscribe('http.client.request.start', onRequest));
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      if (counting && this.database === dsDatabase) counting.companyQueries += 1;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    restore.push(() => {
      pg.Client.prototype.query = query;
    });
    const create = DuckDBInstance.create;
    DuckDBInstance.create = async (...args: Parameters<typeof create>) => {
      if (counting) counting.duckdbOpens += 1;
      return await create(...args);
    };
    restore.push(() => {
      DuckDBInstance.create = create;
    });
    const methods = DuckDBConnection.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of ['run', 'runAndReadAll', 'runAndReadUntil', 'stream', 'prepare', 'createAppender']) {
      const original = methods[name];
      if (!original) continue;
      methods[name] = function (this: unknown, ...args: unknown[]) {
        if (counting) counting.duckdbStatements += 1;
        return original.apply(this, args);
      };
      restore.push(() => {
        methods[name] = original;
      });
    }
  });

  after(async () => {
    for (const undo of restore.reverse()) undo();
    await f?.cleanup();
    await s3?.close();
  });

  it('4 logos and 16 logos: the same counts, and the destination checked in full', async () => {
    const rerunCounts: Counts[] = [];
    for (const add of [4, 12]) {
      await addLogos(add);
      const first = await runCounted();
      assert.equal(intOf(first.result, 'ds_img_finalize', 'files processed'), add);
      // A run that publishes does per-object work: one GET per download, one PUT per upload.
      assert.equal(first.counts.requests['GET object'], add);
      assert.equal(first.counts.requests['PUT object'], 2 * add);

      const { result, counts } = await runCounted();
      for (const [step, label] of [
        ['ds_r2_download', 'PNGs downloaded'],
        ['ds_png2webp', 'WebP files converted'],
        ['ds_img_finalize', 'files processed'],
        ['ds_img_finalize', 'objects republished'],
        ['ds_img_finalize', 'companies updated'],
        ['ds_img_finalize', 'history rows repaired'],
      ] as const) {
        assert.equal(intOf(result, step, label), 0, `${step}: ${label}`);
      }
      // The destination was checked: every object of the target bucket compared.
      assert.equal(intOf(result, 'ds_img_finalize', 'target objects checked'), 2 * seeded);
      rerunCounts.push(counts);
    }
    const [small, large] = rerunCounts as [Counts, Counts];
    assert.deepEqual(large, small, 'a re-run of 16 logos must cost what a re-run of 4 does');
    // One listing page per bucket, the two asset checks' bucket checks, and no request per object.
    assert.equal(small.requests.LIST, 2, JSON.stringify(small.requests));
    assert.equal(small.requests['BUCKET CHECK'], 2, JSON.stringify(small.requests));
    assert.equal(small.requests['HEAD bucket'], undefined, JSON.stringify(small.requests));
    assert.equal(small.requests['GET object'], undefined, JSON.stringify(small.requests));
    assert.equal(small.requests['PUT object'], undefined, JSON.stringify(small.requests));
    assert.equal(small.requests['HEAD object'], undefined, JSON.stringify(small.requests));
    // The company table is read once and left alone when it is right; the history is opened once.
    assert.ok(small.companyQueries <= 5, `${small.companyQueries} queries on the company database`);
    assert.equal(small.duckdbOpens, 1);
  });
});
