-- Workers (`dag worker`): processes on any machine that take queued runs from the instance's
-- job queue (pg-boss, in its own schema of this database). Each renews its heartbeat; a run
-- whose worker stopped heartbeating is finished as FAILURE by the reconciliation of dead owners.
CREATE TABLE dag_workers (
  worker_id       text PRIMARY KEY,
  hostname        text NOT NULL,
  pid             integer NOT NULL,
  concurrency     integer NOT NULL,
  started_at      timestamptz NOT NULL DEFAULT now(),
  last_heartbeat  timestamptz NOT NULL DEFAULT now(),
  -- 'running', or 'draining' once it stopped taking runs (SIGTERM).
  state           text NOT NULL DEFAULT 'running',
  current_runs    jsonb NOT NULL DEFAULT '[]'
);
-- The worker that took a run (null for a run executed by the CLI, `dag dev` or the daemon).
ALTER TABLE runs ADD COLUMN worker_id text;
CREATE INDEX runs_worker_idx ON runs (worker_id) WHERE worker_id IS NOT NULL;
