import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { apiDelete, apiPost, enc } from '../api/client.ts';
import { loadPartitionStatus, partitionStatusPath } from '../api/partitions.ts';
import type { DynamicPartitionsResponse, PartitionStatus, PartitionsIndexResponse } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { Empty, ErrorBox, Loading } from '../components/common.tsx';
import { PartitionRangeInputs, PartitionStrip, usePartitionLaunch } from '../components/partitions-panel.tsx';
import { formatNumber } from '../lib/format.ts';
import {
  PARTITION_COLORS,
  PARTITION_STATUSES,
  parseKeyList,
  partitionMatrix,
  partitionStatusLabel,
  partitionsArgument,
  shownPartitions,
  visibleRows,
} from '../lib/partitions.ts';
import { href, navigate } from '../router.ts';

/** `#/partitions`: every partitioned asset, or `#/partitions/<asset>`: one asset's partitions. */
export function PartitionsPage({
  assetKey,
  location,
  status,
}: {
  assetKey: string | undefined;
  location: string | null;
  status: string | null;
}) {
  return assetKey ? (
    <AssetPartitionsPage assetKey={assetKey} location={location} status={status} />
  ) : (
    <PartitionsIndex />
  );
}

/** Counts by status as a stacked bar, its parts in the order of PARTITION_STATUSES. */
function CountsBar({ counts, total }: { counts: Record<PartitionStatus, number>; total: number }) {
  return (
    <div
      className="partition-counts"
      style={{ display: 'flex', height: 10, borderRadius: 3, overflow: 'hidden', background: '#eef0f3' }}
    >
      {total > 0 &&
        PARTITION_STATUSES.map((s) =>
          counts[s] > 0 ? (
            <span
              key={s}
              title={`${formatNumber(counts[s])} ${partitionStatusLabel(s)}`}
              style={{ flexGrow: counts[s], flexBasis: 0, background: PARTITION_COLORS[s] }}
            />
          ) : null,
        )}
    </div>
  );
}

