//! iMi's queries on the shared schema (`projects`, `worktrees`, `agent_activities`), written once for PostgreSQL and SQLite.

use chrono::{DateTime, Utc};
use serde::Serialize;
use store::{params, Backend, Conn, QueryError, Row};

fn query_error(op: &'static str) -> impl FnOnce(QueryError) -> store::Error {
    move |source| store::Error::query(op, source)
}

/// A registered project: a repository in the convention layout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectRow {
    /// UUID.
    pub id: String,
    /// The project's name (its folder's name).
    pub name: String,
    /// The `origin` remote's URL, when set.
    pub remote_origin: Option<String>,
    /// The trunk branch (`main`).
    pub default_branch: String,
    /// The main checkout (`.../trunk-main`).
    pub trunk_path: String,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
}

/// What [`upsert_project`] stores.
#[derive(Clone, Debug)]
pub struct NewProject {
    /// The project's name.
    pub name: String,
    /// The `origin` URL.
    pub remote_origin: Option<String>,
    /// The trunk branch.
    pub default_branch: String,
    /// The main checkout.
    pub trunk_path: String,
}

/// A worktree row: live (`active`) or kept as history after removal.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct WorktreeRow {
    /// UUID.
    pub id: String,
    /// The project's UUID.
    pub project_id: String,
    /// The type's name (`feat`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The name given by the user (`x` in `iMi feat x`).
    pub name: String,
    /// The branch (`feat/x`).
    #[serde(rename = "branch")]
    pub branch_name: String,
    /// The folder name (`feat-x`); removed rows carry `#<id>` after it so the name can be reused.
    pub worktree_name: String,
    /// The folder.
    pub path: String,
    /// The agent that owns it.
    pub agent_id: Option<String>,
    /// Whether the last status saw uncommitted changes.
    pub has_uncommitted_changes: bool,
    /// How many files the last status saw changed.
    pub uncommitted_files_count: i32,
    /// Commits ahead of trunk at the last status.
    pub ahead_of_trunk: i32,
    /// Commits behind trunk at the last status.
    pub behind_trunk: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its branch was found merged (set on removal).
    pub merged_at: Option<DateTime<Utc>>,
    /// Whether the worktree exists (false once removed).
    pub active: bool,
    /// Free-form metadata (a review's PR title, author and URL).
    pub metadata: serde_json::Value,
}

/// What [`insert_worktree`] stores.
#[derive(Clone, Debug)]
pub struct NewWorktree {
    /// The project's UUID.
    pub project_id: String,
    /// The worktree type's row id.
    pub type_id: i64,
    /// The user's name.
    pub name: String,
    /// The branch.
    pub branch_name: String,
    /// The folder name.
    pub worktree_name: String,
    /// The folder.
    pub path: String,
    /// The owning agent.
    pub agent_id: Option<String>,
    /// Metadata.
    pub metadata: serde_json::Value,
}

/// A recorded agent activity (a file change, or one of iMi's own operations).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivityRow {
    /// UUID.
    pub id: String,
    /// Who did it.
    pub agent_id: String,
    /// In which worktree.
    pub worktree_id: String,
    /// `created`, `removed`, `claimed`, `file_modified`, ...
    pub activity_type: String,
    /// The file, for file events.
    pub file_path: Option<String>,
    /// A human-readable description.
    pub description: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const PROJECT_COLUMNS: &str = "id, name, remote_origin, default_branch, trunk_path, created_at";

fn project_from(row: &Row) -> Result<ProjectRow, QueryError> {
    Ok(ProjectRow {
        id: row.get("id")?,
        name: row.get("name")?,
        remote_origin: row.get("remote_origin")?,
        default_branch: row.get("default_branch")?,
        trunk_path: row.get("trunk_path")?,
        created_at: row.get("created_at")?,
    })
}

const WORKTREE_COLUMNS: &str = "w.id, w.project_id, t.name AS type_name, w.name, w.branch_name, \
     w.worktree_name, w.path, w.agent_id, w.has_uncommitted_changes, w.uncommitted_files_count, \
     w.ahead_of_trunk, w.behind_trunk, w.created_at, w.merged_at, w.active, w.metadata";

