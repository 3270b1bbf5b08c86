-- What a run was asked to do, so that a run stored by one process (the server, a schedule)
-- can be executed by another (a run process, a worker) and re-executed later:
-- the selection as typed, and the step keys of a partial (re-)execution.
ALTER TABLE runs ADD COLUMN selection text;
ALTER TABLE runs ADD COLUMN step_keys jsonb;
