//! iMi's queries on the shared schema (`projects`, `worktrees`, `agent_activities`), written once for PostgreSQL and SQLite.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use store::Conn;

/// Runs `$body` with `$c` bound to the engine-specific connection; the body must suit both engines.
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            Conn::Postgres($c) => $body,
            Conn::Sqlite($c) => $body,
        }
    };
}

fn query_error(op: &'static str) -> impl FnOnce(sqlx::Error) -> store::Error {
    move |source| store::Error::Query { op, source }
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

fn project_from<R>(row: &R) -> Result<ProjectRow, sqlx::Error>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ProjectRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        remote_origin: row.try_get("remote_origin")?,
        default_branch: row.try_get("default_branch")?,
        trunk_path: row.try_get("trunk_path")?,
        created_at: row.try_get("created_at")?,
    })
}

const WORKTREE_COLUMNS: &str = "w.id, w.project_id, t.name AS type_name, w.name, w.branch_name, \
     w.worktree_name, w.path, w.agent_id, w.has_uncommitted_changes, w.uncommitted_files_count, \
     w.ahead_of_trunk, w.behind_trunk, w.created_at, w.merged_at, w.active, w.metadata";

fn worktree_from<R>(row: &R) -> Result<WorktreeRow, sqlx::Error>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i32: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Json<serde_json::Value>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let metadata: Json<serde_json::Value> = row.try_get("metadata")?;
    Ok(WorktreeRow {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        type_name: row.try_get("type_name")?,
        name: row.try_get("name")?,
        branch_name: row.try_get("branch_name")?,
        worktree_name: row.try_get("worktree_name")?,
        path: row.try_get("path")?,
        agent_id: row.try_get("agent_id")?,
        has_uncommitted_changes: row.try_get("has_uncommitted_changes")?,
        uncommitted_files_count: row.try_get("uncommitted_files_count")?,
        ahead_of_trunk: row.try_get("ahead_of_trunk")?,
        behind_trunk: row.try_get("behind_trunk")?,
        created_at: row.try_get("created_at")?,
        merged_at: row.try_get("merged_at")?,
        active: row.try_get("active")?,
        metadata: metadata.0,
    })
}

/// Returns the project named `name`.
pub async fn find_project(conn: Conn<'_>, name: &str) -> Result<Option<ProjectRow>, store::Error> {
    // Owner and name: a BYPASSRLS role sees every user's project of this name.
    let sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE name = $1 AND {}",
        store::is_mine(&conn)
    );
    with_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&mut *c)
            .await
            .and_then(|r| r.as_ref().map(project_from).transpose())
    })
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
    with_conn!(&mut conn, |c| {
        sqlx::query(sql)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&new.name)
            .bind(&new.remote_origin)
            .bind(&new.default_branch)
            .bind(&new.trunk_path)
            .bind(now)
            .execute(&mut **c)
            .await
            .map(|_| ())
    })
    .map_err(query_error("imi_upsert_project"))?;
    let found = find_project(conn, &new.name).await?;
    found.ok_or_else(|| store::Error::Query {
        op: "imi_upsert_project",
        source: sqlx::Error::RowNotFound,
    })
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
    let inserted = with_conn!(&mut conn, |c| {
        sqlx::query(sql)
            .bind(&id)
            .bind(&new.project_id)
            .bind(new.type_id)
            .bind(&new.name)
            .bind(&new.branch_name)
            .bind(&new.worktree_name)
            .bind(&new.path)
            .bind(&new.agent_id)
            .bind(now)
            .bind(Json(&new.metadata))
            .execute(&mut **c)
            .await
            .map(|_| ())
    });
    if let Err(sqlx::Error::Database(e)) = &inserted {
        if e.is_unique_violation() {
            return Err(store::Error::AlreadyExists {
                what: "worktree",
                name: new.worktree_name.clone(),
            });
        }
    }
    inserted.map_err(query_error("imi_insert_worktree"))?;
    get_worktree(conn, &id)
        .await?
        .ok_or_else(|| store::Error::Query {
            op: "imi_insert_worktree",
            source: sqlx::Error::RowNotFound,
        })
}

/// Returns the worktree row with `id`.
pub async fn get_worktree(conn: Conn<'_>, id: &str) -> Result<Option<WorktreeRow>, store::Error> {
    let sql = format!(
        "SELECT {WORKTREE_COLUMNS} FROM worktrees w JOIN worktree_types t ON t.id = w.type_id WHERE w.id = $1"
    );
    with_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *c)
            .await
            .and_then(|r| r.as_ref().map(worktree_from).transpose())
    })
    .map_err(query_error("imi_get_worktree"))
}

