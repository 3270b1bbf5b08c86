import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { asset, lazyRequire, MaterializeResult, NonRetriableError } from '@dag/core';
import type Docker from 'dockerode';
import { crawlerEnvironment, crawlMetadata } from '../lib/crawl-metadata.ts';
import { CrawlerOutput } from '../lib/crawler-output.ts';
import { stripAnsi } from '../lib/strip-ansi.ts';
import { type DsCrawler, dsCrawler } from '../resources/ds-crawler.ts';
import { dsR2Source } from '../resources/ds-r2-source.ts';

/** Loaded when the asset runs, not with the definitions. */
const dockerode = lazyRequire<typeof Docker>('dockerode', import.meta.url);

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The Docker engine of DOCKER_HOST (unix://, tcp://, http(s)://), else the local socket. */
export function dockerClient(crawler: Pick<DsCrawler, 'dockerHost'>): { docker: Docker; address: string } {
  const host = crawler.dockerHost?.trim();
  if (!host)
    return {
      docker: new (dockerode())({ socketPath: DEFAULT_DOCKER_SOCKET }),
      address: `unix://${DEFAULT_DOCKER_SOCKET}`,
    };
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET;
    return { docker: new (dockerode())({ socketPath }), address: `unix://${socketPath}` };
  }
  let url: URL;
  try {
    url = new URL(host.replace(/^tcp:/, 'http:'));
  } catch (error) {
    throw new NonRetriableError(
      `DOCKER_HOST=${host} is not a Docker address; give unix:///var/run/docker.sock or tcp://host:2375.`,
      { cause: error },
    );
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return {
    docker: new (dockerode())({
      host: url.hostname,
      port: url.port || (protocol === 'https' ? 2376 : 2375),
      protocol,
    }),
    address: `${protocol === 'https' ? 'https' : 'tcp'}://${url.host}`,
  };
}

const BUILD_HINT = 'docker build -t ds-naver-crawler:dev -f crawlers/ds-naver-crawler/Dockerfile .';

function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Runs the crawler image in Docker through the Engine API: host networking (so a replica or
 * s3rver on loopback is reachable), the DS_* environment, a local bucket folder bind-mounted
 * at the same path. The container's log streams into the run with ANSI codes stripped, and
 * the container is removed afterwards: on success, failure and terminate alike.
 */
export const dsImgR2Docker = asset(
  {
    name: 'ds_img_r2_docker',
    group: 'DS',
    description:
      'Crawls brand logos from Naver Shopping Live into the source bucket as PNG, running the ds-naver-crawler:dev image in Docker (host network); log streamed with ANSI codes stripped.',
    tags: { tier: 'bronze', runner: 'docker' },
    kinds: ['docker', 'crawlee', 'naver', 's3'],
    resources: { crawler: dsCrawler, source: dsR2Source },
    io: false,
  },
  async (ctx) => {
    const started = Date.now();
    const { crawler, source } = ctx.resources;
    const { docker, address } = dockerClient(crawler);
    try {
      await docker.ping();
    } catch (error) {
      throw new NonRetriableError(
        `No Docker engine at ${address}: start dockerd or use ds_node_job (set DOCKER_HOST if the engine listens elsewhere). (${(error as Error).message})`,
        { cause: error },
      );
    }
    try {
      await docker.getImage(crawler.image).inspect();
    } catch (error) {
      if (statusCode(error) === 404) {
        throw new NonRetriableError(
          `Docker image ${crawler.image} not found at ${address}: build it from the repository root with \`${BUILD_HINT}\`, or use ds_node_job.`,
          { cause: error },
        );
      }
      throw new Error(
        `Cannot inspect Docker image ${crawler.image} at ${address}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }

    // Only what the crawler needs: not our PATH or HOME, which belong to this machine.
    const env = crawlerEnvironment({}, crawler.env, source.crawlerEnv());
    const binds = source.localDir ? [`${env.DS_LOCAL_BUCKETS_DIR}:${env.DS_LOCAL_BUCKETS_DIR}`] : [];
    const name = `ds-crawler-${ctx.runId.slice(0, 8)}-${randomBytes(3).toString('hex')}`;
    ctx.log.info(`Starting container ${name} from ${crawler.image} at ${address} (network host).`);
    const container = await docker.createContainer({
      name,
      Image: crawler.image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      Labels: { 'dag.run-id': ctx.runId, 'dag.asset': 'ds_img_r2_docker' },
      // A local bucket is bind-mounted: run as this process's user so the crawler can write
      // where the orchestrator reads (the image's own user would not own the folder).
      ...(source.localDir && typeof process.getuid === 'function'
        ? { User: `${process.getuid()}:${process.getgid?.() ?? process.getuid()}` }
        : {}),
      HostConfig: { NetworkMode: 'host', Binds: binds, AutoRemove: false },
    });

    const output = new CrawlerOutput();
    const tail: string[] = [];
    const onAbort = () => {
      void container.kill().catch(() => {});
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: true });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      docker.modem.demuxStream(stream, stdout, stderr);
      stream.on('end', () => {
        stdout.end();
        stderr.end();
      });
      const drained: Promise<void>[] = [];
      for (const [readable, level] of [
        [stdout, 'info'],
        [stderr, 'warn'],
      ] as const) {
        const lines = createInterface({ input: readable, crlfDelay: Number.POSITIVE_INFINITY });
        lines.on('line', (raw) => {
          const line = stripAnsi(raw);
          output.add(line);
          tail.push(line);
          if (tail.length > 30) tail.shift();
          ctx.log[level](line);
        });
        drained.push(new Promise((resolve) => lines.on('close', () => resolve())));
      }
      await container.start();
      const exit = (await container.wait()) as { StatusCode?: number };
      await Promise.race([Promise.all(drained), new Promise((r) => setTimeout(r, 2000))]);
      ctx.addMetadata(crawlMetadata(output, Date.now() - started, source.location));
      if (ctx.signal.aborted) throw new Error('ds_img_r2_docker was terminated; the container was killed.');
      if (exit.StatusCode !== 0) {
        throw new Error(
          `ds_img_r2_docker: the crawler container exited with code ${exit.StatusCode} after saving ${output.saved.length} PNG(s). Last lines of its log:\n${tail.join('\n')}`,
        );
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await container.remove({ force: true }).catch((error: unknown) => {
        ctx.log.warn(
          `Could not remove container ${name}: ${(error as Error).message}; remove it with \`docker rm -f ${name}\`.`,
        );
      });
    }
    return new MaterializeResult({ metadata: {} });
  },
);
