-- perth session persistence (issue 7): what restoring a session needs beyond the seed's rows.
-- migrations/sqlite/0002_session_restore.sql holds the same change for SQLite; change both together.

-- The session-wide part of the layout Zellij serializes (global cwd, new-tab template, swap
-- layouts); each tab's own part is in tabs.layout. saved_at is the last successful flush.
ALTER TABLE sessions ADD COLUMN layout TEXT;
ALTER TABLE sessions ADD COLUMN saved_at TIMESTAMPTZ;

ALTER TABLE tabs ADD COLUMN is_active BOOLEAN NOT NULL DEFAULT FALSE;

-- kind is 'terminal' or 'plugin' (is_plugin stays for the seed's uniqueness constraint);
-- scrollback holds the last N lines of a terminal pane, secret-filtered, when configured.
ALTER TABLE panes ADD COLUMN kind TEXT NOT NULL DEFAULT 'terminal';
ALTER TABLE panes ADD COLUMN is_focused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE panes ADD COLUMN scrollback TEXT;
UPDATE panes SET kind = 'plugin' WHERE is_plugin;
CREATE INDEX panes_session_id ON panes (session_id);
