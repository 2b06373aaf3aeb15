-- Pipelines are versioned (optimistic locking: every write adds 1) and soft-deleted
-- (deleted_at set instead of removing the row; reads leave such rows out).
ALTER TABLE generation_pipelines ADD COLUMN version integer NOT NULL DEFAULT 0;
ALTER TABLE generation_pipelines ADD COLUMN deleted_at timestamp_with_timezone_text NULL;
