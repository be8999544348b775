//! `iMi monitor`: file changes across all worktrees of a project, debounced, attributed to the owning agent, recorded as activities.
//!
//! One recursive watcher on the project folder (so worktrees created later are seen too);
//! events under `.git/` are dropped at once, the rest are collected for [`DEBOUNCE`], merged per
//! path, filtered through `git check-ignore` per worktree, and handed to the caller's sink.
//! Worktrees iMi knows get each event recorded in `agent_activities` under their agent.
//!
//! iMi's own checkout of a new worktree is not a change: `iMi add` writes a marker
//! (`lock::PendingAdd`, in `<common dir>/imi-pending/`) before git checks the worktree out and
//! removes it after, and the watcher sees the marker come and go in the same ordered stream as
//! the checkout's files. Events of a worktree between the two are left out, and the marker's
//! removal is reported once as [`MonitorMessage::WorktreeCreated`]; nothing depends on timing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use notify::{EventKind, RecursiveMode, Watcher as _};
use serde::Serialize;

use crate::db;
use crate::engine::{DbState, Engine};
use crate::error::{Error, Result};
use crate::layout::ProjectLayout;
use crate::lock;

/// How long events are collected before they are reported together.
pub const DEBOUNCE: Duration = Duration::from_millis(10);

/// The agent recorded when a worktree has no owner.
pub const UNATTRIBUTED: &str = "unattributed";

/// One reported file change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileEvent {
    /// The worktree's folder name.
    pub worktree: String,
    /// The path relative to the worktree.
    pub path: String,
    /// `created`, `modified`, `removed` or `renamed`.
    pub kind: &'static str,
    /// The agent owning the worktree, when known.
    pub agent_id: Option<String>,
    /// When it was reported (RFC 3339).
    pub time: String,
}

/// What the monitor tells its sink.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MonitorMessage {
    /// The watcher is running; changes from now on are reported.
    Ready {
        /// The project.
        project: String,
        /// The folders watched.
        root: PathBuf,
    },
    /// A file changed.
    Change(FileEvent),
    /// iMi checked out a new worktree; its files were not reported one by one, and changes in
    /// it are reported from now on.
    WorktreeCreated {
        /// The worktree's folder name.
        worktree: String,
        /// When it was reported (RFC 3339).
        time: String,
    },
    /// Activities could not be recorded (the events are still reported).
    DatabaseError {
        /// Why.
        message: String,
    },
}

fn kind_name(kind: &EventKind) -> Option<&'static str> {
    use notify::event::{ModifyKind, RenameMode};
    match kind {
        EventKind::Create(_) => Some("created"),
        EventKind::Remove(_) => Some("removed"),
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => Some("removed"),
        EventKind::Modify(ModifyKind::Name(_)) => Some("renamed"),
        EventKind::Modify(ModifyKind::Metadata(_)) => None,
        EventKind::Modify(_) => Some("modified"),
        EventKind::Access(_) | EventKind::Any | EventKind::Other => None,
    }
}

/// Splits `path` under `root` into the worktree folder and the path inside it; `None` for
/// paths outside worktrees or inside `.git`.
fn split(root: &Path, path: &Path) -> Option<(String, String)> {
    let rel = path.strip_prefix(root).ok()?;
    let mut comps = rel.components();
    let worktree = match comps.next()? {
        Component::Normal(n) => n.to_str()?.to_owned(),
        _ => return None,
    };
    let inner: PathBuf = comps.collect();
    if inner.as_os_str().is_empty() || inner.components().any(|c| c.as_os_str() == ".git") {
        return None;
    }
    Some((worktree, inner.to_str()?.to_owned()))
}

