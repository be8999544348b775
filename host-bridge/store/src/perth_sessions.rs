//! perth's saved sessions and layout templates: the `sessions`, `tabs`, `panes` and `layouts`
//! tables, written by the perth server's write-behind thread and read back to restore.
//!
//! Rows are stored as the server sees them and read back raw ([`StoredSession`]): checking a
//! hand-edited or corrupt row (unknown pane kind, negative geometry, a pane whose tab is gone)
//! is the restorer's job, so one bad row never makes a whole session unreadable.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::{is_mine, params, Backend, Bind, Conn, Error, Param, QueryError, Row};

/// The state of one session as the server captured it, ready to be written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionSnapshot {
    /// The session name (unique in the database).
    pub name: String,
    /// The session-wide part of the serialized layout (global cwd, templates).
    pub layout: Option<String>,
    /// The tabs, in any order.
    pub tabs: Vec<TabSnapshot>,
    /// The panes of every tab.
    pub panes: Vec<PaneSnapshot>,
}

/// One tab of a [`SessionSnapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TabSnapshot {
    /// Identifies the tab within the running session (Zellij's tab id).
    pub key: String,
    pub name: String,
    pub position: i32,
    /// The tab's node of the serialized layout (KDL).
    pub layout: Option<String>,
    pub is_active: bool,
}

/// One pane of a [`SessionSnapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PaneSnapshot {
    /// The [`TabSnapshot::key`] of the pane's tab.
    pub tab_key: String,
    /// Zellij's pane id, unique per kind.
    pub pane_id: i64,
    /// `terminal` or `plugin`.
    pub kind: String,
    pub x: i32,
    pub y: i32,
    pub cols: i32,
    pub rows: i32,
    pub cwd: Option<String>,
    pub command: Option<String>,
    pub title: Option<String>,
    pub is_floating: bool,
    pub is_stacked: bool,
    pub is_fullscreen: bool,
    pub is_focused: bool,
    pub plugin_url: Option<String>,
    /// The plugin's configuration as JSON text.
    pub plugin_config: Option<String>,
    /// The last lines of a terminal pane, already secret-filtered.
    pub scrollback: Option<String>,
    /// The pane's last known agent state as JSON text (perth's agent awareness); `None` for a
    /// pane that runs no agent.
    pub agent_state: Option<String>,
}

impl PaneSnapshot {
    /// Returns the pane's key within its session (`terminal_3`, `plugin_1`).
    pub fn key(&self) -> String {
        format!("{}_{}", self.kind, self.pane_id)
    }
}

/// Which rows of a snapshot [`save_session`] writes; rows missing from the snapshot are always
/// deleted.
#[derive(Clone, Debug, Default)]
pub enum RowSelection {
    /// Every tab and pane (the first flush, or after the database was away).
    #[default]
    All,
    /// Only these tab keys and pane keys (what changed since the last flush).
    Only {
        tabs: HashSet<String>,
        panes: HashSet<String>,
    },
}

impl RowSelection {
    fn tab(&self, key: &str) -> bool {
        match self {
            RowSelection::All => true,
            RowSelection::Only { tabs, .. } => tabs.contains(key),
        }
    }

    fn pane(&self, key: &str) -> bool {
        match self {
            RowSelection::All => true,
            RowSelection::Only { panes, .. } => panes.contains(key),
        }
    }
}

/// What one [`save_session`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveStats {
    pub tabs_written: u64,
    pub panes_written: u64,
    pub rows_deleted: u64,
}

/// A saved session read back, rows as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSession {
    pub id: String,
    pub name: String,
    pub layout: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub saved_at: Option<DateTime<Utc>>,
    /// Ordered by position.
    pub tabs: Vec<StoredTab>,
    pub panes: Vec<StoredPane>,
}

/// A stored tab row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTab {
    pub id: String,
    pub name: String,
    pub position: i32,
    pub layout: Option<String>,
    pub is_active: bool,
}

/// A stored pane row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPane {
    pub id: String,
    pub tab_id: String,
    pub pane_id: i64,
    pub kind: String,
    pub x: i32,
    pub y: i32,
    pub cols: i32,
    pub rows: i32,
    pub cwd: Option<String>,
    pub command: Option<String>,
    pub title: Option<String>,
    pub is_floating: bool,
    pub is_stacked: bool,
    pub is_fullscreen: bool,
    pub is_focused: bool,
    pub plugin_url: Option<String>,
    pub plugin_config: Option<String>,
    pub scrollback: Option<String>,
    pub agent_state: Option<String>,
}