fn worktree_from(row: &Row) -> Result<WorktreeRow, QueryError> {
    Ok(WorktreeRow {
        id: row.get("id")?,
        project_id: row.get("project_id")?,
        type_name: row.get("type_name")?,
        name: row.get("name")?,
        branch_name: row.get("branch_name")?,
        worktree_name: row.get("worktree_name")?,
        path: row.get("path")?,
        agent_id: row.get("agent_id")?,
        has_uncommitted_changes: row.get("has_uncommitted_changes")?,
        uncommitted_files_count: row.get("uncommitted_files_count")?,
        ahead_of_trunk: row.get("ahead_of_trunk")?,
        behind_trunk: row.get("behind_trunk")?,
        created_at: row.get("created_at")?,
        merged_at: row.get("merged_at")?,
        active: row.get("active")?,
        metadata: row.get("metadata")?,
    })
}

/// Returns the project named `name`.
pub async fn find_project(
    mut conn: Conn<'_>,
    name: &str,
) -> Result<Option<ProjectRow>, store::Error> {
    // Owner and name: a BYPASSRLS role sees every user's project of this name.
    let sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE name = $1 AND {}",
        store::is_mine(&conn)
    );
    conn.fetch_optional(&sql, params![name])
        .await
        .and_then(|r| r.as_ref().map(project_from).transpose())
        .map_err(query_error("imi_find_project"))
}

/// Inserts the project, or updates the one of the same name; returns the stored row.
pub async fn upsert_project(
    mut conn: Conn<'_>,
    new: &NewProject,
) -> Result<ProjectRow, store::Error> {
    let now = Utc::now();
    let sql = "INSERT INTO projects (id, name, remote_origin, default_branch, trunk_path, created_at, updated_at, active) \
               VALUES ($1, $2, $3, $4, $5, $6, $6, TRUE) \
               ON CONFLICT (owner, name) DO UPDATE SET remote_origin = excluded.remote_origin, \
               default_branch = excluded.default_branch, trunk_path = excluded.trunk_path, \
               updated_at = excluded.updated_at, active = TRUE";
    let id = uuid::Uuid::new_v4().to_string();
    conn.execute(
        sql,
        params![
            id,
            new.name,
            new.remote_origin,
            new.default_branch,
            new.trunk_path,
            now
        ],
    )
    .await
    .map_err(query_error("imi_upsert_project"))?;
    let found = find_project(conn, &new.name).await?;
    found.ok_or_else(|| store::Error::query("imi_upsert_project", QueryError::RowNotFound))
}

/// Inserts a worktree row; returns it.
pub async fn insert_worktree(
    mut conn: Conn<'_>,
    new: &NewWorktree,
) -> Result<WorktreeRow, store::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = Utc::now();
    let sql = "INSERT INTO worktrees (id, project_id, type_id, name, branch_name, worktree_name, path, agent_id, created_at, updated_at, metadata) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)";
    let n = new;
    let params = params![
        id,
        n.project_id,
        n.type_id,
        n.name,
        n.branch_name,
        n.worktree_name,
        n.path,
        n.agent_id,
        now,
        n.metadata
    ];
    match conn.execute(sql, params).await {
        Err(e) if e.is_unique_violation() => {
            return Err(store::Error::AlreadyExists {
                what: "worktree",
                name: new.worktree_name.clone(),
            })
        }
        inserted => inserted.map_err(query_error("imi_insert_worktree"))?,
    };
    get_worktree(conn, &id)
        .await?
        .ok_or_else(|| store::Error::query("imi_insert_worktree", QueryError::RowNotFound))
}

/// Returns the worktree row with `id`.
pub async fn get_worktree(
    mut conn: Conn<'_>,
    id: &str,
) -> Result<Option<WorktreeRow>, store::Error> {
    let sql = format!(
        "SELECT {WORKTREE_COLUMNS} FROM worktrees w JOIN worktree_types t ON t.id = w.type_id WHERE w.id = $1"
    );
    conn.fetch_optional(&sql, params![id])
        .await
        .and_then(|r| r.as_ref().map(worktree_from).transpose())
        .map_err(query_error("imi_get_worktree"))
}

