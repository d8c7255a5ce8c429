-- Foundation tables. Timestamps are INTEGER epoch seconds, flags INTEGER 0/1, JSON as TEXT.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    color TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE todos (
    id TEXT PRIMARY KEY,
    name TEXT,
    session_id TEXT,
    content TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    priority TEXT NOT NULL DEFAULT 'medium',
    agent TEXT,
    project TEXT,
    parent_id TEXT REFERENCES todos(id) ON DELETE CASCADE,
    completed_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX todos_created_at ON todos (created_at);
CREATE INDEX todos_parent_id ON todos (parent_id);
CREATE INDEX todos_project ON todos (project);
CREATE INDEX todos_session_id ON todos (session_id);

CREATE TABLE todo_status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    todo_id TEXT NOT NULL REFERENCES todos(id) ON DELETE CASCADE,
    old_status TEXT,
    new_status TEXT NOT NULL,
    changed_by TEXT,
    changed_at INTEGER NOT NULL
);
CREATE INDEX todo_status_history_todo ON todo_status_history (todo_id);

CREATE TABLE todo_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    todo_id TEXT NOT NULL REFERENCES todos(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT 'anonymous',
    project_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX todo_comments_todo ON todo_comments (todo_id);

CREATE TABLE sprints (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    start_date INTEGER NOT NULL,
    end_date INTEGER NOT NULL,
    goal TEXT,
    status TEXT NOT NULL DEFAULT 'planning',
    project_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE todo_sprints (
    todo_id TEXT NOT NULL REFERENCES todos(id) ON DELETE CASCADE,
    sprint_id TEXT NOT NULL REFERENCES sprints(id) ON DELETE CASCADE,
    PRIMARY KEY (todo_id, sprint_id)
);
CREATE INDEX todo_sprints_sprint ON todo_sprints (sprint_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    name TEXT,
    project_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER
);

-- content is XChaCha20-Poly1305 ciphertext (nonce || sealed text).
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    content BLOB NOT NULL,
    todo_id TEXT,
    session_id TEXT,
    project_id TEXT,
    summary_id TEXT,
    read INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_summary_id ON messages (summary_id) WHERE summary_id IS NOT NULL;
CREATE INDEX messages_created_at ON messages (created_at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tag TEXT NOT NULL DEFAULT 'master',
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    priority TEXT NOT NULL DEFAULT 'medium',
    dependencies TEXT,
    details TEXT,
    test_strategy TEXT,
    complexity_score REAL,
    assigned_agent_id TEXT,
    linear_issue_id TEXT,
    project_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tasks_tag ON tasks (tag);

CREATE TABLE subtasks (
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    dependencies TEXT,
    details TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, id)
);

-- The append-only event log (K13, K15): sealed payloads are encrypted like message content.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    project TEXT,
    payload BLOB NOT NULL,
    sealed INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);
