-- The expired-lease scan of a claim: held datasets by the time their lease began, so
-- finding the expired ones does not read every held dataset.
CREATE INDEX datasets_enrichment_status_claimed_at_idx ON datasets (enrichment_status, claimed_at);