/// Returns the project's worktrees (only live ones when `active_only`), oldest first.
pub async fn list_worktrees(
    mut conn: Conn<'_>,
    project_id: &str,
    active_only: bool,
) -> Result<Vec<WorktreeRow>, store::Error> {
    // The rows come back as one JSON array built by the database: one value to decode instead
    // of a thousand rows of sixteen columns (with sqlx's SQLite driver, which handed rows over
    // one at a time, a thousand rows had cost more than the process).
    let filter = if active_only {
        "AND w.active = TRUE"
    } else {
        ""
    };
    let from = format!(
        "FROM worktrees w JOIN worktree_types t ON t.id = w.type_id WHERE w.project_id = $1 {filter}"
    );
    let sql = match conn.backend() {
        Backend::Postgres => {
            format!(
                "SELECT json_agg(json_build_object(\
                 'id', w.id, 'project_id', w.project_id, 'type', t.name, 'name', w.name, \
                 'branch', w.branch_name, 'worktree_name', w.worktree_name, 'path', w.path, \
                 'agent_id', w.agent_id, 'has_uncommitted_changes', w.has_uncommitted_changes, \
                 'uncommitted_files_count', w.uncommitted_files_count, \
                 'ahead_of_trunk', w.ahead_of_trunk, 'behind_trunk', w.behind_trunk, \
                 'created_at', w.created_at, 'merged_at', w.merged_at, 'active', w.active, \
                 'metadata', w.metadata) ORDER BY w.created_at, w.worktree_name)::text {from}"
            )
        }
        Backend::Sqlite => {
            let bool_json =
                |col: &str| format!("CASE WHEN {col} THEN json('true') ELSE json('false') END");
            format!(
                "SELECT json_group_array(json(j)) FROM (SELECT json_object(\
                 'id', w.id, 'project_id', w.project_id, 'type', t.name, 'name', w.name, \
                 'branch', w.branch_name, 'worktree_name', w.worktree_name, 'path', w.path, \
                 'agent_id', w.agent_id, 'has_uncommitted_changes', {}, \
                 'uncommitted_files_count', w.uncommitted_files_count, \
                 'ahead_of_trunk', w.ahead_of_trunk, 'behind_trunk', w.behind_trunk, \
                 'created_at', w.created_at, 'merged_at', w.merged_at, 'active', {}, \
                 'metadata', json(w.metadata)) AS j {from} ORDER BY w.created_at, w.worktree_name)",
                bool_json("w.has_uncommitted_changes"),
                bool_json("w.active"),
            )
        }
    };
    let text: Option<String> = conn
        .fetch_scalar(&sql, params![project_id])
        .await
        .map_err(query_error("imi_list_worktrees"))?;
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            let reason = e.to_string();
            store::Error::query(
                "imi_list_worktrees",
                QueryError::Decode {
                    column: "worktrees".to_owned(),
                    reason,
                },
            )
        }),
    }
}

/// Returns the live worktree of the project with folder name `worktree_name`.
pub async fn find_active_worktree(
    mut conn: Conn<'_>,
    project_id: &str,
    worktree_name: &str,
) -> Result<Option<WorktreeRow>, store::Error> {
    let sql = format!(
        "SELECT {WORKTREE_COLUMNS} FROM worktrees w JOIN worktree_types t ON t.id = w.type_id \
         WHERE w.project_id = $1 AND w.worktree_name = $2 AND w.active = TRUE"
    );
    conn.fetch_optional(&sql, params![project_id, worktree_name])
        .await
        .and_then(|r| r.as_ref().map(worktree_from).transpose())
        .map_err(query_error("imi_find_active_worktree"))
}

