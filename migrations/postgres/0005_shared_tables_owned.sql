-- A team server (issue 26): the two tables 0004 left shared get owners too. Each user's
-- outbox rows are their own (an event names a user's worktrees and branches; each user's
-- host-bridge publishes its own events with its own broker credentials, and nobody else's
-- can be read, marked published or pruned by it). The worktree types stay one vocabulary
-- that every role reads, but a type is changed or removed only by the role that added it
-- (the built-in ones belong to the role that ran the migrations, the administrator).
-- migrations/sqlite/0005_shared_tables_owned.sql adds the same columns.

ALTER TABLE outbox ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON outbox USING (owner = current_user) WITH CHECK (owner = current_user);

ALTER TABLE worktree_types ADD COLUMN owner TEXT NOT NULL DEFAULT current_user;
ALTER TABLE worktree_types ENABLE ROW LEVEL SECURITY;
ALTER TABLE worktree_types FORCE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON worktree_types FOR SELECT USING (true);
CREATE POLICY own_insert ON worktree_types FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY own_update ON worktree_types FOR UPDATE
    USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY own_delete ON worktree_types FOR DELETE USING (owner = current_user);
