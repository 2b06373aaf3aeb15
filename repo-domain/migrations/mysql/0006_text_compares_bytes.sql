-- Text compares byte by byte with trailing spaces counting, as on PostgreSQL and SQLite.
-- 0001 and 0005 gave every table utf8mb4_bin, which MariaDB compares PAD SPACE: 'k0' = 'k0 ',
-- so a unique key refused "k0 " beside "k0" and a filter on '' matched ' '. utf8mb4_nopad_bin
-- compares the bytes as they are, as repo-core's create_schema now declares.
--
-- Converting a table changes its text columns' collation and rebuilds, in place, the indexes
-- holding text (MariaDB 10.11 copies no table for it and lets reads and writes go on). No
-- unique key can fail: NO PAD tells more values apart, never fewer. MariaDB refuses to change
-- a column a foreign key uses, so the one foreign key between text columns is dropped first
-- and added back after; adding it checks every stage against its pipeline (copying
-- pipeline_stages), so a stage whose pipeline_id matched its pipeline only up to trailing
-- spaces stops the migration instead of being left without one. Each statement can run again
-- if the migration stopped halfway.
ALTER TABLE pipeline_stages DROP FOREIGN KEY IF EXISTS pipeline_stages_pipeline_id_fkey;

ALTER TABLE datasets CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE enrichment_logs CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE api_errors CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE error_aggregations CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE generation_pipelines CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE pipeline_stages CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE repo_audit CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;

ALTER TABLE pipeline_stages
    ADD CONSTRAINT pipeline_stages_pipeline_id_fkey FOREIGN KEY IF NOT EXISTS (pipeline_id)
        REFERENCES generation_pipelines (id) ON DELETE CASCADE;
