import { open, stat } from 'node:fs/promises';
import {
  type CodeLocation,
  checkRunPartitions,
  deriveSteps,
  FINISHED_RUN_STATUSES,
  InstanceError,
  partitionSelectionTags,
  RUN_STATUSES,
  type RunConfig,
  type RunStatus,
  redact,
  reexecutionOptions,
  STEP_EVENT_TYPES,
} from '@dag/core';
import { Hono } from 'hono';
import { ApiError, badRequest, notFound } from '../http/api-error.ts';
import { sendJson } from '../http/json-response.ts';
import { intParam } from '../http/query-params.ts';
import { readJsonObject } from '../http/request-input.ts';
import type { AppOptions } from '../interfaces.ts';
import { runEventStream } from './run-event-stream.ts';

/** The most of a run's log one request returns (the end of it, unless `offset` is given). */
const MAX_LOG_BYTES = 5 * 1024 * 1024;

export function checkKeys(body: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw badRequest(
        `The request body contains unsupported key '${key}'; supported keys are: ${allowed.join(', ')}.`,
      );
    }
  }
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '')
    throw badRequest(`'${key}' must be a non-empty string.`);
  return value;
}

/** Longest tag key and value: tags are indexed, and an index row must fit a database page. */
const MAX_TAG_KEY = 256;
const MAX_TAG_VALUE = 1024;

export function parseTags(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(`'tags' must be an object of strings, like { "team": "data" }.`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw badRequest(`Tag '${k}' must be a string, got ${typeof v}.`);
    if (k.length === 0 || k.length > MAX_TAG_KEY) {
      throw badRequest(
        `Tag keys must be 1 to ${MAX_TAG_KEY} characters; '${k.slice(0, 40)}…' is ${k.length}.`,
      );
    }
    if (v.length > MAX_TAG_VALUE) {
      throw badRequest(
        `Tag '${k}' is ${v.length} characters long; tag values may be at most ${MAX_TAG_VALUE}.`,
      );
    }
  }
  return value as Record<string, string>;
}

function parseStatuses(value: string | undefined): RunStatus[] | undefined {
  if (!value) return undefined;
  const statuses = value.split(',').map((s) => s.trim().toUpperCase());
  for (const s of statuses) {
    if (!(RUN_STATUSES as readonly string[]).includes(s)) {
      throw badRequest(`Unknown run status '${s}'; statuses are: ${RUN_STATUSES.join(', ')}.`);
    }
  }
  return statuses as RunStatus[];
}

function parseTagFilters(values: string[] | undefined): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  const tags: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw badRequest(`Query parameter 'tag' must be key=value, got '${value}'.`);
    tags[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return tags;
}

