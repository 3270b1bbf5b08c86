import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DAEMON_TYPE, instancePools, PostgresStorage } from '@dag/core';
import { Hono } from 'hono';
import { sendJson } from '../http/json-response.ts';
import type { AppOptions } from '../interfaces.ts';

function dagVersion(): string {
  try {
    const file = path.resolve(import.meta.dirname, '../../../core/package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function instanceApi(options: AppOptions): Hono {
  const api = new Hono();
  const version = dagVersion();

  api.get('/instance', async (c) => {
    const info = await options.instance.info();
    const storage = options.instance.storage;
    if (info.postgresVersion === 'unknown' && storage instanceof PostgresStorage) {
      // DagInstance.info() reads `SHOW server_version` under the wrong column name.
      const { rows } = await storage.pool.query<{ v: string }>(
        "SELECT current_setting('server_version') AS v",
      );
      info.postgresVersion = rows[0]?.v ?? 'unknown';
    }
    const heartbeat = await storage.getDaemonHeartbeat(DAEMON_TYPE);
    const daemon = heartbeat
      ? {
          heartbeat: heartbeat.heartbeat,
          daemonId: heartbeat.daemonId,
          info: heartbeat.info,
          ageSeconds: Math.max(0, (Date.now() - heartbeat.heartbeat.getTime()) / 1000),
        }
      : null;
    return sendJson(c, {
      info,
      versions: { dag: version, node: process.version, postgres: info.postgresVersion },
      daemon,
    });
  });

  api.get('/pools', async (c) => {
    return sendJson(c, { pools: await instancePools(options.instance).list() });
  });

  return api;
}
