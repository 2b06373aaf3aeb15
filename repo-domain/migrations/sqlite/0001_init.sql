-- The domain schema on SQLite. Enums are text checked against their labels; timestamps are
-- repo-core's fixed-width UTC text; embeddings are BLOBs of little-endian f32s. Unique keys
-- are named indexes following repo-core's schema module ({table}_{columns}_key). Declared
-- types are the ones repo-core's create_schema emits (`timestamp_with_timezone_text`,
-- `jsonb_text`, `uuid_text`): their TEXT affinity stores values exactly as bound.

CREATE TABLE datasets (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    source_name text NOT NULL,
    external_id text NOT NULL,
    title text NOT NULL,
    url text NULL,
    description text NULL,
    enrichment_status text NOT NULL DEFAULT 'minimal'
        CHECK (enrichment_status IN ('minimal', 'enriching', 'enriched', 'failed')),
    enrichment_attempts integer NOT NULL DEFAULT 0 CHECK (enrichment_attempts >= 0),
    last_error text NULL,
    embedding blob NULL,
    claimed_by text NULL,
    enriched_at timestamp_with_timezone_text NULL,
    created_at timestamp_with_timezone_text NOT NULL,
    updated_at timestamp_with_timezone_text NOT NULL
);
CREATE UNIQUE INDEX datasets_source_name_external_id_key ON datasets (source_name, external_id);
CREATE INDEX datasets_enrichment_status_idx ON datasets (enrichment_status);
CREATE INDEX datasets_pending_idx ON datasets (source_name, id)
    WHERE enrichment_status IN ('minimal', 'failed');

CREATE TABLE enrichment_logs (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    dataset_id integer NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    stage text NOT NULL
        CHECK (stage IN ('api_metadata', 'content_fetch', 'embedding', 'storage')),
    result text NOT NULL CHECK (result IN ('success', 'failed', 'skipped')),
    attempt_number integer NOT NULL CHECK (attempt_number >= 1),
    duration_ms integer NULL,
    worker_id text NULL,
    task_id text NULL,
    error_message text NULL,
    error_type text NULL,
    created_at timestamp_with_timezone_text NOT NULL
);
CREATE INDEX enrichment_logs_dataset_id_idx ON enrichment_logs (dataset_id);
CREATE INDEX enrichment_logs_created_at_idx ON enrichment_logs (created_at);

CREATE TABLE api_errors (
    id uuid_text NOT NULL PRIMARY KEY,
    endpoint text NOT NULL,
    method text NOT NULL,
    status_code integer NULL,
    error_message text NOT NULL,
    error_stack text NULL,
    severity text NOT NULL
        CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    category text NOT NULL
        CHECK (category IN ('validation', 'authentication', 'authorization', 'external_api',
                            'database', 'network', 'application', 'unknown')),
    user_id text NULL,
    request_id text NULL,
    metadata jsonb_text NOT NULL DEFAULT '{}',
    resolved boolean NOT NULL DEFAULT 0,
    resolved_by text NULL,
    resolved_at timestamp_with_timezone_text NULL,
    resolution text NULL,
    created_at timestamp_with_timezone_text NOT NULL
);
CREATE INDEX api_errors_endpoint_idx ON api_errors (endpoint);
CREATE INDEX api_errors_severity_idx ON api_errors (severity);
CREATE INDEX api_errors_category_idx ON api_errors (category);
CREATE INDEX api_errors_user_id_idx ON api_errors (user_id);
CREATE INDEX api_errors_resolved_created_at_idx ON api_errors (resolved, created_at);
CREATE INDEX api_errors_created_at_idx ON api_errors (created_at);

CREATE TABLE error_aggregations (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    hour timestamp_with_timezone_text NOT NULL,
    endpoint text NOT NULL,
    severity text NOT NULL
        CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    category text NOT NULL
        CHECK (category IN ('validation', 'authentication', 'authorization', 'external_api',
                            'database', 'network', 'application', 'unknown')),
    error_count integer NOT NULL DEFAULT 0,
    unique_users integer NOT NULL DEFAULT 0,
    created_at timestamp_with_timezone_text NOT NULL
);
CREATE UNIQUE INDEX error_aggregations_hour_endpoint_severity_category_key
    ON error_aggregations (hour, endpoint, severity, category);
CREATE INDEX error_aggregations_hour_idx ON error_aggregations (hour);

CREATE TABLE generation_pipelines (
    id text NOT NULL PRIMARY KEY,
    user_id text NOT NULL,
    asset_id text NULL,
    config jsonb_text NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'initializing'
        CHECK (status IN ('initializing', 'processing', 'completed', 'failed', 'cancelled')),
    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    current_stage text NULL,
    results jsonb_text NOT NULL DEFAULT '{}',
    error text NULL,
    meshy_task_id text NULL,
    rigging_task_id text NULL,
    started_at timestamp_with_timezone_text NULL,
    completed_at timestamp_with_timezone_text NULL,
    created_at timestamp_with_timezone_text NOT NULL,
    updated_at timestamp_with_timezone_text NOT NULL
);
CREATE INDEX generation_pipelines_user_id_idx ON generation_pipelines (user_id, created_at);
CREATE INDEX generation_pipelines_status_idx ON generation_pipelines (status);
CREATE INDEX generation_pipelines_meshy_task_id_idx ON generation_pipelines (meshy_task_id);

CREATE TABLE pipeline_stages (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    pipeline_id text NOT NULL REFERENCES generation_pipelines (id) ON DELETE CASCADE,
    stage_name text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    started_at timestamp_with_timezone_text NULL,
    completed_at timestamp_with_timezone_text NULL,
    duration_ms integer NULL,
    error text NULL,
    created_at timestamp_with_timezone_text NOT NULL,
    updated_at timestamp_with_timezone_text NOT NULL
);
CREATE UNIQUE INDEX pipeline_stages_pipeline_id_stage_name_key
    ON pipeline_stages (pipeline_id, stage_name);
