//! `iMi list` and `iMi status`: the worktrees as the database and git see them.

use super::*;

impl Engine {
    /// Returns the live worktrees from the database alone, without running git.
    pub async fn list(&self, cwd: &Path) -> Result<ListReport> {
        let project = ProjectLayout::locate(cwd)?;
        let db = self.database()?;
        let mut conn = db.acquire().await?;
        let row = db::find_project(conn.conn(), &project.name)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "project",
                name: project.name.clone(),
                hint: "; it is not registered: run `iMi init` in its trunk".into(),
            })?;
        let worktrees = db::list_worktrees(conn.conn(), &row.id, true).await?;
        Ok(ListReport {
            project: row,
            worktrees,
        })
    }

    /// Returns trunk's and every worktree's state, reading the worktrees in parallel.
    pub async fn status(&self, cwd: &Path) -> Result<StatusReport> {
        let project = ProjectLayout::locate(cwd)?;
        let worktrees = self.git.worktrees(&project.trunk)?;
        let live: Vec<&GitWorktree> = worktrees
            .iter()
            .filter(|w| !w.bare && w.prunable.is_none() && w.path.is_dir())
            .collect();
        // Every worktree's `git status` starts at once and runs while the branches and the
        // database are read.
        let pending: Vec<std::thread::JoinHandle<Result<usize>>> = live
            .iter()
            .map(|w| {
                let git = self.git.clone();
                let path = w.path.clone();
                std::thread::spawn(move || git.dirty_count(&path))
            })
            .collect();
        let branches = self.git.branches(&project.trunk, &project.default_branch)?;
        let kinds = self.kinds().await;
        // Without the database the agents are unknown: the report says why, and git's part
        // is shown all the same.
        let rows = async {
            let db = self.database()?;
            let p = self.project_row(&project).await?;
            let mut c = db.acquire().await?;
            Ok::<_, Error>(db::list_worktrees(c.conn(), &p.id, true).await?)
        }
        .await;
        let (rows, database_read_error) = match rows {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let now = Utc::now().timestamp();
        let dirty: Vec<Result<usize>> = pending
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Refused(
                        "reading this worktree's status failed".into(),
                    ))
                })
            })
            .collect();
        let mut trunk = None;
        let mut others = Vec::new();
        for (w, dirty) in live.iter().zip(dirty) {
            let folder = w
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let row = rows.iter().find(|r| Path::new(&r.path) == w.path);
            let mut st = WorktreeStatus {
                name: folder.clone(),
                kind: row.map(|r| r.type_name.clone()).or_else(|| {
                    kinds
                        .iter()
                        .find(|k| folder.starts_with(&k.worktree_prefix))
                        .map(|k| k.name.clone())
                }),
                branch: w.branch.clone(),
                path: w.path.clone(),
                agent_id: row.and_then(|r| r.agent_id.clone()),
                ..WorktreeStatus::default()
            };
            match dirty {
                Ok(n) => st.dirty_files = n,
                Err(e) => st.error = Some(e.to_string()),
            }
            if let Some(info) = w.branch.as_ref().and_then(|b| branches.get(b)) {
                st.ahead = info.ahead_trunk;
                st.behind = info.behind_trunk;
                st.upstream = info.upstream.clone();
                st.ahead_of_upstream = info.ahead_upstream;
                st.behind_upstream = info.behind_upstream;
                st.last_commit = Some(info.subject.clone());
                st.last_commit_hash = Some(info.tip.clone());
                st.last_commit_age_seconds = Some((now - info.committed_at).max(0));
            } else if let Some(head) = &w.head {
                st.last_commit_hash = Some(head.clone());
            }
            if w.path == project.trunk {
                st.kind = Some("trunk".into());
                // Trunk is never apart from itself: its distance is to its upstream.
                st.ahead = st.ahead_of_upstream;
                st.behind = st.behind_upstream;
                trunk = Some(st);
            } else {
                others.push(st);
            }
        }
        let db = match &database_read_error {
            Some(e) => DbNote::failed(e),
            None => self.cache_status(&rows, &others).await,
        };
        Ok(StatusReport {
            repository: project.name,
            trunk: trunk.unwrap_or_else(|| WorktreeStatus {
                name: trunk_folder(&project.default_branch),
                path: project.trunk.clone(),
                error: Some("trunk is not a git worktree".into()),
                ..WorktreeStatus::default()
            }),
            worktrees: others,
            db,
            database_read_error: database_read_error.map(std::sync::Arc::new),
        })
    }

    async fn cache_status(&self, rows: &[WorktreeRow], seen: &[WorktreeStatus]) -> DbNote {
        let db = match self.database() {
            Ok(db) => db,
            Err(e) => return DbNote::failed(e),
        };
        let write = async {
            let mut tx = db.begin().await?;
            for st in seen {
                if let Some(row) = rows.iter().find(|r| Path::new(&r.path) == st.path) {
                    db::update_status(
                        tx.conn(),
                        &row.id,
                        &StatusUpdate {
                            dirty_files: i32::try_from(st.dirty_files).unwrap_or(i32::MAX),
                            ahead_of_trunk: i32::try_from(st.ahead).unwrap_or(i32::MAX),
                            behind_trunk: i32::try_from(st.behind).unwrap_or(i32::MAX),
                            last_commit_hash: st.last_commit_hash.clone(),
                            last_commit_message: st.last_commit.clone(),
                        },
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            Ok::<_, Error>(())
        };
        match write.await {
            Ok(()) => DbNote::ok(),
            Err(e) => DbNote::failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Project;

    #[tokio::test]
    async fn list_and_status_see_the_worktree_and_its_uncommitted_files() {
        let (p, added) = Project::with_worktree("fix", "crash").await;
        let listed = p.engine.list(&p.trunk).await.unwrap();
        assert_eq!(listed.project.name, "demo");
        let names: Vec<&str> = listed
            .worktrees
            .iter()
            .map(|w| w.worktree_name.as_str())
            .collect();
        assert_eq!(names, ["fix-crash"]);

        std::fs::write(added.worktree.path.join("new.txt"), "x").unwrap();
        let status = p.engine.status(&added.worktree.path).await.unwrap();
        assert_eq!(status.repository, "demo");
        assert_eq!(status.trunk.dirty_files, 0);
        let wt = status
            .worktrees
            .iter()
            .find(|w| w.name == "fix-crash")
            .expect("the worktree in the status");
        assert_eq!(wt.dirty_files, 1);
        assert_eq!(wt.kind.as_deref(), Some("fix"));
        assert_eq!(wt.last_commit.as_deref(), Some("First commit"));
        assert_eq!((wt.ahead, wt.behind), (0, 0));
    }
}
