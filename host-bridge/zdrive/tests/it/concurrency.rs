//! Fifty processes logging 100 entries each to one pane at once, on each store: the log
//! holds exactly the newest 100, nothing is corrupt, and every event is in the outbox.
//!
//! The processes are this test binary run again with `ZDRIVE_IT_WORKER` set: it then runs
//! only [`worker`], which opens the stores the way the `zdrive` binary does and logs through
//! the engine (starting 5000 `zdrive` processes would take minutes on a shared machine).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Child, Command};

use zdrive::{EmbeddedStore, EntryType, LogRequest, PaneStore, RedisStore, Source, Zdrive};

const PROCESSES: usize = 50;
const ENTRIES: usize = 100;
const CAP: usize = 100;

async fn engine(db_path: &str, redis_url: Option<&str>) -> Zdrive {
    let outbox = store::Database::open(db_path).await.unwrap();
    let store: Box<dyn PaneStore> = match redis_url {
        Some(url) => Box::new(
            RedisStore::connect(url, &Default::default(), Default::default())
                .await
                .unwrap(),
        ),
        None => Box::new(EmbeddedStore::open(outbox.clone()).await.unwrap()),
    };
    Zdrive::new(store, outbox, CAP, "perth://test/zdrive")
}

async fn log_entries(engine: &Zdrive, process: usize, count: usize) {
    for i in 0..count {
        let request = LogRequest {
            summary: format!("p{process:02} e{i:03}"),
            entry_type: EntryType::Checkpoint,
            source: Source::Agent,
            artifacts: vec![],
        };
        engine
            .log("busy", request, chrono::Utc::now())
            .await
            .unwrap();
    }
}

/// In a worker process: logs this process's entries. Otherwise: one process's worth in-process.
#[tokio::test]
async fn worker() {
    match std::env::var("ZDRIVE_IT_WORKER") {
        Ok(process) => {
            let db = std::env::var("ZDRIVE_IT_DB").unwrap();
            let redis = std::env::var("ZDRIVE_IT_REDIS").ok();
            let engine = engine(&db, redis.as_deref()).await;
            log_entries(&engine, process.parse().unwrap(), ENTRIES).await;
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("z.db").display().to_string();
            let engine = engine(&db, None).await;
            log_entries(&engine, 0, CAP + 5).await;
            let history = engine.store().history("busy", None).await.unwrap();
            assert_eq!(history.total, CAP as u64);
            assert_eq!(history.entries[0].summary, format!("p00 e{:03}", CAP + 4));
        }
    }
}

fn spawn_workers(db: &Path, redis: Option<&str>) -> Vec<Child> {
    let exe = std::env::current_exe().unwrap();
    (0..PROCESSES)
        .map(|p| {
            let mut cmd = Command::new(&exe);
            cmd.args([
                "concurrency::worker",
                "--exact",
                "--test-threads=1",
                "--quiet",
            ])
            .env("ZDRIVE_IT_WORKER", p.to_string())
            .env("ZDRIVE_IT_DB", db)
            .stdout(std::process::Stdio::null());
            match redis {
                Some(url) => cmd.env("ZDRIVE_IT_REDIS", url),
                None => cmd.env_remove("ZDRIVE_IT_REDIS"),
            };
            cmd.spawn().unwrap()
        })
        .collect()
}

async fn fifty_processes(redis: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zdrive.db");
    // Create the schema once, as the first `zdrive` call on a machine would.
    let check = engine(&db.display().to_string(), redis).await;
    let workers = spawn_workers(&db, redis);
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a worker failed: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let history = check.store().history("busy", None).await.unwrap();
    assert_eq!(history.total, CAP as u64);
    assert_eq!(history.entries.len(), CAP);
    // Newest first, and per process the kept entries are that process's last ones.
    let mut kept: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for e in &history.entries {
        let (p, i) = e.summary.split_once(' ').unwrap();
        kept.entry(p[1..].parse().unwrap())
            .or_default()
            .push(i[1..].parse().unwrap());
    }
    for (p, mut is) in kept {
        is.reverse();
        let expected: Vec<usize> = (ENTRIES - is.len()..ENTRIES).collect();
        assert_eq!(
            is, expected,
            "process {p} kept entries that are not its newest"
        );
    }
    let rows = check
        .outbox()
        .unwrap()
        .outbox_pending(u32::MAX)
        .await
        .unwrap();
    assert_eq!(rows.len(), PROCESSES * ENTRIES);
    let mut seen = HashSet::new();
    for row in &rows {
        assert_eq!(row.event_type, "workspace.intent.logged");
        let event: bloodbank::Event = serde_json::from_str(&row.payload).unwrap();
        seen.insert(event.data["entry"]["summary"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), PROCESSES * ENTRIES, "every entry has its event");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_processes_log_to_one_pane_on_the_embedded_store() {
    if std::env::var("ZDRIVE_IT_WORKER").is_ok() {
        return;
    }
    fifty_processes(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_processes_log_to_one_pane_on_redis() {
    if std::env::var("ZDRIVE_IT_WORKER").is_ok() {
        return;
    }
    let Some(server) = tests::require_or_skip("redis", tests::Redis::start()) else {
        return;
    };
    fifty_processes(Some(&server.url())).await;
}
