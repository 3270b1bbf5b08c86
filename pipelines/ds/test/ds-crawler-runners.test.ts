import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../../packages/core/test/support.ts';
import { CrawlerOutput, parseFields } from '../src/lib/crawler-output.ts';
import { stripAnsi } from '../src/lib/strip-ansi.ts';
import { type DsFixture, dsFixture, stepOf } from './support/ds-fixture.ts';

describe('the crawler report lines', () => {
  it('parse DS_SAVED, DS_UNCHANGED, DS_SKIPPED and DS_STATS', () => {
    const out = new CrawlerOutput();
    assert.equal(
      out.add('DS_SAVED file=100.png channel=100 bytes=1234 brand=%EC%9C%A4%EC%8A%AC%20Lab'),
      true,
    );
    assert.equal(out.add('DS_UNCHANGED file=101.png channel=101'), true);
    assert.equal(out.add('DS_SKIPPED channel=102 reason=not-an-image'), true);
    assert.equal(out.add('INFO BasicCrawler: Finished!'), false);
    out.add('DS_STATS {"requestsTotal":15,"requestsFinished":14,"requestsFailed":1,"saved":1}');
    assert.deepEqual(out.saved, [{ file: '100.png', channel: '100', bytes: 1234, brand: '윤슬 Lab' }]);
    assert.equal(out.unchanged, 1);
    assert.equal(out.skipped, 1);
    assert.deepEqual(
      { ...out.stats, raw: undefined },
      { requestsTotal: 15, requestsSucceeded: 14, requestsFailed: 1, raw: undefined },
    );
    assert.deepEqual(parseFields('a=1 b="x y" c=rest of line'), { a: '1', b: 'x y', c: 'rest of line' });
  });

  it('lose their ANSI colour codes', () => {
    assert.equal(
      stripAnsi('\u001b[32mINFO\u001b[39m \u001b[33m BasicCrawler:\u001b[39m done \u001b]0;title\u0007ok'),
      'INFO  BasicCrawler: done ok',
    );
  });
});

describe('ds_img_r2_node when the crawler fails', () => {
  it('fails the step with the exit code and the tail of the crawler log', async () => {
    const f = await dsFixture();
    try {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const result = await f.run('ds_img_r2_node', undefined, undefined, {
        DS_NAVER_API_URL: `http://127.0.0.1:${port}`,
        DS_CATEGORIES: 'dc:1',
        DS_MAX_RETRIES: '0',
        DS_REQUEST_DELAY_MS: '0',
        DS_BACKOFF_BASE_MS: '0',
      });
      assert.equal(result.status, 'FAILURE');
      const error = stepOf(result, 'ds_img_r2_node').error ?? '';
      assert.match(
        error,
        /the crawler exited with code [1-9]\d* after saving 0 PNG\(s\)\. Last lines of its log:\n/,
      );
      assert.match(error, /DS_STATS/);
    } finally {
      await f.cleanup();
    }
  });
});

describe('ds_img_r2_docker without a usable Docker engine', () => {
  let f: DsFixture;
  let dir: string;
  let engine: Server;

  before(async () => {
    f = await dsFixture();
    dir = await tempDir('ds-docker-');
    // An engine that answers ping but has no images: what a fresh dockerd looks like.
    engine = createServer((req, res) => {
      if (req.url?.endsWith('/_ping')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `No such image: ${decodeURIComponent(req.url ?? '')}` }));
    });
    await new Promise<void>((resolve) => engine.listen(path.join(dir, 'engine.sock'), resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => engine.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
    await f.cleanup();
  });

  it('fails at once with "No Docker engine at ...: start dockerd or use ds_node_job"', async () => {
    const socket = path.join(dir, 'closed.sock');
    const result = await f.run('ds_img_r2_docker', undefined, undefined, { DOCKER_HOST: `unix://${socket}` });
    assert.equal(result.status, 'FAILURE');
    const step = stepOf(result, 'ds_img_r2_docker');
    assert.equal(step.attempts, 1);
    assert.match(
      step.error ?? '',
      new RegExp(`No Docker engine at unix://${socket}: start dockerd or use ds_node_job`),
    );
  });

  it('says how to build the image when the engine does not have it', async () => {
    const result = await f.run('ds_img_r2_docker', undefined, undefined, {
      DOCKER_HOST: `unix://${path.join(dir, 'engine.sock')}`,
    });
    assert.equal(result.status, 'FAILURE');
    assert.match(
      stepOf(result, 'ds_img_r2_docker').error ?? '',
      /Docker image ds-naver-crawler:dev not found .*docker build -t ds-naver-crawler:dev -f crawlers\/ds-naver-crawler\/Dockerfile \./,
    );
  });
});
