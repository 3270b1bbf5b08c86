import { describeError, knownSchemaVersion, PostgresStorage, redact } from '@dag/core';
import { Hono } from 'hono';
import { sendJson } from '../http/json-response.ts';
import type { AppOptions } from '../interfaces.ts';

/** How long /readyz waits for the instance database before it answers 503. */
const READY_TIMEOUT_MS = 3000;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Probes for process supervisors (Docker healthchecks, Kubernetes probes). They answer without
 * the token, and say nothing but whether the server is up or ready:
 *
 * - `GET /healthz`: 200 while the process serves requests (liveness).
 * - `GET /readyz`: 200 when the instance database answers and its schema is migrated to the
 *   version this server knows; 503 with the reason otherwise (readiness).
 */
export function healthApi(options: Pick<AppOptions, 'instance'>): Hono {
  const api = new Hono();
  api.get('/healthz', (c) => sendJson(c, { status: 'ok' }));
  api.get('/readyz', async (c) => {
    try {
      const storage = options.instance.storage;
      await within<unknown>(
        storage instanceof PostgresStorage ? storage.pool.query('SELECT 1') : Promise.resolve(),
        READY_TIMEOUT_MS,
        'The instance database',
      );
      const [version, known] = await within(
        Promise.all([storage.schemaVersion(), knownSchemaVersion()]),
        READY_TIMEOUT_MS,
        'The instance database',
      );
      if (version < known) {
        return sendJson(
          c,
          {
            status: 'unavailable',
            reason: `The instance schema is at version ${version}, this server needs ${known}: run 'dag instance migrate'.`,
          },
          503,
        );
      }
      return sendJson(c, { status: 'ok', schemaVersion: version });
    } catch (error) {
      return sendJson(
        c,
        {
          status: 'unavailable',
          reason: `The instance database is unreachable: ${redact(describeError(error))}`,
        },
        503,
      );
    }
  });
  return api;
}
