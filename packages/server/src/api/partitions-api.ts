import {
  assetPartitionStatus,
  type BackfillProgress,
  cancelBackfill,
  dynamicPartitionNames,
  getBackfillProgress,
  launchBackfill,
  listBackfillProgress,
  type RunConfig,
  UsageError,
} from '@dag/core';
import { Hono } from 'hono';
import { badRequest, notFound } from '../http/api-error.ts';
import { jsonText, sendJson, sendRevalidatedJson } from '../http/json-response.ts';
import { intParam } from '../http/query-params.ts';
import { readJsonObject } from '../http/request-input.ts';
import type { AppOptions } from '../interfaces.ts';
import { allAssets, findAsset, locationsFor } from './assets-api.ts';
import { compactPartitionStatus } from './partitions-payload.ts';
import { checkKeys, optionalString, parseTags } from './runs-api.ts';

/** A backfill for lists: its partitions summarized (first, last, count) rather than all listed. */
function summary({ partitionKeys, ...b }: BackfillProgress) {
  return {
    ...b,
    partitionCount: partitionKeys.length,
    firstPartition: partitionKeys[0] ?? null,
    lastPartition: partitionKeys[partitionKeys.length - 1] ?? null,
  };
}

function optionalBoolean(body: Record<string, unknown>, key: string): boolean {
  const value = body[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw badRequest(`'${key}' must be true or false.`);
  return value;
}

/** Partition status per asset, dynamic partition keys, and backfills. */
export function partitionsApi(options: AppOptions): Hono {
  const api = new Hono();
  const { instance, workspace } = options;
  const storage = instance.storage;

  api.get('/assets/:key/partitions', async (c) => {
    const key = c.req.param('key');
    const { asset } = findAsset(options, key, c.req.query('location'));
    if (!asset.partitions) throw badRequest(`Asset '${key}' is not partitioned.`);
    const format = c.req.query('format');
    if (format !== undefined && format !== 'compact') {
      throw badRequest(
        `Unknown partitions format '${format}': use format=compact, or leave it out for the object form.`,
      );
    }
    const status = await assetPartitionStatus(storage, asset);
    // Polled by the UI: unchanged statuses are a 304.
    return sendRevalidatedJson(c, jsonText(format === 'compact' ? compactPartitionStatus(status) : status));
  });

  /** The dynamic partitions definitions the loaded code uses. */
  const dynamicName = (name: string) => {
    for (const location of workspace.locations) {
      for (const a of location.definitions.assets) {
        if (a.partitions && dynamicPartitionNames(a.partitions).includes(name)) return name;
      }
    }
    throw notFound(`No asset uses dynamic partitions '${name}'.`);
  };

  /**
   * Every partitioned asset with its partition counts by status, and every dynamic partitions
   * definition with how many keys it has and which assets use it: the Partitions page.
   */
  api.get('/partitions', async (c) => {
    const entries = allAssets(locationsFor(options, c.req.query('location'))).filter(
      (e) => e.asset.partitions,
    );
    const assets = await Promise.all(
      entries.map(async ({ location, asset }) => {
        const status = await assetPartitionStatus(storage, asset);
        return {
          assetKey: asset.key,
          location: location.name,
          group: asset.group,
          partitions: status.partitions,
          total: status.keys.length,
          firstKey: status.keys[0] ?? null,
          lastKey: status.keys[status.keys.length - 1] ?? null,
          counts: status.counts,
        };
      }),
    );
    const users = new Map<string, string[]>();
    for (const a of assets) {
      for (const name of a.partitions.dynamic ?? [])
        users.set(name, [...(users.get(name) ?? []), a.assetKey]);
    }
    const dynamic = await Promise.all(
      [...users].map(async ([name, keys]) => ({
        name,
        keyCount: (await storage.getDynamicPartitions(name)).length,
        assets: [...new Set(keys)],
      })),
    );
    return sendJson(c, { assets, dynamic });
  });

  api.get('/partitions/:name', async (c) => {
    const name = dynamicName(c.req.param('name'));
    return sendJson(c, { name, keys: await storage.getDynamicPartitions(name) });
  });

  api.post('/partitions/:name', async (c) => {
    const name = dynamicName(c.req.param('name'));
    const body = await readJsonObject(c);
    checkKeys(body, ['keys']);
    const keys = body.keys;
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string')) {
      throw badRequest(`'keys' must be a non-empty array of partition keys.`);
    }
    for (const k of keys as string[]) {
      if (!k || k.includes('|') || k.includes('...') || k.trim() !== k) {
        throw badRequest(
          `Partition key ${JSON.stringify(k)} is invalid: no '|', '...' or surrounding spaces.`,
        );
      }
    }
    const added = await storage.addDynamicPartitions(name, keys as string[]);
    return sendJson(c, { name, added }, 201);
  });

  api.delete('/partitions/:name/:key', async (c) => {
    const name = dynamicName(c.req.param('name'));
    const deleted = await storage.deleteDynamicPartitions(name, [c.req.param('key')]);
    if (deleted.length === 0)
      throw notFound(`Dynamic partitions '${name}' has no key '${c.req.param('key')}'.`);
    return sendJson(c, { name, deleted });
  });

  api.get('/backfills', async (c) => {
    const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, fallback: 50 });
    const list = await listBackfillProgress(storage, limit !== undefined ? { limit } : {});
    return sendJson(c, { backfills: list.map(summary) });
  });

  api.get('/backfills/:id', async (c) => {
    try {
      return sendJson(c, { backfill: await getBackfillProgress(storage, c.req.param('id')) });
    } catch (error) {
      if (error instanceof UsageError) throw notFound(error.message);
      throw error;
    }
  });

  api.post('/backfills', async (c) => {
    const body = await readJsonObject(c);
    checkKeys(body, [
      'location',
      'job',
      'selection',
      'partitions',
      'fromFailure',
      'singleRun',
      'runConfig',
      'tags',
    ]);
    const job = optionalString(body, 'job');
    const selection = optionalString(body, 'selection');
    const locationName = optionalString(body, 'location');
    if ((job === undefined) === (selection === undefined)) {
      throw badRequest(`Give either a 'job' or a 'selection' of partitioned assets to backfill.`);
    }
    const location =
      job !== undefined
        ? workspace.locationForJob(job, locationName)
        : workspace.locationForSelection(selection!, locationName);
    const partitions = optionalString(body, 'partitions');
    const tags = parseTags(body.tags);
    const runConfig = body.runConfig as RunConfig | undefined;
    const created = await launchBackfill({
      storage,
      definitions: location.definitions,
      location: location.name,
      ...(job !== undefined ? { job } : { selection: selection! }),
      ...(partitions !== undefined ? { partitions } : {}),
      fromFailure: optionalBoolean(body, 'fromFailure'),
      singleRun: optionalBoolean(body, 'singleRun'),
      ...(runConfig !== undefined && runConfig !== null ? { runConfig } : {}),
      ...(tags ? { tags } : {}),
    });
    return sendJson(c, { backfill: summary(await getBackfillProgress(storage, created.backfillId)) }, 201);
  });

  api.post('/backfills/:id/cancel', async (c) => {
    const id = c.req.param('id');
    await getBackfillProgress(storage, id).catch((error) => {
      throw error instanceof UsageError ? notFound(error.message) : error;
    });
    // Its running runs are terminated through the launcher, which kills a process that does not stop.
    const terminate = (runId: string) => options.launcher.terminate(runId);
    return sendJson(c, { backfill: summary(await cancelBackfill(storage, id, { terminate })) });
  });

  return api;
}
