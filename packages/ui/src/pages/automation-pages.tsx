import { useMemo, useState } from 'react';
import { apiPost, enc } from '../api/client.ts';
import { useApi } from '../api/use-api.ts';
import { Empty, ErrorBox, Loading, TimeAgo } from '../components/common.tsx';
import { matchesQuery, searchText } from '../lib/asset-status.ts';
import { formatDateTime } from '../lib/format.ts';
import { prettyJson } from '../lib/metadata.ts';
import { href } from '../router.ts';

type Item = Record<string, unknown>;

/** The list in a response: `{ schedules: [...] }`, `{ sensors: [...] }`, `{ items: [...] }` or a bare array. */
export function itemsOf(data: unknown, key: string): Item[] {
  if (Array.isArray(data)) return data.filter((x): x is Item => typeof x === 'object' && x !== null);
  if (data && typeof data === 'object') {
    const list = (data as Record<string, unknown>)[key] ?? (data as Record<string, unknown>).items;
    if (Array.isArray(list)) return list.filter((x): x is Item => typeof x === 'object' && x !== null);
  }
  return [];
}

/** The first of several possible fields that is present. */
export function pick(item: Item, ...names: string[]): unknown {
  for (const name of names) {
    const parts = name.split('.');
    let v: unknown = item;
    for (const p of parts) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : JSON.stringify(v);
}

function Time({ value }: { value: unknown }) {
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value)))
    return (
      <span title={formatDateTime(value)}>
        <TimeAgo iso={value} />
      </span>
    );
  if (typeof value === 'number') return <TimeAgo iso={new Date(value).toISOString()} />;
  return <span className="muted">-</span>;
}

function isRunning(item: Item): boolean {
  return str(pick(item, 'status', 'state.status', 'state', 'defaultStatus')).toUpperCase() === 'RUNNING';
}

function StatusCell({ item }: { item: Item }) {
  const status = str(pick(item, 'status', 'state.status', 'state', 'defaultStatus')).toUpperCase();
  if (!status) return <span className="muted">-</span>;
  return (
    <span className={`badge ${status === 'RUNNING' ? 'ok' : status === 'STOPPED' ? '' : 'warn'}`}>
      {status}
    </span>
  );
}

function LastTick({ item }: { item: Item }) {
  const tick = pick(item, 'lastTick', 'latestTick', 'ticks.0') as Item | undefined;
  const at = pick(
    item,
    'lastTick.tickTime',
    'lastTickAt',
    'lastTick.timestamp',
    'lastTick.ts',
    'lastTick.createdAt',
    'latestTick.timestamp',
  );
  const tickStatus = tick && typeof tick === 'object' ? str(pick(tick, 'status', 'result')) : '';
  const runIds = tick && typeof tick === 'object' ? (pick(tick, 'runIds', 'runs') as unknown) : undefined;
  const skip = tick && typeof tick === 'object' ? str(pick(tick, 'skipReason', 'error')) : '';
  return (
    <span className="stack" style={{ gap: 2 }}>
      <Time value={at} />
      {tickStatus && <span className="small">{tickStatus}</span>}
      {Array.isArray(runIds) &&
        runIds.slice(0, 3).map((id) => (
          <a key={String(id)} className="mono small" href={href('runs', String(id))}>
            {String(id).slice(0, 8)}
          </a>
        ))}
      {skip && <span className="small muted">{skip}</span>}
    </span>
  );
}

