-- Declarative automation: each evaluation of an asset's automation condition that changed
-- its outcome (or requested a run), with the explanation of which condition was true and why.
-- The cursor that keeps a run from being requested twice is the 'automation' instigator's.
CREATE TABLE automation_evaluations (
  id              bigserial PRIMARY KEY,
  location        text NOT NULL,
  asset_key       text NOT NULL,
  evaluated_at    timestamptz NOT NULL,
  condition_true  boolean NOT NULL,
  requested       boolean NOT NULL,
  run_id          text,
  explanation     json NOT NULL
);
CREATE INDEX automation_evaluations_asset_idx ON automation_evaluations (asset_key, id DESC);
-- Observations (ASSET_OBSERVATION) are read as the latest one per asset.
CREATE INDEX event_logs_observation_idx ON event_logs (asset_key, id DESC) WHERE event_type = 'ASSET_OBSERVATION';
