-- The audit log (repo_core::audit): one row per changed row of an audited entity, written in
-- the same transaction as the change. The same DDL as repo_core::audit::create_statements.
CREATE TABLE IF NOT EXISTS repo_audit (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    entity text NOT NULL,
    entity_key text NOT NULL,
    operation varchar(16) NOT NULL,
    actor text NULL,
    changed_at timestamp_with_timezone_text NOT NULL,
    old_values jsonb_text NULL,
    new_values jsonb_text NULL
);
CREATE INDEX IF NOT EXISTS repo_audit_entity_entity_key_idx ON repo_audit (entity, entity_key);
CREATE INDEX IF NOT EXISTS repo_audit_actor_idx ON repo_audit (actor);
CREATE INDEX IF NOT EXISTS repo_audit_changed_at_idx ON repo_audit (changed_at);
