//! iMi's queries and the engine's database effects, run against PostgreSQL and SQLite alike.

use imi::db::{self, NewProject, NewWorktree};
use imi::{AddRequest, DbState, Engine, EngineConfig, RemoveRequest};
use store::Database;

use crate::support::Sandbox;

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = crate::support::postgres_url(stringify!($name)) else { return };
                    let db = store::Database::open(&url).await.expect("opening PostgreSQL");
                    super::$name(db).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let db = store::Database::open(&dir.path().join("imi.db").display().to_string())
                        .await
                        .expect("opening SQLite");
                    super::$name(db).await;
                    drop(dir);
                }
            )*
        }
    };
}

contract!(
    projects_upsert_by_name,
    worktree_names_are_unique_until_archived,
    engine_writes_rows_activities_and_events_together,
);

fn new_project(name: &str) -> NewProject {
    NewProject {
        name: name.into(),
        remote_origin: Some("https://example.com/o/r.git".into()),
        default_branch: "main".into(),
        trunk_path: format!("/p/{name}/trunk-main"),
    }
}

async fn projects_upsert_by_name(db: Database) {
    let mut c = db.acquire().await.unwrap();
    let a = db::upsert_project(c.conn(), &new_project("alpha"))
        .await
        .unwrap();
    let mut moved = new_project("alpha");
    moved.trunk_path = "/elsewhere/alpha/trunk-main".into();
    let b = db::upsert_project(c.conn(), &moved).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(b.trunk_path, "/elsewhere/alpha/trunk-main");
    assert!(db::find_project(c.conn(), "beta").await.unwrap().is_none());
}

async fn worktree_names_are_unique_until_archived(db: Database) {
    let mut c = db.acquire().await.unwrap();
    let p = db::upsert_project(c.conn(), &new_project("gamma"))
        .await
        .unwrap();
    let types = db.list_worktree_types().await.unwrap();
    let feat = types.iter().find(|t| t.name == "feat").unwrap();
    let new = NewWorktree {
        project_id: p.id.clone(),
        type_id: feat.id,
        name: "x".into(),
        branch_name: "feat/x".into(),
        worktree_name: "feat-x".into(),
        path: "/p/gamma/feat-x".into(),
        agent_id: Some("claude".into()),
        metadata: serde_json::json!({"pr_number": 3}),
    };
    let row = db::insert_worktree(c.conn(), &new).await.unwrap();
    assert_eq!(row.type_name, "feat");
    assert_eq!(row.metadata["pr_number"], 3);
    assert!(row.active);
    let dup = db::insert_worktree(c.conn(), &new).await.unwrap_err();
    assert!(matches!(dup, store::Error::AlreadyExists { .. }), "{dup}");
    db::archive_worktree(c.conn(), &row.id, Some(chrono::Utc::now()), Some("abc"))
        .await
        .unwrap();
    assert!(db::list_worktrees(c.conn(), &p.id, true)
        .await
        .unwrap()
        .is_empty());
    let again = db::insert_worktree(c.conn(), &new).await.unwrap();
    let all = db::list_worktrees(c.conn(), &p.id, false).await.unwrap();
    assert_eq!(all.len(), 2);
    let old = all.iter().find(|w| w.id == row.id).unwrap();
    assert!(!old.active && old.merged_at.is_some());
    assert_eq!(old.worktree_name, format!("feat-x#{}", row.id));
    assert_eq!(
        db::find_active_worktree(c.conn(), &p.id, "feat-x")
            .await
            .unwrap()
            .unwrap()
            .id,
        again.id
    );
}

async fn engine_writes_rows_activities_and_events_together(db: Database) {
    let sb = Sandbox::new();
    sb.project_from_origin();
    let engine = Engine::new(
        imi::git::Git::default(),
        DbState::Open(db.clone()),
        EngineConfig::new("perth://test/iMi"),
    );
    let added = engine
        .add(&AddRequest {
            cwd: sb.trunk(),
            kind: "devops".into(),
            name: "deploy".into(),
            from: None,
            agent: Some("agent-7".into()),
            no_setup: false,
        })
        .await
        .unwrap();
    assert!(added.db.database_updated, "{:?}", added.db);
    let id = added.worktree.id.clone().unwrap();
    let mut c = db.acquire().await.unwrap();
    let activities = db::list_activities(c.conn(), &id).await.unwrap();
    assert_eq!(activities.len(), 1);
    assert_eq!(activities[0].activity_type, "worktree_created");
    assert_eq!(activities[0].agent_id, "agent-7");
    engine
        .remove(&RemoveRequest {
            cwd: sb.trunk(),
            name: "deploy".into(),
            ..RemoveRequest::default()
        })
        .await
        .unwrap();
    let activities = db::list_activities(c.conn(), &id).await.unwrap();
    assert_eq!(activities.len(), 2);
    let events = store::outbox::all(c.conn()).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "workspace.project.registered",
            "workspace.worktree.created",
            "workspace.worktree.removed"
        ]
    );
    let created: bloodbank::Event = serde_json::from_str(&events[1].payload).unwrap();
    assert_eq!(created.source, "perth://test/iMi");
    assert_eq!(created.subject.as_deref(), Some("devops-deploy"));
    assert_eq!(created.data["branch"], "devops/deploy");
    assert_eq!(created.data["agent_id"], "agent-7");
    let row = db::get_worktree(c.conn(), &id).await.unwrap().unwrap();
    assert!(!row.active);
}