/// One line of [`list_sessions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub name: String,
    pub created_at: Option<DateTime<Utc>>,
    pub saved_at: Option<DateTime<Utc>>,
    pub tabs: i64,
    pub panes: i64,
}

/// A saved layout template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutTemplate {
    pub name: String,
    pub kdl: String,
    pub updated_at: Option<DateTime<Utc>>,
    /// Saved with `--shared`: every user of the database may read it (only its owner changes it).
    pub shared: bool,
    /// Saved by another role (a shared layout of another user), read-only here.
    pub others: bool,
}

fn tab_row_id(session_id: &str, key: &str) -> String {
    format!("{session_id}/tab/{key}")
}

fn pane_row_id(session_id: &str, pane: &PaneSnapshot) -> String {
    format!("{session_id}/{}", pane.key())
}

/// Returns `$n`, cast to JSONB on PostgreSQL (SQLite keeps JSON as text).
fn json_param(conn: &Conn<'_>, n: usize) -> String {
    match conn.backend() {
        Backend::Postgres => format!("CAST(${n} AS JSONB)"),
        Backend::Sqlite => format!("${n}"),
    }
}

/// Returns the column read back as text (JSONB on PostgreSQL).
fn json_column(conn: &Conn<'_>, column: &str) -> String {
    match conn.backend() {
        Backend::Postgres => format!("{column}::TEXT AS {column}"),
        Backend::Sqlite => column.to_string(),
    }
}

/// Returns the id of session `name`, creating its row when it has none.
///
/// The insert comes first: on SQLite a transaction that starts with a write queues on the
/// database lock, where one that reads first fails when two writers upgrade at once.
async fn session_id(conn: &mut Conn<'_>, name: &str) -> Result<String, Error> {
    let id = uuid::Uuid::new_v4().to_string();
    conn.execute(
        "INSERT INTO sessions (id, name) VALUES ($1, $2) ON CONFLICT (owner, name) DO NOTHING",
        params![id, name],
    )
    .await
    .map_err(|e| Error::query("perth_sessions_create", e))?;
    // Owner and name: a BYPASSRLS role sees every user's session of this name.
    let sql = format!(
        "SELECT id FROM sessions WHERE name = $1 AND {}",
        is_mine(conn)
    );
    conn.fetch_scalar(&sql, params![name])
        .await
        .map_err(|e| Error::query("perth_sessions_find", e))
}