export function runsApi(options: AppOptions): Hono {
  const api = new Hono();
  const { instance, launcher, workspace } = options;
  const storage = instance.storage;

  const getRun = async (runId: string) => {
    const run = await storage.getRun(runId);
    if (!run) throw notFound(`Unknown run '${runId}'.`);
    return run;
  };

  api.get('/runs', async (c) => {
    const statuses = parseStatuses(c.req.query('status'));
    const job = c.req.query('job');
    const tags = parseTagFilters(c.req.queries('tag'));
    const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, fallback: 50 });
    const cursor = c.req.query('cursor');
    try {
      const page = await storage.listRuns({
        ...(statuses ? { statuses } : {}),
        ...(job ? { jobName: job } : {}),
        ...(tags ? { tags } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      });
      return sendJson(c, { runs: page.runs, nextCursor: page.nextCursor });
    } catch (error) {
      if (error instanceof InstanceError && /cursor/i.test(error.message)) throw badRequest(error.message);
      throw error;
    }
  });

  api.get('/runs/:id', async (c) => {
    const run = await getRun(c.req.param('id'));
    const events = await storage.getEvents(run.runId, { types: [...STEP_EVENT_TYPES], limit: 100_000 });
    return sendJson(c, { run, steps: deriveSteps(events, run) });
  });

  api.get('/runs/:id/events', async (c) => {
    const run = await getRun(c.req.param('id'));
    const after = intParam(c.req.query('after'), 'after', {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      fallback: 0,
    });
    const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 10_000, fallback: 1000 });
    const events = await storage.getEvents(run.runId, {
      ...(after !== undefined ? { afterId: after } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    return sendJson(c, { events });
  });

  api.get('/runs/:id/events/stream', runEventStream(options));

  api.get('/runs/:id/logs', async (c) => {
    const run = await getRun(c.req.param('id'));
    const file = launcher.logFile(run.runId);
    const offset = intParam(c.req.query('offset'), 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER });
    let size = 0;
    try {
      size = (await stat(file)).size;
    } catch {
      // No process log: the run was not launched by this server (the CLI, a worker).
    }
    const start = Math.min(size, offset ?? Math.max(0, size - MAX_LOG_BYTES));
    const length = Math.min(size - start, MAX_LOG_BYTES);
    let text = '';
    if (length > 0) {
      const handle = await open(file, 'r');
      try {
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, start);
        text = buffer.toString('utf8');
      } finally {
        await handle.close();
      }
    }
    return c.body(redact(text), 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Log-Start': String(start),
      'X-Log-End': String(start + length),
      'X-Log-Size': String(size),
      'Cache-Control': 'no-store',
    });
  });

  api.post('/runs', async (c) => {
    const body = await readJsonObject(c);
    checkKeys(body, ['location', 'job', 'selection', 'runConfig', 'tags', 'partition']);
    const locationName = optionalString(body, 'location');
    const job = optionalString(body, 'job');
    const selection = optionalString(body, 'selection');
    let tags = parseTags(body.tags);
    const runConfig = body.runConfig as RunConfig | undefined;
    let location: CodeLocation;
    if (job !== undefined) location = workspace.locationForJob(job, locationName);
    else if (selection !== undefined) location = workspace.locationForSelection(selection, locationName);
    else throw badRequest(`Give a 'job' to launch, or a 'selection' of assets to materialize.`);
    const partition = optionalString(body, 'partition');
    if (partition !== undefined) {
      // Checked now (a bad key is a 400 naming the asset and its valid keys), stored as tags.
      await checkRunPartitions(instance, location.definitions, { job, selection, partition });
      tags = { ...tags, ...partitionSelectionTags(partition) };
    }
    const run = await launcher.launch({
      location,
      ...(job !== undefined ? { job } : {}),
      ...(selection !== undefined ? { selection } : {}),
      ...(runConfig !== undefined && runConfig !== null ? { runConfig } : {}),
      ...(tags ? { tags } : {}),
    });
    return sendJson(c, { runId: run.runId }, 201);
  });

  api.post('/runs/:id/terminate', async (c) => {
    const run = await getRun(c.req.param('id'));
    const finished = () =>
      new ApiError(
        409,
        'Conflict',
        `Run ${run.runId} has already finished; only a queued or running run can be terminated.`,
      );
    if (FINISHED_RUN_STATUSES.includes(run.status)) throw finished();
    const result = await launcher.terminate(run.runId);
    if (result.outcome === 'unknown') throw notFound(`Unknown run '${run.runId}'.`);
    if (result.outcome === 'finished') throw finished();
    // CANCELED at once (it had not started), or CANCELING while its process stops it.
    return sendJson(c, { runId: run.runId, status: result.run.status }, 202);
  });

  api.post('/runs/:id/reexecute', async (c) => {
    const parent = await getRun(c.req.param('id'));
    const body = await readJsonObject(c);
    checkKeys(body, ['fromFailure', 'runConfig']);
    if (body.fromFailure !== undefined && typeof body.fromFailure !== 'boolean') {
      throw badRequest(`'fromFailure' must be true or false.`);
    }
    // Merged over the parent's stored config: how secret values, never stored, are given again.
    const runConfig = body.runConfig as RunConfig | undefined | null;
    if (!FINISHED_RUN_STATUSES.includes(parent.status)) {
      throw new ApiError(
        409,
        'Conflict',
        `Run ${parent.runId} is ${parent.status}; re-execute it once it has finished.`,
      );
    }
    const submit = await reexecutionOptions(instance, parent.runId, {
      fromFailure: body.fromFailure === true,
      ...(runConfig !== undefined && runConfig !== null ? { runConfig } : {}),
    });
    const location = workspace.location(submit.location ?? undefined);
    const run = await launcher.launch({
      location,
      ...(submit.job !== undefined ? { job: submit.job } : {}),
      ...(submit.selection !== undefined ? { selection: submit.selection } : {}),
      ...(submit.runConfig !== undefined ? { runConfig: submit.runConfig } : {}),
      ...(submit.tags !== undefined ? { tags: submit.tags } : {}),
      ...(submit.parentRunId !== undefined ? { parentRunId: submit.parentRunId } : {}),
      ...(submit.rootRunId !== undefined ? { rootRunId: submit.rootRunId } : {}),
      ...(submit.stepKeys !== undefined ? { stepKeys: submit.stepKeys } : {}),
    });
    return sendJson(c, { runId: run.runId, parentRunId: parent.runId }, 201);
  });

  return api;
}