function AutomationPage({ kind }: { kind: 'schedules' | 'sensors' }) {
  const { data, error, loading, reload } = useApi<unknown>(`/api/${kind}`, 10_000);
  const [query, setQuery] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const toggle = async (name: string, running: boolean) => {
    setBusy(name);
    setActionError(null);
    try {
      await apiPost(`/api/${kind}/${enc(name)}/${running ? 'stop' : 'start'}`);
      reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(null);
    }
  };
  const [open, setOpen] = useState<string | null>(null);
  const items = useMemo(() => itemsOf(data, kind), [data, kind]);
  const shown = items.filter((i) =>
    matchesQuery(
      searchText(str(i.name), str(pick(i, 'jobName', 'job')), str(i.location), str(i.description)),
      query,
    ),
  );
  const title = kind === 'schedules' ? 'Schedules' : 'Sensors';
  return (
    <div className="page">
      <div className="page-header">
        <h1>{title}</h1>
        <span className="muted">{items.length}</span>
        <span className="spacer" />
        <input
          type="search"
          placeholder={`Search ${kind}`}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      <ErrorBox error={error} />
      <ErrorBox error={actionError} title="Could not change the status" />
      {loading && !data && <Loading what={kind} />}
      {data !== undefined && items.length === 0 && (
        <Empty>
          No {kind} are defined. They are definitions in a code location: see docs/definitions.md.
        </Empty>
      )}
      {shown.length > 0 && (
        <div className="panel flush">
          <div className="table-wrap">
            <table className="data responsive">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Job</th>
                  {kind === 'schedules' ? <th>Cron</th> : <th>Interval</th>}
                  <th>Status</th>
                  <th>Next tick</th>
                  <th>Last tick</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {shown.map((item) => {
                  const name = str(item.name);
                  const id = `${str(item.location)}/${name}`;
                  const job = str(pick(item, 'jobName', 'job'));
                  return [
                    <tr key={id}>
                      <td data-label="Name">
                        <div className="stack" style={{ gap: 2 }}>
                          <strong className="mono">{name}</strong>
                          {item.description ? <span className="desc">{str(item.description)}</span> : null}
                          {item.location ? <span className="muted small">{str(item.location)}</span> : null}
                        </div>
                      </td>
                      <td data-label="Job">
                        {job ? (
                          <a className="mono" href={href('runs', { job })}>
                            {job}
                          </a>
                        ) : (
                          '-'
                        )}
                      </td>
                      <td data-label={kind === 'schedules' ? 'Cron' : 'Interval'}>
                        {kind === 'schedules' ? (
                          <span className="stack" style={{ gap: 2 }}>
                            <code>{str(item.cron)}</code>
                            <span className="muted small">
                              {str(pick(item, 'timezone', 'timeZone')) || 'UTC'}
                            </span>
                          </span>
                        ) : (
                          <span className="stack" style={{ gap: 2 }}>
                            <span>
                              every {str(pick(item, 'minimumIntervalSeconds', 'intervalSeconds')) || '30'} s
                            </span>
                            {item.type && item.type !== 'standard' ? (
                              <span className="muted small">
                                {str(item.type)}
                                {item.runStatus ? `: ${str(item.runStatus)}` : ''}
                                {item.assetKey ? `: ${str(item.assetKey)}` : ''}
                              </span>
                            ) : null}
                          </span>
                        )}
                      </td>
                      <td data-label="Status">
                        <span className="row" style={{ gap: 6 }}>
                          <StatusCell item={item} />
                          <button
                            type="button"
                            className="small"
                            disabled={busy === name}
                            onClick={() => void toggle(name, isRunning(item))}
                          >
                            {isRunning(item) ? 'Stop' : 'Start'}
                          </button>
                        </span>
                      </td>
                      <td data-label="Next tick">
                        <Time value={pick(item, 'nextTick', 'nextTickAt', 'nextTick.timestamp')} />
                      </td>
                      <td data-label="Last tick">
                        <LastTick item={item} />
                      </td>
                      <td>
                        <button
                          type="button"
                          className="link small"
                          onClick={() => setOpen(open === id ? null : id)}
                        >
                          {open === id ? 'hide' : 'details'}
                        </button>
                      </td>
                    </tr>,
                    open === id ? (
                      <tr key={`${id}-details`}>
                        <td colSpan={7}>
                          <pre className="json-block">{prettyJson(item)}</pre>
                        </td>
                      </tr>
                    ) : null,
                  ];
                })}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </div>
  );
}

export function SchedulesPage() {
  return <AutomationPage kind="schedules" />;
}

export function SensorsPage() {
  return <AutomationPage kind="sensors" />;
}