/// Writes `snapshot`: upserts the selected rows and deletes the session's rows that are no
/// longer in it. Run it in a transaction so that a flush is all or nothing.
pub async fn save_session(
    mut conn: Conn<'_>,
    snapshot: &SessionSnapshot,
    selection: &RowSelection,
    saved_at: DateTime<Utc>,
) -> Result<SaveStats, Error> {
    let mut stats = SaveStats::default();
    let sid = session_id(&mut conn, &snapshot.name).await?;
    conn.execute(
        "UPDATE sessions SET layout = $1, saved_at = $2 WHERE id = $3",
        params![snapshot.layout, saved_at, sid],
    )
    .await
    .map_err(|e| Error::query("perth_sessions_update", e))?;

    // Panes first out, tabs last out: a pane row never points at a deleted tab.
    let pane_ids: Vec<String> = snapshot
        .panes
        .iter()
        .map(|p| pane_row_id(&sid, p))
        .collect();
    stats.rows_deleted += delete_missing(&mut conn, "panes", &sid, &pane_ids).await?;

    let tab_sql = "INSERT INTO tabs (id, session_id, name, position, layout, is_active) \
                   VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (id) DO UPDATE SET name = excluded.name, position = excluded.position, \
                   layout = excluded.layout, is_active = excluded.is_active";
    for tab in snapshot.tabs.iter().filter(|t| selection.tab(&t.key)) {
        let id = tab_row_id(&sid, &tab.key);
        conn.execute(
            tab_sql,
            params![id, sid, tab.name, tab.position, tab.layout, tab.is_active],
        )
        .await
        .map_err(|e| Error::query("perth_tabs_upsert", e))?;
        stats.tabs_written += 1;
    }

    let pane_sql = format!(
        "INSERT INTO panes (id, session_id, tab_id, pane_id, is_plugin, kind, x, y, cols, rows, cwd, \
         command, title, is_floating, is_stacked, is_fullscreen, is_focused, plugin_url, plugin_config, \
         scrollback, agent_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, {}, $20, $21) ON CONFLICT (id) DO UPDATE SET tab_id = excluded.tab_id, x = excluded.x, \
         y = excluded.y, cols = excluded.cols, rows = excluded.rows, cwd = excluded.cwd, \
         command = excluded.command, title = excluded.title, is_floating = excluded.is_floating, \
         is_stacked = excluded.is_stacked, is_fullscreen = excluded.is_fullscreen, \
         is_focused = excluded.is_focused, plugin_url = excluded.plugin_url, \
         plugin_config = excluded.plugin_config, scrollback = excluded.scrollback, \
         agent_state = excluded.agent_state",
        json_param(&conn, 19)
    );
    for (p, id) in snapshot.panes.iter().zip(&pane_ids) {
        if !selection.pane(&p.key()) {
            continue;
        }
        let tab_id = tab_row_id(&sid, &p.tab_key);
        let params = params![
            id,
            sid,
            tab_id,
            p.pane_id,
            p.kind == "plugin",
            p.kind,
            p.x,
            p.y,
            p.cols,
            p.rows,
            p.cwd,
            p.command,
            p.title,
            p.is_floating,
            p.is_stacked,
            p.is_fullscreen,
            p.is_focused,
            p.plugin_url,
            p.plugin_config,
            p.scrollback,
            p.agent_state,
        ];
        conn.execute(&pane_sql, params)
            .await
            .map_err(|e| Error::query("perth_panes_upsert", e))?;
        stats.panes_written += 1;
    }

    let tab_ids: Vec<String> = snapshot
        .tabs
        .iter()
        .map(|t| tab_row_id(&sid, &t.key))
        .collect();
    stats.rows_deleted += delete_missing(&mut conn, "tabs", &sid, &tab_ids).await?;
    Ok(stats)
}

/// Deletes the rows of `table` for session `sid` whose id is not in `keep`.
async fn delete_missing(
    conn: &mut Conn<'_>,
    table: &str,
    sid: &str,
    keep: &[String],
) -> Result<u64, Error> {
    let placeholders: Vec<String> = (2..keep.len() + 2).map(|n| format!("${n}")).collect();
    let sql = if keep.is_empty() {
        format!("DELETE FROM {table} WHERE session_id = $1")
    } else {
        format!(
            "DELETE FROM {table} WHERE session_id = $1 AND id NOT IN ({})",
            placeholders.join(", ")
        )
    };
    let params: Vec<Param> = std::iter::once(sid.param())
        .chain(keep.iter().map(Bind::param))
        .collect();
    conn.execute(&sql, &params)
        .await
        .map_err(|e| Error::query("perth_rows_delete", e))
}

/// Records that session `name` was attached (restored) now.
pub async fn mark_attached(mut conn: Conn<'_>, name: &str, at: DateTime<Utc>) -> Result<(), Error> {
    let sql = format!(
        "UPDATE sessions SET last_attached = $1 WHERE name = $2 AND {}",
        is_mine(&conn)
    );
    conn.execute(&sql, params![at, name])
        .await
        .map(drop)
        .map_err(|e| Error::query("perth_sessions_attached", e))
}