/// Marks a worktree removed, keeping the row as history; its folder name gets `#<id>` appended
/// so that a new worktree may take the name (the schema keeps worktree names unique per project).
pub async fn archive_worktree(
    mut conn: Conn<'_>,
    id: &str,
    merged_at: Option<DateTime<Utc>>,
    merge_commit_hash: Option<&str>,
) -> Result<(), store::Error> {
    let sql = "UPDATE worktrees SET active = FALSE, worktree_name = worktree_name || '#' || id, \
               merged_at = $2, merge_commit_hash = $3, updated_at = $4 WHERE id = $1 AND active = TRUE";
    conn.execute(sql, params![id, merged_at, merge_commit_hash, Utc::now()])
        .await
        .map(drop)
        .map_err(query_error("imi_archive_worktree"))
}

/// Sets the agent that owns a worktree.
pub async fn set_agent(mut conn: Conn<'_>, id: &str, agent_id: &str) -> Result<(), store::Error> {
    let sql = "UPDATE worktrees SET agent_id = $2, updated_at = $3 WHERE id = $1";
    conn.execute(sql, params![id, agent_id, Utc::now()])
        .await
        .map(drop)
        .map_err(query_error("imi_set_agent"))
}

/// What `iMi status` saw in a worktree, cached for `iMi list`.
#[derive(Clone, Debug, Default)]
pub struct StatusUpdate {
    /// Changed files.
    pub dirty_files: i32,
    /// Commits ahead of trunk.
    pub ahead_of_trunk: i32,
    /// Commits behind trunk.
    pub behind_trunk: i32,
    /// The tip commit.
    pub last_commit_hash: Option<String>,
    /// The tip's subject.
    pub last_commit_message: Option<String>,
}

/// Stores what the last status saw in worktree `id`.
pub async fn update_status(
    mut conn: Conn<'_>,
    id: &str,
    s: &StatusUpdate,
) -> Result<(), store::Error> {
    let sql = "UPDATE worktrees SET has_uncommitted_changes = $2, uncommitted_files_count = $3, \
               ahead_of_trunk = $4, behind_trunk = $5, last_commit_hash = $6, last_commit_message = $7, \
               last_sync_at = $8 WHERE id = $1";
    let params = params![
        id,
        s.dirty_files > 0,
        s.dirty_files,
        s.ahead_of_trunk,
        s.behind_trunk,
        s.last_commit_hash,
        s.last_commit_message,
        Utc::now()
    ];
    conn.execute(sql, params)
        .await
        .map(drop)
        .map_err(query_error("imi_update_status"))
}

/// Records an activity in worktree `worktree_id`.
pub async fn insert_activity(
    mut conn: Conn<'_>,
    agent_id: &str,
    worktree_id: &str,
    activity_type: &str,
    file_path: Option<&str>,
    description: &str,
) -> Result<(), store::Error> {
    let sql = "INSERT INTO agent_activities (id, agent_id, worktree_id, activity_type, file_path, description, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let id = uuid::Uuid::new_v4().to_string();
    let params = params![
        id,
        agent_id,
        worktree_id,
        activity_type,
        file_path,
        description,
        Utc::now()
    ];
    conn.execute(sql, params)
        .await
        .map(drop)
        .map_err(query_error("imi_insert_activity"))
}

/// Returns a worktree's activities, oldest first.
pub async fn list_activities(
    mut conn: Conn<'_>,
    worktree_id: &str,
) -> Result<Vec<ActivityRow>, store::Error> {
    let sql =
        "SELECT id, agent_id, worktree_id, activity_type, file_path, description, created_at \
               FROM agent_activities WHERE worktree_id = $1 ORDER BY created_at, id";
    let activity = |row: &Row| {
        Ok(ActivityRow {
            id: row.get(0)?,
            agent_id: row.get(1)?,
            worktree_id: row.get(2)?,
            activity_type: row.get(3)?,
            file_path: row.get(4)?,
            description: row.get(5)?,
            created_at: row.get(6)?,
        })
    };
    conn.fetch_all(sql, params![worktree_id])
        .await
        .and_then(|rows| rows.iter().map(activity).collect())
        .map_err(query_error("imi_list_activities"))
}
