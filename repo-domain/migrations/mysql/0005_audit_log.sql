-- The audit log (repo_core::audit): one row per changed row of an audited entity, written in
-- the same transaction as the change. The same DDL as repo_core::audit::create_statements.
CREATE TABLE IF NOT EXISTS repo_audit (
    id bigint NOT NULL PRIMARY KEY AUTO_INCREMENT,
    entity varchar(255) NOT NULL,
    entity_key varchar(255) NOT NULL,
    operation varchar(16) NOT NULL,
    actor varchar(255) NULL,
    changed_at DATETIME(6) NOT NULL,
    old_values json NULL,
    new_values json NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS repo_audit_entity_entity_key_idx ON repo_audit (entity, entity_key);
CREATE INDEX IF NOT EXISTS repo_audit_actor_idx ON repo_audit (actor);
CREATE INDEX IF NOT EXISTS repo_audit_changed_at_idx ON repo_audit (changed_at);