function PartitionsIndex() {
  const { data, error, loading } = useApi<PartitionsIndexResponse>('/api/partitions', 10_000);
  return (
    <div className="page">
      <div className="page-header">
        <h1>Partitions</h1>
      </div>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="partitioned assets" />}
      {data && data.assets.length === 0 && (
        <Empty>No asset is partitioned: give an asset `partitions` (docs/partitions.md).</Empty>
      )}
      {data && data.assets.length > 0 && (
        <div className="panel flush table-wrap">
          <table className="data" data-testid="partitioned-assets">
            <thead>
              <tr>
                <th>Asset</th>
                <th>Partitions</th>
                <th>Range</th>
                <th style={{ minWidth: 200 }}>Status</th>
              </tr>
            </thead>
            <tbody>
              {data.assets.map((a) => (
                <tr key={`${a.location}/${a.assetKey}`} data-asset={a.assetKey}>
                  <td className="mono">
                    <a href={href('partitions', a.assetKey, { location: a.location })}>{a.assetKey}</a>
                  </td>
                  <td className="small">{a.partitions.description}</td>
                  <td className="mono small">
                    {a.total === 0 ? 'none yet' : `${a.firstKey}...${a.lastKey}`} ({formatNumber(a.total)})
                  </td>
                  <td>
                    <div className="stack" style={{ gap: 2 }}>
                      <CountsBar counts={a.counts} total={a.total} />
                      <span className="small muted" data-counts>
                        {PARTITION_STATUSES.map(
                          (s) => `${formatNumber(a.counts[s])} ${partitionStatusLabel(s)}`,
                        ).join(' · ')}
                      </span>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.dynamic.length > 0 && (
        <>
          <h2>Dynamic partitions</h2>
          <p className="small muted">
            Keys added and removed at run time; edit them on the page of an asset that uses them.
          </p>
          <div className="panel flush table-wrap">
            <table className="data" data-testid="dynamic-partitions">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Keys</th>
                  <th>Used by</th>
                </tr>
              </thead>
              <tbody>
                {data.dynamic.map((d) => (
                  <tr key={d.name} data-dynamic={d.name}>
                    <td className="mono">{d.name}</td>
                    <td>{formatNumber(d.keyCount)}</td>
                    <td className="mono small">
                      {d.assets.map((k, i) => (
                        <span key={k}>
                          {i > 0 && ', '}
                          <a href={href('partitions', k)}>{k}</a>
                        </span>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

const ROW_HEIGHT = 28;
const GAP = 3;

/**
 * The partitions shown, as a grid of cells drawn only where the viewport is: ten thousand
 * partitions cost as much as the hundred or so on screen. The rows drawn are one CSS grid
 * placed at the first of them, so a cell carries no position of its own.
 */
function PartitionGrid({
  keys,
  statuses,
  shown,
  selected,
  scrollTo,
  onCell,
}: {
  keys: readonly string[];
  statuses: readonly PartitionStatus[];
  shown: readonly number[];
  selected: (index: number) => boolean;
  /** A position in `shown` to bring into view (changes when a strip box is clicked). */
  scrollTo: { at: number } | null;
  onCell: (index: number, extend: boolean) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  // Unknown until measured, before the first paint: no cell is drawn in a column it then leaves.
  const [width, setWidth] = useState<number | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    setWidth(el.clientWidth);
    return () => observer.disconnect();
  }, []);
  // Wide enough for the longest key (keys of one definition have one shape: sample a few).
  const cellWidth = useMemo(() => {
    const sample = [...keys.slice(0, 20), ...keys.slice(-20)];
    const longest = sample.reduce((n, k) => Math.max(n, k.length), 4);
    return Math.min(240, Math.max(56, Math.ceil(longest * 7.2) + 16));
  }, [keys]);
  const columns = Math.max(1, Math.floor(((width ?? 800) - 8 + GAP) / (cellWidth + GAP)));
  const height = Math.min(480, Math.max(ROW_HEIGHT + 8, Math.ceil(shown.length / columns) * ROW_HEIGHT + 8));
  const { first, last, rows } = visibleRows({
    count: shown.length,
    columns,
    rowHeight: ROW_HEIGHT,
    scrollTop,
    height,
  });
  useEffect(() => {
    const el = box.current;
    if (!el || !scrollTo) return;
    el.scrollTop = Math.floor(scrollTo.at / columns) * ROW_HEIGHT;
  }, [scrollTo, columns]);
  const cells = [];
  const end = width === null ? 0 : Math.min(shown.length, (last + 1) * columns);
  for (let at = first * columns; at < end; at++) {
    const i = shown[at]!;
    const status = statuses[i]!;
    const isSelected = selected(i);
    cells.push(
      <button
        type="button"
        key={i}
        className={`partition-cell${isSelected ? ' selected' : ''}`}
        data-key={keys[i]}
        data-status={status}
        aria-pressed={isSelected}
        title={`${keys[i]}: ${partitionStatusLabel(status)}`}
        onClick={(e) => onCell(i, e.shiftKey)}
        style={{ borderLeftColor: PARTITION_COLORS[status] }}
      >
        {keys[i]}
      </button>,
    );
  }
  return (
    <div
      ref={box}
      className="partition-grid"
      data-testid="partition-grid"
      data-shown={shown.length}
      style={{ height }}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      <div style={{ height: rows * ROW_HEIGHT + 8, position: 'relative' }}>
        <div
          className="partition-cells"
          style={{
            top: first * ROW_HEIGHT + 4,
            gridTemplateColumns: `repeat(${columns}, ${cellWidth}px)`,
            columnGap: GAP,
            gridAutoRows: ROW_HEIGHT,
          }}
        >
          {cells}
        </div>
      </div>
    </div>
  );
}

const MATRIX_ROW = 24;

/**
 * Multi-partitions as a matrix: a row per value of the dimension with the most values (the
 * dates), a column per value of the others; rows drawn only where the viewport is.
 */
function PartitionMatrixView({
  keys,
  statuses,
  shown,
  dimensions,
  selected,
  onCell,
}: {
  keys: readonly string[];
  statuses: readonly PartitionStatus[];
  shown: readonly number[];
  dimensions: readonly string[];
  selected: (index: number) => boolean;
  onCell: (index: number, extend: boolean) => void;
}) {
  const matrix = useMemo(() => partitionMatrix(keys, shown), [keys, shown]);
  const [scrollTop, setScrollTop] = useState(0);
  const label = (values: readonly string[]) =>
    Math.min(200, Math.max(40, Math.ceil(values.reduce((n, v) => Math.max(n, v.length), 2) * 7.2) + 14));
  const rowLabelWidth = label(matrix.rows);
  const cellWidth = label(matrix.columns);
  const height = Math.min(480, (matrix.rows.length + 1) * MATRIX_ROW + 8);
  const { first, last } = visibleRows({
    count: matrix.rows.length,
    columns: 1,
    rowHeight: MATRIX_ROW,
    scrollTop,
    height,
  });
  const rowDimension = dimensions[matrix.rowPart] ?? '';
  const columnDimensions = dimensions.filter((_, i) => i !== matrix.rowPart).join(' | ');
  const n = matrix.columns.length;
  const rows = [];
  for (let r = first; r <= last; r++) {
    const cells = [];
    for (let c = 0; c < n; c++) {
      const i = matrix.cells[r * n + c]!;
      if (i < 0) {
        cells.push(<span key={c} className="matrix-gap" style={{ width: cellWidth }} />);
        continue;
      }
      const isSelected = selected(i);
      cells.push(
        <button
          type="button"
          key={c}
          className={`matrix-cell${isSelected ? ' selected' : ''}`}
          data-key={keys[i]}
          data-status={statuses[i]}
          aria-pressed={isSelected}
          aria-label={`${keys[i]}: ${partitionStatusLabel(statuses[i]!)}`}
          title={`${keys[i]}: ${partitionStatusLabel(statuses[i]!)}`}
          onClick={(e) => onCell(i, e.shiftKey)}
          style={{ width: cellWidth, background: PARTITION_COLORS[statuses[i]!] }}
        />,
      );
    }
    rows.push(
      <div key={r} className="matrix-row" style={{ top: (r + 1) * MATRIX_ROW }} data-row={matrix.rows[r]}>
        <span className="matrix-label mono" style={{ width: rowLabelWidth }}>
          {matrix.rows[r]}
        </span>
        {cells}
      </div>,
    );
  }
  return (
    <div
      className="partition-grid partition-matrix"
      data-testid="partition-grid"
      data-shown={shown.length}
      style={{ height }}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      <div style={{ height: (matrix.rows.length + 1) * MATRIX_ROW + 8, position: 'relative' }}>
        <div className="matrix-row matrix-head" style={{ top: 0 }}>
          <span
            className="matrix-label small muted"
            style={{ width: rowLabelWidth }}
            title={`rows: ${rowDimension}; columns: ${columnDimensions}`}
          >
            {rowDimension}
          </span>
          {matrix.columns.map((c) => (
            <span
              key={c}
              className="matrix-label mono small"
              style={{ width: cellWidth }}
              title={`${columnDimensions}: ${c}`}
            >
              {c}
            </span>
          ))}
        </div>
        {rows}
      </div>
    </div>
  );
}

function parseFilter(status: string | null): Set<PartitionStatus> {
  const wanted = (status ?? '').split(',');
  return new Set(PARTITION_STATUSES.filter((s) => wanted.includes(s)));
}

function AssetPartitionsPage({
  assetKey,
  location,
  status,
}: {
  assetKey: string;
  location: string | null;
  status: string | null;
}) {
  const { data, error, loading, reload } = useApi(
    partitionStatusPath(assetKey, location),
    5_000,
    loadPartitionStatus,
  );
  const keys = data?.keys ?? [];
  const statuses = data?.statuses ?? [];
  // The filter is in the URL (`?status=FAILED,MISSING`), so a filtered view can be shared.
  const filter = useMemo(() => parseFilter(status), [status]);
  const setFilter = (next: Set<PartitionStatus>) =>
    navigate(
      href('partitions', assetKey, {
        location,
        status: PARTITION_STATUSES.filter((s) => next.has(s)).join(','),
      }),
      true,
    );
  const shown = useMemo(() => shownPartitions(statuses, filter), [statuses, filter]);
  // Key -> index, built on the first lookup (none until a partition is selected).
  const indexOf = useMemo(() => {
    let map: Map<string, number> | undefined;
    return (key: string) => {
      map ??= new Map(keys.map((k, i) => [k, i]));
      return map.get(key);
    };
  }, [keys]);
  // The selection: the shown partitions from one key to another (kept by key across reloads).
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [scrollTo, setScrollTo] = useState<{ at: number } | null>(null);
  const [singleRun, setSingleRun] = useState(false);
  const a = from ? indexOf(from) : undefined;
  const b = to ? indexOf(to) : a;
  const badKey = (from && a === undefined ? from : '') || (to && indexOf(to) === undefined ? to : '');
  const lo = a === undefined || b === undefined ? -1 : Math.min(a, b);
  const hi = a === undefined || b === undefined ? -2 : Math.max(a, b);
  const selected = useMemo(() => shown.filter((i) => i >= lo && i <= hi), [shown, lo, hi]);
  const argument = partitionsArgument(keys, selected);
  const isRange =
    selected.length > 0 && selected[selected.length - 1]! - selected[0]! + 1 === selected.length;
  const launch = usePartitionLaunch(assetKey, location);
  // Multi-partitions are shown as a matrix (date × region...) or, like the others, as a list.
  const isMulti = data?.partitions.type === 'multi';
  const [view, setView] = useState<'matrix' | 'list'>('matrix');

  const selectRange = (first: number, last: number) => {
    setFrom(keys[first]!);
    setTo(keys[last]!);
    const at = shown.findIndex((i) => i >= first);
    if (at >= 0) setScrollTo({ at });
  };
  const onCell = (i: number, extend: boolean) => {
    if (extend && from) setTo(keys[i]!);
    else {
      setFrom(keys[i]!);
      setTo(keys[i]!);
    }
  };

  return (
    <div className="page">
      <div className="page-header">
        <h1>
          Partitions of <span className="mono">{assetKey}</span>
        </h1>
        <a href={href('assets', assetKey, { location })}>asset page</a>
        <a href={href('partitions')}>all partitioned assets</a>
      </div>
      <ErrorBox error={error} />
      {loading && !data && <Loading what="partitions" />}
      {data && (
        <div className="stack" style={{ gap: 14 }}>
          <div className="panel" data-testid="partition-status">
            <p className="small muted" style={{ marginTop: 0 }}>
              {data.partitions.description}: {formatNumber(keys.length)} partitions
            </p>
            <fieldset className="filters" aria-label="Show partitions by status">
              <button
                type="button"
                data-filter="ALL"
                aria-pressed={filter.size === 0}
                className={filter.size === 0 ? 'primary' : undefined}
                onClick={() => setFilter(new Set())}
              >
                all {formatNumber(keys.length)}
              </button>
              {PARTITION_STATUSES.map((s) => (
                <button
                  type="button"
                  key={s}
                  data-filter={s}
                  aria-pressed={filter.has(s)}
                  className={filter.has(s) ? 'primary' : undefined}
                  onClick={() => {
                    const next = new Set(filter);
                    if (next.has(s)) next.delete(s);
                    else next.add(s);
                    setFilter(next);
                  }}
                >
                  <span className="partition-swatch" style={{ background: PARTITION_COLORS[s] }} />
                  {formatNumber(data.counts[s])} {partitionStatusLabel(s)}
                </button>
              ))}
            </fieldset>
            <div style={{ marginTop: 10 }}>
              <PartitionStrip assetKey={assetKey} keys={keys} statuses={statuses} onSelect={selectRange} />
            </div>
          </div>

          <div className="panel" data-testid="partition-selection">
            <div className="row">
              <PartitionRangeInputs
                from={from}
                to={to}
                onFrom={setFrom}
                onTo={setTo}
                placeholders={[keys[0] ?? '', keys[keys.length - 1] ?? '']}
              />
              <button
                type="button"
                disabled={shown.length === 0}
                onClick={() => {
                  setFrom(keys[shown[0]!]!);
                  setTo(keys[shown[shown.length - 1]!]!);
                }}
              >
                Select all shown
              </button>
              <button
                type="button"
                className="link"
                onClick={() => {
                  setFrom('');
                  setTo('');
                }}
              >
                clear
              </button>
            </div>
            <p className="small" data-selected={selected.length} style={{ marginBottom: 0 }}>
              {badKey ? (
                <span className="error-text">
                  '{badKey}' is not a partition of {assetKey}
                  {keys.length > 0 ? ` (${keys[0]}...${keys[keys.length - 1]})` : ''}.
                </span>
              ) : selected.length === 0 ? (
                <span className="muted">
                  Click a partition to select it, shift-click another to select the range (only the partitions
                  shown by the filter are selected).
                </span>
              ) : (
                <>
                  {formatNumber(selected.length)} partition{selected.length === 1 ? '' : 's'} selected:{' '}
                  <span className="mono">
                    {selected.length === 1
                      ? keys[selected[0]!]
                      : `${keys[selected[0]!]} ... ${keys[selected[selected.length - 1]!]}`}
                  </span>
                </>
              )}
            </p>
            <div className="row" style={{ marginTop: 8 }}>
              <button
                type="button"
                disabled={launch.busy || selected.length !== 1}
                onClick={() => void launch.materialize(keys[selected[0]!]!)}
              >
                Materialize {selected.length === 1 ? keys[selected[0]!] : 'one partition'}
              </button>
              <button
                type="button"
                className="primary"
                data-action="backfill"
                disabled={launch.busy || selected.length === 0}
                onClick={() => void launch.backfill(argument, { singleRun: singleRun && isRange })}
              >
                Backfill {formatNumber(selected.length)} partition{selected.length === 1 ? '' : 's'}
              </button>
              <label className="small" title="One run over the whole range, for engines that work on ranges">
                <input
                  type="checkbox"
                  checked={singleRun && isRange}
                  disabled={!isRange}
                  onChange={(e) => setSingleRun(e.target.checked)}
                />{' '}
                as one run over the range
              </label>
            </div>
            <ErrorBox error={launch.error} title="Could not launch" />
          </div>

          {isMulti && (
            <fieldset className="filters" aria-label="Partitions shown as">
              <button
                type="button"
                aria-pressed={view === 'matrix'}
                className={view === 'matrix' ? 'primary' : undefined}
                onClick={() => setView('matrix')}
              >
                matrix
              </button>
              <button
                type="button"
                aria-pressed={view === 'list'}
                className={view === 'list' ? 'primary' : undefined}
                onClick={() => setView('list')}
              >
                list
              </button>
            </fieldset>
          )}
          <div className="panel flush">
            {shown.length === 0 ? (
              <Empty>
                {keys.length === 0
                  ? 'No partitions yet.'
                  : `No partition is ${[...filter].map(partitionStatusLabel).join(' or ')}.`}
              </Empty>
            ) : isMulti && view === 'matrix' ? (
              <PartitionMatrixView
                keys={keys}
                statuses={statuses}
                shown={shown}
                dimensions={data.partitions.dimensions ?? []}
                selected={(i) => i >= lo && i <= hi}
                onCell={onCell}
              />
            ) : (
              <PartitionGrid
                keys={keys}
                statuses={statuses}
                shown={shown}
                selected={(i) => i >= lo && i <= hi}
                scrollTo={scrollTo}
                onCell={onCell}
              />
            )}
          </div>

          {(data.partitions.dynamic ?? []).map((name) => (
            <DynamicPartitionsEditor key={name} name={name} onChanged={reload} />
          ))}
        </div>
      )}
    </div>
  );
}

/** Adds and removes the keys of dynamic partitions (removing asks first). */
function DynamicPartitionsEditor({ name, onChanged }: { name: string; onChanged: () => void }) {
  const { data, error, reload } = useApi<DynamicPartitionsResponse>(`/api/partitions/${enc(name)}`);
  const [text, setText] = useState('');
  const [search, setSearch] = useState('');
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const keys = data?.keys ?? [];
  const matching = search ? keys.filter((k) => k.includes(search)) : keys;
  const LIMIT = 200;

  const act = async (fn: () => Promise<string>) => {
    setBusy(true);
    setActionError(null);
    setNotice('');
    try {
      setNotice(await fn());
      reload();
      onChanged();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };
  const add = () =>
    act(async () => {
      const wanted = parseKeyList(text);
      if (wanted.length === 0) {
        throw new Error('Type one or more partition keys to add, separated by commas, spaces or new lines.');
      }
      const res = await apiPost<{ added: string[] }>(`/api/partitions/${enc(name)}`, { keys: wanted });
      setText('');
      const already = wanted.length - res.added.length;
      return `Added ${res.added.length} key${res.added.length === 1 ? '' : 's'} to '${name}'${already > 0 ? ` (${already} already there)` : ''}.`;
    });
  const remove = (key: string) =>
    act(async () => {
      await apiDelete(`/api/partitions/${enc(name)}/${enc(key)}`);
      setConfirming(null);
      return `Removed '${key}' from '${name}'.`;
    });

  return (
    <div className="panel" data-testid="dynamic-editor" data-dynamic={name}>
      <h2>
        Dynamic partitions <span className="mono">{name}</span>{' '}
        <span className="small muted">{formatNumber(keys.length)} keys</span>
      </h2>
      <ErrorBox error={error} />
      <div className="row">
        <input
          type="text"
          className="mono"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') void add();
          }}
          placeholder="new keys: acme, globex"
          aria-label={`keys to add to ${name}`}
          style={{ minWidth: 260 }}
        />
        <button type="button" className="primary" disabled={busy} onClick={() => void add()}>
          Add
        </button>
        {keys.length > 10 && (
          <input
            type="text"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="find a key"
            aria-label={`find a key of ${name}`}
          />
        )}
      </div>
      {notice && (
        <p className="small" role="status" data-notice>
          {notice}
        </p>
      )}
      <ErrorBox error={actionError} title={`Could not change '${name}'`} />
      {data && keys.length === 0 && <p className="small muted">No keys yet: add the first ones above.</p>}
      {matching.length > 0 && (
        <ul className="dynamic-keys">
          {matching.slice(0, LIMIT).map((k) => (
            <li key={k} data-key={k}>
              <span className="mono">{k}</span>
              {confirming === k ? (
                <span className="row" data-confirm={k}>
                  <span className="small">
                    Remove '{k}'? It is no longer a partition: its runs and stored values stay.
                  </span>
                  <button type="button" className="danger" disabled={busy} onClick={() => void remove(k)}>
                    Remove
                  </button>
                  <button type="button" onClick={() => setConfirming(null)}>
                    Keep
                  </button>
                </span>
              ) : (
                <button type="button" className="link small" onClick={() => setConfirming(k)}>
                  remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {matching.length > LIMIT && (
        <p className="small muted">
          {formatNumber(matching.length - LIMIT)} more: type part of a key above to find it.
        </p>
      )}
    </div>
  );
}
