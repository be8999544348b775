//! perth's saved sessions (`store::perth_sessions`), once against PostgreSQL and once against
//! SQLite: write-behind upserts, two sessions in one database, names that must round-trip,
//! hand-edited rows read back as stored, layout templates, and migrating a version-1 database.

use std::collections::HashSet;

use chrono::Utc;
use store::perth_sessions::{self, PaneSnapshot, RowSelection, SessionSnapshot, TabSnapshot};
use store::Database;

use crate::fixture::{exec, scalar, Fixture};

on_both_engines!(
    save_load_and_upsert_only_changes,
    two_sessions_keep_their_rows_apart,
    session_names_round_trip,
    hand_edited_rows_read_back_as_stored,
    layouts_save_replace_and_list,
    delete_removes_the_session_and_its_rows,
);

fn snapshot(name: &str, tabs: usize, panes_per_tab: usize) -> SessionSnapshot {
    let mut s = SessionSnapshot {
        name: name.to_string(),
        layout: Some("cwd \"/home/me\"".into()),
        ..Default::default()
    };
    let mut id = 0;
    for t in 0..tabs {
        s.tabs.push(TabSnapshot {
            key: t.to_string(),
            name: format!("tab {t}"),
            position: t as i32,
            layout: Some(format!("tab name=\"tab {t}\" {{\n pane\n}}")),
            is_active: t == 0,
        });
        for p in 0..panes_per_tab {
            id += 1;
            s.panes.push(PaneSnapshot {
                tab_key: t.to_string(),
                pane_id: id,
                kind: "terminal".into(),
                x: 0,
                y: (p * 10) as i32,
                cols: 80,
                rows: 10,
                cwd: Some(format!("/src/{id}")),
                command: (p == 1).then(|| "cargo test".to_string()),
                title: Some(format!("pane {id}")),
                ..Default::default()
            });
        }
    }
    s
}

