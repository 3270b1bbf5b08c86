import { type MetadataInput, md } from '@dag/core';
import type { CrawlerOutput } from './crawler-output.ts';

/** The metadata both crawl assets record: saved files and request counts. */
export function crawlMetadata(
  output: CrawlerOutput,
  durationMs: number,
  bucketLocation: string,
): Record<string, MetadataInput> {
  const stats = output.stats;
  return {
    'PNGs saved': md.int(output.saved.length),
    'logos unchanged': md.int(output.unchanged),
    'logos skipped': md.int(output.skipped),
    'saved files': md.table(
      output.saved
        .slice(0, 500)
        .map((s) => ({ file: s.file, channel: s.channel, brand: s.brand, bytes: s.bytes })),
    ),
    'requests total': stats?.requestsTotal ?? null,
    'requests succeeded': stats?.requestsSucceeded ?? null,
    'requests failed': stats?.requestsFailed ?? null,
    'crawl stats': md.json(stats?.raw ?? null),
    duration: md.duration(durationMs),
    bucket: md.text(bucketLocation),
  };
}

/** Environment of a crawl: ours minus bucket and database settings, plus the resolved ones. */
export function crawlerEnvironment(
  base: NodeJS.ProcessEnv,
  crawlerEnv: Readonly<Record<string, string>>,
  bucketEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    // The resources decide these; a stray value in the parent's environment must not win.
    if (/^DS_R2_|^DS_LOCAL_BUCKETS_DIR$|^DS_POSTGRES_URL$|^DAG_POSTGRES_URL$/.test(name)) continue;
    env[name] = value;
  }
  Object.assign(env, crawlerEnv, bucketEnv, { NO_COLOR: '1', FORCE_COLOR: '0' });
  return env;
}
