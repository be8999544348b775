//! `iMi init`, `iMi project create` and `iMi trust`: a project in the convention layout, registered.

use super::*;

impl Engine {
    /// Registers the repository at `cwd` (or `repo`: a path, or a URL to clone) as a project.
    ///
    /// A checkout that is not yet in the convention layout is moved into `trunk-<branch>/` of a
    /// folder of the same name only when `force` is set; otherwise the error explains the move.
    pub async fn init(&self, cwd: &Path, repo: Option<&str>, force: bool) -> Result<InitReport> {
        let local = match repo {
            None => Some(cwd.to_owned()),
            Some(r) => {
                let p = cwd.join(r);
                (p.join(".git").exists()).then_some(p)
            }
        };
        let (trunk, cloned, moved_from) = match (local, repo) {
            (Some(path), _) => {
                let (trunk, moved) = self.adopt_checkout(&path, force)?;
                (trunk, false, moved)
            }
            (None, Some(url)) => (self.clone_into_layout(cwd, url)?, true, None),
            (None, None) => unreachable!("a missing repo argument means the current folder"),
        };
        let project = ProjectLayout::from_trunk(&trunk)?;
        let remote_origin = self.origin_url(&trunk);
        let db = match self.register_project(&project, remote_origin.clone()).await {
            Ok(_) => DbNote::ok(),
            Err(e) => DbNote::failed(e),
        };
        Ok(InitReport {
            project,
            remote_origin,
            cloned,
            moved_from,
            db,
        })
    }

