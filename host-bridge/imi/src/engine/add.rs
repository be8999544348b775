//! `iMi add`: a typed worktree (or a pull request's review worktree), its hooks and its record.

use super::*;

impl Engine {
    /// Creates a typed worktree: branch `<prefix>NAME` in folder `<prefix>NAME/` next to trunk.
    pub async fn add(&self, req: &AddRequest) -> Result<AddReport> {
        names::validate_type_name(&req.kind)?;
        let kinds = self.kinds().await;
        let kind = kinds
            .iter()
            .find(|k| k.name == req.kind)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "worktree type",
                name: req.kind.clone(),
                hint: format!(
                    "; known types: {}",
                    kinds
                        .iter()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let pr = (kind.name == "review")
            .then(|| names::parse_pr_reference(&req.name))
            .flatten();
        let looks_like_pr = req.name.starts_with('#')
            || req.name.starts_with("http")
            || (!req.name.is_empty() && req.name.chars().all(|c| c.is_ascii_digit()));
        if kind.name == "review" && pr.is_none() && looks_like_pr {
            return Err(Error::InvalidName(format!(
                "{:?} is not a pull request: give its number (1 to 9999999999, optionally as #N) or its URL https://github.com/OWNER/REPO/pull/N",
                req.name
            )));
        }
        let name = match pr {
            Some(n) => n.to_string(),
            None => {
                names::validate_worktree_name(&req.name)?;
                req.name.clone()
            }
        };
        if let Some(agent) = &req.agent {
            validate_agent(agent)?;
        }
        let project = ProjectLayout::locate(&req.cwd)?;
        let branch = format!("{}{}", kind.branch_prefix, name);
        let worktree_name = format!("{}{}", kind.worktree_prefix, name);
        let path = project.worktree_path(&worktree_name);
        let common = self.common_dir(&project)?;

        let lock = ProjectLock::acquire(&common)?;
        let cleaned_up = self.clean_interrupted_adds(&project, &lock)?;
        if path.exists() {
            return Err(Error::AlreadyExists {
                what: "worktree",
                name: worktree_name,
                hint: format!(
                    "; {} is taken: pick another name, or `iMi go {name}` to use it",
                    path.display()
                ),
            });
        }
        let branch_ref = format!("refs/heads/{branch}");
        if let Some(pr) = pr {
            // A pull request's head is fetched into its own local branch.
            let refspec = format!("+refs/pull/{pr}/head:{branch_ref}");
            let out = self
                .git
                .output(&project.trunk, &["fetch", "--quiet", "origin", &refspec])?;
            if !out.ok {
                return Err(pr_fetch_error(pr, &out.stderr));
            }
        }
        let branch_exists = self.branch_exists(&project, &common, &branch_ref)?;
        if branch_exists {
            if let Some(other) = self
                .git
                .worktrees(&project.trunk)?
                .into_iter()
                .find(|w| w.branch.as_deref() == Some(branch.as_str()))
            {
                return Err(Error::AlreadyExists {
                    what: "worktree for branch",
                    name: branch,
                    hint: format!("; it is checked out at {}", other.path.display()),
                });
            }
        }
        let from = req
            .from
            .clone()
            .unwrap_or_else(|| project.default_branch.clone());
        let marker_path = lock.write_marker(&PendingAdd {
            worktree_name: worktree_name.clone(),
            path: path.clone(),
            branch: branch.clone(),
            creates_branch: !branch_exists,
        })?;
        let path_arg = path.display().to_string();
        self.progress(&format!("checking out {branch} into {}", path.display()));
        let result = if branch_exists {
            self.git.run(
                &project.trunk,
                &["worktree", "add", "--quiet", &path_arg, &branch],
            )
        } else {
            self.git.run(
                &project.trunk,
                &[
                    "worktree",
                    "add",
                    "--quiet",
                    "--no-track",
                    "-b",
                    &branch,
                    &path_arg,
                    &from,
                ],
            )
        };
        if let Err(e) = result {
            self.undo_add(&project, &path, &branch, !branch_exists);
            let _ = std::fs::remove_file(&marker_path);
            return Err(e);
        }
        let _ = std::fs::remove_file(&marker_path);
        drop(lock);

        let trust = self.config.trust_file.clone().map(TrustStore::new);
        let (setup, setup_error) = if req.no_setup {
            (None, None)
        } else {
            match run_setup(
                &project,
                &common,
                &path,
                &branch,
                self.config.global_sync_dir.as_deref(),
                trust.as_ref(),
                &|line: &str| self.progress(line),
            ) {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(e.to_string())),
            }
        };

        let agent = req.agent.clone();
        let mut metadata = serde_json::json!({});
        let mut pr_metadata_error = None;
        let mut pr_metadata_error_class = None;
        if let Some(pr) = pr {
            metadata["pr_number"] = serde_json::json!(pr);
            match self.pr_metadata(&project, pr).await {
                Ok(Some(info)) => {
                    metadata["pr_title"] = serde_json::json!(info.title);
                    metadata["pr_author"] = serde_json::json!(info.author);
                    metadata["pr_url"] = serde_json::json!(info.url);
                    metadata["pr_head_ref"] = serde_json::json!(info.head_ref);
                    metadata["pr_base_ref"] = serde_json::json!(info.base_ref);
                }
                Ok(None) => {}
                Err(e) => {
                    pr_metadata_error = Some(e.to_string());
                    pr_metadata_error_class = Some(e.class());
                }
            }
        }
        let mut info = WorktreeInfo {
            id: None,
            name,
            kind: kind.name.clone(),
            branch: branch.clone(),
            worktree_name,
            path,
            agent_id: agent,
        };
        let db = match self
            .record_add(&project, &kind, &info, metadata.clone())
            .await
        {
            Ok(id) => {
                info.id = Some(id);
                DbNote::ok()
            }
            Err(e) => DbNote::failed(e),
        };
        Ok(AddReport {
            worktree: info,
            created_branch: !branch_exists,
            from: if branch_exists { branch } else { from },
            cleaned_up,
            pr_metadata_error,
            pr_metadata_error_class,
            metadata,
            setup,
            setup_error,
            db,
        })
    }

