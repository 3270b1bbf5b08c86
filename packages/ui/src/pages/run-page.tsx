import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { apiPath, apiPost, enc } from '../api/client.ts';
import {
  type LogLevel,
  type RunDetailResponse,
  type StoredEvent,
  TERMINAL_RUN_STATUSES,
} from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { useRunEvents } from '../api/use-run-events.ts';
import { ErrorBox, Loading, RunStatusBadge, Tags, TimeAgo } from '../components/common.tsx';
import { MetadataView } from '../components/metadata-view.tsx';
import { elapsedMs, formatDateTime, formatDuration, formatTime, shortId } from '../lib/format.ts';
import { prettyJson } from '../lib/metadata.ts';
import { type EventFilter, filterEvents, progressByStep, runSteps, timelineBars } from '../lib/run-events.ts';
import { href, navigate } from '../router.ts';

const ROW_HEIGHT = 22;

function useNow(active: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [active, everyMs]);
  return now;
}

function Timeline({
  detail,
  events,
  running,
  complete,
}: {
  detail: RunDetailResponse;
  events: StoredEvent[];
  running: boolean;
  complete: boolean;
}) {
  const now = useNow(running);
  const steps = useMemo(
    () => runSteps(detail.steps, events, detail.run, complete),
    [detail.steps, events, detail.run, complete],
  );
  const progress = useMemo(() => progressByStep(events), [events]);
  const bars = timelineBars(steps, detail.run.startedAt ?? detail.run.createdAt, detail.run.endedAt, now);
  if (bars.length === 0) return <span className="muted">No steps yet.</span>;
  return (
    <div className="timeline" data-testid="timeline">
      {bars.map((bar, i) => {
        const p = progress.get(bar.key);
        const step = steps[i]!;
        return (
          <div className="timeline-row" key={bar.key} data-step={bar.key} data-status={bar.status}>
            <span className="label mono" title={bar.key}>
              {bar.key}
            </span>
            <div
              className="timeline-track"
              title={`${bar.status}${step.attempts > 1 ? `, ${step.attempts} attempts` : ''}`}
            >
              {bar.durationMs !== null && (
                <div
                  className={`timeline-bar ${bar.status}`}
                  style={{ left: `${bar.left}%`, width: `${bar.width}%` }}
                />
              )}
            </div>
            <span className="small muted row" style={{ gap: 6, flexWrap: 'nowrap' }}>
              {bar.status === 'running' && p?.total ? (
                <span className="progress" title={p.message}>
                  <div style={{ width: `${Math.min(100, (p.done / p.total) * 100)}%` }} />
                </span>
              ) : null}
              {bar.durationMs !== null ? formatDuration(bar.durationMs) : bar.status}
            </span>
          </div>
        );
      })}
    </div>
  );
}

const LogRow = memo(function LogRow({
  event,
  top,
  onClick,
}: {
  event: StoredEvent;
  top: number;
  onClick: (e: StoredEvent) => void;
}) {
  const firstLine = event.message.split('\n', 1)[0] ?? '';
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: rows of a windowed list; the detail is also reachable by keyboard through the filters
    <div
      className={`log-row ${event.level}`}
      style={{ position: 'absolute', top, left: 0, right: 0, height: ROW_HEIGHT }}
      onClick={() => onClick(event)}
      onKeyDown={(k) => k.key === 'Enter' && onClick(event)}
      data-type={event.type}
    >
      <span className="muted">{formatTime(event.ts)}</span>
      <span className="etype">{event.type === 'LOG' ? event.level.toUpperCase() : event.type}</span>
      <span className="step muted" title={event.stepKey ?? ''}>
        {event.stepKey ?? ''}
      </span>
      <span className="msg" title={event.message.length > 120 ? event.message.slice(0, 2000) : undefined}>
        {firstLine}
        {firstLine.length < event.message.length ? ' …' : ''}
      </span>
    </div>
  );
});

