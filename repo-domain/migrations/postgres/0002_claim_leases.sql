-- Claims hold a dataset under a lease that begins at claimed_at; an expired lease lets another
-- worker take the dataset over.
ALTER TABLE datasets ADD COLUMN claimed_at timestamptz NULL;
