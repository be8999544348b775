//! `iMi monitor --json`: changes across worktrees with their agent, nothing from `.git/` or ignored paths, activities recorded.

use std::io::BufRead as _;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::Sandbox;

#[test]
fn monitor_reports_attributed_changes_and_skips_ignored_paths() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    sb.imi(&["feat", "watched", "--agent", "claude-7"]).data();
    sb.imi(&["fix", "other"]).data();
    let mut child = KillOnDrop(
        sb.imi_command(&trunk, &["monitor"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel::<serde_json::Value>();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let v =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let mut collect = |until: &dyn Fn(&[serde_json::Value]) -> bool, what: &str| {
        tests::wait_for(what, Duration::from_secs(20), || {
            while let Ok(v) = rx.try_recv() {
                seen.push(v);
            }
            until(&seen).then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}; saw {seen:#?}"));
    };
    collect(
        &|s| s.iter().any(|v| v["event"] == "ready"),
        "the monitor to be ready",
    );

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
    collect(
        &|s| change(s, "feat-watched", "src/m0/f0.rs") && change(s, "fix-other", "NEW.md"),
        "both changes to be reported",
    );
    let modified = seen
        .iter()
        .find(|v| v["event"] == "change" && v["path"] == "src/m0/f0.rs")
        .unwrap();
    assert_eq!(modified["agent_id"], "claude-7");
    assert_eq!(modified["kind"], "modified");
    let created = seen.iter().find(|v| v["path"] == "NEW.md").unwrap();
    assert_eq!(created["kind"], "created");
    assert_eq!(created["agent_id"], serde_json::Value::Null);
    for v in &seen {
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
    drop(child);
}

/// Kills the monitor when the test ends, also when it fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
