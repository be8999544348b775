//! `iMi monitor --json`: changes across worktrees with their agent, nothing from `.git/` or ignored paths, activities recorded.

use std::io::BufRead as _;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{Sandbox, FILES};

#[test]
fn monitor_reports_attributed_changes_and_skips_ignored_paths() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    sb.imi(&["feat", "watched", "--agent", "claude-7"]).data();
    sb.imi(&["fix", "other"]).data();
    let mut monitor = Monitor::start(&sb, &trunk);

    let watched = sb.project().join("feat-watched");
    let other = sb.project().join("fix-other");
    // Noise first: git's own folder, an ignored file and an ignored folder.
    std::fs::write(trunk.join(".git/imi-noise"), "x").unwrap();
    std::fs::write(watched.join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir_all(watched.join("target/debug")).unwrap();
    std::fs::write(watched.join("target/debug/out.o"), "bin").unwrap();
    // Then real changes.
    std::fs::write(watched.join("src/m0/f0.rs"), "changed").unwrap();
    std::fs::write(other.join("NEW.md"), "new").unwrap();
    let change = |s: &[serde_json::Value], wt: &str, path: &str| {
        s.iter()
            .any(|v| v["event"] == "change" && v["worktree"] == wt && v["path"] == path)
    };
    monitor.wait_until("both changes to be reported", |s| {
        change(s, "feat-watched", "src/m0/f0.rs") && change(s, "fix-other", "NEW.md")
    });
    let seen = &monitor.seen;
    let modified = seen
        .iter()
        .find(|v| v["event"] == "change" && v["path"] == "src/m0/f0.rs")
        .unwrap();
    assert_eq!(modified["agent_id"], "claude-7");
    assert_eq!(modified["kind"], "modified");
    let created = seen.iter().find(|v| v["path"] == "NEW.md").unwrap();
    assert_eq!(created["kind"], "created");
    assert_eq!(created["agent_id"], serde_json::Value::Null);
    for v in seen {
        let path = v["path"].as_str().unwrap_or_default();
        assert!(
            !path.contains(".git/") && !path.starts_with(".env") && !path.starts_with("target"),
            "ignored path reported: {v}"
        );
    }

    // The activities are in the database, under the owning agent (written just after printing).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db_url = sb.home().join(".config/iMi/iMi.db").display().to_string();
    let file = tests::wait_for_with_last(
        "the activity to be recorded",
        Duration::from_secs(20),
        || {
            rt.block_on(async {
                let db = store::Database::open(&db_url).await.unwrap();
                let mut c = db.acquire().await.unwrap();
                let project = imi::db::find_project(c.conn(), "origin")
                    .await
                    .unwrap()
                    .unwrap();
                let rows = imi::db::list_worktrees(c.conn(), &project.id, true)
                    .await
                    .unwrap();
                let row = rows
                    .iter()
                    .find(|r| r.worktree_name == "feat-watched")
                    .unwrap();
                let acts = imi::db::list_activities(c.conn(), &row.id).await.unwrap();
                db.close().await;
                acts.iter()
                    .find(|a| a.file_path.as_deref() == Some("src/m0/f0.rs"))
                    .cloned()
                    .ok_or_else(|| format!("{acts:#?}"))
            })
        },
    )
    .unwrap();
    assert_eq!(file.agent_id, "claude-7");
    assert_eq!(file.activity_type, "file_modified");
}

#[test]
fn monitor_leaves_out_imis_own_checkout_and_reports_later_edits() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let mut monitor = Monitor::start(&sb, &trunk);
    sb.imi(&["feat", "fresh", "--agent", "claude-9", "--no-tab"])
        .data();
    // The checkout's end comes after its files in the watcher's stream: once it is reported,
    // nothing of the checkout can follow.
    monitor.wait_until("the new worktree to be reported", |s| {
        s.iter()
            .any(|v| v["event"] == "worktree_created" && v["worktree"] == "feat-fresh")
    });
    let fresh = sb.project().join("feat-fresh");
    std::fs::write(fresh.join("src/m3/f3.rs"), "edited").unwrap();
    monitor.wait_until("the edit to be reported", |s| {
        s.iter()
            .any(|v| v["event"] == "change" && v["path"] == "src/m3/f3.rs")
    });
    let changes: Vec<&serde_json::Value> = monitor
        .seen
        .iter()
        .filter(|v| v["event"] == "change")
        .collect();
    assert_eq!(
        changes.len(),
        1,
        "only the edit, none of the {FILES} checked-out files: {changes:#?}"
    );
    assert_eq!(changes[0]["worktree"], "feat-fresh");
    assert_eq!(changes[0]["agent_id"], "claude-9");
}

/// `iMi --json monitor` running in a sandbox, with what it printed so far; killed on drop.
struct Monitor {
    child: std::process::Child,
    lines: mpsc::Receiver<serde_json::Value>,
    /// Every message read, in order.
    seen: Vec<serde_json::Value>,
}

impl Monitor {
    /// Starts the monitor in `dir` and waits until it watches.
    fn start(sb: &Sandbox, dir: &std::path::Path) -> Self {
        let mut child = sb
            .imi_command(dir, &["monitor"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel::<serde_json::Value>();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut monitor = Monitor {
            child,
            lines,
            seen: Vec::new(),
        };
        monitor.wait_until("the monitor to be ready", |s| {
            s.iter().any(|v| v["event"] == "ready")
        });
        monitor
    }

    /// Reads messages until `until` holds for all read so far.
    fn wait_until(&mut self, what: &str, until: impl Fn(&[serde_json::Value]) -> bool) {
        let Monitor { lines, seen, .. } = self;
        tests::wait_for(what, Duration::from_secs(20), || {
            while let Ok(v) = lines.try_recv() {
                seen.push(v);
            }
            until(seen).then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}; saw {seen:#?}"));
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
