import { CrawlerConfigError, loadCrawlerConfig } from './crawler-config.ts';
import { runCrawl } from './run-crawl.ts';

/** Exit codes: 0 crawled, 1 crashed, 2 configuration or bucket unusable, 3 no category page could be read. */
async function main(): Promise<number> {
  let config: ReturnType<typeof loadCrawlerConfig>;
  try {
    config = loadCrawlerConfig(process.env);
  } catch (error) {
    if (error instanceof CrawlerConfigError) {
      process.stderr.write(`DS_FATAL reason=config ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const result = await runCrawl(config);
  return result.exitCode;
}

// In a container the crawler may be PID 1, which gets no default SIGTERM handling: exit promptly on `docker stop`.
process.once('SIGTERM', () => {
  process.stderr.write(
    'DS_FATAL reason=terminated the crawler received SIGTERM and stopped before finishing.\n',
  );
  process.exit(143);
});

main().then(
  (code) => {
    // Exit explicitly once stdout is flushed: keep-alive sockets must not hold the process open.
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(
      `DS_FATAL reason=crash ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.stdout.write('', () => process.exit(1));
  },
);
