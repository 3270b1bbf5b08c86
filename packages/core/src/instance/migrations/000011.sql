-- Concurrency pools: a pool's limit caps how many steps naming it (`pool: 'bigcommerce'`) run
-- at once across every run and process of the instance. A pool without a row is unlimited.
CREATE TABLE concurrency_pools (
  name        text PRIMARY KEY,
  slot_limit  integer NOT NULL CHECK (slot_limit >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One row per slot in use: claimed by a step (or a multi-asset's call) of a run, deleted when
-- the step ends. A claim locks its pool's row first, so two claimants never both take the last
-- slot (see instance/pools.ts).
CREATE TABLE concurrency_slots (
  pool        text NOT NULL,
  run_id      text NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  slot_key    text NOT NULL,
  claimed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pool, run_id, slot_key)
);
CREATE INDEX concurrency_slots_run_idx ON concurrency_slots (run_id);

-- Whatever ends a run (its own process, a terminate, the reconciliation of a dead owner) frees
-- the run's slots in the same transaction as its final status, and wakes the steps waiting.
CREATE FUNCTION dag_free_run_slots() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  freed text;
BEGIN
  FOR freed IN DELETE FROM concurrency_slots WHERE run_id = NEW.run_id RETURNING pool LOOP
    PERFORM pg_notify('dag_pool_slots', freed);
  END LOOP;
  RETURN NULL;
END;
$$;
CREATE TRIGGER runs_free_slots AFTER UPDATE OF status ON runs
  FOR EACH ROW WHEN (NEW.status IN ('SUCCESS', 'FAILURE', 'CANCELED') AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION dag_free_run_slots();
