//! `iMi remove` and `iMi prune`: what may go, what stays and why, and the records of both.

use super::*;

impl Engine {
    /// Finds a worktree of the project by folder name (`feat-x`) or by name (`x`).
    pub(super) fn resolve_worktree(
        &self,
        project: &ProjectLayout,
        name: &str,
    ) -> Result<GitWorktree> {
        names::validate_worktree_name(name)?;
        let all = self.git.worktrees(&project.trunk)?;
        let folder = |w: &GitWorktree| {
            w.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned()
        };
        let candidates: Vec<&GitWorktree> = all
            .iter()
            .filter(|w| w.path != project.trunk && !w.bare)
            .collect();
        if let Some(w) = candidates.iter().find(|w| folder(w) == name) {
            return Ok((*w).clone());
        }
        let suffixed: Vec<&&GitWorktree> = candidates
            .iter()
            .filter(|w| {
                folder(w)
                    .split_once('-')
                    .is_some_and(|(_, rest)| rest == name)
            })
            .collect();
        match suffixed.as_slice() {
            [one] => Ok((**one).clone()),
            [] => {
                if project.trunk.file_name().and_then(|n| n.to_str()) == Some(name) {
                    return Err(Error::Refused(format!(
                        "{name} is the project's trunk; iMi never removes it"
                    )));
                }
                Err(Error::NotFound {
                    what: "worktree",
                    name: name.to_owned(),
                    hint: format!(
                        "; worktrees of {}: {}",
                        project.name,
                        if candidates.is_empty() {
                            "none".to_owned()
                        } else {
                            candidates
                                .iter()
                                .map(|w| folder(w))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                })
            }
            many => Err(Error::Refused(format!(
                "{name:?} matches several worktrees ({}); give the folder name",
                many.iter()
                    .map(|w| folder(w))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Returns what removing a worktree as `req` asks would lose, and whether `remove` would
    /// refuse it, without changing anything: what a confirmation shows.
    pub async fn remove_preview(&self, req: &RemoveRequest) -> Result<RemovePreview> {
        let project = ProjectLayout::locate(&req.cwd)?;
        let wt = self.resolve_worktree(&project, &req.name)?;
        let check = self.removal_check(&project, &wt, req)?;
        Ok(RemovePreview {
            branch_deleted: wt.branch.is_some()
                && (req.delete_branch || req.remote)
                && (req.force || check.merge.is_some_and(MergeState::is_safe_to_delete)),
            worktree_name: check.worktree_name,
            path: wt.path,
            branch: wt.branch,
            merge: check.merge,
            uncommitted_files: check.dirty,
            unpushed_commits: check.unpushed,
            refusal: check.refusal.map(|e| e.to_string()),
        })
    }

    /// Reads what removing `wt` would lose and why `remove` would refuse it (without `force`).
    fn removal_check(
        &self,
        project: &ProjectLayout,
        wt: &GitWorktree,
        req: &RemoveRequest,
    ) -> Result<RemovalCheck> {
        let worktree_name = wt
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let trunk = &project.default_branch;
        let dirty = if wt.path.is_dir() {
            self.git.dirty_count(&wt.path)?
        } else {
            0
        };
        let merge = match &wt.branch {
            Some(b) => Some(self.git.merge_state(&project.trunk, b, trunk)?),
            None => None,
        };
        let unpushed = match (&wt.head, merge) {
            (_, Some(m)) if m.is_safe_to_delete() => 0,
            (Some(head), _) => self.git.unpushed_count(&project.trunk, head, trunk)?,
            (None, _) => 0,
        };
        let refusal = if req.force {
            None
        } else if dirty > 0 {
            Some(Error::WouldLoseWork(format!(
                "worktree {worktree_name} has {dirty} uncommitted file{}; commit or stash them, or pass --force to discard them",
                plural(dirty)
            )))
        } else if unpushed > 0 {
            Some(Error::WouldLoseWork(format!(
                "worktree {worktree_name} has {unpushed} commit{} that are neither pushed nor merged into {trunk}; push them, or pass --force",
                plural(unpushed as usize)
            )))
        } else if (req.delete_branch || req.remote)
            && !merge.is_some_and(MergeState::is_safe_to_delete)
        {
            Some(Error::WouldLoseWork(format!(
                "branch {} is not merged into {trunk}; nothing was removed. Merge it first, drop --delete-branch/--remote, or pass --force",
                wt.branch.as_deref().unwrap_or("(detached)")
            )))
        } else {
            None
        };
        Ok(RemovalCheck {
            worktree_name,
            dirty,
            merge,
            unpushed,
            refusal,
        })
    }

    /// Removes a worktree, refusing to lose uncommitted or unpushed work without `force`.
    pub async fn remove(&self, req: &RemoveRequest) -> Result<RemoveReport> {
        let project = ProjectLayout::locate(&req.cwd)?;
        let wt = self.resolve_worktree(&project, &req.name)?;
        let RemovalCheck {
            worktree_name,
            dirty,
            merge,
            refusal,
            ..
        } = self.removal_check(&project, &wt, req)?;
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let common = self.common_dir(&project)?;
        let lock = ProjectLock::acquire(&common)?;
        let path_arg = wt.path.display().to_string();
        let mut args = vec!["worktree", "remove"];
        if req.force || wt.locked.is_some() {
            args.extend(["--force", "--force"]);
        }
        args.push(&path_arg);
        self.git.run(&project.trunk, &args)?;
        let mut branch_deleted = false;
        let mut remote_branch_deleted = false;
        if let Some(branch) = &wt.branch {
            if req.delete_branch || req.remote {
                self.git.run(&project.trunk, &["branch", "-D", branch])?;
                branch_deleted = true;
            }
            if req.remote {
                let out = self.git.output(
                    &project.trunk,
                    &["push", "--quiet", "origin", "--delete", branch],
                )?;
                remote_branch_deleted = out.ok;
            }
        }
        drop(lock);
        let merged = merge.filter(|m| matches!(m, MergeState::Merged { .. }));
        let db = match self
            .record_remove(
                &project,
                &worktree_name,
                wt.branch.as_deref(),
                merged.is_some(),
                wt.head.as_deref(),
            )
            .await
        {
            Ok(()) => DbNote::ok(),
            Err(e) => DbNote::failed(e),
        };
        Ok(RemoveReport {
            worktree_name,
            path: wt.path,
            branch: wt.branch,
            merge,
            discarded_files: dirty,
            branch_deleted,
            remote_branch_deleted,
            db,
        })
    }

    async fn record_remove(
        &self,
        project: &ProjectLayout,
        worktree_name: &str,
        branch: Option<&str>,
        merged: bool,
        head: Option<&str>,
    ) -> Result<()> {
        let project_row = self.project_row(project).await?;
        let db = self.database()?;
        let mut tx = db.begin().await?;
        let row = db::find_active_worktree(tx.conn(), &project_row.id, worktree_name).await?;
        let id = row.as_ref().map(|r| r.id.clone());
        if let Some(row) = &row {
            db::insert_activity(
                tx.conn(),
                row.agent_id.as_deref().unwrap_or(IMI_AGENT),
                &row.id,
                "worktree_removed",
                None,
                &format!("iMi remove {worktree_name}"),
            )
            .await?;
            db::archive_worktree(
                tx.conn(),
                &row.id,
                merged.then(Utc::now),
                if merged { head } else { None },
            )
            .await?;
        }
        let event = self.event(
            "workspace.worktree.removed",
            worktree_name,
            serde_json::json!({
                "project": project.name,
                "worktree_id": id,
                "worktree_name": worktree_name,
                "branch": branch,
                "merged": merged,
            }),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists (and with `apply` removes) worktrees whose branches are merged, stale git entries
    /// and interrupted adds. Dirty worktrees are never removed.
    pub async fn prune(&self, cwd: &Path, apply: bool) -> Result<PruneReport> {
        let project = ProjectLayout::locate(cwd)?;
        let common = self.common_dir(&project)?;
        let lock = ProjectLock::acquire(&common)?;
        let interrupted: Vec<String> = if apply {
            self.clean_interrupted_adds(&project, &lock)?
        } else {
            lock.interrupted_adds()
                .into_iter()
                .map(|(_, m)| m.worktree_name)
                .collect()
        };
        let worktrees = self.git.worktrees(&project.trunk)?;
        let stale_entries: Vec<String> = worktrees
            .iter()
            .filter(|w| w.prunable.is_some())
            .map(|w| w.path.display().to_string())
            .collect();
        if apply {
            self.git.run(&project.trunk, &["worktree", "prune"])?;
        }
        let mut merged = Vec::new();
        for w in worktrees
            .iter()
            .filter(|w| w.path != project.trunk && !w.bare && w.prunable.is_none())
        {
            let Some(branch) = &w.branch else { continue };
            let state = self
                .git
                .merge_state(&project.trunk, branch, &project.default_branch)?;
            if !matches!(state, MergeState::Merged { .. }) {
                continue;
            }
            let dirty = self.git.dirty_count(&w.path)?;
            let worktree_name = w
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let action = if dirty > 0 {
                format!("kept: {dirty} uncommitted file{}", plural(dirty))
            } else if !apply {
                "would_remove".to_owned()
            } else {
                let path_arg = w.path.display().to_string();
                match self
                    .git
                    .run(&project.trunk, &["worktree", "remove", &path_arg])
                    .and_then(|_| self.git.run(&project.trunk, &["branch", "-D", branch]))
                {
                    Ok(_) => "removed".to_owned(),
                    Err(e) => format!("kept: {e}"),
                }
            };
            merged.push(PruneCandidate {
                worktree_name,
                path: w.path.clone(),
                branch: branch.clone(),
                merge: state,
                dirty_files: dirty,
                action,
            });
        }
        drop(lock);
        let db = if apply {
            match self.record_prune(&project, &merged).await {
                Ok(()) => DbNote::ok(),
                Err(e) => DbNote::failed(e),
            }
        } else {
            DbNote::ok()
        };
        Ok(PruneReport {
            merged,
            stale_entries,
            interrupted_adds: interrupted,
            applied: apply,
            db,
        })
    }

    async fn record_prune(&self, project: &ProjectLayout, merged: &[PruneCandidate]) -> Result<()> {
        let project_row = self.project_row(project).await?;
        let db = self.database()?;
        let mut tx = db.begin().await?;
        // Rows whose folder is gone (removed by prune, by hand, or by an interrupted add) become history.
        for row in db::list_worktrees(tx.conn(), &project_row.id, true).await? {
            if Path::new(&row.path).exists() {
                continue;
            }
            let was_merged = merged
                .iter()
                .any(|c| c.worktree_name == row.worktree_name && c.action == "removed");
            db::archive_worktree(tx.conn(), &row.id, was_merged.then(Utc::now), None).await?;
            let event = self.event(
                "workspace.worktree.removed",
                &row.worktree_name,
                serde_json::json!({
                    "project": project.name,
                    "worktree_id": row.id,
                    "worktree_name": row.worktree_name,
                    "branch": row.branch_name,
                    "merged": was_merged,
                    "by": "prune",
                }),
            );
            bloodbank::outbox_append(tx.conn(), &event).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// What [`Engine::removal_check`] found.
struct RemovalCheck {
    worktree_name: String,
    dirty: usize,
    merge: Option<MergeState>,
    unpushed: u64,
    refusal: Option<Error>,
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Project;
    use super::*;

    fn request(p: &Project, name: &str, force: bool) -> RemoveRequest {
        RemoveRequest {
            cwd: p.trunk.clone(),
            name: name.into(),
            force,
            delete_branch: false,
            remote: false,
        }
    }

    #[tokio::test]
    async fn uncommitted_work_is_kept_unless_forced_and_a_removal_forgets_the_worktree() {
        let (p, added) = Project::with_worktree("feat", "search").await;
        std::fs::write(added.worktree.path.join("draft.txt"), "x").unwrap();
        let refused = p
            .engine
            .remove(&request(&p, "search", false))
            .await
            .unwrap_err();
        assert_eq!(refused.class(), ErrorClass::User, "{refused}");
        assert!(
            added.worktree.path.join("draft.txt").exists(),
            "nothing lost"
        );

        let preview = p
            .engine
            .remove_preview(&request(&p, "feat-search", true))
            .await;
        assert!(preview.is_ok(), "{preview:?}");
        let removed = p
            .engine
            .remove(&request(&p, "feat-search", true))
            .await
            .unwrap();
        assert_eq!(removed.worktree_name, "feat-search");
        assert_eq!(removed.discarded_files, 1);
        assert!(!added.worktree.path.exists());
        assert!(p.engine.list(&p.trunk).await.unwrap().worktrees.is_empty());
        let gone = p
            .engine
            .remove(&request(&p, "search", true))
            .await
            .unwrap_err();
        assert_eq!(gone.class(), ErrorClass::User, "{gone}");
    }
}
