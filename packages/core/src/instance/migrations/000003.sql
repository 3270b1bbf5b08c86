-- The daemon: which runs a tick requested (run keys dedupe forever), where each asset stands
-- against its freshness policy, and the queue's order.
ALTER TABLE ticks ADD COLUMN skip_reason text;
ALTER TABLE ticks ADD COLUMN daemon_id text;
CREATE INDEX runs_queued_idx ON runs (created_at, run_id) WHERE status = 'QUEUED';
CREATE INDEX runs_in_progress_idx ON runs (status) WHERE status IN ('STARTING', 'STARTED', 'CANCELING');
CREATE INDEX runs_ended_idx ON runs (ended_at, run_id) WHERE ended_at IS NOT NULL;

CREATE TABLE asset_freshness (
  asset_key    text PRIMARY KEY,
  stale        boolean NOT NULL,
  lag_minutes  double precision,
  stale_since  timestamptz,
  checked_at   timestamptz NOT NULL
);
