-- A team server (issue 26): each row of perth's (sessions, tabs, panes, layouts) and iMi's
-- (projects, worktrees, agent_activities) tables belongs to the role that wrote it, and row-level
-- security lets a role see and change only its own rows. A role with BYPASSRLS (or a superuser)
-- still sees every row. FORCE applies the policies to the tables' owner too, so the user who
-- happened to run the migrations gets no more than the others.
-- A layout saved with `perth layout save NAME --shared` is readable by every role, writable only
-- by its owner. Names are unique per owner: two users may both have a session called "main".
-- migrations/sqlite/0004_row_owners.sql adds the same columns (owner '' there: one user per file).

ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE tabs ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE panes ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE layouts ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE layouts ADD COLUMN shared BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE worktrees ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE agent_activities ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;

ALTER TABLE sessions DROP CONSTRAINT sessions_name_key;
CREATE UNIQUE INDEX sessions_owner_name ON sessions (owner, name);
ALTER TABLE layouts DROP CONSTRAINT layouts_name_key;
CREATE UNIQUE INDEX layouts_owner_name ON layouts (owner, name);
ALTER TABLE projects DROP CONSTRAINT projects_name_key;
CREATE UNIQUE INDEX projects_owner_name ON projects (owner, name);

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON sessions USING (owner = current_user) WITH CHECK (owner = current_user);
ALTER TABLE tabs ENABLE ROW LEVEL SECURITY;
ALTER TABLE tabs FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON tabs USING (owner = current_user) WITH CHECK (owner = current_user);
ALTER TABLE panes ENABLE ROW LEVEL SECURITY;
ALTER TABLE panes FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON panes USING (owner = current_user) WITH CHECK (owner = current_user);
ALTER TABLE layouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE layouts FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON layouts USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY shared_read ON layouts FOR SELECT USING (shared);
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON projects USING (owner = current_user) WITH CHECK (owner = current_user);
ALTER TABLE worktrees ENABLE ROW LEVEL SECURITY;
ALTER TABLE worktrees FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON worktrees USING (owner = current_user) WITH CHECK (owner = current_user);
ALTER TABLE agent_activities ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_activities FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON agent_activities USING (owner = current_user) WITH CHECK (owner = current_user);

-- Every role that may log in to this database works on these tables; the policies above keep
-- the rows apart. The outbox and the worktree types are shared: events carry no terminal output
-- and every user publishes them to the same broker.
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, tabs, panes, layouts, projects, worktrees,
    agent_activities, worktree_types, outbox TO PUBLIC;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO PUBLIC;
GRANT SELECT ON _sqlx_migrations TO PUBLIC;
