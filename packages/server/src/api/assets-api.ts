import { type AssetDefinition, type CodeLocation, normalizeMetadata, SelectionError } from '@dag/core';
import { Hono } from 'hono';
import { badRequest, notFound } from '../http/api-error.ts';
import { jsonText, sendJson, sendRevalidatedJson } from '../http/json-response.ts';
import { intParam } from '../http/query-params.ts';
import type { AppOptions } from '../interfaces.ts';
import { freshnessOf, loadAssetStates, statusOf } from './asset-status.ts';
import { configJsonSchema, summarizeAsset } from './describe-definitions.ts';
import { compactGraphJson, type GraphGroup, type GraphNode, graphJson } from './graph-payload.ts';

export function locationsFor(options: AppOptions, name: string | undefined): CodeLocation[] {
  return name === undefined ? options.workspace.locations : [options.workspace.location(name)];
}

export function allAssets(locations: CodeLocation[]): { location: CodeLocation; asset: AssetDefinition }[] {
  return locations.flatMap((location) =>
    location.definitions.graph.order.map((key) => ({ location, asset: location.definitions.graph.get(key) })),
  );
}

/** The asset with this key (in `location` when given); 404 when no location defines it. */
export function findAsset(
  options: AppOptions,
  key: string,
  location: string | undefined,
): { location: CodeLocation; asset: AssetDefinition } {
  for (const l of locationsFor(options, location)) {
    if (l.definitions.graph.has(key)) return { location: l, asset: l.definitions.graph.get(key) };
  }
  throw notFound(
    `Unknown asset '${key}'${location ? ` in code location '${location}'` : ''}. GET /api/assets lists asset keys.`,
  );
}

/**
 * Keys selected in each location. A selection that names an asset of one location is an
 * "unknown asset" in the others; it is an error only when no location resolves it.
 */
function selectPerLocation(locations: CodeLocation[], selection: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const errors: unknown[] = [];
  for (const l of locations) {
    try {
      out.set(l.name, new Set(l.definitions.select(selection)));
    } catch (error) {
      if (!(error instanceof SelectionError)) throw error;
      errors.push(error);
    }
  }
  if (out.size === 0 && errors.length > 0) {
    throw errors.find((e) => e instanceof SelectionError && e.position !== undefined) ?? errors[0];
  }
  return out;
}

export function assetsApi(options: AppOptions): Hono {
  const api = new Hono();
  const { instance } = options;

  api.get('/assets', async (c) => {
    const entries = allAssets(locationsFor(options, c.req.query('location')));
    const states = await loadAssetStates(instance, [...new Set(entries.map((e) => e.asset.key))]);
    const now = Date.now();
    const assets = entries.map(({ location, asset }) => {
      const summary = summarizeAsset(location.definitions, asset);
      const state = states.get(asset.key);
      return {
        key: summary.key,
        location: location.name,
        group: summary.group,
        deps: summary.deps,
        kinds: summary.kinds,
        tags: summary.tags,
        owners: summary.owners,
        description: summary.description,
        checks: summary.checks,
        latest: state?.latest ?? null,
        lastRunStatus: state?.lastRunStatus ?? null,
        status: statusOf(asset, states, now),
        freshness: freshnessOf(asset, state, now),
      };
    });
    return sendJson(c, { assets });
  });

  api.get('/graph', async (c) => {
    const format = c.req.query('format');
    if (format !== undefined && format !== 'compact') {
      throw badRequest(
        `Unknown graph format '${format}': use format=compact, or leave it out for the object form.`,
      );
    }
    const locations = locationsFor(options, c.req.query('location'));
    const selection = c.req.query('selection')?.trim();
    const selected = selection ? selectPerLocation(locations, selection) : undefined;
    const entries = allAssets(locations).filter(
      ({ location, asset }) => !selected || selected.get(location.name)?.has(asset.key),
    );
    const states = await loadAssetStates(instance, [...new Set(entries.map((e) => e.asset.key))]);
    const now = Date.now();
    const indexOf = new Map(entries.map((e, i) => [`${e.location.name}\u0000${e.asset.key}`, i]));
    const groups = new Map<string, GraphGroup>();
    const nodes: GraphNode[] = [];
    const edges: [number, number][] = [];
    entries.forEach(({ location, asset }, i) => {
      nodes.push({
        key: asset.key,
        location: location.name,
        group: asset.group,
        kinds: asset.kinds,
        status: statusOf(asset, states, now),
      });
      for (const dep of asset.deps) {
        const from = indexOf.get(`${location.name}\u0000${dep}`);
        if (from !== undefined) edges.push([from, i]);
      }
      const id = `${location.name}\u0000${asset.group}`;
      const g = groups.get(id) ?? { location: location.name, group: asset.group, count: 0 };
      g.count++;
      groups.set(id, g);
    });
    const graph = { nodes, edges, groups: [...groups.values()] };
    // Polled by the UI: an ETag lets an unchanged graph cost a 304 instead of a body to parse.
    return sendRevalidatedJson(
      c,
      jsonText(format === 'compact' ? compactGraphJson(graph) : graphJson(graph)),
    );
  });

  api.get('/assets/:key', async (c) => {
    const key = c.req.param('key');
    const { location, asset } = findAsset(options, key, c.req.query('location'));
    const { definitions } = location;
    const [states, executions] = await Promise.all([
      loadAssetStates(instance, [key, ...asset.deps]),
      instance.storage.getCheckExecutions(key, { limit: 200 }),
    ]);
    const state = states.get(key);
    const summary = summarizeAsset(definitions, asset);
    return sendJson(c, {
      asset: {
        ...summary,
        location: location.name,
        dependents: [...definitions.graph.childrenOf(key)],
        configSchema: asset.configSchema ? configJsonSchema(asset.configSchema) : null,
        resources: Object.values(asset.resources).map((r) => r.name),
        retry: asset.retry ?? null,
        external: asset.external,
        /** What the definition declares (a SQL model: its file, relation and SQL). */
        definitionMetadata: normalizeMetadata(asset.metadata),
        checks: summary.checks.map((check) => ({
          ...check,
          latest: executions.find((e) => e.checkName === check.name) ?? null,
        })),
        latest: state?.latest ?? null,
        lastRunStatus: state?.lastRunStatus ?? null,
        status: statusOf(asset, states),
        freshness: freshnessOf(asset, state),
      },
      latest: state?.latest ?? null,
    });
  });

  api.get('/assets/:key/materializations', async (c) => {
    const key = c.req.param('key');
    findAsset(options, key, c.req.query('location'));
    const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, fallback: 20 });
    const before = intParam(c.req.query('before'), 'before', { min: 1, max: Number.MAX_SAFE_INTEGER });
    const materializations = await instance.storage.getMaterializations(key, {
      ...(limit !== undefined ? { limit } : {}),
      ...(before !== undefined ? { beforeId: before } : {}),
    });
    return sendJson(c, { materializations });
  });

  api.get('/assets/:key/checks', async (c) => {
    const key = c.req.param('key');
    findAsset(options, key, c.req.query('location'));
    const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, fallback: 50 });
    const check = c.req.query('check');
    const executions = await instance.storage.getCheckExecutions(key, {
      ...(limit !== undefined ? { limit } : {}),
      ...(check ? { checkName: check } : {}),
    });
    return sendJson(c, { executions });
  });

  return api;
}
