-- An agent's timeline (issue 13): tool calls and other reports, assignments, blocks, errors,
-- completions and what people sent it, newest read first. Kept as long as the event log.
CREATE TABLE agent_activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id TEXT NOT NULL,
    task_id TEXT,
    -- the project of the task (else of the agent): a project's view shows only its own rows
    project_id TEXT,
    kind TEXT NOT NULL,
    summary TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX agent_activity_agent ON agent_activity (agent_id, id);
CREATE INDEX agent_activity_created ON agent_activity (created_at);
