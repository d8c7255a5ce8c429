-- Steering commands (K21): what a person asked an agent to do, and how far it got.
CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    acked_at BIGINT,
    detail TEXT,
    expires_at BIGINT NOT NULL,
    deliveries BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX commands_agent ON commands (agent_id, status);
