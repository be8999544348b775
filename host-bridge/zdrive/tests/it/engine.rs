//! The engine on both stores: navigation events, reconcile, and reconcile racing a log.

use std::collections::BTreeMap;

use chrono::Utc;
use zdrive::{
    EngineError, EntryType, LivePane, LogRequest, MetadataChange, Navigation, ReconcileChange,
    Source, Zdrive,
};

use crate::support::{embedded, redis, Fixture};

async fn engine(f: Fixture) -> (Zdrive, crate::support::KeepAlive) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = store::Database::open(&dir.path().join("o.db").display().to_string())
        .await
        .unwrap();
    // The fixture's store moves into the engine; keep its server and folder alive.
    let Fixture {
        store,
        dir: keep,
        redis,
    } = f;
    let engine = Zdrive::new(store, outbox, 100, "perth://test/zdrive");
    (engine, Fixture::keep_alive(keep, redis, dir))
}

fn live(id: u32, title: &str, tab: &str) -> LivePane {
    LivePane {
        pane_id: format!("terminal_{id}"),
        title: title.into(),
        tab: tab.into(),
        ..LivePane::default()
    }
}

fn nav(id: u32, tab: &str, created: bool) -> Navigation {
    Navigation {
        created,
        session: "s1".into(),
        tab: tab.into(),
        pane_id: format!("terminal_{id}"),
    }
}

fn request(summary: &str) -> LogRequest {
    LogRequest {
        summary: summary.into(),
        entry_type: EntryType::Checkpoint,
        source: Source::Human,
        artifacts: vec![],
    }
}

async fn navigation_records_panes_and_queues_events(e: &Zdrive) {
    let mut meta = BTreeMap::new();
    meta.insert("db".to_owned(), "postgres://app:S3cr3tPw@db/x".to_owned());
    let record = e
        .record_navigation("api", &nav(3, "backend", true), &meta, Utc::now())
        .await
        .unwrap();
    assert_eq!(record.pane_id, "terminal_3");
    assert_eq!(
        record.metadata["db"],
        "postgres://app:[REDACTED:url-password]@db/x"
    );
    e.record_navigation(
        "api",
        &nav(3, "backend", false),
        &BTreeMap::new(),
        Utc::now(),
    )
    .await
    .unwrap();
    let types: Vec<String> = e
        .outbox()
        .unwrap()
        .outbox_pending(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event_type)
        .collect();
    assert_eq!(types, ["workspace.pane.created", "workspace.pane.focused"]);
}

async fn reconcile_marks_relinks_moves_and_revives(e: &Zdrive) {
    let now = Utc::now();
    for (name, id) in [("api", 1), ("web", 2), ("gone", 3), ("reborn", 4)] {
        e.record_navigation(name, &nav(id, "dev", true), &BTreeMap::new(), now)
            .await
            .unwrap();
    }
    let session = vec![
        live(1, "api", "dev"),
        live(2, "web-renamed", "ui"),
        live(9, "reborn", "dev"),
    ];
    let mut changes = e.reconcile("s1", &session, now).await.unwrap();
    changes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        changes,
        vec![
            ReconcileChange::MarkedStale {
                pane: "gone".into()
            },
            ReconcileChange::Moved {
                pane: "web".into(),
                from: "dev".into(),
                to: "ui".into()
            },
            ReconcileChange::Relinked {
                pane: "reborn".into(),
                from: "terminal_4".into(),
                to: "terminal_9".into()
            },
            ReconcileChange::Renamed {
                pane: "web".into(),
                title: "web-renamed".into()
            },
        ]
    );
    assert!(e.info("gone").await.unwrap().stale);
    assert_eq!(e.info("reborn").await.unwrap().pane_id, "terminal_9");
    assert!(
        e.reconcile("s1", &session, now).await.unwrap().is_empty(),
        "a second run changes nothing"
    );
    let back = [live(3, "gone", "dev")];
    let changes = e.reconcile("s1", &back, now).await.unwrap();
    assert!(
        changes.contains(&ReconcileChange::Revived {
            pane: "gone".into()
        }),
        "{changes:?}"
    );
    assert!(!e.info("gone").await.unwrap().stale);
}

