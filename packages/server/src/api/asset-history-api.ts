import { assetStaleness, metadataSeries } from '@dag/core';
import { Hono } from 'hono';
import { sendJson } from '../http/json-response.ts';
import { intParam } from '../http/query-params.ts';
import type { AppOptions } from '../interfaces.ts';
import { findAsset } from './assets-api.ts';

/**
 * What an asset's page shows about its history beyond the list of materializations: numeric
 * metadata as plottable series, whether it is stale and why, and how its automation condition
 * was evaluated.
 */
export function assetHistoryApi(options: AppOptions): Hono {
  const api = new Hono();
  const { instance } = options;

  /** Every numeric metadata key across the latest `limit` materializations, in one query. */
  api.get('/assets/:key/plots', async (c) => {
    const key = c.req.param('key');
    findAsset(options, key, c.req.query('location'));
    const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, fallback: 100 }) ?? 100;
    const materializations = await instance.storage.getMaterializations(key, { limit });
    return sendJson(c, {
      series: metadataSeries(
        materializations.flatMap((m) => (m.type === 'ASSET_MATERIALIZATION' ? [m] : [])),
      ),
    });
  });

  api.get('/assets/:key/staleness', async (c) => {
    const key = c.req.param('key');
    const { location, asset } = findAsset(options, key, c.req.query('location'));
    const [reasons, [record]] = await Promise.all([
      assetStaleness(instance.storage, location.definitions),
      instance.storage.getAssetVersions([key]),
    ]);
    const mine = reasons.get(asset.key) ?? [];
    return sendJson(c, {
      stale: mine.length > 0,
      reasons: mine,
      codeVersion: asset.codeVersion ?? null,
      recorded: record?.version ?? null,
      observedDataVersion: record?.observedDataVersion ?? null,
    });
  });

  api.get('/assets/:key/automation', async (c) => {
    const key = c.req.param('key');
    const { asset } = findAsset(options, key, c.req.query('location'));
    const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, fallback: 20 }) ?? 20;
    return sendJson(c, {
      condition: asset.automationCondition?.label ?? null,
      evaluations: asset.automationCondition
        ? await instance.storage.getAutomationEvaluations(key, limit)
        : [],
    });
  });

  return api;
}
