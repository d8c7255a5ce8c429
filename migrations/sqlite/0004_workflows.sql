-- The agent task workflow of api-compat §18, kept as a row and advanced by routes, signals
-- and the scheduler (O1); no workflow engine is needed.
CREATE TABLE workflows (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    title TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    sleep_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX workflows_open ON workflows (result);
