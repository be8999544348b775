//! The store's contract: every test here runs once against PostgreSQL and once against SQLite.

use chrono::{Duration, Utc};
use store::{Backend, Database, Error, NewOutboxEvent, NewWorktreeType, OpenError, TrimPolicy};

use crate::fixture::{exec, scalar, Fixture};

on_both_engines!(
    migrations_create_the_schema_and_rerun_cleanly,
    a_newer_schema_is_refused,
    builtin_worktree_types_are_seeded,
    worktree_types_are_validated_and_unique,
    outbox_append_follows_its_transaction,
    outbox_pending_mark_and_trim,
    outbox_event_ids_are_unique,
    perth_tables_cascade_from_sessions,
);

const TABLES: &[&str] = &[
    "projects",
    "worktree_types",
    "worktrees",
    "agent_activities",
    "sessions",
    "tabs",
    "panes",
    "layouts",
    "outbox",
];

fn event(n: usize) -> NewOutboxEvent {
    NewOutboxEvent {
        event_id: format!("00000000-0000-4000-8000-{n:012}"),
        source: "perth://test/store".to_owned(),
        event_type: "workspace.test.happened".to_owned(),
        subject: Some(format!("thing-{n}")),
        payload: format!(r#"{{"n":{n}}}"#),
        created_at: Utc::now(),
    }
}

async fn outbox_ids(db: &Database) -> Vec<(i64, Option<chrono::DateTime<Utc>>)> {
    let mut conn = db.acquire().await.unwrap();
    store::outbox::all(conn.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.published_at))
        .collect()
}

async fn migrations_create_the_schema_and_rerun_cleanly(f: Fixture) {
    let latest = store::latest_known_version();
    assert_eq!(f.db.schema_version().await.unwrap(), Some(latest));
    {
        let mut conn = f.db.acquire().await.unwrap();
        for table in TABLES {
            let n = scalar(conn.conn(), &format!("SELECT COUNT(*) FROM {table}")).await;
            let expected = if *table == "worktree_types" { 5 } else { 0 };
            assert_eq!(n, expected, "rows in {table}");
        }
    }
    f.db.close().await;

    // Opening again runs the migrator again: nothing changes, nothing is seeded twice.
    for _ in 0..2 {
        let again = Database::open(&f.url).await.expect("re-opening");
        assert_eq!(again.schema_version().await.unwrap(), Some(latest));
        assert_eq!(again.list_worktree_types().await.unwrap().len(), 5);
        let mut conn = again.acquire().await.unwrap();
        let applied = scalar(conn.conn(), "SELECT COUNT(*) FROM _sqlx_migrations").await;
        assert_eq!(applied, latest);
        drop(conn);
        again.close().await;
    }
}

async fn a_newer_schema_is_refused(f: Fixture) {
    let future = store::latest_known_version() + 41;
    {
        let mut conn = f.db.acquire().await.unwrap();
        let sql = format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ({future}, 'from the future', TRUE, X'00', 0)"
        );
        let sql = match conn.conn().backend() {
            // PostgreSQL spells a bytea literal differently.
            Backend::Postgres => sql.replace("X'00'", "'\\x00'::bytea"),
            Backend::Sqlite => sql,
        };
        exec(conn.conn(), &sql).await;
    }
    f.db.close().await;

    let err = Database::open(&f.url).await.unwrap_err();
    assert!(
        matches!(err, OpenError::SchemaTooNew { found, supported }
            if found == future && supported == store::latest_known_version()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "database schema version {future} is newer than this binary ({}); upgrade perth/iMi",
            store::latest_known_version()
        )
    );
}

async fn builtin_worktree_types_are_seeded(f: Fixture) {
    let types = f.db.list_worktree_types().await.unwrap();
    let seen: Vec<(&str, &str, &str, bool)> = types
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.branch_prefix.as_str(),
                t.worktree_prefix.as_str(),
                t.is_builtin,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("feat", "feat/", "feat-", true),
            ("fix", "fix/", "fix-", true),
            ("review", "pr/", "pr-", true),
            ("aiops", "aiops/", "aiops-", true),
            ("devops", "devops/", "devops-", true),
        ]
    );
    let age = Utc::now() - types[0].created_at;
    assert!(
        age > Duration::seconds(-5) && age < Duration::minutes(5),
        "{age}"
    );
}

