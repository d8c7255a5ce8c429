-- Agent integrations (issue 15, K29): what an ingest already applied, so a replayed payload
-- (a retried batch, a re-sent hook) changes nothing. Pruned with the events.
CREATE TABLE ingest_keys (
    key TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE INDEX ingest_keys_created ON ingest_keys (created_at);
