import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { executeRun, type RunResult, type StoredEvent } from '@dag/core';
import type { NaverReplica } from '@dag/replica-naver-shopping-live';
import definitions from '../src/definitions.ts';
import { assertPublishedAsCrawled, type SeededCompany, seedCompanies } from './support/assert-published.ts';
import {
  buildCrawlerImage,
  buildImageFromFiles,
  containerOutput,
  type DockerEngine,
  dockerEngineRequired,
  dockerEngineUnavailable,
  importNodeBaseImage,
  startDockerEngine,
} from './support/docker-engine.ts';
import { type DsFixture, dsFixture, intOf, stepOf, tableOf } from './support/ds-fixture.ts';
import { fastCrawlEnv, startReplica } from './support/replica-env.ts';

// Without an engine (not root, docker.io not installed) the suite is skipped, except in CI
// (CI=true) or with DAG_TEST_DOCKER=1, where it fails and says what is missing.
const unavailable = dockerEngineUnavailable();
const skip =
  unavailable && !dockerEngineRequired() ? `no Docker engine for the tests: ${unavailable}` : false;

const ESC = '\x1b';
/** The `node` user of the crawler image (USER node in its Dockerfile). */

describe('ds_docker_job end to end through a real Docker engine (private dockerd, image built here)', {
  skip,
}, () => {
  let engine: DockerEngine | undefined;
  let replica: NaverReplica | undefined;
  let f: DsFixture;
  let seeded: SeededCompany[] = [];
  const timings: string[] = [];

  /** Runs assets with the fixture's environment, collecting the crawl step's log lines. */
  const runWithLog = async (
    selection: { job: string } | { selection: string },
    extra: { env?: Record<string, string>; signal?: AbortSignal; onEvent?: (e: StoredEvent) => void } = {},
  ): Promise<{ result: RunResult; lines: string[] }> => {
    const lines: string[] = [];
    const result = await executeRun({
      instance: f.instance,
      definitions,
      location: 'ds',
      ...selection,
      env: { ...f.env, ...extra.env },
      ...(extra.signal ? { signal: extra.signal } : {}),
      onEvent: (e) => {
        if (e.type === 'LOG' && e.stepKey === 'ds_img_r2_docker') lines.push(e.message);
        extra.onEvent?.(e);
      },
    });
    return { result, lines };
  };

  const containersLeft = async () =>
    (await (engine as DockerEngine).docker.listContainers({ all: true })).map(
      (c) => `${c.Names.join(',')} ${c.Image} ${c.State}`,
    );

  before(async () => {
    engine = await startDockerEngine();
    timings.push(`dockerd answered /_ping after ${engine.startMs} ms`);
    const base = await importNodeBaseImage(engine.docker, engine.dir);
    timings.push(`base image ${base.tag}: ${base.built ? 'imported' : 'reused'} in ${base.ms} ms`);
    const image = await buildCrawlerImage(engine.docker, base.tag);
    timings.push(
      `${image.tag} from ${image.contextFiles} context files: ${image.built ? 'built' : 'reused'} in ${image.ms} ms`,
    );

    replica = await startReplica(80, 11);
    f = await dsFixture({ ...fastCrawlEnv(replica), DOCKER_HOST: engine.host });
    seeded = await seedCompanies(f, replica);
  });

  after(async () => {
    await f?.cleanup();
    await replica?.close();
    await engine?.stop();
  });

  it('crawls in a container, downloads, converts and publishes: buckets, company.thumbnail and DuckDB agree', async (t) => {
    for (const line of timings) t.diagnostic(line);
    const started = Date.now();
    const { result, lines } = await runWithLog({ job: 'ds_docker_job' });
    t.diagnostic(`ds_docker_job ran in ${Date.now() - started} ms`);
    const tail = async () => `${lines.slice(-20).join('\n')}\n--- dockerd:\n${await engine?.logTail(10)}`;
    assert.equal(result.status, 'SUCCESS', `${result.error}\n${await tail()}`);
    assert.deepEqual(
      result.steps.map((s) => s.key),
      ['ds_img_r2_docker', 'ds_r2_download', 'ds_png2webp', 'ds_img_finalize'],
    );
    assert.deepEqual(await containersLeft(), [], 'the crawler container was removed');
    assert.ok(
      lines.some((l) => /^Starting container ds-crawler-\S+ from ds-naver-crawler:dev at unix:\/\//.test(l)),
      'the step says which container it started',
    );

    // Crawl metadata comes from the container's log.
    const saved = intOf(result, 'ds_img_r2_docker', 'PNGs saved');
    assert.ok(saved >= 10, `the crawl saved only ${saved} logos\n${await tail()}`);
    assert.ok(intOf(result, 'ds_img_r2_docker', 'requests total') > 0);
    assert.equal(intOf(result, 'ds_img_r2_docker', 'requests failed'), 0);
    const savedLines = lines.filter((l) => l.startsWith('DS_SAVED '));
    assert.equal(savedLines.length, saved, 'one DS_SAVED line per saved logo streamed into the run');
    assert.ok(lines.some((l) => l.startsWith('DS_STATS ')));
    assert.ok(!lines.some((l) => l.includes(ESC)), 'no escape codes in the run log');
    const savedFiles = tableOf(result, 'ds_img_r2_docker', 'saved files');
    assert.equal(savedFiles.length, saved);

    // The container wrote into the bind-mounted local bucket, at the same path.
    const sourceKeys = await assertPublishedAsCrawled(f, result, seeded, saved);
    assert.deepEqual(savedFiles.map((r) => String(r.file)).sort(), sourceKeys);
  });

  it('strips ANSI codes: a crawler image whose output is coloured still yields the crawl metadata', async () => {
    const docker = (engine as DockerEngine).docker;
    // The same crawler, its stdout and stderr piped through sed that colours every line and
    // puts a code inside the DS_ prefix of the report lines.
    await buildImageFromFiles(
      docker,
      {
        Dockerfile: [
          'FROM ds-naver-crawler:dev',
          'COPY colorize /usr/local/bin/colorize',
          'CMD ["/bin/sh", "-c", "node --import tsx src/main.ts 2>&1 | colorize"]',
        ].join('\n'),
        colorize: [
          '#!/bin/sh',
          "E=$(printf '\\033')",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell variables, not a template
          'exec sed "s/^/${E}[36m/; s/^\\(.\\{5\\}\\)DS_/\\1DS${E}[1m_/; s/\\$/${E}[0m/"',
          '',
        ].join('\n'),
      },
      'ds-naver-crawler:ansi-test',
    );
    const raw = await containerOutput(docker, 'ds-naver-crawler:ansi-test', [
      '/bin/sh',
      '-c',
      'echo "DS_STATS {}" | colorize',
    ]);
    assert.equal(raw, `${ESC}[36mDS${ESC}[1m_STATS {}${ESC}[0m\n`, 'the wrapper colours the lines');

    const history = await f.history();
    const { result, lines } = await runWithLog(
      { selection: 'ds_img_r2_docker' },
      { env: { DS_CRAWLER_IMAGE: 'ds-naver-crawler:ansi-test' } },
    );
    assert.equal(result.status, 'SUCCESS', `${result.error}\n${lines.slice(-20).join('\n')}`);
    assert.ok(!lines.some((l) => l.includes(ESC)), 'no escape codes in the run log');
    assert.ok(
      lines.some((l) => l.startsWith('DS_STATS ')),
      'report lines start with DS_ once stripped',
    );
    // Every logo is in the bucket already: the crawl reports them all unchanged.
    assert.equal(intOf(result, 'ds_img_r2_docker', 'PNGs saved'), 0);
    assert.equal(intOf(result, 'ds_img_r2_docker', 'logos unchanged'), history.length);
    assert.ok(intOf(result, 'ds_img_r2_docker', 'requests total') > 0);
    const stats = stepOf(result, 'ds_img_r2_docker').metadata['crawl stats'];
    assert.equal(stats?.type, 'json');
    assert.deepEqual(await containersLeft(), []);
  });

  it('kills and removes the container when the run is terminated mid-crawl', async () => {
    const controller = new AbortController();
    const { result, lines } = await runWithLog(
      { selection: 'ds_img_r2_docker' },
      {
        // Slow enough that the crawl is still running when the run is terminated.
        env: { DS_REQUEST_DELAY_MS: '3000' },
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'LOG' && e.stepKey === 'ds_img_r2_docker' && /^Starting container/.test(e.message)) {
            setTimeout(() => controller.abort(), 2000);
          }
        },
      },
    );
    assert.ok(controller.signal.aborted, `the run ended before it was terminated: ${result.status}`);
    assert.equal(result.status, 'CANCELED', `${result.error}\n${lines.slice(-10).join('\n')}`);
    assert.equal(stepOf(result, 'ds_img_r2_docker').status, 'canceled');
    assert.deepEqual(await containersLeft(), [], 'the container was removed after the terminate');
  });
});
