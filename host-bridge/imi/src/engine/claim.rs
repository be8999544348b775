//! `iMi claim`, `iMi trunk` and `iMi go`: a worktree's agent, and the paths agents move to.

use super::*;

impl Engine {
    /// Sets the agent that owns a worktree (the database is required).
    pub async fn claim(&self, cwd: &Path, name: &str, agent: &str) -> Result<ClaimReport> {
        validate_agent(agent)?;
        let project = ProjectLayout::locate(cwd)?;
        let wt = self.resolve_worktree(&project, name)?;
        let worktree_name = wt
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let project_row = self.project_row(&project).await?;
        let db = self.database()?;
        let mut tx = db.begin().await?;
        let row = db::find_active_worktree(tx.conn(), &project_row.id, &worktree_name)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "worktree record",
                name: worktree_name.clone(),
                hint: "; it was not created by iMi (or the database was down then): remove it and `iMi add` it again".into(),
            })?;
        db::set_agent(tx.conn(), &row.id, agent).await?;
        db::insert_activity(
            tx.conn(),
            agent,
            &row.id,
            "worktree_claimed",
            None,
            &format!("iMi claim {worktree_name} --agent {agent}"),
        )
        .await?;
        let event = self.event(
            "workspace.worktree.claimed",
            &worktree_name,
            serde_json::json!({
                "project": project.name,
                "worktree_id": row.id,
                "worktree_name": worktree_name,
                "agent_id": agent,
                "previous_agent_id": row.agent_id,
            }),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        let updated = db::get_worktree(tx.conn(), &row.id)
            .await?
            .unwrap_or(row.clone());
        tx.commit().await?;
        Ok(ClaimReport {
            worktree: updated,
            previous_agent: row.agent_id,
        })
    }

    /// Returns the trunk folder of the project containing `cwd` (no git, no database).
    pub fn trunk(&self, cwd: &Path) -> Result<PathBuf> {
        Ok(ProjectLayout::locate(cwd)?.trunk)
    }

    /// Returns the folder of worktree `name` (`feat-x` or `x`) from folder names alone.
    pub fn go(&self, cwd: &Path, name: &str) -> Result<PathBuf> {
        names::validate_worktree_name(name)?;
        let project = ProjectLayout::locate(cwd)?;
        let exact = project.root.join(name);
        if exact.join(".git").exists() {
            return Ok(exact);
        }
        let mut found: Vec<PathBuf> = project
            .checkouts()?
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split_once('-'))
                    .is_some_and(|(_, rest)| rest == name)
            })
            .collect();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(Error::NotFound {
                what: "worktree",
                name: name.to_owned(),
                hint: format!("; `iMi list` shows the worktrees of {}", project.name),
            }),
            _ => Err(Error::Refused(format!(
                "{name:?} matches several worktrees ({}); give the folder name",
                found
                    .iter()
                    .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Project;
    use super::*;

    #[tokio::test]
    async fn a_claim_records_the_agent_and_go_and_trunk_find_the_folders() {
        let (p, added) = Project::with_worktree("feat", "api").await;
        let first = p.engine.claim(&p.trunk, "api", "claude:1").await.unwrap();
        assert_eq!(first.worktree.agent_id.as_deref(), Some("claude:1"));
        assert_eq!(first.previous_agent, None);
        let second = p.engine.claim(&p.trunk, "feat-api", "aider").await.unwrap();
        assert_eq!(second.previous_agent.as_deref(), Some("claude:1"));
        let bad = p.engine.claim(&p.trunk, "api", "-rm").await.unwrap_err();
        assert!(matches!(bad, Error::InvalidName(_)), "{bad}");

        assert_eq!(p.engine.go(&p.trunk, "api").unwrap(), added.worktree.path);
        assert_eq!(p.engine.trunk(&added.worktree.path).unwrap(), p.trunk);
        assert!(p.engine.go(&p.trunk, "missing").is_err());
    }
}
