-- A team server (issue 26): the same columns as migrations/postgres/0004_row_owners.sql, so one
-- schema serves both engines. An SQLite file has one user, so every owner is '' and there is no
-- row-level security; names stay unique per owner as on PostgreSQL.
ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE tabs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE panes ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE layouts ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE layouts ADD COLUMN shared BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE worktrees ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_activities ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX sessions_owner_name ON sessions (owner, name);
CREATE UNIQUE INDEX layouts_owner_name ON layouts (owner, name);
CREATE UNIQUE INDEX projects_owner_name ON projects (owner, name);