    pub(super) async fn register_project(
        &self,
        project: &ProjectLayout,
        remote_origin: Option<String>,
    ) -> Result<ProjectRow> {
        let db = self.database()?;
        let mut tx = db.begin().await?;
        let row = db::upsert_project(
            tx.conn(),
            &NewProject {
                name: project.name.clone(),
                remote_origin,
                default_branch: project.default_branch.clone(),
                trunk_path: project.trunk.display().to_string(),
            },
        )
        .await?;
        let event = self.event(
            "workspace.project.registered",
            &project.name,
            serde_json::json!({"project": project.name, "trunk_path": row.trunk_path, "default_branch": row.default_branch, "remote_origin": row.remote_origin}),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(row)
    }

    fn adopt_checkout(&self, path: &Path, force: bool) -> Result<(PathBuf, Option<PathBuf>)> {
        let common = self.git.common_dir(path)?;
        let main = common
            .parent()
            .filter(|_| common.file_name().is_some_and(|n| n == ".git"))
            .ok_or_else(|| {
                Error::Refused(format!(
                    "{} is a bare repository; run `iMi init --repo {}` from the folder that should hold the project",
                    common.display(),
                    common.display()
                ))
            })?
            .to_owned();
        let folder = main
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if folder.starts_with(TRUNK_PREFIX) {
            return Ok((main, None));
        }
        let branch = self.git.current_branch_or_main(&main)?;
        let target = main.join(trunk_folder(&branch));
        if !force {
            return Err(Error::Refused(format!(
                "{} is not in iMi's layout; iMi would move this checkout to {} (the project folder keeps its name and holds trunk-{} plus one folder per worktree). Nothing was changed: run `iMi init --force` to move it",
                main.display(),
                target.display(),
                branch.replace('/', "-")
            )));
        }
        let parent = main.parent().unwrap_or(Path::new("/"));
        let staging = parent.join(format!(".{folder}.imi-moving"));
        std::fs::rename(&main, &staging).map_err(|e| Error::io("cannot move", &main, e))?;
        std::fs::create_dir(&main).map_err(|e| Error::io("cannot create", &main, e))?;
        std::fs::rename(&staging, &target).map_err(|e| Error::io("cannot move", &staging, e))?;
        // Linked worktrees point at the old .git folder; git can fix both directions.
        self.git.run(&target, &["worktree", "repair"])?;
        Ok((target, Some(main)))
    }

    fn clone_into_layout(&self, cwd: &Path, url: &str) -> Result<PathBuf> {
        let name = url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
            .trim_end_matches(".git")
            .to_owned();
        names::validate_worktree_name(&name).map_err(|_| {
            Error::InvalidName(format!(
                "cannot derive a project name from {url:?}; clone it yourself and run `iMi init` inside"
            ))
        })?;
        let root = cwd.join(&name);
        if root.exists()
            && std::fs::read_dir(&root)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(Error::AlreadyExists {
                what: "folder",
                name: root.display().to_string(),
                hint: "; remove it or run `iMi init --repo URL` from another folder".into(),
            });
        }
        std::fs::create_dir_all(&root).map_err(|e| Error::io("cannot create", &root, e))?;
        let staging = root.join(".imi-clone");
        let staging_arg = staging.display().to_string();
        self.progress(&format!("cloning {url} into {}", root.display()));
        self.git
            .run(cwd, &["clone", "--quiet", url, &staging_arg])
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&root);
            })?;
        let branch = self.git.current_branch_or_main(&staging)?;
        let trunk = root.join(trunk_folder(&branch));
        std::fs::rename(&staging, &trunk).map_err(|e| Error::io("cannot move", &staging, e))?;
        Ok(trunk)
    }

    /// Creates a GitHub repository (optionally from a template), clones it into the layout under
    /// `cwd` and registers it.
    pub async fn create_project(
        &self,
        cwd: &Path,
        name: &str,
        template: Option<&str>,
        private: bool,
    ) -> Result<ProjectCreateReport> {
        names::validate_worktree_name(name).map_err(|_| {
            Error::InvalidName(format!(
                "project name {name:?} is not allowed: use 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit"
            ))
        })?;
        let config =
            self.config.github.clone().ok_or_else(|| {
                Error::Refused("GitHub is not configured: set GITHUB_TOKEN".into())
            })?;
        if cwd.join(name).exists() {
            return Err(Error::AlreadyExists {
                what: "folder",
                name: cwd.join(name).display().to_string(),
                hint: "; nothing was created on GitHub. Pick another name or folder".into(),
            });
        }
        let repository = github::create_repository(&config, name, template, private).await?;
        let init = self.init(cwd, Some(&repository.clone_url), false).await?;
        Ok(ProjectCreateReport { repository, init })
    }

    /// Trusts the current content of trunk's `.imi.toml`, so its post-create hooks run from now on.
    pub fn trust(&self, cwd: &Path) -> Result<TrustReport> {
        let project = ProjectLayout::locate(cwd)?;
        let Some((hooks, sha256)) = read_repo_hooks(&project.trunk)? else {
            return Err(Error::NotFound {
                what: "hook file",
                name: project.trunk.join(HOOK_FILE).display().to_string(),
                hint: "; there is nothing to trust".into(),
            });
        };
        let store = self
            .config
            .trust_file
            .clone()
            .map(TrustStore::new)
            .ok_or_else(|| Error::Refused("no trust store is configured".into()))?;
        store.trust(&project.trunk, &sha256)?;
        Ok(TrustReport {
            file: project.trunk.join(HOOK_FILE),
            sha256,
            hooks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[tokio::test]
    async fn a_checkout_in_the_layout_is_registered_and_one_outside_it_is_moved_only_when_forced() {
        let p = fixture::project().await;
        let report = p.engine.init(&p.trunk, None, false).await.unwrap();
        assert_eq!(report.project.name, "demo");
        assert_eq!(report.project.default_branch, "main");
        assert!(!report.cloned && report.moved_from.is_none());
        assert_eq!(report.db, DbNote::ok());
        // Registering again is the same project.
        let again = p.engine.init(&p.trunk, None, false).await.unwrap();
        assert_eq!(again.project.trunk, report.project.trunk);

        let loose = p.dir.path().join("loose");
        std::fs::create_dir_all(&loose).unwrap();
        fixture::git(&loose, &["init", "-q", "-b", "main"]);
        fixture::git(&loose, &["commit", "-q", "--allow-empty", "-m", "Start"]);
        let refused = p.engine.init(&loose, None, false).await.unwrap_err();
        assert_eq!(refused.class(), ErrorClass::User, "{refused}");
        assert!(loose.join(".git").exists(), "nothing moved without --force");
        let moved = p.engine.init(&loose, None, true).await.unwrap();
        assert_eq!(moved.moved_from.as_deref(), Some(loose.as_path()));
        assert!(moved.project.trunk.ends_with("trunk-main"), "{moved:?}");
        assert!(moved.project.trunk.join(".git").exists());
    }
}