    async fn pr_metadata(
        &self,
        project: &ProjectLayout,
        pr: u64,
    ) -> Result<Option<github::PullRequestInfo>> {
        let Some(config) = &self.config.github else {
            return Ok(None);
        };
        let origin = self.origin_url(&project.trunk).ok_or_else(|| {
            Error::Refused("the repository has no origin remote to find its pull requests".into())
        })?;
        let (owner, repo) = github::owner_repo(&origin).ok_or_else(|| {
            Error::Refused(format!(
                "cannot tell the GitHub repository from origin {origin}"
            ))
        })?;
        github::pull_request(config, &owner, &repo, pr)
            .await
            .map(Some)
    }

    async fn record_add(
        &self,
        project: &ProjectLayout,
        kind: &WorktreeKind,
        info: &WorktreeInfo,
        metadata: serde_json::Value,
    ) -> Result<String> {
        let project_row = self.project_row(project).await?;
        let db = self.database()?;
        let type_id = if kind.id == 0 {
            db.list_worktree_types()
                .await?
                .into_iter()
                .find(|t| t.name == kind.name)
                .map(|t| t.id)
                .unwrap_or(1)
        } else {
            kind.id
        };
        let mut tx = db.begin().await?;
        let row = db::insert_worktree(
            tx.conn(),
            &NewWorktree {
                project_id: project_row.id.clone(),
                type_id,
                name: info.name.clone(),
                branch_name: info.branch.clone(),
                worktree_name: info.worktree_name.clone(),
                path: info.path.display().to_string(),
                agent_id: info.agent_id.clone(),
                metadata,
            },
        )
        .await?;
        db::insert_activity(
            tx.conn(),
            info.agent_id.as_deref().unwrap_or(IMI_AGENT),
            &row.id,
            "worktree_created",
            None,
            &format!("iMi add {} {}", info.kind, info.name),
        )
        .await?;
        let event = self.event(
            "workspace.worktree.created",
            &info.worktree_name,
            serde_json::json!({
                "project": project.name,
                "worktree_id": row.id,
                "name": info.name,
                "type": info.kind,
                "branch": info.branch,
                "worktree_name": info.worktree_name,
                "path": info.path,
                "agent_id": info.agent_id,
            }),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(row.id)
    }

    /// Removes what a failed or interrupted add made: the worktree entry, its folder, and the
    /// branch when the add created it.
    fn undo_add(&self, project: &ProjectLayout, path: &Path, branch: &str, created_branch: bool) {
        let path_arg = path.display().to_string();
        let _ = self.git.output(
            &project.trunk,
            &["worktree", "remove", "--force", "--force", &path_arg],
        );
        if path.exists() {
            let _ = std::fs::remove_dir_all(path);
        }
        let _ = self.git.output(&project.trunk, &["worktree", "prune"]);
        if created_branch {
            let _ = self.git.output(&project.trunk, &["branch", "-D", branch]);
        }
    }

    pub(super) fn clean_interrupted_adds(
        &self,
        project: &ProjectLayout,
        lock: &ProjectLock,
    ) -> Result<Vec<String>> {
        let mut cleaned = Vec::new();
        for (marker_path, marker) in lock.interrupted_adds() {
            self.undo_add(project, &marker.path, &marker.branch, marker.creates_branch);
            let _ = std::fs::remove_file(&marker_path);
            cleaned.push(marker.worktree_name);
        }
        Ok(cleaned)
    }
}

/// Returns why `git fetch origin refs/pull/PR/head` failed: the pull request does not exist
/// (origin has no such ref), or origin could not be reached (an unavailable dependency).
fn pr_fetch_error(pr: u64, stderr: &str) -> Error {
    if stderr.contains("couldn't find remote ref") {
        return Error::NotFound {
            what: "pull request",
            name: pr.to_string(),
            hint: format!("; origin has no refs/pull/{pr}/head: check the number"),
        };
    }
    Error::RemoteUnreachable {
        remote: "origin".into(),
        what: format!("fetch pull request {pr}"),
        stderr: stderr.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Project;
    use super::*;

    #[test]
    fn a_failed_pull_request_fetch_is_missing_only_when_origin_answered() {
        let missing = pr_fetch_error(123, "fatal: couldn't find remote ref refs/pull/123/head");
        assert_eq!(
            (missing.class(), missing.kind()),
            (ErrorClass::User, "not_found")
        );
        let unreachable = pr_fetch_error(
            123,
            "fatal: unable to access 'https://github.com/o/r.git/': Could not resolve host: github.com",
        );
        assert_eq!(
            (unreachable.class(), unreachable.kind()),
            (ErrorClass::Unavailable, "remote_unavailable")
        );
        let ssh = pr_fetch_error(
            123,
            "ssh: Could not resolve hostname github.com: Name or service not known\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.",
        );
        assert_eq!(ssh.kind(), "remote_unavailable");
        assert!(!ssh.to_string().contains('\n'), "{ssh}");
    }

    #[tokio::test]
    async fn a_typed_worktree_is_made_beside_the_trunk_once_and_bad_names_are_refused() {
        let (p, added) = Project::with_worktree("feat", "login").await;
        let wt = &added.worktree;
        assert_eq!((wt.kind.as_str(), wt.name.as_str()), ("feat", "login"));
        assert_eq!(wt.worktree_name, "feat-login");
        assert_eq!(wt.path, p.trunk.parent().unwrap().join("feat-login"));
        assert!(wt.path.join("README.md").exists(), "checked out");
        assert!(added.created_branch);
        assert_eq!(added.db, DbNote::ok());
        assert!(wt.id.is_some(), "recorded");

        let twice = p.engine.add(&p.request("feat", "login")).await.unwrap_err();
        assert_eq!(twice.class(), ErrorClass::User, "{twice}");
        for bad in ["../x", "a b", "x\u{7}"] {
            let e = p.engine.add(&p.request("feat", bad)).await.unwrap_err();
            assert!(matches!(e, Error::InvalidName(_)), "{bad:?}: {e}");
        }
        let e = p.engine.add(&p.request("nonsense", "x")).await.unwrap_err();
        assert_eq!(e.class(), ErrorClass::User, "{e}");
        assert!(!p.trunk.parent().unwrap().join("nonsense-x").exists());
    }
}
