import { asset, MaterializeResult } from '@dag/core';
import { CRAWLER_DIR } from '../ds-paths.ts';
import { crawlerEnvironment, crawlMetadata } from '../lib/crawl-metadata.ts';
import { CrawlerOutput } from '../lib/crawler-output.ts';
import { stripAnsi } from '../lib/strip-ansi.ts';
import { dsCrawler } from '../resources/ds-crawler.ts';
import { dsR2Source } from '../resources/ds-r2-source.ts';

/**
 * Runs the crawler as a Node process in its folder (`node --import tsx src/main.ts`, what
 * `npx tsx src/main.ts` does without npx's start-up cost). Its log streams into the run live;
 * terminating the run kills the crawler's whole process tree.
 */
export const dsImgR2Node = asset(
  {
    name: 'ds_img_r2_node',
    group: 'DS',
    description:
      'Crawls brand logos from Naver Shopping Live into the source bucket as PNG, running ds-naver-crawler as a Node process with its log streamed live.',
    tags: { tier: 'bronze', runner: 'node' },
    kinds: ['crawlee', 'naver', 's3'],
    resources: { crawler: dsCrawler, source: dsR2Source },
    io: false,
  },
  async (ctx) => {
    const started = Date.now();
    const { crawler, source } = ctx.resources;
    const output = new CrawlerOutput();
    const env = crawlerEnvironment(process.env, crawler.env, source.crawlerEnv());
    ctx.log.info(
      `Crawling ${crawler.env.DS_NAVER_API_URL ?? 'https://apis.naver.com'} into ${source.location} (node ${CRAWLER_DIR}/src/main.ts).`,
    );
    let result: Awaited<ReturnType<typeof ctx.spawn>>;
    try {
      result = await ctx.spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: CRAWLER_DIR,
        env,
        tailLines: 30,
        onLine: (raw, stream) => {
          const line = stripAnsi(raw);
          output.add(line);
          if (stream === 'stderr') ctx.log.warn(line);
          else ctx.log.info(line);
        },
      });
    } catch (error) {
      throw new Error(
        `ds_img_r2_node: could not start the crawler in ${CRAWLER_DIR}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    ctx.addMetadata(crawlMetadata(output, Date.now() - started, source.location));
    if (ctx.signal.aborted) throw new Error('ds_img_r2_node was terminated; the crawler was stopped.');
    if (result.exitCode !== 0) {
      throw new Error(
        `ds_img_r2_node: the crawler exited with ${result.exitCode === null ? `signal ${result.signal}` : `code ${result.exitCode}`} after saving ${output.saved.length} PNG(s). Last lines of its log:\n${result.tail.join('\n')}`,
      );
    }
    return new MaterializeResult({ metadata: {} });
  },
);
