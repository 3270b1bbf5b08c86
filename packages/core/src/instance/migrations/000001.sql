-- Runs, their tags, the event log, the latest materialization per asset, check results,
-- and the tables the daemon needs (instigator state, ticks, heartbeats).
-- Persisted strings (statuses, event types) are never renamed once released.

CREATE TABLE runs (
  run_id        text PRIMARY KEY,
  job_name      text NOT NULL,
  location      text,
  status        text NOT NULL,
  asset_selection jsonb,
  run_config    jsonb NOT NULL DEFAULT '{}'::jsonb,
  tags          jsonb NOT NULL DEFAULT '{}'::jsonb,
  parent_run_id text,
  root_run_id   text,
  error         text,
  pid           integer,
  hostname      text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  ended_at      timestamptz
);
-- Run lists page by (created_at, run_id) newest first, optionally filtered by status or job.
CREATE INDEX runs_created_idx ON runs (created_at DESC, run_id DESC);
CREATE INDEX runs_status_created_idx ON runs (status, created_at DESC, run_id DESC);
CREATE INDEX runs_job_created_idx ON runs (job_name, created_at DESC, run_id DESC);

CREATE TABLE run_tags (
  run_id text NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  key    text NOT NULL,
  value  text NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX run_tags_kv_idx ON run_tags (key, value);

CREATE TABLE event_logs (
  id         bigserial PRIMARY KEY,
  run_id     text NOT NULL,
  event_type text NOT NULL,
  ts         timestamptz NOT NULL DEFAULT now(),
  step_key   text,
  asset_key  text,
  level      text NOT NULL DEFAULT 'info',
  message    text NOT NULL DEFAULT '',
  data       jsonb
);
CREATE INDEX event_logs_run_idx ON event_logs (run_id, id);
CREATE INDEX event_logs_asset_idx ON event_logs (asset_key, event_type, id) WHERE asset_key IS NOT NULL;
CREATE INDEX event_logs_ts_idx ON event_logs (ts);

CREATE TABLE asset_keys (
  asset_key                text PRIMARY KEY,
  last_materialization_id  bigint,
  last_run_id              text,
  last_materialized_at     timestamptz,
  last_metadata            jsonb,
  updated_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE asset_check_executions (
  id          bigserial PRIMARY KEY,
  asset_key   text NOT NULL,
  check_name  text NOT NULL,
  run_id      text NOT NULL,
  event_id    bigint,
  passed      boolean NOT NULL,
  severity    text NOT NULL,
  metadata    jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_check_executions_idx ON asset_check_executions (asset_key, check_name, id DESC);

CREATE TABLE instigators (
  name        text NOT NULL,
  type        text NOT NULL,
  status      text NOT NULL,
  cursor      text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (type, name)
);

CREATE TABLE ticks (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL,
  type        text NOT NULL,
  status      text NOT NULL,
  tick_time   timestamptz NOT NULL,
  run_ids     jsonb NOT NULL DEFAULT '[]'::jsonb,
  run_keys    jsonb NOT NULL DEFAULT '[]'::jsonb,
  cursor      text,
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticks_name_idx ON ticks (type, name, id DESC);

CREATE TABLE run_keys (
  instigator  text NOT NULL,
  run_key     text NOT NULL,
  run_id      text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (instigator, run_key)
);

CREATE TABLE daemon_heartbeats (
  daemon_type text PRIMARY KEY,
  daemon_id   text NOT NULL,
  heartbeat   timestamptz NOT NULL,
  info        jsonb
);