async fn save(db: &Database, s: &SessionSnapshot, sel: &RowSelection) -> perth_sessions::SaveStats {
    let mut tx = db.begin().await.unwrap();
    let stats = perth_sessions::save_session(tx.conn(), s, sel, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    stats
}

async fn load(db: &Database, name: &str) -> Option<perth_sessions::StoredSession> {
    let mut conn = db.acquire().await.unwrap();
    perth_sessions::load_session(conn.conn(), name)
        .await
        .unwrap()
}

async fn save_load_and_upsert_only_changes(f: Fixture) {
    let mut s = snapshot("work", 3, 4);
    s.panes.push(PaneSnapshot {
        tab_key: "0".into(),
        pane_id: 1,
        kind: "plugin".into(),
        rows: 1,
        plugin_url: Some("zellij:tab-bar".into()),
        plugin_config: Some(r#"{"a":"b"}"#.into()),
        ..Default::default()
    });
    let stats = save(&f.db, &s, &RowSelection::All).await;
    assert_eq!((stats.tabs_written, stats.panes_written), (3, 13));
    let stored = load(&f.db, "work").await.unwrap();
    assert_eq!(stored.tabs.len(), 3);
    assert_eq!(stored.tabs[1].name, "tab 1");
    assert!(stored.tabs[0].is_active);
    assert_eq!(stored.panes.len(), 13);
    assert_eq!(stored.layout.as_deref(), Some("cwd \"/home/me\""));
    assert!(stored.saved_at.is_some());
    let plugin = stored.panes.iter().find(|p| p.kind == "plugin").unwrap();
    assert_eq!(plugin.plugin_url.as_deref(), Some("zellij:tab-bar"));
    let config: serde_json::Value =
        serde_json::from_str(plugin.plugin_config.as_deref().unwrap()).unwrap();
    assert_eq!(config["a"], "b");
    assert!(stored
        .panes
        .iter()
        .any(|p| p.command.as_deref() == Some("cargo test")));

    // One pane changed, one closed: only the changed row is written, the closed one deleted.
    let mut next = s.clone();
    next.panes[5].title = Some("renamed".into());
    next.panes.remove(7);
    let sel = RowSelection::Only {
        tabs: HashSet::new(),
        panes: HashSet::from([next.panes[5].key()]),
    };
    let stats = save(&f.db, &next, &sel).await;
    assert_eq!((stats.tabs_written, stats.panes_written), (0, 1));
    assert_eq!(stats.rows_deleted, 1);
    let stored = load(&f.db, "work").await.unwrap();
    assert_eq!(stored.panes.len(), 12);
    assert!(stored
        .panes
        .iter()
        .any(|p| p.title.as_deref() == Some("renamed")));

    // A closed tab takes its rows with it.
    let mut fewer = next.clone();
    fewer.tabs.retain(|t| t.key != "2");
    fewer.panes.retain(|p| p.tab_key != "2");
    save(&f.db, &fewer, &RowSelection::All).await;
    let stored = load(&f.db, "work").await.unwrap();
    assert_eq!(stored.tabs.len(), 2);
    assert!(stored.panes.iter().all(|p| !p.tab_id.ends_with("/tab/2")));
}

async fn two_sessions_keep_their_rows_apart(f: Fixture) {
    // Two writers on one database, interleaved, each in its own transaction.
    let a = snapshot("alpha", 2, 3);
    let b = snapshot("beta", 1, 2);
    let (ra, rb) = tokio::join!(
        save(&f.db, &a, &RowSelection::All),
        save(&f.db, &b, &RowSelection::All)
    );
    assert_eq!(ra.panes_written, 6);
    assert_eq!(rb.panes_written, 2);
    let mut a2 = a.clone();
    a2.panes.truncate(1);
    save(&f.db, &a2, &RowSelection::All).await;
    assert_eq!(load(&f.db, "alpha").await.unwrap().panes.len(), 1);
    assert_eq!(load(&f.db, "beta").await.unwrap().panes.len(), 2);
    assert_eq!(load(&f.db, "beta").await.unwrap().tabs.len(), 1);
    let mut conn = f.db.acquire().await.unwrap();
    let list = perth_sessions::list_sessions(conn.conn()).await.unwrap();
    let names: HashSet<String> = list.iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, HashSet::from(["alpha".into(), "beta".into()]));
}

async fn session_names_round_trip(f: Fixture) {
    let long: String = "ü".repeat(127) + "x";
    assert_eq!(long.chars().count(), 128);
    let max: String = "n".repeat(255);
    for name in [
        "it's \"quoted\"",
        "ünïcødé 🚀 セッション",
        max.as_str(),
        long.as_str(),
        "semi;colon -- DROP TABLE sessions",
    ] {
        save(&f.db, &snapshot(name, 1, 1), &RowSelection::All).await;
        let stored = load(&f.db, name)
            .await
            .unwrap_or_else(|| panic!("{name:?} not found"));
        assert_eq!(stored.name, name);
        assert_eq!(stored.tabs.len(), 1);
    }
    let mut conn = f.db.acquire().await.unwrap();
    assert_eq!(
        scalar(conn.conn(), "SELECT COUNT(*) FROM sessions").await,
        5
    );
}

async fn hand_edited_rows_read_back_as_stored(f: Fixture) {
    save(&f.db, &snapshot("edited", 1, 2), &RowSelection::All).await;
    let mut conn = f.db.acquire().await.unwrap();
    exec(
        conn.conn(),
        "UPDATE panes SET kind = 'hologram' WHERE pane_id = 1; \
         UPDATE panes SET cols = -5 WHERE pane_id = 2; \
         UPDATE tabs SET layout = 'tab {{{ not kdl'",
    )
    .await;
    drop(conn);
    let stored = load(&f.db, "edited").await.unwrap();
    assert!(stored.panes.iter().any(|p| p.kind == "hologram"));
    assert!(stored.panes.iter().any(|p| p.cols == -5));
    assert_eq!(stored.tabs[0].layout.as_deref(), Some("tab {{{ not kdl"));
}

async fn layouts_save_replace_and_list(f: Fixture) {
    let mut conn = f.db.acquire().await.unwrap();
    perth_sessions::save_layout(conn.conn(), "review", "layout { tab; }", Utc::now())
        .await
        .unwrap();
    perth_sessions::save_layout(
        conn.conn(),
        "review",
        "layout { tab name=\"x\"; }",
        Utc::now(),
    )
    .await
    .unwrap();
    perth_sessions::save_layout(conn.conn(), "dev ✓", "layout { }", Utc::now())
        .await
        .unwrap();
    let list = perth_sessions::list_layouts(conn.conn()).await.unwrap();
    assert_eq!(
        list.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        vec!["dev ✓", "review"]
    );
    let got = perth_sessions::get_layout(conn.conn(), "review")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.kdl, "layout { tab name=\"x\"; }");
    assert!(perth_sessions::get_layout(conn.conn(), "nope")
        .await
        .unwrap()
        .is_none());
}

