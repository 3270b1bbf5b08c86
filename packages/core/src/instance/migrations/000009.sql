-- Partitions and backfills.
-- Where each partition of a partitioned asset stands, kept up to date as events are stored
-- (in the same transaction): MATERIALIZED, FAILED, IN_PROGRESS, or MISSING (no row, or a row
-- whose run was canceled before it materialized anything). One indexed read per asset.
CREATE TABLE asset_partitions (
  asset_key               text NOT NULL,
  partition_key           text NOT NULL,
  status                  text NOT NULL,
  run_id                  text,
  last_materialization_id bigint,
  materialized_at         timestamptz,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (asset_key, partition_key)
);
CREATE INDEX asset_partitions_in_progress_idx ON asset_partitions (run_id) WHERE status = 'IN_PROGRESS';

-- Keys of dynamic partitions definitions, added and deleted at run time, in the order added.
CREATE TABLE dynamic_partitions (
  id            bigserial,
  name          text NOT NULL,
  partition_key text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, partition_key)
);
CREATE INDEX dynamic_partitions_order_idx ON dynamic_partitions (name, id);

-- A backfill: the partitions to run and how far the daemon has got submitting their runs.
-- `submitted` (how many partitions have runs) moves in the same transaction as the runs it
-- submits, so a daemon restarted mid-way resumes there and no partition gets two runs.
CREATE TABLE backfills (
  backfill_id    text PRIMARY KEY,
  status         text NOT NULL,
  location       text,
  job_name       text,
  selection      text,
  partition_keys jsonb NOT NULL,
  single_run     boolean NOT NULL DEFAULT false,
  from_failure   boolean NOT NULL DEFAULT false,
  submitted      integer NOT NULL DEFAULT 0,
  run_config     jsonb NOT NULL DEFAULT '{}'::jsonb,
  tags           jsonb NOT NULL DEFAULT '{}'::jsonb,
  error          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  ended_at       timestamptz
);
CREATE INDEX backfills_created_idx ON backfills (created_at DESC, backfill_id DESC);
CREATE INDEX backfills_active_idx ON backfills (created_at) WHERE status IN ('REQUESTED', 'CANCELING');
