-- A team server (issue 26): the same columns as migrations/postgres/0005_shared_tables_owned.sql,
-- so one schema serves both engines. An SQLite file has one user: every owner is ''.
ALTER TABLE outbox ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE worktree_types ADD COLUMN owner TEXT NOT NULL DEFAULT '';
