-- The domain schema on MariaDB (10.6 or later). Enums are text checked against their labels;
-- timestamps are DATETIME(6) holding UTC (repo-core sets the session time zone to UTC);
-- embeddings are BLOBs of little-endian f32s; UUIDs are BINARY(16). Text that is part of a key
-- or an index is VARCHAR(255) (InnoDB indexes text only up to a length), other text LONGTEXT,
-- as repo-core's create_schema writes them. Tables compare text byte by byte (utf8mb4_bin),
-- as PostgreSQL and SQLite do. Constraint names follow repo-core's schema module
-- ({table}_pkey, {table}_{columns}_key), so Error::Conflict names the same constraint on every
-- backend.

CREATE TABLE datasets (
    id bigint NOT NULL AUTO_INCREMENT,
    source_name varchar(255) NOT NULL,
    external_id varchar(255) NOT NULL,
    title longtext NOT NULL,
    url longtext NULL,
    description longtext NULL,
    enrichment_status varchar(255) NOT NULL DEFAULT 'minimal'
        CHECK (enrichment_status IN ('minimal', 'enriching', 'enriched', 'failed')),
    enrichment_attempts integer NOT NULL DEFAULT 0 CHECK (enrichment_attempts >= 0),
    last_error longtext NULL,
    embedding longblob NULL,
    claimed_by longtext NULL,
    enriched_at datetime(6) NULL,
    created_at datetime(6) NOT NULL,
    updated_at datetime(6) NOT NULL,
    CONSTRAINT datasets_pkey PRIMARY KEY (id),
    CONSTRAINT datasets_source_name_external_id_key UNIQUE (source_name, external_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX datasets_enrichment_status_idx ON datasets (enrichment_status);
-- The claim's scan: rows of one source by status, in id order (MariaDB has no partial index).
CREATE INDEX datasets_pending_idx ON datasets (source_name, enrichment_status, id);

CREATE TABLE enrichment_logs (
    id bigint NOT NULL AUTO_INCREMENT,
    dataset_id bigint NOT NULL,
    stage varchar(255) NOT NULL
        CHECK (stage IN ('api_metadata', 'content_fetch', 'embedding', 'storage')),
    result varchar(255) NOT NULL CHECK (result IN ('success', 'failed', 'skipped')),
    attempt_number integer NOT NULL CHECK (attempt_number >= 1),
    duration_ms bigint NULL,
    worker_id longtext NULL,
    task_id longtext NULL,
    error_message longtext NULL,
    error_type longtext NULL,
    created_at datetime(6) NOT NULL,
    CONSTRAINT enrichment_logs_pkey PRIMARY KEY (id),
    CONSTRAINT enrichment_logs_dataset_id_fkey FOREIGN KEY (dataset_id)
        REFERENCES datasets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX enrichment_logs_dataset_id_idx ON enrichment_logs (dataset_id);
CREATE INDEX enrichment_logs_created_at_idx ON enrichment_logs (created_at DESC);

CREATE TABLE api_errors (
    id binary(16) NOT NULL,
    endpoint varchar(255) NOT NULL,
    method longtext NOT NULL,
    status_code integer NULL,
    error_message longtext NOT NULL,
    error_stack longtext NULL,
    severity varchar(255) NOT NULL
        CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    category varchar(255) NOT NULL
        CHECK (category IN ('validation', 'authentication', 'authorization', 'external_api',
                            'database', 'network', 'application', 'unknown')),
    user_id varchar(255) NULL,
    request_id longtext NULL,
    metadata json NOT NULL DEFAULT '{}',
    resolved boolean NOT NULL DEFAULT false,
    resolved_by longtext NULL,
    resolved_at datetime(6) NULL,
    resolution longtext NULL,
    created_at datetime(6) NOT NULL,
    CONSTRAINT api_errors_pkey PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX api_errors_endpoint_idx ON api_errors (endpoint);
CREATE INDEX api_errors_severity_idx ON api_errors (severity);
CREATE INDEX api_errors_category_idx ON api_errors (category);
CREATE INDEX api_errors_user_id_idx ON api_errors (user_id);
CREATE INDEX api_errors_resolved_created_at_idx ON api_errors (resolved, created_at);
CREATE INDEX api_errors_created_at_idx ON api_errors (created_at DESC);

CREATE TABLE error_aggregations (
    id bigint NOT NULL AUTO_INCREMENT,
    hour datetime(6) NOT NULL,
    endpoint varchar(255) NOT NULL,
    severity varchar(255) NOT NULL
        CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    category varchar(255) NOT NULL
        CHECK (category IN ('validation', 'authentication', 'authorization', 'external_api',
                            'database', 'network', 'application', 'unknown')),
    error_count bigint NOT NULL DEFAULT 0,
    unique_users bigint NOT NULL DEFAULT 0,
    created_at datetime(6) NOT NULL,
    CONSTRAINT error_aggregations_pkey PRIMARY KEY (id),
    CONSTRAINT error_aggregations_hour_endpoint_severity_category_key
        UNIQUE (hour, endpoint, severity, category)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX error_aggregations_hour_idx ON error_aggregations (hour DESC);

CREATE TABLE generation_pipelines (
    id varchar(255) NOT NULL,
    user_id varchar(255) NOT NULL,
    asset_id longtext NULL,
    config json NOT NULL DEFAULT '{}',
    status varchar(255) NOT NULL DEFAULT 'initializing'
        CHECK (status IN ('initializing', 'processing', 'completed', 'failed', 'cancelled')),
    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    current_stage longtext NULL,
    results json NOT NULL DEFAULT '{}',
    error longtext NULL,
    meshy_task_id varchar(255) NULL,
    rigging_task_id longtext NULL,
    started_at datetime(6) NULL,
    completed_at datetime(6) NULL,
    created_at datetime(6) NOT NULL,
    updated_at datetime(6) NOT NULL,
    CONSTRAINT generation_pipelines_pkey PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX generation_pipelines_user_id_idx ON generation_pipelines (user_id, created_at DESC);
CREATE INDEX generation_pipelines_status_idx ON generation_pipelines (status);
CREATE INDEX generation_pipelines_meshy_task_id_idx ON generation_pipelines (meshy_task_id);

CREATE TABLE pipeline_stages (
    id bigint NOT NULL AUTO_INCREMENT,
    pipeline_id varchar(255) NOT NULL,
    stage_name varchar(255) NOT NULL,
    status varchar(255) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    started_at datetime(6) NULL,
    completed_at datetime(6) NULL,
    duration_ms bigint NULL,
    error longtext NULL,
    created_at datetime(6) NOT NULL,
    updated_at datetime(6) NOT NULL,
    CONSTRAINT pipeline_stages_pkey PRIMARY KEY (id),
    CONSTRAINT pipeline_stages_pipeline_id_stage_name_key UNIQUE (pipeline_id, stage_name),
    CONSTRAINT pipeline_stages_pipeline_id_fkey FOREIGN KEY (pipeline_id)
        REFERENCES generation_pipelines (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
