-- Durable timers (K18): a due time, a lease while one replica runs it, and a period for
-- recurring ones. Effects are idempotent, so a timer run twice after a crash changes nothing.
CREATE TABLE timers (
    id TEXT PRIMARY KEY,
    due_at BIGINT NOT NULL,
    claimed_until BIGINT,
    period_secs BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX timers_due ON timers (due_at);
