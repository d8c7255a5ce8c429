-- Linear (issue 17, L1–L6, docs/decisions.md#linear): a cache of the workspace's teams,
-- workflow states, projects and issues, kept current by a full sync and by webhooks.
-- `linear_issues.project_id` is plain text, not a foreign key: a webhook may name a project
-- ocd has not synced yet, and that issue is stored rather than refused (D12).
CREATE TABLE linear_teams (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);

CREATE TABLE linear_workflow_states (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    color TEXT,
    position REAL,
    synced_at INTEGER NOT NULL
);
CREATE INDEX linear_workflow_states_team ON linear_workflow_states (team_id, position);

CREATE TABLE linear_projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    state TEXT,
    progress REAL NOT NULL DEFAULT 0,
    start_date TEXT,
    target_date TEXT,
    url TEXT,
    team_id TEXT,
    team_name TEXT,
    updated_at TEXT,
    synced_at INTEGER NOT NULL
);

-- `updated_at` (projects and issues) is Linear's own `updatedAt` (ISO 8601 text): an older
-- version never overwrites a newer one, whichever of a sync and a webhook arrives last.
CREATE TABLE linear_issues (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    identifier TEXT,
    title TEXT NOT NULL,
    description TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    state_id TEXT,
    state_name TEXT,
    state_type TEXT,
    team_id TEXT,
    assignee_id TEXT,
    assignee_name TEXT,
    assignee_avatar TEXT,
    label_names TEXT,
    estimate REAL,
    url TEXT,
    agent_task_id TEXT,
    updated_at TEXT,
    synced_at INTEGER NOT NULL
);
CREATE INDEX linear_issues_project ON linear_issues (project_id);
CREATE INDEX linear_issues_task ON linear_issues (agent_task_id);

-- Issues a webhook removed, with Linear's time of the removal: a late, older update of the
-- issue does not bring it back (a sync that finds it in Linear does). Kept three days.
CREATE TABLE linear_removed_issues (
    id TEXT PRIMARY KEY,
    updated_at TEXT,
    removed_at INTEGER NOT NULL
);

-- Webhook deliveries, kept for idempotency (`Linear-Delivery`) and processed after the 200.
-- `body_hash` (SHA-256 of the signed body, which carries its timestamp) catches a captured
-- delivery replayed under a new `Linear-Delivery` header within the 60 s window.
CREATE TABLE linear_deliveries (
    id TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL UNIQUE,
    webhook_id TEXT,
    type TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    processed_at INTEGER,
    error TEXT
);
CREATE INDEX linear_deliveries_pending ON linear_deliveries (processed_at, received_at);

-- Webhooks ocd registered in Linear, each with the secret Linear signs its deliveries with
-- (sealed at rest).
CREATE TABLE linear_webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret BLOB NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    resource_types TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    last_delivery_at INTEGER
);
