-- Run ownership, so that a run whose owner died is found and finished instead of staying
-- in progress forever: the owner's heartbeat (the owner's host and pid are the existing
-- hostname and pid columns), the attempt that owns the run (writes of a stale attempt are
-- rejected), and why a queued run is still waiting.
ALTER TABLE runs ADD COLUMN heartbeat_at timestamptz;
ALTER TABLE runs ADD COLUMN attempt_id text;
ALTER TABLE runs ADD COLUMN queue_reason text;
