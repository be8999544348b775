//! The store contract: every [`PaneStore`] backend passes these, Redis against a real redis-server.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone as _, Utc};
use zdrive::store::PaneUpdate;
use zdrive::{EntryType, IntentEntry, MetadataChange, PaneStore, RenameOutcome, Source};

use crate::support::{embedded, redis};

fn entry(i: i64) -> IntentEntry {
    IntentEntry {
        timestamp: Utc.with_ymd_and_hms(2026, 1, 2, 3, 0, 0).unwrap() + Duration::seconds(i),
        entry_type: if i % 2 == 0 {
            EntryType::Checkpoint
        } else {
            EntryType::Milestone
        },
        source: Source::Agent,
        summary: format!("entry {i}"),
        artifacts: vec![format!("src/{i}.rs")],
    }
}

async fn records_and_merges_panes(store: &dyn PaneStore) {
    assert_eq!(store.get_pane("api").await.unwrap(), None);
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut meta = BTreeMap::new();
    meta.insert("issue".to_owned(), "42".to_owned());
    store
        .update_pane(
            "api",
            &PaneUpdate {
                session: Some("s1".into()),
                tab: Some("backend".into()),
                pane_id: Some("terminal_3".into()),
                created_at: Some(t0),
                last_seen: Some(t0),
                last_accessed: Some(t0),
                stale: Some(false),
                metadata: meta,
            },
        )
        .await
        .unwrap();
    let later = t0 + Duration::hours(1);
    let mut meta = BTreeMap::new();
    meta.insert("owner".to_owned(), "me".to_owned());
    store
        .update_pane(
            "api",
            &PaneUpdate {
                created_at: Some(later),
                stale: Some(true),
                metadata: meta,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let record = store.get_pane("api").await.unwrap().unwrap();
    assert_eq!(record.session, "s1");
    assert_eq!(record.tab, "backend");
    assert_eq!(record.pane_id, "terminal_3");
    assert_eq!(record.created_at, Some(t0), "created_at is set once");
    assert!(record.stale);
    assert_eq!(
        record.metadata.len(),
        2,
        "metadata merges: {:?}",
        record.metadata
    );
    assert_eq!(store.tabs().await.unwrap(), vec!["backend".to_owned()]);
}

async fn history_is_newest_first_and_capped(store: &dyn PaneStore) {
    for i in 0..7 {
        let total = store.append_intent("api", &entry(i), 5).await.unwrap();
        assert_eq!(total, (i + 1).min(5) as u64);
    }
    let all = store.history("api", None).await.unwrap();
    assert_eq!(all.total, 5);
    let summaries: Vec<_> = all.entries.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(
        summaries,
        ["entry 6", "entry 5", "entry 4", "entry 3", "entry 2"]
    );
    assert_eq!(all.entries[0], entry(6), "entries round-trip exactly");
    let last2 = store.history("api", Some(2)).await.unwrap();
    assert_eq!(last2.entries.len(), 2);
    assert_eq!(last2.total, 5);
    assert_eq!(
        store.history("api", Some(0)).await.unwrap().entries.len(),
        0
    );
    let record = store.get_pane("api").await.unwrap().unwrap();
    assert_eq!(record.last_accessed, Some(entry(6).timestamp));
    assert_eq!(record.created_at, Some(entry(0).timestamp));
    assert_eq!(store.history("nobody", None).await.unwrap().total, 0);
}

async fn lists_every_pane_sorted(store: &dyn PaneStore) {
    assert!(store.list_panes().await.unwrap().is_empty());
    for name in ["zeta", "alpha", "mid/feat-x"] {
        store
            .update_pane(
                name,
                &PaneUpdate {
                    session: Some("s".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        store.append_intent(name, &entry(1), 100).await.unwrap();
    }
    store.add_tab("extra").await.unwrap();
    let names: Vec<_> = store
        .list_panes()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        ["alpha", "mid/feat-x", "zeta"],
        "history lists are not panes"
    );
    assert_eq!(store.tabs().await.unwrap(), ["extra"]);
}

async fn escapes_and_unicode_are_stored_as_given(store: &dyn PaneStore) {
    let mut e = entry(1);
    e.summary = "\u{1b}[31mred\u{1b}[0m ünïcödé \"quoted\"\nline two".into();
    store.append_intent("api", &e, 100).await.unwrap();
    assert_eq!(store.history("api", None).await.unwrap().entries, vec![e]);
}

async fn snapshot_entries_replace_a_newest_snapshot_and_snapshots_are_capped(
    store: &dyn PaneStore,
) {
    let snap = |i: i64| IntentEntry {
        entry_type: EntryType::Snapshot,
        summary: format!("snapshot {i}"),
        ..entry(i)
    };
    store.append_intent("api", &entry(1), 3).await.unwrap();
    assert_eq!(
        store
            .append_snapshot_entry("api", &snap(2), 3)
            .await
            .unwrap(),
        2
    );
    // Nothing logged since: the newest snapshot entry is replaced, the log keeps its work.
    for i in 3..10 {
        assert_eq!(
            store
                .append_snapshot_entry("api", &snap(i), 3)
                .await
                .unwrap(),
            2
        );
    }
    let h = store.history("api", None).await.unwrap();
    assert_eq!(h.entries, vec![snap(9), entry(1)]);
    // Work logged in between: the next snapshot is a new entry, and the cap still holds.
    store.append_intent("api", &entry(10), 3).await.unwrap();
    assert_eq!(
        store
            .append_snapshot_entry("api", &snap(11), 3)
            .await
            .unwrap(),
        3
    );
    let h = store.history("api", None).await.unwrap();
    assert_eq!(h.entries, vec![snap(11), entry(10), snap(9)]);

    let record = |i: i64| zdrive::model::SnapshotRecord {
        timestamp: entry(i).timestamp,
        provider: "anthropic".into(),
        model: "m".into(),
        summary: format!("## Current state\n- {i}"),
        context_hash: format!("{i:064}"),
        context_bytes: 10,
        duration_ms: 1,
    };
    assert!(store.snapshots("api", None).await.unwrap().is_empty());
    for i in 0..25 {
        store.push_snapshot("api", &record(i), 20).await.unwrap();
    }
    let all = store.snapshots("api", None).await.unwrap();
    assert_eq!(all.len(), 20);
    assert_eq!(all[0], record(24));
    assert_eq!(all[19], record(5));
    assert_eq!(
        store.snapshots("api", Some(2)).await.unwrap(),
        vec![record(24), record(23)]
    );
    assert!(store.snapshots("api", Some(0)).await.unwrap().is_empty());
    assert!(store.snapshots("other", None).await.unwrap().is_empty());
}

async fn renames_move_the_record_history_and_snapshots_at_once(store: &dyn PaneStore) {
    let snapshot = zdrive::model::SnapshotRecord {
        timestamp: entry(9).timestamp,
        provider: "ollama".into(),
        model: "m".into(),
        summary: "## Current state\n- fine".into(),
        context_hash: "0".repeat(64),
        context_bytes: 10,
        duration_ms: 1,
    };
    let api = PaneUpdate {
        session: Some("s1".into()),
        pane_id: Some("terminal_3".into()),
        metadata: [("issue".to_owned(), "42".to_owned())].into(),
        ..Default::default()
    };
    store.update_pane("api", &api).await.unwrap();
    for i in 0..3 {
        store.append_intent("api", &entry(i), 100).await.unwrap();
    }
    store.push_snapshot("api", &snapshot, 20).await.unwrap();
    store
        .update_pane(
            "web",
            &PaneUpdate {
                session: Some("s1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = store.history("api", None).await.unwrap();

    // A name in use is refused and nothing moves.
    assert_eq!(
        store.rename_pane("api", "web").await.unwrap(),
        RenameOutcome::Taken
    );
    assert_eq!(store.history("api", None).await.unwrap(), before);
    assert_eq!(store.history("web", None).await.unwrap().total, 0);
    assert_eq!(
        store.rename_pane("nobody", "somebody").await.unwrap(),
        RenameOutcome::Missing
    );
    assert_eq!(store.get_pane("somebody").await.unwrap(), None);

    assert_eq!(
        store.rename_pane("api", "feat/api").await.unwrap(),
        RenameOutcome::Renamed
    );
    assert_eq!(store.get_pane("api").await.unwrap(), None);
    assert_eq!(store.history("api", None).await.unwrap().total, 0);
    assert!(store.snapshots("api", None).await.unwrap().is_empty());
    let record = store.get_pane("feat/api").await.unwrap().unwrap();
    assert_eq!(record.name, "feat/api");
    assert_eq!(
        (record.session.as_str(), record.pane_id.as_str()),
        ("s1", "terminal_3")
    );
    assert_eq!(record.metadata["issue"], "42");
    assert_eq!(store.history("feat/api", None).await.unwrap(), before);
    assert_eq!(
        store.snapshots("feat/api", None).await.unwrap(),
        vec![snapshot]
    );
    let listed = store.list_panes().await.unwrap();
    let listed: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(listed, ["feat/api", "web"]);
    // The old name is free again; the log goes on under the new one.
    assert_eq!(
        store
            .append_intent("feat/api", &entry(3), 100)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        store.rename_pane("web", "api").await.unwrap(),
        RenameOutcome::Renamed
    );
}

async fn tags_set_and_remove_metadata_of_tracked_panes_only(store: &dyn PaneStore) {
    let pairs = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let api = PaneUpdate {
        session: Some("s1".into()),
        metadata: pairs(&[("issue", "42"), ("owner", "me")]),
        ..Default::default()
    };
    store.update_pane("api", &api).await.unwrap();
    let change = MetadataChange {
        set: pairs(&[("issue", "43"), ("area", "auth")]),
        remove: vec!["owner".into(), "never-set".into()],
    };
    assert!(store.tag_pane("api", &change).await.unwrap());
    let record = store.get_pane("api").await.unwrap().unwrap();
    assert_eq!(record.session, "s1");
    assert_eq!(record.metadata, pairs(&[("area", "auth"), ("issue", "43")]));
    // Removed and set at once: set wins.
    let both = MetadataChange {
        set: pairs(&[("owner", "you")]),
        remove: vec!["owner".into()],
    };
    assert!(store.tag_pane("api", &both).await.unwrap());
    let record = store.get_pane("api").await.unwrap().unwrap();
    assert_eq!(record.metadata["owner"], "you");
    assert!(!store.tag_pane("nobody", &both).await.unwrap());
    assert_eq!(store.get_pane("nobody").await.unwrap(), None);
}

async fn cursors_move_forward_once_with_their_entry(store: &dyn PaneStore) {
    use zdrive::{CursorAdvance, CursorAppend};
    assert_eq!(store.cursor("agents@perth.db").await.unwrap(), 0);
    let e1 = entry(1);
    fn with(e: &IntentEntry) -> Option<CursorAppend<'_>> {
        Some(CursorAppend {
            pane: "api",
            entry: e,
            cap: 3,
        })
    }
    assert_eq!(
        store
            .advance_cursor("agents@perth.db", 5, with(&e1))
            .await
            .unwrap(),
        CursorAdvance::Appended(1)
    );
    assert_eq!(store.cursor("agents@perth.db").await.unwrap(), 5);
    // The same position again, or an older one: nothing is written, the entry not twice.
    for at in [5, 4] {
        assert_eq!(
            store
                .advance_cursor("agents@perth.db", at, with(&entry(2)))
                .await
                .unwrap(),
            CursorAdvance::AlreadyThere
        );
    }
    assert_eq!(
        store
            .advance_cursor("agents@perth.db", 9, None)
            .await
            .unwrap(),
        CursorAdvance::Moved
    );
    assert_eq!(
        store
            .advance_cursor("agents@perth.db", 12, with(&entry(3)))
            .await
            .unwrap(),
        CursorAdvance::Appended(2)
    );
    let h = store.history("api", None).await.unwrap();
    assert_eq!(h.entries, vec![entry(3), entry(1)]);
    let record = store.get_pane("api").await.unwrap().unwrap();
    assert_eq!(record.last_accessed, Some(entry(3).timestamp));
    // The cap holds as for any append.
    for (n, at) in (4..8).zip(13..) {
        store
            .advance_cursor("agents@perth.db", at, with(&entry(n)))
            .await
            .unwrap();
    }
    assert_eq!(store.history("api", None).await.unwrap().total, 3);
    // Cursors are independent, and a reset may go back.
    assert_eq!(store.cursor("agents@other").await.unwrap(), 0);
    store.reset_cursor("agents@perth.db", 2).await.unwrap();
    assert_eq!(store.cursor("agents@perth.db").await.unwrap(), 2);
    assert_eq!(
        store
            .advance_cursor("agents@perth.db", 3, None)
            .await
            .unwrap(),
        CursorAdvance::Moved
    );
    assert_eq!(
        store.list_panes().await.unwrap().len(),
        1,
        "a cursor is not a pane"
    );
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod on_embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let f = super::embedded().await;
                    super::$case(f.store.as_ref()).await;
                }
            )*
        }
        mod on_redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(f) = super::redis().await else { return };
                    super::$case(f.store.as_ref()).await;
                }
            )*
        }
    };
}