impl Engine {
    /// Watches every worktree of the project containing `cwd` and passes each message to `sink`
    /// until it returns false.
    pub async fn monitor(
        &self,
        cwd: &Path,
        mut sink: impl FnMut(&MonitorMessage) -> bool,
    ) -> Result<()> {
        let project = ProjectLayout::locate(cwd)?;
        let root = project.root.canonicalize().unwrap_or(project.root.clone());
        // The marker folder exists before the watch starts, so every marker in it is seen.
        let pending = lock::pending_dir(&self.common_dir(&project)?);
        std::fs::create_dir_all(&pending).map_err(|e| Error::io("cannot create", &pending, e))?;
        let pending = pending.canonicalize().unwrap_or(pending);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Event>();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res {
                let _ = tx.send(event);
            }
        })
        .map_err(|e| Error::Refused(format!("cannot watch {}: {e}", root.display())))?;
        let mut watch = |dir: &Path, mode| {
            watcher.watch(dir, mode).map_err(|e| {
                Error::Refused(format!(
                    "cannot watch {}: {e}; raise fs.inotify.max_user_watches if the limit was hit",
                    dir.display()
                ))
            })
        };
        watch(&root, RecursiveMode::Recursive)?;
        if !pending.starts_with(&root) {
            watch(&pending, RecursiveMode::NonRecursive)?;
        }
        if !sink(&MonitorMessage::Ready {
            project: project.name.clone(),
            root: root.clone(),
        }) {
            return Ok(());
        }
        // Adds under way when the watch started.
        let mut checking_out: HashSet<String> = std::fs::read_dir(&pending)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| lock::marked_worktree(&pending, &e.path()).map(str::to_owned))
            .collect();
        let mut owners = self.owners(&project).await;
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + DEBOUNCE;
            while let Ok(Some(e)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                batch.push(e);
            }
            // In arrival order, so that a marker mutes exactly the events that came while it
            // existed. The last kind per (worktree, path) wins: create+modify reads as the later event.
            let mut created: Vec<String> = Vec::new();
            let mut merged: BTreeMap<(String, String), &'static str> = BTreeMap::new();
            for event in &batch {
                let Some(kind) = kind_name(&event.kind) else {
                    continue;
                };
                for path in &event.paths {
                    if let Some(worktree) = lock::marked_worktree(&pending, path) {
                        if kind == "removed" {
                            if checking_out.remove(worktree)
                                && root.join(worktree).join(".git").exists()
                            {
                                created.push(worktree.to_owned());
                            }
                        } else {
                            checking_out.insert(worktree.to_owned());
                        }
                        continue;
                    }
                    let Some(key) = split(&root, path) else {
                        continue;
                    };
                    if checking_out.contains(&key.0) {
                        continue;
                    }
                    let entry = merged.entry(key).or_insert(kind);
                    if !(*entry == "created" && kind == "modified") {
                        *entry = kind;
                    }
                }
            }
            let time = crate::rfc3339(Utc::now());
            for worktree in created {
                if !sink(&MonitorMessage::WorktreeCreated {
                    worktree,
                    time: time.clone(),
                }) {
                    return Ok(());
                }
            }
            if merged.is_empty() {
                continue;
            }
            let merged = self.drop_ignored(&root, merged);
            if merged.is_empty() {
                continue;
            }
            if merged.keys().any(|(w, _)| !owners.contains_key(w)) {
                owners = self.owners(&project).await;
            }
            let events: Vec<FileEvent> = merged
                .into_iter()
                .map(|((worktree, path), kind)| FileEvent {
                    agent_id: owners.get(&worktree).and_then(|(_, a)| a.clone()),
                    worktree,
                    path,
                    kind,
                    time: time.clone(),
                })
                .collect();
            for e in &events {
                if !sink(&MonitorMessage::Change(e.clone())) {
                    return Ok(());
                }
            }
            if let Err(e) = self.record_file_events(&owners, &events).await {
                if !sink(&MonitorMessage::DatabaseError {
                    message: e.to_string(),
                }) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Returns worktree folder name -> (row id, agent) for the project's live worktrees.
    async fn owners(&self, project: &ProjectLayout) -> HashMap<String, (String, Option<String>)> {
        let DbState::Open(db) = self.db() else {
            return HashMap::new();
        };
        let Ok(Some(p)) =
            async { db::find_project(db.acquire().await?.conn(), &project.name).await }.await
        else {
            return HashMap::new();
        };
        let Ok(mut conn) = db.acquire().await else {
            return HashMap::new();
        };
        db::list_worktrees(conn.conn(), &p.id, true)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|w| (w.worktree_name, (w.id, w.agent_id)))
            .collect()
    }

    fn drop_ignored(
        &self,
        root: &Path,
        merged: BTreeMap<(String, String), &'static str>,
    ) -> BTreeMap<(String, String), &'static str> {
        let mut per_worktree: HashMap<&str, Vec<&str>> = HashMap::new();
        for (w, p) in merged.keys() {
            per_worktree.entry(w.as_str()).or_default().push(p.as_str());
        }
        let mut ignored: Vec<(String, String)> = Vec::new();
        for (worktree, paths) in per_worktree {
            let dir = root.join(worktree);
            if !dir.join(".git").exists() {
                // Not a worktree (the sync folder, a folder being created): nothing to report.
                ignored.extend(paths.iter().map(|p| (worktree.to_owned(), (*p).to_owned())));
                continue;
            }
            let input: String = paths.iter().map(|p| format!("{p}\0")).collect();
            if let Ok(out) = self.git().output_with_input(
                &dir,
                &["check-ignore", "-z", "--stdin"],
                Some(input.as_bytes()),
            ) {
                ignored.extend(
                    out.stdout
                        .split('\0')
                        .filter(|p| !p.is_empty())
                        .map(|p| (worktree.to_owned(), p.to_owned())),
                );
            }
        }
        merged
            .into_iter()
            .filter(|(k, _)| !ignored.contains(k))
            .collect()
    }

    async fn record_file_events(
        &self,
        owners: &HashMap<String, (String, Option<String>)>,
        events: &[FileEvent],
    ) -> Result<()> {
        let DbState::Open(db) = self.db() else {
            return Ok(());
        };
        let known: Vec<(&FileEvent, &String)> = events
            .iter()
            .filter_map(|e| owners.get(&e.worktree).map(|(id, _)| (e, id)))
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        let mut tx = db.begin().await?;
        for (e, id) in known {
            db::insert_activity(
                tx.conn(),
                e.agent_id.as_deref().unwrap_or(UNATTRIBUTED),
                id,
                &format!("file_{}", e.kind),
                Some(&e.path),
                "",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_worktree_and_inner_path_and_skip_git() {
        let root = Path::new("/p");
        assert_eq!(
            split(root, Path::new("/p/feat-x/src/a.rs")),
            Some(("feat-x".into(), "src/a.rs".into()))
        );
        assert_eq!(split(root, Path::new("/p/feat-x/.git")), None);
        assert_eq!(
            split(root, Path::new("/p/trunk-main/.git/index.lock")),
            None
        );
        assert_eq!(split(root, Path::new("/p/feat-x")), None);
        assert_eq!(split(root, Path::new("/elsewhere/x")), None);
    }
}
