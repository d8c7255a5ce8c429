-- Durable timers (K18): a due time, a lease while one replica runs it, and a period for
-- recurring ones. Effects are idempotent, so a timer run twice after a crash changes nothing.
CREATE TABLE timers (
    id TEXT PRIMARY KEY,
    due_at INTEGER NOT NULL,
    claimed_until INTEGER,
    period_secs INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX timers_due ON timers (due_at);