/// Returns the project's worktrees (only live ones when `active_only`), oldest first.
pub async fn list_worktrees(
    conn: Conn<'_>,
    project_id: &str,
    active_only: bool,
) -> Result<Vec<WorktreeRow>, store::Error> {
    // The rows come back as one JSON array built by the database: sqlx hands SQLite rows from
    // its worker thread one at a time, which made a thousand rows cost more than the process.
    let filter = if active_only {
        "AND w.active = TRUE"
    } else {
        ""
    };
    let from = format!(
        "FROM worktrees w JOIN worktree_types t ON t.id = w.type_id WHERE w.project_id = $1 {filter}"
    );
    let text: Option<String> = match conn {
        Conn::Postgres(c) => {
            let sql = format!(
                "SELECT json_agg(json_build_object(\
                 'id', w.id, 'project_id', w.project_id, 'type', t.name, 'name', w.name, \
                 'branch', w.branch_name, 'worktree_name', w.worktree_name, 'path', w.path, \
                 'agent_id', w.agent_id, 'has_uncommitted_changes', w.has_uncommitted_changes, \
                 'uncommitted_files_count', w.uncommitted_files_count, \
                 'ahead_of_trunk', w.ahead_of_trunk, 'behind_trunk', w.behind_trunk, \
                 'created_at', w.created_at, 'merged_at', w.merged_at, 'active', w.active, \
                 'metadata', w.metadata) ORDER BY w.created_at, w.worktree_name)::text {from}"
            );
            sqlx::query_scalar(&sql)
                .bind(project_id)
                .fetch_one(&mut *c)
                .await
        }
        Conn::Sqlite(c) => {
            let bool_json =
                |col: &str| format!("CASE WHEN {col} THEN json('true') ELSE json('false') END");
            let sql = format!(
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
            );
            sqlx::query_scalar(&sql)
                .bind(project_id)
                .fetch_one(&mut *c)
                .await
        }
    }
    .map_err(query_error("imi_list_worktrees"))?;
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| store::Error::Query {
            op: "imi_list_worktrees",
            source: sqlx::Error::Decode(Box::new(e)),
        }),
    }
}

/// Returns the live worktree of the project with folder name `worktree_name`.
pub async fn find_active_worktree(
    conn: Conn<'_>,
    project_id: &str,
    worktree_name: &str,
) -> Result<Option<WorktreeRow>, store::Error> {
    let sql = format!(
        "SELECT {WORKTREE_COLUMNS} FROM worktrees w JOIN worktree_types t ON t.id = w.type_id \
         WHERE w.project_id = $1 AND w.worktree_name = $2 AND w.active = TRUE"
    );
    with_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(project_id)
            .bind(worktree_name)
            .fetch_optional(&mut *c)
            .await
            .and_then(|r| r.as_ref().map(worktree_from).transpose())
    })
    .map_err(query_error("imi_find_active_worktree"))
}

/// Marks a worktree removed, keeping the row as history; its folder name gets `#<id>` appended
/// so that a new worktree may take the name (the schema keeps worktree names unique per project).
pub async fn archive_worktree(
    conn: Conn<'_>,
    id: &str,
    merged_at: Option<DateTime<Utc>>,
    merge_commit_hash: Option<&str>,
) -> Result<(), store::Error> {
    let sql = "UPDATE worktrees SET active = FALSE, worktree_name = worktree_name || '#' || id, \
               merged_at = $2, merge_commit_hash = $3, updated_at = $4 WHERE id = $1 AND active = TRUE";
    with_conn!(conn, |c| {
        sqlx::query(sql)
            .bind(id)
            .bind(merged_at)
            .bind(merge_commit_hash)
            .bind(Utc::now())
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
    .map_err(query_error("imi_archive_worktree"))
}

/// Sets the agent that owns a worktree.
pub async fn set_agent(conn: Conn<'_>, id: &str, agent_id: &str) -> Result<(), store::Error> {
    let sql = "UPDATE worktrees SET agent_id = $2, updated_at = $3 WHERE id = $1";
    with_conn!(conn, |c| {
        sqlx::query(sql)
            .bind(id)
            .bind(agent_id)
            .bind(Utc::now())
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
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
pub async fn update_status(conn: Conn<'_>, id: &str, s: &StatusUpdate) -> Result<(), store::Error> {
    let sql = "UPDATE worktrees SET has_uncommitted_changes = $2, uncommitted_files_count = $3, \
               ahead_of_trunk = $4, behind_trunk = $5, last_commit_hash = $6, last_commit_message = $7, \
               last_sync_at = $8 WHERE id = $1";
    with_conn!(conn, |c| {
        sqlx::query(sql)
            .bind(id)
            .bind(s.dirty_files > 0)
            .bind(s.dirty_files)
            .bind(s.ahead_of_trunk)
            .bind(s.behind_trunk)
            .bind(&s.last_commit_hash)
            .bind(&s.last_commit_message)
            .bind(Utc::now())
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
    .map_err(query_error("imi_update_status"))
}

/// Records an activity in worktree `worktree_id`.
pub async fn insert_activity(
    conn: Conn<'_>,
    agent_id: &str,
    worktree_id: &str,
    activity_type: &str,
    file_path: Option<&str>,
    description: &str,
) -> Result<(), store::Error> {
    let sql = "INSERT INTO agent_activities (id, agent_id, worktree_id, activity_type, file_path, description, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_conn!(conn, |c| {
        sqlx::query(sql)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(agent_id)
            .bind(worktree_id)
            .bind(activity_type)
            .bind(file_path)
            .bind(description)
            .bind(Utc::now())
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
    .map_err(query_error("imi_insert_activity"))
}

/// Returns a worktree's activities, oldest first.
pub async fn list_activities(
    conn: Conn<'_>,
    worktree_id: &str,
) -> Result<Vec<ActivityRow>, store::Error> {
    let sql =
        "SELECT id, agent_id, worktree_id, activity_type, file_path, description, created_at \
               FROM agent_activities WHERE worktree_id = $1 ORDER BY created_at, id";
    with_conn!(conn, |c| {
        sqlx::query_as::<
            _,
            (
                String,
                String,
                String,
                String,
                Option<String>,
                String,
                DateTime<Utc>,
            ),
        >(sql)
        .bind(worktree_id)
        .fetch_all(&mut *c)
        .await
    })
    .map(|rows| {
        rows.into_iter()
            .map(
                |(id, agent_id, worktree_id, activity_type, file_path, description, created_at)| {
                    ActivityRow {
                        id,
                        agent_id,
                        worktree_id,
                        activity_type,
                        file_path,
                        description,
                        created_at,
                    }
                },
            )
            .collect()
    })
    .map_err(query_error("imi_list_activities"))
}
