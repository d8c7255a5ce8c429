-- Agent integrations (issue 15, K29): what an ingest already applied, so a replayed payload
-- (a retried batch, a re-sent hook) changes nothing. Pruned with the events.
CREATE TABLE ingest_keys (
    key TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
CREATE INDEX ingest_keys_created ON ingest_keys (created_at);

-- The last value of each cumulative OpenTelemetry series (a metric of one session with one
-- set of attributes): a new point adds only what it grew by, so totals never double count.
CREATE TABLE otlp_series (
    series TEXT PRIMARY KEY,
    start_ns TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
);
