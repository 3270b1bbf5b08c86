import {
  type CodeLocation,
  Daemon,
  type DagInstance,
  type InstigatorState,
  type InstigatorType,
  nextTicks,
  type TickRecord,
} from '@dag/core';
import { Hono } from 'hono';
import { notFound } from '../http/api-error.ts';
import { sendJson } from '../http/json-response.ts';
import type { AppOptions } from '../interfaces.ts';
import { registerResourceSecrets } from '../resource-secrets.ts';
import { describeLocation, type LocationSummary } from './describe-definitions.ts';

/** The daemon's view of an instigator: stored status (else the default), cursor, latest tick. */
async function instigatorStates(
  instance: DagInstance,
  type: InstigatorType,
): Promise<Map<string, InstigatorState>> {
  const states = await instance.storage.getInstigatorStates();
  return new Map(states.filter((s) => s.type === type).map((s) => [s.name, s]));
}

async function lastTick(
  instance: DagInstance,
  type: InstigatorType,
  name: string,
): Promise<TickRecord | null> {
  return (await instance.storage.getTicks(type, name, 1))[0] ?? null;
}

export function definitionsApi(options: AppOptions): Hono {
  const api = new Hono();
  const { workspace } = options;
  // Describe each version of the definitions once (jobs resolve selections); a reload
  // replaces the workspace's locations array.
  let described: { of: readonly CodeLocation[]; summaries: LocationSummary[] } | undefined;
  const locations = () => {
    if (described?.of !== workspace.locations) {
      described = { of: workspace.locations, summaries: workspace.locations.map(describeLocation) };
    }
    return described.summaries;
  };

  api.get('/definitions', (c) =>
    sendJson(c, { locations: locations(), errors: workspace.errors, generation: workspace.generation }),
  );

  // "Reload definitions": import every code location (or one) afresh. A location that no
  // longer loads keeps serving its last good definitions and reports its error.
  const reload = async (names?: string[]) => {
    const results = await workspace.reload(names);
    registerResourceSecrets(workspace);
    return { results, errors: workspace.errors, generation: workspace.generation };
  };
  api.post('/definitions/reload', async (c) => sendJson(c, await reload()));
  api.post('/definitions/locations/:name/reload', async (c) => {
    const name = c.req.param('name');
    if (!workspace.locations.some((l) => l.name === name)) {
      throw notFound(
        `Unknown code location '${name}'. Locations: ${workspace.locations.map((l) => l.name).join(', ')}.`,
      );
    }
    return sendJson(c, await reload([name]));
  });

  api.get('/schedules', async (c) => {
    const states = await instigatorStates(options.instance, 'schedule');
    const now = new Date();
    const schedules = await Promise.all(
      locations().flatMap((l) =>
        l.schedules.map(async (s) => {
          const state = states.get(s.name);
          const status = state?.status ?? s.defaultStatus;
          return {
            ...s,
            status,
            statusStored: state !== undefined,
            lastTick: await lastTick(options.instance, 'schedule', s.name),
            nextTickAt: status === 'RUNNING' ? (nextTicks(s, now, 1)[0] ?? null) : null,
          };
        }),
      ),
    );
    return sendJson(c, { schedules });
  });

  api.get('/sensors', async (c) => {
    const states = await instigatorStates(options.instance, 'sensor');
    const sensors = await Promise.all(
      locations().flatMap((l) =>
        l.sensors.map(async (s) => {
          const state = states.get(s.name);
          return {
            ...s,
            status: state?.status ?? s.defaultStatus,
            statusStored: state !== undefined,
            cursor: state?.cursor ?? null,
            lastTick: await lastTick(options.instance, 'sensor', s.name),
          };
        }),
      ),
    );
    return sendJson(c, { sensors });
  });

  // Turning a schedule or sensor on or off is stored in the instance; the daemon reads it.
  for (const type of ['schedule', 'sensor'] as const) {
    for (const action of ['start', 'stop'] as const) {
      api.post(`/${type}s/:name/${action}`, async (c) => {
        const name = c.req.param('name');
        const location = options.workspace.locations.find((l) =>
          type === 'schedule' ? l.definitions.schedules.has(name) : l.definitions.sensors.has(name),
        );
        if (!location) throw notFound(`Unknown ${type} '${name}'.`);
        const status = action === 'start' ? 'RUNNING' : 'STOPPED';
        await Daemon.setStatus(options.instance, location.definitions, type, name, status);
        return sendJson(c, { name, type, status });
      });
    }
  }

  return api;
}