async fn worktree_types_are_validated_and_unique(f: Fixture) {
    let added =
        f.db.add_worktree_type(&NewWorktreeType {
            name: "hotfix".to_owned(),
            description: Some("Production fixes".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            added.name.as_str(),
            added.branch_prefix.as_str(),
            added.worktree_prefix.as_str(),
            added.is_builtin
        ),
        ("hotfix", "hotfix/", "hotfix-", false)
    );
    let custom =
        f.db.add_worktree_type(&NewWorktreeType {
            name: "exp".to_owned(),
            branch_prefix: Some("experiments/".to_owned()),
            worktree_prefix: Some("x-".to_owned()),
            description: None,
        })
        .await
        .unwrap();
    assert_eq!(custom.branch_prefix, "experiments/");

    let dup =
        f.db.add_worktree_type(&NewWorktreeType {
            name: "feat".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(dup, Error::AlreadyExists { .. }), "{dup:?}");
    assert_eq!(dup.to_string(), "worktree type \"feat\" already exists");

    for bad in ["../x", "Feat", "a b", ""] {
        let err =
            f.db.add_worktree_type(&NewWorktreeType {
                name: bad.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidName(_)), "{bad:?}: {err:?}");
    }
    let bad_prefix =
        f.db.add_worktree_type(&NewWorktreeType {
            name: "ok".to_owned(),
            worktree_prefix: Some("../up-".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(bad_prefix, Error::InvalidName(_)),
        "{bad_prefix:?}"
    );

    let names: Vec<String> =
        f.db.list_worktree_types()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
    assert_eq!(
        names,
        ["feat", "fix", "review", "aiops", "devops", "hotfix", "exp"]
    );
}

async fn outbox_append_follows_its_transaction(f: Fixture) {
    // Rolled back: neither the change nor its event is stored.
    let mut tx = f.db.begin().await.unwrap();
    tx.add_worktree_type(&NewWorktreeType {
        name: "spike".to_owned(),
        ..Default::default()
    })
    .await
    .unwrap();
    tx.outbox_append(&event(1)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(f.db.outbox_pending_count().await.unwrap(), 0);
    assert!(!f
        .db
        .list_worktree_types()
        .await
        .unwrap()
        .iter()
        .any(|t| t.name == "spike"));

    // Dropped without commit: the same.
    {
        let mut tx = f.db.begin().await.unwrap();
        tx.outbox_append(&event(2)).await.unwrap();
    }
    assert_eq!(f.db.outbox_pending_count().await.unwrap(), 0);

    // Committed: both are stored.
    let mut tx = f.db.begin().await.unwrap();
    tx.add_worktree_type(&NewWorktreeType {
        name: "spike".to_owned(),
        ..Default::default()
    })
    .await
    .unwrap();
    let id = tx.outbox_append(&event(3)).await.unwrap();
    tx.commit().await.unwrap();
    let pending = f.db.outbox_pending(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    let row = &pending[0];
    let expected = event(3);
    assert_eq!(row.id, id);
    assert_eq!(row.event_id, expected.event_id);
    assert_eq!(row.source, expected.source);
    assert_eq!(row.event_type, expected.event_type);
    assert_eq!(row.subject, expected.subject);
    assert_eq!(row.payload, expected.payload);
    assert_eq!(row.published_at, None);
    assert_eq!((row.attempts, row.last_error.as_deref()), (0, None));
    assert!(f
        .db
        .list_worktree_types()
        .await
        .unwrap()
        .iter()
        .any(|t| t.name == "spike"));
}

async fn outbox_pending_mark_and_trim(f: Fixture) {
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(f.db.outbox_append(&event(n)).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let first3: Vec<i64> =
        f.db.outbox_pending(3)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
    assert_eq!(first3, ids[..3]);

    f.db.outbox_record_failure(ids[0], "broker down")
        .await
        .unwrap();
    f.db.outbox_record_failure(ids[0], &"x".repeat(10_000))
        .await
        .unwrap();
    let row = f.db.outbox_pending(1).await.unwrap().remove(0);
    assert_eq!(row.attempts, 2);
    assert_eq!(row.last_error.as_ref().map(String::len), Some(2000));

    assert_eq!(f.db.outbox_mark_published(&ids[..2]).await.unwrap(), 2);
    // Already published rows keep their first publication time.
    assert_eq!(f.db.outbox_mark_published(&ids[..1]).await.unwrap(), 0);
    assert_eq!(f.db.outbox_mark_published(&[]).await.unwrap(), 0);
    assert_eq!(f.db.outbox_pending_count().await.unwrap(), 3);
    let pending: Vec<i64> =
        f.db.outbox_pending(100)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
    assert_eq!(pending, ids[2..]);

    let all = outbox_ids(&f.db).await;
    assert!(all[0].1.is_some() && all[1].1.is_some() && all[2].1.is_none());

    // Keep the newest published row: the oldest goes.
    let trimmed =
        f.db.outbox_trim(&TrimPolicy {
            keep_last: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trimmed, 1);
    // Published before a time in the past: nothing goes.
    let trimmed =
        f.db.outbox_trim(&TrimPolicy {
            published_before: Some(Utc::now() - Duration::hours(1)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trimmed, 0);
    // Published before a time in the future: every published row goes, no unpublished one.
    let trimmed =
        f.db.outbox_trim(&TrimPolicy {
            published_before: Some(Utc::now() + Duration::seconds(5)),
            keep_last: Some(0),
        })
        .await
        .unwrap();
    assert_eq!(trimmed, 1);
    let left: Vec<i64> = outbox_ids(&f.db).await.into_iter().map(|r| r.0).collect();
    assert_eq!(left, ids[2..]);
}

async fn outbox_event_ids_are_unique(f: Fixture) {
    f.db.outbox_append(&event(7)).await.unwrap();
    let err = f.db.outbox_append(&event(7)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Query {
                op: "outbox_append",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(f.db.outbox_pending_count().await.unwrap(), 1);
}

async fn perth_tables_cascade_from_sessions(f: Fixture) {
    let mut conn = f.db.acquire().await.unwrap();
    exec(
        conn.conn(),
        "INSERT INTO sessions (id, name) VALUES ('s1', 'main \"quoted\" ✓'); \
         INSERT INTO tabs (id, session_id, name, position) VALUES ('t1', 's1', 'code', 0); \
         INSERT INTO panes (id, session_id, tab_id, pane_id, cols, rows, plugin_config) \
             VALUES ('p1', 's1', 't1', 1, 80, 24, '{\"a\": 1}'); \
         INSERT INTO layouts (id, name, kdl) VALUES ('l1', 'dev', 'layout { pane; }');",
    )
    .await;
    assert_eq!(scalar(conn.conn(), "SELECT COUNT(*) FROM panes").await, 1);
    // A pane must belong to an existing tab.
    let orphan = conn
        .conn()
        .execute_batch(
            "INSERT INTO panes (id, session_id, tab_id, pane_id) VALUES ('p2', 's1', 'nope', 2)",
        )
        .await;
    assert!(orphan.is_err(), "a pane without its tab was accepted");

    exec(conn.conn(), "DELETE FROM sessions WHERE id = 's1'").await;
    assert_eq!(scalar(conn.conn(), "SELECT COUNT(*) FROM tabs").await, 0);
    assert_eq!(scalar(conn.conn(), "SELECT COUNT(*) FROM panes").await, 0);
    assert_eq!(scalar(conn.conn(), "SELECT COUNT(*) FROM layouts").await, 1);
}