/** A windowed list: only rows in view are in the DOM; follows the tail while scrolled to the bottom. */
function EventLog({ events, onSelect }: { events: StoredEvent[]; onSelect: (e: StoredEvent) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(460);
  const follow = useRef(true);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when rows are added
  useEffect(() => {
    const el = ref.current;
    if (el && follow.current) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  }, [events.length]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - 10);
  const last = Math.min(events.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + 10);
  const rows = [];
  for (let i = first; i < last; i++) {
    const e = events[i]!;
    rows.push(<LogRow key={e.id} event={e} top={i * ROW_HEIGHT} onClick={onSelect} />);
  }
  return (
    <div
      ref={ref}
      className="log-view"
      data-testid="event-log"
      data-count={events.length}
      onScroll={(e) => {
        const el = e.currentTarget;
        follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT * 2;
        setScrollTop(el.scrollTop);
      }}
    >
      <div style={{ height: events.length * ROW_HEIGHT, position: 'relative' }}>{rows}</div>
    </div>
  );
}

const RAW_LOG_KEEP = 2_000_000;

/**
 * The run process's raw stdout/stderr: the end of the file first, then, while the run is going,
 * only what was added (`?offset=` the previous `X-Log-End`).
 */
function RawLogs({ runId, running }: { runId: string; running: boolean }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let offset: number | null = null;
    let content = '';
    const load = async () => {
      try {
        const url = apiPath(`/api/runs/${enc(runId)}/logs`, { offset: offset ?? undefined });
        const res = await fetch(url, { credentials: 'same-origin' });
        if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, 300)}`);
        const chunk = await res.text();
        if (stop) return;
        const end = Number(res.headers.get('X-Log-End'));
        if (offset === null || !Number.isFinite(end)) content = chunk;
        else content += chunk;
        if (content.length > RAW_LOG_KEEP) content = content.slice(content.length - RAW_LOG_KEEP);
        offset = Number.isFinite(end) && res.headers.has('X-Log-End') ? end : null;
        const el = ref.current;
        const atBottom = !el || el.scrollTop + el.clientHeight >= el.scrollHeight - 40;
        setText(content);
        setError(null);
        if (atBottom)
          requestAnimationFrame(() => {
            if (ref.current) ref.current.scrollTop = ref.current.scrollHeight;
          });
      } catch (e) {
        if (!stop) setError(e);
      }
      if (running && !stop) timer = setTimeout(load, 1500);
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [runId, running]);
  return (
    <div>
      <ErrorBox error={error} />
      {text === null && !error ? (
        <Loading what="logs" />
      ) : (
        <pre className="raw-log" ref={ref} data-testid="raw-logs">
          {text || '(no output)'}
        </pre>
      )}
    </div>
  );
}

function EventDetail({ event, onClose }: { event: StoredEvent; onClose: () => void }) {
  const metadata = (event.data as { metadata?: unknown } | null)?.metadata;
  const rest = event.data
    ? Object.fromEntries(Object.entries(event.data).filter(([k]) => k !== 'metadata'))
    : null;
  return (
    <div className="panel stack" style={{ borderRadius: 0, borderWidth: '1px 0 0' }}>
      <div className="row">
        <strong>{event.type}</strong>
        <span className="muted small">
          #{event.id} · {formatDateTime(event.ts)} {event.stepKey ? `· ${event.stepKey}` : ''} · {event.level}
        </span>
        <span style={{ flex: 1 }} />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <pre className="json-block" style={{ whiteSpace: 'pre-wrap' }}>
        {event.message}
      </pre>
      {metadata !== undefined && <MetadataView metadata={metadata} />}
      {rest && Object.keys(rest).length > 0 && <pre className="json-block">{prettyJson(rest)}</pre>}
    </div>
  );
}

export function RunPage({ runId }: { runId: string }) {
  const detail = useApi<RunDetailResponse>(`/api/runs/${enc(runId)}`);
  const run = detail.data?.run;
  const finished = run ? TERMINAL_RUN_STATUSES.includes(run.status) : undefined;
  const reload = detail.reload;
  const { events, phase, error: streamError } = useRunEvents(runId, finished, reload);
  const [tab, setTab] = useState<'events' | 'raw' | 'config'>('events');
  const [filter, setFilter] = useState<EventFilter>({ level: 'debug', kind: 'all', step: '', text: '' });
  const [picked, setPicked] = useState<StoredEvent | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const running = finished === false;

  // Refresh the run (status, steps) when steps change, at most every 700 ms; poll slowly otherwise.
  const stepEvents = useMemo(
    () => events.filter((e) => e.type.startsWith('STEP_') && e.type !== 'STEP_PROGRESS').length,
    [events],
  );
  useEffect(() => {
    if (!running || stepEvents === 0) return;
    const t = setTimeout(reload, 700);
    return () => clearTimeout(t);
  }, [stepEvents, running, reload]);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(reload, 5000);
    return () => clearInterval(t);
  }, [running, reload]);

  const shown = useMemo(() => filterEvents(events, filter), [events, filter]);
  const stepKeys = useMemo(() => {
    const keys = new Set<string>((detail.data?.steps ?? []).map((s) => s.key));
    for (const e of events) if (e.stepKey) keys.add(e.stepKey);
    return [...keys];
  }, [detail.data, events]);
  const onSelect = useCallback((e: StoredEvent) => setPicked(e), []);

  const act = async (what: 'terminate' | 'all' | 'failure') => {
    setBusy(true);
    setActionError(null);
    try {
      if (what === 'terminate') {
        await apiPost(`/api/runs/${enc(runId)}/terminate`);
        reload();
      } else {
        const res = await apiPost<{ runId: string }>(`/api/runs/${enc(runId)}/reexecute`, {
          fromFailure: what === 'failure',
        });
        navigate(href('runs', res.runId));
      }
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };

  const duration = run ? elapsedMs(run.startedAt ?? run.createdAt, run.endedAt) : null;

  return (
    <div className="page">
      <div className="breadcrumb">
        <a href={href('runs')}>Runs</a> / <span className="mono">{shortId(runId)}</span>
      </div>
      <div className="page-header">
        <h1>
          Run <span className="mono">{shortId(runId)}</span>
        </h1>
        {run && <RunStatusBadge status={run.status} />}
        {run && (
          <span className="muted small" data-testid="stream-phase">
            {phase === 'live'
              ? '● live'
              : phase === 'reconnecting'
                ? 'reconnecting…'
                : phase === 'backfill'
                  ? 'loading…'
                  : ''}
          </span>
        )}
        <span className="spacer" />
        {running && (
          <button
            type="button"
            className="danger"
            disabled={busy || run?.status === 'CANCELING'}
            onClick={() => void act('terminate')}
          >
            Terminate
          </button>
        )}
        {finished && (
          <>
            <button type="button" disabled={busy} onClick={() => void act('all')}>
              Re-execute all
            </button>
            <button
              type="button"
              disabled={busy || run?.status === 'SUCCESS'}
              onClick={() => void act('failure')}
              title={run?.status === 'SUCCESS' ? 'Nothing failed' : 'Re-run the failed and skipped steps'}
            >
              Re-execute from failure
            </button>
          </>
        )}
      </div>
      <ErrorBox error={actionError} title="Action failed" />
      <ErrorBox error={detail.error} />
      {!run && !detail.error && <Loading what="run" />}
      {run && detail.data && (
        <>
          <div className="grid-2">
            <div className="panel">
              <dl className="props">
                <dt>Run id</dt>
                <dd className="mono">{run.runId}</dd>
                <dt>Job</dt>
                <dd className="mono">{run.jobName}</dd>
                {run.location && (
                  <>
                    <dt>Location</dt>
                    <dd>{run.location}</dd>
                  </>
                )}
                {run.assetSelection && (
                  <>
                    <dt>Assets</dt>
                    <dd>
                      <span className="row" style={{ gap: 6 }}>
                        {run.assetSelection.map((k) => (
                          <a key={k} className="mono" href={href('assets', k)}>
                            {k}
                          </a>
                        ))}
                      </span>
                    </dd>
                  </>
                )}
                <dt>Created</dt>
                <dd>
                  {formatDateTime(run.createdAt)} (<TimeAgo iso={run.createdAt} />)
                </dd>
                {(run.workerId || run.hostname) && (
                  <>
                    <dt>{run.workerId ? 'Worker' : 'Process'}</dt>
                    <dd>
                      {run.workerId ? (
                        <a className="mono" href={href('workers')}>
                          {run.workerId}
                        </a>
                      ) : null}
                      {run.hostname && (
                        <span className="muted">
                          {run.workerId ? ' · ' : ''}pid {run.pid ?? '-'} on {run.hostname}
                        </span>
                      )}
                    </dd>
                  </>
                )}
                <dt>Duration</dt>
                <dd>
                  {duration === null ? '-' : formatDuration(duration)}
                  {running ? ' so far' : ''}
                </dd>
                <dt>Tags</dt>
                <dd>
                  <Tags tags={run.tags} />
                </dd>
                {run.parentRunId && (
                  <>
                    <dt>Re-execution of</dt>
                    <dd>
                      <a className="mono" href={href('runs', run.parentRunId)}>
                        {shortId(run.parentRunId)}
                      </a>
                      {run.rootRunId && run.rootRunId !== run.parentRunId && (
                        <>
                          {' '}
                          (root{' '}
                          <a className="mono" href={href('runs', run.rootRunId)}>
                            {shortId(run.rootRunId)}
                          </a>
                          )
                        </>
                      )}
                    </dd>
                  </>
                )}
              </dl>
              {run.status === 'QUEUED' && run.queueReason && (
                <p className="muted" style={{ marginTop: 10 }}>
                  <strong>Queued:</strong> {run.queueReason}
                </p>
              )}
              {run.error && (
                <div className="error-box" style={{ marginTop: 10 }}>
                  <strong>Error</strong>
                  <pre style={{ whiteSpace: 'pre-wrap' }}>{run.error}</pre>
                </div>
              )}
            </div>
            <div className="panel">
              <h2>Steps</h2>
              <Timeline detail={detail.data} events={events} running={running} complete={phase === 'done'} />
            </div>
          </div>
          <div className="panel flush">
            <div className="tabs" role="tablist">
              <button
                type="button"
                className={tab === 'events' ? 'active' : ''}
                onClick={() => setTab('events')}
                role="tab"
              >
                Events ({events.length})
              </button>
              <button
                type="button"
                className={tab === 'raw' ? 'active' : ''}
                onClick={() => setTab('raw')}
                role="tab"
              >
                Raw stdout/stderr
              </button>
              <button
                type="button"
                className={tab === 'config' ? 'active' : ''}
                onClick={() => setTab('config')}
                role="tab"
              >
                Config
              </button>
            </div>
            {tab === 'events' && (
              <>
                <div className="filters" style={{ padding: '8px 10px' }}>
                  <select
                    value={filter.kind}
                    onChange={(e) => setFilter({ ...filter, kind: e.target.value as EventFilter['kind'] })}
                    aria-label="Event kind"
                  >
                    <option value="all">All events</option>
                    <option value="logs">Log lines</option>
                    <option value="steps">Step and run events</option>
                  </select>
                  <select
                    value={filter.level}
                    onChange={(e) => setFilter({ ...filter, level: e.target.value as LogLevel })}
                    aria-label="Minimum level"
                  >
                    <option value="debug">debug and up</option>
                    <option value="info">info and up</option>
                    <option value="warn">warn and up</option>
                    <option value="error">errors</option>
                  </select>
                  <select
                    value={filter.step}
                    onChange={(e) => setFilter({ ...filter, step: e.target.value })}
                    aria-label="Step"
                  >
                    <option value="">all steps</option>
                    {stepKeys.map((k) => (
                      <option key={k} value={k}>
                        {k}
                      </option>
                    ))}
                  </select>
                  <input
                    type="search"
                    placeholder="Filter messages"
                    value={filter.text}
                    onChange={(e) => setFilter({ ...filter, text: e.target.value })}
                    style={{ flex: '1 1 160px' }}
                  />
                  <span className="muted small">
                    {shown.length === events.length
                      ? `${events.length} events`
                      : `${shown.length} of ${events.length}`}
                  </span>
                </div>
                <ErrorBox error={streamError} />
                <EventLog events={shown} onSelect={onSelect} />
                {picked && <EventDetail event={picked} onClose={() => setPicked(null)} />}
              </>
            )}
            {tab === 'raw' && <RawLogs runId={runId} running={running} />}
            {tab === 'config' && (
              <div style={{ padding: 12 }}>
                <pre className="json-block">{prettyJson(run.runConfig ?? {})}</pre>
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}