async fn reconcile_racing_logs_loses_nothing(e: &Zdrive) {
    e.record_navigation("api", &nav(1, "dev", true), &BTreeMap::new(), Utc::now())
        .await
        .unwrap();
    let logs = async {
        for i in 0..40 {
            e.log("api", request(&format!("entry {i}")), Utc::now())
                .await
                .unwrap();
        }
    };
    let reconciles = async {
        for _ in 0..20 {
            e.reconcile("s1", &[live(1, "api", "dev")], Utc::now())
                .await
                .unwrap();
        }
    };
    tokio::join!(logs, reconciles);
    let (record, history) = e.history("api", None).await.unwrap();
    assert_eq!(history.total, 40);
    let record = record.unwrap();
    assert!(!record.stale);
    assert_eq!(record.last_accessed, Some(history.entries[0].timestamp));
}

async fn renames_tags_and_tracking_check_names_and_queue_events(e: &Zdrive) {
    let now = Utc::now();
    e.record_navigation("api", &nav(3, "dev", true), &BTreeMap::new(), now)
        .await
        .unwrap();
    e.record_navigation("web", &nav(4, "dev", true), &BTreeMap::new(), now)
        .await
        .unwrap();
    e.log("api", request("started"), now).await.unwrap();

    for (old, new) in [("api", "a:b"), ("api", ""), ("bad name", "x")] {
        assert!(
            matches!(e.rename(old, new).await, Err(EngineError::Input(_))),
            "{old:?} -> {new:?}"
        );
    }
    let taken = e.rename("api", "web").await.unwrap_err();
    assert!(matches!(taken, EngineError::NameTaken { ref name } if name == "web"));
    assert!(
        taken.to_string().contains("zdrive pane rename web NEW"),
        "{taken}"
    );
    assert!(matches!(
        e.rename("nobody", "x").await,
        Err(EngineError::NotTracked { .. })
    ));
    let record = e.rename("api", "api-server").await.unwrap();
    assert_eq!(
        (record.name.as_str(), record.pane_id.as_str()),
        ("api-server", "terminal_3")
    );
    assert_eq!(e.history("api-server", None).await.unwrap().1.total, 1);
    assert!(matches!(
        e.info("api").await,
        Err(EngineError::NotTracked { .. })
    ));
    // The same name again changes nothing.
    assert_eq!(e.rename("api-server", "api-server").await.unwrap(), record);

    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let tags = MetadataChange {
        set: [("issue", "42"), ("token", token)]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
        remove: vec![],
    };
    let tagged = e.tag("api-server", &tags).await.unwrap();
    assert_eq!(tagged.metadata["issue"], "42");
    assert_eq!(tagged.metadata["token"], "[REDACTED:github-token]");
    let untag = |key: &str| MetadataChange {
        remove: vec![key.to_owned()],
        ..MetadataChange::default()
    };
    let untagged = e.tag("api-server", &untag("token")).await.unwrap();
    assert!(!untagged.metadata.contains_key("token"));
    assert!(matches!(
        e.tag("api-server", &untag("a:b")).await,
        Err(EngineError::Input(_))
    ));
    assert!(matches!(
        e.tag("nobody", &tags).await,
        Err(EngineError::NotTracked { .. })
    ));

    // Tracking: a live pane under another name and a name in use elsewhere are refused.
    let tracked = e
        .track("api-server", &nav(3, "dev", true), now)
        .await
        .unwrap();
    assert_eq!(tracked.pane_id, "terminal_3");
    assert!(matches!(
        e.track("other", &nav(3, "dev", false), now).await,
        Err(EngineError::PaneTracked { ref name, .. }) if name == "api-server"
    ));
    assert!(matches!(
        e.track("web", &nav(7, "dev", false), now).await,
        Err(EngineError::NameTaken { .. })
    ));
    let fresh = e.track("shell", &nav(7, "ops", false), now).await.unwrap();
    assert_eq!((fresh.tab.as_str(), fresh.stale), ("ops", false));
    // A stale record is taken over by the pane that continues its work, history and all.
    e.mark_stale("web").await.unwrap();
    let revived = e.track("web", &nav(8, "ui", false), now).await.unwrap();
    assert_eq!(
        (revived.pane_id.as_str(), revived.stale),
        ("terminal_8", false)
    );

    let rows = e.outbox().unwrap().outbox_pending(20).await.unwrap();
    let queued: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
    assert_eq!(
        queued,
        [
            "workspace.pane.created",
            "workspace.pane.created",
            "workspace.intent.logged",
            "workspace.pane.renamed",
            "workspace.pane.tagged",
            "workspace.pane.tagged",
            "workspace.pane.focused",
            "workspace.pane.focused",
            "workspace.pane.focused",
        ]
    );
    let data: serde_json::Value = serde_json::from_str(&rows[3].payload).unwrap();
    assert_eq!(data["data"]["previous_name"], "api");
    assert_eq!(data["data"]["pane_name"], "api-server");
}

