import { useEffect, useRef, useState } from 'react';
import { isTerminalEvent, mergeEvents } from '../lib/run-events.ts';
import { apiGet, apiPath, enc } from './client.ts';
import { ALL_EVENT_TYPES, type StoredEvent } from './types.ts';

const PAGE = 1000;
const FLUSH_MS = 100;

export interface RunEventsState {
  events: StoredEvent[];
  /** 'backfill' while older events load, 'live' while the stream is open, 'done' when finished. */
  phase: 'backfill' | 'live' | 'reconnecting' | 'done';
  error: unknown;
}

/**
 * A run's event log: pages of `GET /events?after=` first, then, for a run still going, the SSE
 * stream (`event: <TYPE>` frames) until its terminal event or the server's `end` message.
 * Reconnects after a dropped stream and backfills the gap; duplicates are dropped by id.
 * Updates are batched every 100 ms.
 */
export function useRunEvents(
  runId: string,
  finished: boolean | undefined,
  onTerminal: () => void,
): RunEventsState {
  const [state, setState] = useState<RunEventsState>({ events: [], phase: 'backfill', error: null });
  const onTerminalRef = useRef(onTerminal);
  onTerminalRef.current = onTerminal;
  const finishedRef = useRef(finished);
  finishedRef.current = finished;
  const known = finished !== undefined;

  useEffect(() => {
    if (!known) return; // wait until the run is known
    const finished = finishedRef.current;
    let events: StoredEvent[] = [];
    let closed = false;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let phase: RunEventsState['phase'] = 'backfill';
    let sawTerminal = false;
    let error: unknown = null;

    const flush = () => {
      flushTimer = undefined;
      if (!closed) setState({ events, phase, error });
    };
    const schedule = () => {
      flushTimer ??= setTimeout(flush, FLUSH_MS);
    };
    const add = (incoming: readonly StoredEvent[]) => {
      const next = mergeEvents(events, incoming);
      if (next === events) return;
      events = next;
      if (!sawTerminal && incoming.some((e) => isTerminalEvent(e.type))) {
        sawTerminal = true;
        phase = 'done';
        source?.close();
        source = null;
        onTerminalRef.current();
      }
      schedule();
    };
    const lastId = () => (events.length ? events[events.length - 1]!.id : undefined);

    const backfill = async () => {
      for (;;) {
        const res = await apiGet<{ events: StoredEvent[] }>(
          apiPath(`/api/runs/${enc(runId)}/events`, { after: lastId(), limit: PAGE }),
        );
        if (closed) return;
        add(res.events);
        if (res.events.length < PAGE) return;
      }
    };

    const connect = () => {
      if (closed || sawTerminal) return;
      const es = new EventSource(`/api/runs/${enc(runId)}/events/stream`, { withCredentials: true });
      source = es;
      const onFrame = (message: MessageEvent<string>) => {
        try {
          add([JSON.parse(message.data) as StoredEvent]);
        } catch {}
      };
      for (const type of ALL_EVENT_TYPES) es.addEventListener(type, onFrame);
      es.addEventListener('message', onFrame);
      // The server's last message: the run has finished and everything was sent.
      es.addEventListener('end', () => {
        es.close();
        if (source === es) source = null;
        backfill()
          .catch(() => {})
          .finally(() => {
            if (!sawTerminal) {
              sawTerminal = true;
              onTerminalRef.current();
            }
            phase = 'done';
            schedule();
          });
      });
      es.onopen = () => {
        phase = sawTerminal ? 'done' : 'live';
        schedule();
        // Events written between the backfill and the stream's start.
        backfill().catch(() => {});
      };
      es.onerror = () => {
        es.close();
        if (source === es) source = null;
        if (closed || sawTerminal) return;
        // The stream ended (the run finished) or dropped: catch up, then reconnect if needed.
        phase = 'reconnecting';
        schedule();
        retry = setTimeout(() => {
          backfill()
            .then(() => {
              if (!sawTerminal) connect();
            })
            .catch((e: unknown) => {
              error = e;
              schedule();
              retry = setTimeout(connect, 3000);
            });
        }, 1000);
      };
    };

    backfill()
      .then(() => {
        if (closed) return;
        if (finished || sawTerminal) {
          phase = 'done';
          schedule();
        } else connect();
      })
      .catch((e: unknown) => {
        error = e;
        schedule();
        if (!finished) connect();
      });

    return () => {
      closed = true;
      source?.close();
      clearTimeout(retry);
      clearTimeout(flushTimer);
    };
  }, [runId, known]);

  return state;
}
