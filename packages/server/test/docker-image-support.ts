/**
 * What the tests that run the dag image share: a private Docker engine (pipelines/ds's test
 * helpers), the base image imported from this machine's files, and the dag image built from the
 * repository's Dockerfile. With DAG_TEST_DOCKER_CACHE_DIR the engine keeps its images there, so
 * the image is built once across test files and runs (until a file of its context changes).
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import {
  buildDagImage,
  type DockerEngine,
  dockerEngineRequired,
  dockerEngineUnavailable,
  importNodeBaseImage,
  startDockerEngine,
} from '../../../pipelines/ds/test/support/docker-engine.ts';

/** The skip reason of a test that needs the engine (and `extra` programs), or false. */
export function dockerSkip(extra: string[] = []): string | false {
  let reason = dockerEngineUnavailable();
  for (const program of extra) {
    if (reason) break;
    try {
      execFileSync(program, ['version'], { stdio: 'ignore' });
    } catch {
      reason = `${program} is not installed: apt-get install -y ${program}`;
    }
  }
  // In CI (or with DAG_TEST_DOCKER=1) a missing engine fails the test instead.
  return reason && !dockerEngineRequired() ? `no Docker engine for the tests: ${reason}` : false;
}

export interface DagImageEngine {
  engine: DockerEngine;
  image: string;
  /** How long each part took, for the test's output. */
  timings: string[];
}

/** Starts a private engine and builds (or reuses) the dag image on it. */
export async function engineWithDagImage(): Promise<DagImageEngine> {
  const engine = await startDockerEngine();
  const timings = [`dockerd answered after ${engine.startMs} ms`];
  try {
    const base = await importNodeBaseImage(engine.docker, engine.dir);
    timings.push(`base image ${base.tag}: ${base.built ? 'imported' : 'reused'} in ${base.ms} ms`);
    const image = await buildDagImage(engine.docker, base.tag);
    timings.push(
      `${image.tag} (${image.contextFiles} context files): ${image.built ? 'built' : 'reused'} in ${image.ms} ms`,
    );
    return { engine, image: image.tag, timings };
  } catch (error) {
    await engine.stop();
    throw error;
  }
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
