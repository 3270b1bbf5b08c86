import { FINISHED_RUN_STATUSES, isTerminalEvent, redact, redactDeep, type StoredEvent } from '@dag/core';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { notFound } from '../http/api-error.ts';
import { intParam } from '../http/query-params.ts';
import type { AppOptions } from '../interfaces.ts';

const BATCH = 1000;
/** Polls without new events between two looks at the run's status. */
const STATUS_EVERY = 5;

function eventData(event: StoredEvent): string {
  return redact(JSON.stringify(redactDeep(event)));
}

/**
 * `GET /api/runs/:id/events/stream`: the run's events as Server-Sent Events (`id` = event
 * id, `event` = event type, `data` = the stored event as JSON), from after `Last-Event-ID`
 * (or `?after=`), polling storage until the run's terminal event has been sent; then an
 * `end` event. Comments keep idle connections alive through proxies.
 *
 * A reconnect to a finished run with nothing left to send gets 204, which tells the
 * browser's EventSource to stop reconnecting.
 */
export function runEventStream(options: AppOptions) {
  const { storage } = options.instance;
  const pollMs = options.streamPollMs ?? 200;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  return async (c: Context): Promise<Response> => {
    const runId = c.req.param('id') ?? '';
    const run = await storage.getRun(runId);
    if (!run) throw notFound(`Unknown run '${runId}'.`);
    let after =
      intParam(c.req.header('Last-Event-ID') ?? c.req.query('after'), 'after', {
        min: 0,
        max: Number.MAX_SAFE_INTEGER,
        label: 'Last-Event-ID (or ?after=), an event id,',
      }) ?? 0;
    if (FINISHED_RUN_STATUSES.includes(run.status)) {
      const rest = await storage.getEvents(runId, { afterId: after, limit: 1 });
      if (rest.length === 0) return c.body(null, 204);
    }

    return streamSSE(c, async (stream) => {
      let lastWrite = Date.now();
      let idle = 0;
      let status = run.status;
      while (!stream.aborted && !stream.closed) {
        const events = await storage.getEvents(runId, { afterId: after, limit: BATCH });
        let ended = false;
        for (const event of events) {
          await stream.writeSSE({ id: String(event.id), event: event.type, data: eventData(event) });
          after = event.id;
          if (isTerminalEvent(event.type)) ended = true;
        }
        if (events.length > 0) lastWrite = Date.now();
        if (ended) break;
        if (events.length === BATCH) continue;
        if (events.length === 0 && ++idle % STATUS_EVERY === 0) {
          // A run can end without a terminal event (its process was killed before the
          // launcher recorded it); stop once it is finished and drained.
          const current = await storage.getRun(runId);
          status = current?.status ?? status;
          if (!current || FINISHED_RUN_STATUSES.includes(current.status)) {
            const rest = await storage.getEvents(runId, { afterId: after, limit: 1 });
            if (rest.length === 0) break;
          }
        }
        if (Date.now() - lastWrite >= heartbeatMs) {
          await stream.write(': heartbeat\n\n');
          lastWrite = Date.now();
        }
        await stream.sleep(pollMs);
      }
      if (!stream.aborted) {
        const final = await storage.getRun(runId);
        await stream.writeSSE({
          event: 'end',
          data: JSON.stringify({ runId, status: final?.status ?? status, lastEventId: after }),
        });
      }
    });
  };
}