async fn delete_removes_the_session_and_its_rows(f: Fixture) {
    save(&f.db, &snapshot("gone", 2, 2), &RowSelection::All).await;
    save(&f.db, &snapshot("kept", 1, 1), &RowSelection::All).await;
    let mut conn = f.db.acquire().await.unwrap();
    assert!(perth_sessions::delete_session(conn.conn(), "gone")
        .await
        .unwrap());
    assert!(!perth_sessions::delete_session(conn.conn(), "gone")
        .await
        .unwrap());
    assert_eq!(scalar(conn.conn(), "SELECT COUNT(*) FROM panes").await, 1);
    assert_eq!(scalar(conn.conn(), "SELECT COUNT(*) FROM tabs").await, 1);
    drop(conn);
    assert!(load(&f.db, "gone").await.is_none());
}

/// A database made by the previous perth (schema version 1), with a saved session in it,
/// opens, migrates to the current version, and its rows read back.
async fn migrates_a_version_one_database(url: &str) {
    let data = "INSERT INTO sessions (id, name) VALUES ('s1', 'old'); \
                 INSERT INTO tabs (id, session_id, name, position, layout) VALUES ('t1', 's1', 'code', 0, 'tab name=\"code\" { pane; }'); \
                 INSERT INTO panes (id, session_id, tab_id, pane_id, is_plugin, cols, rows, plugin_url) \
                     VALUES ('p1', 's1', 't1', 1, TRUE, 80, 1, 'zellij:tab-bar'), ('p2', 's1', 't1', 1, FALSE, 80, 20, NULL);";
    if url.starts_with("postgres") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("0001_initial.sql"),
            store::MIGRATIONS_POSTGRES[0].2,
        )
        .unwrap();
        let migrator = sqlx_core::migrate::Migrator::new(dir.path()).await.unwrap();
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::raw_sql(data).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        // The previous build's migrator (sqlx's SQLite driver) left it so.
        let path = url.strip_prefix("sqlite://").unwrap();
        crate::fixture::sqlx_era_sqlite(std::path::Path::new(path), 1, data);
    }
    let db = Database::open(url).await.unwrap();
    assert_eq!(
        db.schema_version().await.unwrap(),
        Some(store::latest_known_version())
    );
    let stored = load(&db, "old").await.unwrap();
    assert_eq!(stored.tabs[0].name, "code");
    let kinds: HashSet<&str> = stored.panes.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, HashSet::from(["plugin", "terminal"]));
    assert!(stored.saved_at.is_none());
}

#[tokio::test]
async fn persist_migrates_a_version_one_postgres_database() {
    let Some(url) = tests::services::fresh_database("t", "persist_v1") else {
        return;
    };
    migrates_a_version_one_database(&url).await;
}

#[tokio::test]
async fn persist_migrates_a_version_one_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("v1.db").display());
    migrates_a_version_one_database(&url).await;
}
