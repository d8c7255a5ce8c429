-- Alerting (issue 14, docs/decisions.md#alerting): rules, the alerts they schedule, the channels
-- that carry them outside the app and every delivery attempt.

-- The original's alert rules; the defaults are seeded at start-up when the table is empty.
CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    trigger TEXT NOT NULL,
    priority_filter TEXT NOT NULL DEFAULT 'all',
    delay_ms INTEGER NOT NULL DEFAULT 0,
    channel TEXT NOT NULL DEFAULT 'in_app',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per rule a raised alert matched: `pending` until `due_ms` (a durable timer), then
-- `fired`, or `cancelled` (its condition cleared first), or `superseded` (a newer alert took
-- its pending key), or `failed` (firing it failed; logged and set aside). The fired row is the
-- record that the alert happened, once.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    trigger TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    task_id TEXT,
    title TEXT,
    priority TEXT NOT NULL,
    reason TEXT,
    project TEXT,
    -- when the condition began (seconds): checked again when the alert comes due
    since INTEGER,
    pending_key TEXT NOT NULL,
    batched INTEGER NOT NULL DEFAULT 0,
    due_ms INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    wanted_channel TEXT NOT NULL,
    -- set when fired: the channel it went to, and why a push stayed in the app (digest|throttled)
    channel TEXT,
    held TEXT,
    digest_sent INTEGER NOT NULL DEFAULT 0,
    message_id INTEGER,
    created_at INTEGER NOT NULL,
    fired_ms INTEGER
);
CREATE INDEX alerts_due ON alerts (status, due_ms);
CREATE INDEX alerts_key ON alerts (pending_key, status);
CREATE INDEX alerts_task ON alerts (agent_id, task_id, status);
CREATE INDEX alerts_fired ON alerts (fired_ms);
CREATE INDEX alerts_digest ON alerts (held, digest_sent);

-- Where pushed alerts go (K27). `config` is sealed JSON (URLs, tokens, secrets); a web_push
-- channel is one browser subscription of one signed-in user.
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    config BLOB NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    enabled INTEGER NOT NULL DEFAULT 1,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    endpoint_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every send to a channel: at least once, retried with backoff; the id is the delivery id
-- receivers deduplicate on. `payload` is sealed JSON.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    alert_id INTEGER,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    http_status INTEGER,
    error TEXT,
    next_attempt_ms INTEGER,
    claimed_until_ms INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
CREATE INDEX deliveries_created ON deliveries (created_at);

-- Each attempt of a delivery: its answer or failure.
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    http_status INTEGER,
    error TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt);

-- Alert messages carry what they are about: alert id, agent, task, link.
ALTER TABLE messages ADD COLUMN metadata TEXT;