/// Reads session `name` back with its rows as stored, or `None` when it was never saved.
pub async fn load_session(mut conn: Conn<'_>, name: &str) -> Result<Option<StoredSession>, Error> {
    let sql = format!(
        "SELECT id, name, layout, created_at, saved_at FROM sessions WHERE name = $1 AND {}",
        is_mine(&conn)
    );
    let load = |e| Error::query("perth_sessions_load", e);
    let Some(head) = conn
        .fetch_optional(&sql, params![name])
        .await
        .map_err(load)?
    else {
        return Ok(None);
    };
    let id: String = head.get(0).map_err(load)?;
    let tabs = conn
        .fetch_all(
            "SELECT id, name, position, layout, is_active FROM tabs WHERE session_id = $1 \
             ORDER BY position, id",
            params![id],
        )
        .await
        .and_then(|rows| rows.iter().map(tab_from).collect())
        .map_err(|e| Error::query("perth_tabs_load", e))?;
    let pane_sql = format!(
        "SELECT id, tab_id, pane_id, kind, x, y, cols, rows, cwd, command, title, is_floating, \
         is_stacked, is_fullscreen, is_focused, plugin_url, {}, scrollback, agent_state FROM panes \
         WHERE session_id = $1 ORDER BY tab_id, y, x, id",
        json_column(&conn, "plugin_config")
    );
    let panes = conn
        .fetch_all(&pane_sql, params![id])
        .await
        .and_then(|rows| rows.iter().map(pane_from).collect())
        .map_err(|e| Error::query("perth_panes_load", e))?;
    Ok(Some(StoredSession {
        id,
        name: head.get(1).map_err(load)?,
        layout: head.get(2).map_err(load)?,
        created_at: head.get(3).map_err(load)?,
        saved_at: head.get(4).map_err(load)?,
        tabs,
        panes,
    }))
}

fn tab_from(row: &Row) -> Result<StoredTab, QueryError> {
    Ok(StoredTab {
        id: row.get(0)?,
        name: row.get(1)?,
        position: row.get(2)?,
        layout: row.get(3)?,
        is_active: row.get(4)?,
    })
}

fn pane_from(row: &Row) -> Result<StoredPane, QueryError> {
    Ok(StoredPane {
        id: row.get("id")?,
        tab_id: row.get("tab_id")?,
        pane_id: row.get("pane_id")?,
        kind: row.get("kind")?,
        x: row.get("x")?,
        y: row.get("y")?,
        cols: row.get("cols")?,
        rows: row.get("rows")?,
        cwd: row.get("cwd")?,
        command: row.get("command")?,
        title: row.get("title")?,
        is_floating: row.get("is_floating")?,
        is_stacked: row.get("is_stacked")?,
        is_fullscreen: row.get("is_fullscreen")?,
        is_focused: row.get("is_focused")?,
        plugin_url: row.get("plugin_url")?,
        plugin_config: row.get("plugin_config")?,
        scrollback: row.get("scrollback")?,
        agent_state: row.get("agent_state")?,
    })
}

/// Returns every saved session, most recently saved first.
pub async fn list_sessions(mut conn: Conn<'_>) -> Result<Vec<SessionSummary>, Error> {
    let sql = format!(
        "SELECT s.name, s.created_at, s.saved_at, \
         (SELECT COUNT(*) FROM tabs t WHERE t.session_id = s.id), \
         (SELECT COUNT(*) FROM panes p WHERE p.session_id = s.id) \
         FROM sessions s WHERE {} ORDER BY s.saved_at DESC, s.name",
        is_mine(&conn).replace("owner", "s.owner")
    );
    let summary = |row: &Row| {
        Ok(SessionSummary {
            name: row.get(0)?,
            created_at: row.get(1)?,
            saved_at: row.get(2)?,
            tabs: row.get(3)?,
            panes: row.get(4)?,
        })
    };
    conn.fetch_all(&sql, &[])
        .await
        .and_then(|rows| rows.iter().map(summary).collect())
        .map_err(|e| Error::query("perth_sessions_list", e))
}

/// Deletes session `name` and its rows; returns whether it existed.
pub async fn delete_session(mut conn: Conn<'_>, name: &str) -> Result<bool, Error> {
    let sql = format!(
        "SELECT id FROM sessions WHERE name = $1 AND {}",
        is_mine(&conn)
    );
    let id: Option<String> = conn
        .fetch_optional(&sql, params![name])
        .await
        .and_then(|row| row.map(|r| r.get(0)).transpose())
        .map_err(|e| Error::query("perth_sessions_find", e))?;
    let Some(id) = id else {
        return Ok(false);
    };
    for sql in [
        "DELETE FROM panes WHERE session_id = $1",
        "DELETE FROM tabs WHERE session_id = $1",
        "DELETE FROM sessions WHERE id = $1",
    ] {
        conn.execute(sql, params![id])
            .await
            .map_err(|e| Error::query("perth_sessions_delete", e))?;
    }
    Ok(true)
}

/// Stores (or replaces) layout template `name`, private to the connecting role.
pub async fn save_layout(
    conn: Conn<'_>,
    name: &str,
    kdl: &str,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    save_layout_shared(conn, name, kdl, false, at).await
}