contract!(
    records_and_merges_panes,
    history_is_newest_first_and_capped,
    lists_every_pane_sorted,
    escapes_and_unicode_are_stored_as_given,
    snapshot_entries_replace_a_newest_snapshot_and_snapshots_are_capped,
    renames_move_the_record_history_and_snapshots_at_once,
    tags_set_and_remove_metadata_of_tracked_panes_only,
    cursors_move_forward_once_with_their_entry,
);

#[tokio::test]
async fn redis_uses_exactly_the_seed_keyspace() {
    let Some(f) = redis().await else { return };
    f.store
        .update_pane(
            "api",
            &PaneUpdate {
                tab: Some("dev".into()),
                stale: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.store.append_intent("api", &entry(1), 100).await.unwrap();
    let mut c =
        redis_conn::RedisConn::connect(&f.redis.as_ref().unwrap().url(), &Default::default())
            .await
            .unwrap()
            .connection();
    // KEYS is fine in a test on a private server; the product only SCANs.
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut c)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        ["perth:pane:api", "perth:pane:api:history", "perth:tabs"]
    );
    let ty: String = redis::cmd("TYPE")
        .arg("perth:pane:api:history")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(ty, "list");
    let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg("perth:pane:api")
        .query_async(&mut c)
        .await
        .unwrap();
    let mut names: Vec<_> = fields.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["created_at", "last_accessed", "stale", "tab"]);
    let json: String = redis::cmd("LINDEX")
        .arg("perth:pane:api:history")
        .arg(0)
        .query_async(&mut c)
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value, serde_json::to_value(entry(1)).unwrap());
    let tabs: Vec<String> = redis::cmd("SMEMBERS")
        .arg("perth:tabs")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(tabs, ["dev"]);
}
