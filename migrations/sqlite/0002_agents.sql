-- Agents, their tasks, lifecycle state kept in the database, and candidate alerts (K19).
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'sub-agent',
    parent_agent_id TEXT REFERENCES agents(id),
    status TEXT NOT NULL DEFAULT 'idle',
    soul_md TEXT,
    skills TEXT,
    current_task_id TEXT,
    created_at INTEGER NOT NULL,
    last_heartbeat INTEGER,
    config TEXT,
    sleep_reason TEXT
);
CREATE INDEX agents_parent ON agents (parent_agent_id);

CREATE TABLE agent_tasks (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    linear_issue_id TEXT,
    project_id TEXT,
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    priority TEXT NOT NULL DEFAULT 'medium',
    blocked_reason TEXT,
    blocked_at INTEGER,
    started_at INTEGER,
    completed_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX agent_tasks_agent ON agent_tasks (agent_id, created_at);

-- The repeated-errors window per (agent, task): anchored at the first error.
CREATE TABLE agent_error_windows (
    agent_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    first_error_at INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (agent_id, task_id)
);

-- Candidate alerts raised by lifecycle rules; the alerting engine turns them into notifications.
CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    task_id TEXT,
    title TEXT,
    priority TEXT NOT NULL,
    reason TEXT,
    project TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at INTEGER NOT NULL
);
CREATE INDEX alert_events_task ON alert_events (agent_id, task_id, status);