/// Stores (or replaces) the connecting role's layout template `name`; `shared` lets every
/// other role of the database read it (row-level security keeps it theirs to change).
pub async fn save_layout_shared(
    mut conn: Conn<'_>,
    name: &str,
    kdl: &str,
    shared: bool,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let sql = "INSERT INTO layouts (id, name, kdl, shared, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
               ON CONFLICT (owner, name) DO UPDATE SET kdl = excluded.kdl, shared = excluded.shared, \
               updated_at = excluded.updated_at";
    let id = uuid::Uuid::new_v4().to_string();
    conn.execute(sql, params![id, name, kdl, shared, at])
        .await
        .map(drop)
        .map_err(|e| Error::query("perth_layouts_save", e))
}

fn layout_template(row: &Row) -> Result<LayoutTemplate, QueryError> {
    Ok(LayoutTemplate {
        name: row.get(0)?,
        kdl: row.get(1)?,
        updated_at: row.get(2)?,
        shared: row.get(3)?,
        others: !row.get::<bool>(4)?,
    })
}

/// Returns layout template `name`: the connecting role's own, else one another role shared.
pub async fn get_layout(mut conn: Conn<'_>, name: &str) -> Result<Option<LayoutTemplate>, Error> {
    let mine = is_mine(&conn);
    let sql = format!(
        "SELECT name, kdl, updated_at, shared, {mine} AS mine FROM layouts \
         WHERE name = $1 AND ({mine} OR shared) ORDER BY {mine} DESC, updated_at DESC LIMIT 1"
    );
    conn.fetch_optional(&sql, params![name])
        .await
        .and_then(|row| row.as_ref().map(layout_template).transpose())
        .map_err(|e| Error::query("perth_layouts_get", e))
}

/// Returns every layout template the connecting role may read (its own and those shared with it), by name.
pub async fn list_layouts(mut conn: Conn<'_>) -> Result<Vec<LayoutTemplate>, Error> {
    let mine = is_mine(&conn);
    let sql = format!(
        "SELECT name, kdl, updated_at, shared, {mine} AS mine FROM layouts \
         WHERE {mine} OR shared ORDER BY name, {mine} DESC"
    );
    conn.fetch_all(&sql, &[])
        .await
        .and_then(|rows| rows.iter().map(layout_template).collect())
        .map_err(|e| Error::query("perth_layouts_list", e))
}

/// The text columns of perth's tables that hold what Zellij serialized or a pane showed:
/// `(table, column)`, each table keyed by `id`.
pub const TEXT_COLUMNS: [(&str, &str); 6] = [
    ("sessions", "layout"),
    ("tabs", "layout"),
    ("layouts", "kdl"),
    ("panes", "command"),
    ("panes", "title"),
    ("panes", "plugin_url"),
];

/// Rewrites stored text that `scrub(column, text)` changes, in the rows of [`TEXT_COLUMNS`]
/// that contain any of `markers`, and returns how many values changed. perth runs it over rows
/// written before it kept credentials out (the scrub is the caller's: this crate reads no KDL).
pub async fn scrub_stored_text(
    mut conn: Conn<'_>,
    markers: &[&str],
    scrub: &dyn Fn(&str, &str) -> String,
) -> Result<u64, Error> {
    let mut changed = 0;
    for (table, column) in TEXT_COLUMNS {
        let filter = markers
            .iter()
            .enumerate()
            .map(|(i, _)| format!("{column} LIKE ${}", i + 1))
            .collect::<Vec<_>>()
            .join(" OR ");
        if filter.is_empty() {
            continue;
        }
        let select = format!(
            "SELECT id, {column} FROM {table} WHERE ({filter}) AND {}",
            is_mine(&conn)
        );
        let patterns: Vec<Param> = markers.iter().map(|m| format!("%{m}%").param()).collect();
        let rows = conn
            .fetch_all(&select, &patterns)
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))
                    .collect::<Result<Vec<_>, QueryError>>()
            })
            .map_err(|e| Error::query("perth_scrub_read", e))?;
        let update = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
        for (id, text) in rows {
            let clean = scrub(column, &text);
            if clean == text {
                continue;
            }
            conn.execute(&update, params![clean, id])
                .await
                .map_err(|e| Error::query("perth_scrub_write", e))?;
            changed += 1;
        }
    }
    Ok(changed)
}