fn transition(pane: u32, to: &str, message: Option<&str>) -> zdrive::agents::AgentTransition {
    let event = bloodbank::Event::new(
        "perth://test/perth",
        zdrive::agents::EVENT_TYPE,
        serde_json::json!({
            "session": "s1",
            "pane_id": format!("terminal_{pane}"),
            "from": "working",
            "to": to,
            "message": message,
            "source": "cli",
            "program": "claude",
            "exit_status": null,
        }),
    );
    zdrive::agents::AgentTransition::from_event(&serde_json::to_value(&event).unwrap()).unwrap()
}

async fn transitions_are_logged_once_on_live_tracked_panes(e: &Zdrive) {
    assert_eq!(e.pane_at("s1", "terminal_3").await.unwrap(), None);
    e.record_navigation("api", &nav(3, "dev", true), &BTreeMap::new(), Utc::now())
        .await
        .unwrap();
    e.record_navigation("old", &nav(4, "dev", true), &BTreeMap::new(), Utc::now())
        .await
        .unwrap();
    e.mark_stale("old").await.unwrap();
    assert_eq!(
        e.pane_at("s1", "terminal_3").await.unwrap().unwrap().name,
        "api"
    );
    assert_eq!(e.pane_at("s2", "terminal_3").await.unwrap(), None);
    assert_eq!(
        e.pane_at("s1", "terminal_4").await.unwrap(),
        None,
        "a stale record's id may be another pane's by now"
    );
    let t = transition(
        3,
        "waiting",
        Some("Send token=ghp_abcdefghijklmnopqrstuvwxyz0123456789?"),
    );
    let logged = e
        .log_transition("api", &t, "agents@x", 7)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(logged.entry.source, Source::Agent);
    assert_eq!(logged.entry.entry_type, EntryType::Checkpoint);
    assert_eq!(logged.entry.timestamp, t.time, "when it happened");
    assert!(
        logged.entry.summary.starts_with("agent waiting: Send ")
            && !logged.entry.summary.contains("ghp_"),
        "redacted: {}",
        logged.entry.summary
    );
    assert_eq!(
        e.log_transition("api", &t, "agents@x", 7).await.unwrap(),
        None,
        "read again, it is not logged again"
    );
    e.move_cursor("agents@x", 9).await.unwrap();
    assert_eq!(e.cursor("agents@x").await.unwrap(), 9);
    let (_, h) = e.history("api", None).await.unwrap();
    assert_eq!(h.total, 1);
    let rows = e.outbox().unwrap().outbox_pending(100).await.unwrap();
    let logged_events = rows
        .iter()
        .filter(|r| r.event_type == "workspace.intent.logged")
        .count();
    assert_eq!(
        logged_events, 1,
        "one workspace.intent.logged for the one entry"
    );
}

macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod on_embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let (e, _keep) = super::engine(super::embedded().await).await;
                    super::$case(&e).await;
                }
            )*
        }
        mod on_redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(f) = super::redis().await else { return };
                    let (e, _keep) = super::engine(f).await;
                    super::$case(&e).await;
                }
            )*
        }
    };
}

on_both!(
    navigation_records_panes_and_queues_events,
    reconcile_marks_relinks_moves_and_revives,
    reconcile_racing_logs_loses_nothing,
    renames_tags_and_tracking_check_names_and_queue_events,
    transitions_are_logged_once_on_live_tracked_panes,
);

#[test]
fn the_binary_logs_and_reads_on_redis() {
    let Some(server) = tests::require_or_skip("redis", tests::Redis::start()) else {
        return;
    };
    let env = crate::support::Env::with_redis(&server.url());
    for i in 0..3 {
        let (code, v) = env.json(&[
            "pane",
            "log",
            "api",
            &format!("step {i}"),
            "--source",
            "agent",
        ]);
        assert_eq!(code, 0, "{v}");
    }
    let (_, v) = env.json(&["pane", "history", "api", "--last", "2"]);
    assert_eq!(v["data"]["total_entries"], 3);
    assert_eq!(v["data"]["entries"][0]["summary"], "step 2");
    let (_, v) = env.json(&["config", "show"]);
    assert_eq!(v["data"]["active_store"], "redis");
    let (_, v) = env.json(&["list"]);
    assert_eq!(v["data"][0]["pane_name"], "api");
}
