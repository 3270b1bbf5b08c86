import type { ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import type { NodeStatus, RunStatus } from '../api/types.ts';
import { formatDateTime, formatRelative } from '../lib/format.ts';

export function RunStatusBadge({ status }: { status: RunStatus | string | null | undefined }) {
  if (!status) return <span className="muted">-</span>;
  return <span className={`badge ${status}`}>{status}</span>;
}

const NODE_STATUS_LABEL: Record<NodeStatus, string> = {
  materialized: 'Materialized',
  never: 'Never materialized',
  failed: 'Failed',
  running: 'Running',
  stale: 'Stale',
};

export function AssetStatusBadge({ status }: { status: NodeStatus }) {
  return <span className={`badge ${status}`}>{NODE_STATUS_LABEL[status]}</span>;
}

export function TimeAgo({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">-</span>;
  return <time title={formatDateTime(iso)}>{formatRelative(iso)}</time>;
}

/** An API error: message in a monospace block, keeping caret lines (selection errors) aligned. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof ApiError ? error.errorName : error instanceof Error ? error.name : 'Error';
  const heading = title ?? (error instanceof ApiError && error.status === 401 ? 'Not authorized' : name);
  return (
    <div className="error-box" role="alert">
      <strong>{heading}</strong>
      <pre>{message}</pre>
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return <div className="empty">Loading{what ? ` ${what}` : ''}…</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Tags({ tags }: { tags: Record<string, string> | null | undefined }) {
  const entries = Object.entries(tags ?? {});
  if (entries.length === 0) return <span className="muted">-</span>;
  return (
    <span className="row" style={{ gap: 4 }}>
      {entries.map(([k, v]) => (
        <span className="tag" key={k}>
          {v === '' ? k : `${k}=${v}`}
        </span>
      ))}
    </span>
  );
}

export function Kinds({ kinds }: { kinds: string[] | null | undefined }) {
  if (!kinds || kinds.length === 0) return <span className="muted">-</span>;
  return (
    <span className="row" style={{ gap: 4 }}>
      {kinds.map((k) => (
        <span className="tag" key={k}>
          {k}
        </span>
      ))}
    </span>
  );
}
