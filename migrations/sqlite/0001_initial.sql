-- The initial schema (SQLite): iMi's worktree tables, perth's session tables and the event outbox.
-- migrations/postgres/0001_initial.sql holds the same schema for PostgreSQL; change both together.
-- Entity ids are UUID strings (TEXT) in both engines so that rows move between them unchanged.
-- Timestamps are RFC 3339 text in UTC; JSON columns are text holding JSON.

-- iMi ------------------------------------------------------------------------------------------

CREATE TABLE projects (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    remote_origin  TEXT,
    default_branch TEXT NOT NULL DEFAULT 'main',
    trunk_path     TEXT NOT NULL,
    description    TEXT,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    metadata       TEXT NOT NULL DEFAULT '{}',
    active         BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX projects_active ON projects (active);

CREATE TABLE worktree_types (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    branch_prefix   TEXT NOT NULL,
    worktree_prefix TEXT NOT NULL,
    description     TEXT,
    is_builtin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

INSERT INTO worktree_types (name, branch_prefix, worktree_prefix, description, is_builtin) VALUES
    ('feat',   'feat/',   'feat-',   'Feature development',        TRUE),
    ('fix',    'fix/',    'fix-',    'Bug fixes',                  TRUE),
    ('review', 'pr/',     'pr-',     'Pull request review',        TRUE),
    ('aiops',  'aiops/',  'aiops-',  'AI operations and agents',   TRUE),
    ('devops', 'devops/', 'devops-', 'CI, deployment, operations', TRUE);

CREATE TABLE worktrees (
    id                      TEXT PRIMARY KEY,
    project_id              TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    type_id                 INTEGER NOT NULL REFERENCES worktree_types (id),
    name                    TEXT NOT NULL,
    branch_name             TEXT NOT NULL,
    worktree_name           TEXT NOT NULL,
    path                    TEXT NOT NULL,
    agent_id                TEXT,
    has_uncommitted_changes BOOLEAN NOT NULL DEFAULT FALSE,
    uncommitted_files_count INTEGER NOT NULL DEFAULT 0,
    ahead_of_trunk          INTEGER NOT NULL DEFAULT 0,
    behind_trunk            INTEGER NOT NULL DEFAULT 0,
    last_commit_hash        TEXT,
    last_commit_message     TEXT,
    last_sync_at            TEXT,
    created_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    merged_at               TEXT,
    merged_by               TEXT,
    merge_commit_hash       TEXT,
    active                  BOOLEAN NOT NULL DEFAULT TRUE,
    metadata                TEXT NOT NULL DEFAULT '{}',
    UNIQUE (project_id, worktree_name)
);
CREATE INDEX worktrees_project_id ON worktrees (project_id);
CREATE INDEX worktrees_type_id ON worktrees (type_id);
CREATE INDEX worktrees_agent_id ON worktrees (agent_id);
CREATE INDEX worktrees_active ON worktrees (project_id, active);
CREATE INDEX worktrees_branch_name ON worktrees (branch_name);

CREATE TABLE agent_activities (
    id            TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL,
    worktree_id   TEXT NOT NULL REFERENCES worktrees (id) ON DELETE CASCADE,
    activity_type TEXT NOT NULL,
    file_path     TEXT,
    description   TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX agent_activities_worktree_id ON agent_activities (worktree_id);
CREATE INDEX agent_activities_agent_id ON agent_activities (agent_id);
CREATE INDEX agent_activities_created_at ON agent_activities (created_at);

-- perth ----------------------------------------------------------------------------------------

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_attached TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE tabs (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL,
    layout     TEXT
);
CREATE INDEX tabs_session_id ON tabs (session_id, position);

CREATE TABLE panes (
    id            TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    tab_id        TEXT NOT NULL REFERENCES tabs (id) ON DELETE CASCADE,
    pane_id       INTEGER NOT NULL,
    is_plugin     BOOLEAN NOT NULL DEFAULT FALSE,
    x             INTEGER NOT NULL DEFAULT 0,
    y             INTEGER NOT NULL DEFAULT 0,
    cols          INTEGER NOT NULL DEFAULT 0,
    rows          INTEGER NOT NULL DEFAULT 0,
    cwd           TEXT,
    command       TEXT,
    title         TEXT,
    is_floating   BOOLEAN NOT NULL DEFAULT FALSE,
    is_stacked    BOOLEAN NOT NULL DEFAULT FALSE,
    is_fullscreen BOOLEAN NOT NULL DEFAULT FALSE,
    plugin_url    TEXT,
    plugin_config TEXT,
    UNIQUE (session_id, is_plugin, pane_id)
);
CREATE INDEX panes_tab_id ON panes (tab_id);

CREATE TABLE layouts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kdl        TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- events (DESIGN.md D6) ------------------------------------------------------------------------

-- payload holds the whole CloudEvent as serialized JSON text, published byte for byte.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    source       TEXT NOT NULL,
    type         TEXT NOT NULL,
    subject      TEXT,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    published_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
