-- Pipelines are versioned (optimistic locking: every write adds 1) and soft-deleted
-- (deleted_at set instead of removing the row; reads leave such rows out).
ALTER TABLE generation_pipelines
    ADD COLUMN version bigint NOT NULL DEFAULT 0,
    ADD COLUMN deleted_at timestamptz NULL;
