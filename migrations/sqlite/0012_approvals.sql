-- Approvals (issue 18, K28, docs/decisions.md#approvals): an agent's permission request waiting
-- for a person. `source_key` is the request's own id at its tool (an OpenCode permission id,
-- a hash of a Claude Code payload), so a replayed report finds the same approval.
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    source_key TEXT NOT NULL UNIQUE,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    request_id TEXT,
    summary TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    project TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    decision TEXT,
    message TEXT,
    decided_by TEXT,
    decided_at INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX approvals_status ON approvals (status, created_at);
CREATE INDEX approvals_agent ON approvals (agent_id, status);

-- Decision links (K30): one per approval and channel, single use, stored as the hash of the
-- token the link carries. It expires with its approval.
CREATE TABLE approval_links (
    token_hash TEXT PRIMARY KEY,
    approval_id TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX approval_links_approval ON approval_links (approval_id);

-- An alert about an approval names it (the approval-needed rule).
ALTER TABLE alerts ADD COLUMN approval_id TEXT;

-- The default `approval-needed` rule for databases seeded before it existed (an empty table
-- gets every default at start-up).
INSERT INTO alert_rules (id, trigger, priority_filter, delay_ms, channel, enabled, created_at, updated_at)
SELECT 'approval-needed', 'approval_needed', 'all', 0, 'both', 1, 0, 0
WHERE EXISTS (SELECT 1 FROM alert_rules)
ON CONFLICT (id) DO NOTHING;
