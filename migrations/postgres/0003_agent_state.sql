-- Agent awareness (issue 20): a terminal pane's last known agent state, kept with the session so
-- a restore shows it (marked as restored) until the agent shows a new one. JSON text:
-- {"state": "waiting", "message": "...", "since_ms": 0, "program": "claude"}; NULL for panes
-- that run no agent. migrations/sqlite/0003_agent_state.sql holds the same change; change both together.
ALTER TABLE panes ADD COLUMN agent_state TEXT;
