//! The `agents` layout (`perth --layout agents`): a tab for the trunk of the iMi project perth
//! starts in, then one tab per active worktree, read from iMi's database (`iMi --json list`,
//! which touches no git). The trunk's tab is laid out like the workspace's tab and each worktree's
//! like `worktree.kdl` (the user's versions of those layouts when they have them), named and
//! rooted as `iMi add` names and roots the tab it opens, so that iMi finds these tabs again.
//!
//! A layout file of the user's named `agents.kdl` wins: then nothing is generated.

use std::path::{Path, PathBuf};
use std::process::Command;

use kdl::{KdlDocument, KdlNode};
use serde_json::Value;

/// The name that selects the generated layout.
pub const NAME: &str = "agents";

/// A worktree's tab: the name iMi gives it (the worktree's folder name) and its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeTab {
    pub name: String,
    pub path: PathBuf,
}

/// Why the layout could not be made; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentsError(pub String);

impl std::fmt::Display for AgentsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Returns the generated layout's file when `arg` names the agents layout (`agents`, not a path
/// and not a layout the user wrote), `None` otherwise. Worktrees are those of the project `cwd`
/// is in; the file is written under `cache_dir`.
pub fn resolve(
    arg: &Path,
    layout_dir: &Path,
    cwd: &Path,
    cache_dir: &Path,
) -> Result<Option<PathBuf>, AgentsError> {
    let named = arg == Path::new(NAME) || arg == Path::new("agents.kdl");
    if !named || layout_dir.join("agents.kdl").exists() {
        return Ok(None);
    }
    let read = |name: &str| {
        let path = layout_dir.join(name);
        std::fs::read_to_string(&path)
            .map_err(|e| AgentsError(format!("cannot read the layout {}: {e}", path.display())))
    };
    let (workspace, worktree) = (read("workspace.kdl")?, read("worktree.kdl")?);
    let imi = crate::bridge::companion_binary("iMi", "PERTH_IMI_BIN").ok_or_else(|| {
        AgentsError(
            "the agents layout lists iMi's worktrees, and iMi is not next to perth or on PATH; \
             install it with `cargo xtask install`"
                .into(),
        )
    })?;
    let trunk = imi_data(&imi, cwd, &["trunk"])?;
    let trunk = trunk["path"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| AgentsError("iMi's trunk answer has no path".into()))?;
    let worktrees = worktree_tabs(&imi_data(&imi, cwd, &["list"])?);
    let text = compose(&workspace, &worktree, &trunk, &worktrees).map_err(AgentsError)?;
    let dir = cache_dir.join("agents-layouts");
    std::fs::create_dir_all(&dir)
        .map_err(|e| AgentsError(format!("cannot create {}: {e}", dir.display())))?;
    // One file per project, rewritten at each start: the tabs follow the database.
    let file = dir.join(format!(
        "{}.kdl",
        crate::saved_cli::digest(&trunk.to_string_lossy())
    ));
    std::fs::write(&file, text)
        .map_err(|e| AgentsError(format!("cannot write {}: {e}", file.display())))?;
    Ok(Some(file))
}

/// Runs `iMi --json ARGS` in `cwd` and returns its `data`, or iMi's own error message.
fn imi_data(imi: &Path, cwd: &Path, args: &[&str]) -> Result<Value, AgentsError> {
    let output = Command::new(imi)
        .arg("--json")
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| AgentsError(format!("cannot run {}: {e}", imi.display())))?;
    let answer: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
        AgentsError(format!(
            "`iMi --json {}` did not answer in JSON: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })?;
    if answer["success"] != true {
        let message = answer["error"]["message"]
            .as_str()
            .unwrap_or("iMi failed without a message");
        return Err(AgentsError(format!(
            "the agents layout opens the worktrees of the iMi project perth starts in: {message}"
        )));
    }
    Ok(answer["data"].clone())
}

/// Reads the active worktrees of `iMi --json list`'s data (`worktrees[]`, each `name` the
/// worktree's folder name), oldest first as iMi lists them.
pub fn worktree_tabs(data: &Value) -> Vec<WorktreeTab> {
    data["worktrees"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["active"] != false)
        .filter_map(|w| {
            Some(WorktreeTab {
                name: w["name"].as_str()?.to_owned(),
                path: PathBuf::from(w["path"].as_str()?),
            })
        })
        .collect()
}

/// Returns the layout's KDL: `worktree_kdl`'s layout with its tab replaced by the trunk's tab
/// (`workspace_kdl`'s first tab, focused) and one copy of its tab per worktree.
pub fn compose(
    workspace_kdl: &str,
    worktree_kdl: &str,
    trunk: &Path,
    worktrees: &[WorktreeTab],
) -> Result<String, String> {
    let first_tab = |text: &str, what: &str| -> Result<(KdlNode, KdlDocument), String> {
        let doc: KdlDocument = text
            .parse()
            .map_err(|e| format!("the {what} layout is not valid KDL: {e}"))?;
        let layout = doc
            .get("layout")
            .ok_or_else(|| format!("the {what} layout has no `layout` node"))?;
        let body = layout.children().cloned().unwrap_or_default();
        let tab = body
            .nodes()
            .iter()
            .find(|n| n.name().value() == "tab")
            .cloned()
            .ok_or_else(|| format!("the {what} layout has no `tab`"))?;
        Ok((tab, body))
    };
    let (trunk_template, _) = first_tab(workspace_kdl, "workspace")?;
    let (worktree_template, body) = first_tab(worktree_kdl, "worktree")?;

    let tab = |template: &KdlNode, name: &str, cwd: &Path, focus: bool| {
        let mut tab = template.clone();
        tab.remove("focus");
        tab.insert("name", name.to_owned());
        tab.insert("cwd", cwd.display().to_string());
        if focus {
            tab.insert("focus", true);
        }
        tab
    };
    let trunk_name = trunk
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trunk".into());
    let mut tabs = vec![tab(&trunk_template, &trunk_name, trunk, true)];
    tabs.extend(
        worktrees
            .iter()
            .map(|w| tab(&worktree_template, &w.name, &w.path, false)),
    );

    // Everything else of the worktree layout (its tab template, swap layouts) stays.
    let mut out_body = KdlDocument::new();
    let mut placed = false;
    for node in body.nodes() {
        if node.name().value() == "tab" {
            if !placed {
                out_body.nodes_mut().append(&mut tabs);
                placed = true;
            }
        } else {
            out_body.nodes_mut().push(node.clone());
        }
    }
    let mut layout = KdlNode::new("layout");
    layout.set_children(out_body);
    let mut doc = KdlDocument::new();
    doc.nodes_mut().push(layout);
    doc.fmt();
    Ok(format!(
        "// Generated by perth from iMi's worktrees ({} worktree tabs).\n{doc}",
        worktrees.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zellij_utils::input::layout::Layout;

    fn builtin(name: &str) -> &'static str {
        crate::assets::LAYOUTS
            .iter()
            .find(|(n, _)| n.strip_suffix(".kdl") == Some(name))
            .map(|(_, text)| *text)
            .unwrap()
    }

    fn tabs(n: usize) -> Vec<WorktreeTab> {
        (0..n)
            .map(|i| WorktreeTab {
                name: format!("feat-w{i}"),
                path: PathBuf::from(format!("/p/feat-w{i}")),
            })
            .collect()
    }

    #[test]
    fn one_tab_per_worktree_after_the_focused_trunk() {
        let text = compose(
            builtin("workspace"),
            builtin("worktree"),
            Path::new("/p/trunk-main"),
            &tabs(3),
        )
        .unwrap();
        let layout = Layout::from_kdl(&text, Some("agents".into()), None, None)
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let names: Vec<_> = layout.tabs().into_iter().map(|t| t.0).collect();
        assert_eq!(
            names,
            ["trunk-main", "feat-w0", "feat-w1", "feat-w2"].map(|n| Some(n.to_owned()))
        );
        assert_eq!(layout.focused_tab_index(), Some(0));
        // The worktree tabs have the worktree layout's panes, the trunk the workspace's.
        assert_eq!(text.matches("name=\"agent\"").count(), 3);
        assert!(text.contains("cwd=\"/p/feat-w1\""), "{text}");
        assert!(text.contains("tab-bar"), "the tab template is kept: {text}");
    }

    #[test]
    fn no_worktrees_is_the_trunk_alone() {
        let text = compose(
            builtin("workspace"),
            builtin("worktree"),
            Path::new("/p/trunk-main"),
            &[],
        )
        .unwrap();
        let layout = Layout::from_kdl(&text, None, None, None).unwrap();
        assert_eq!(layout.tabs().len(), 1);
    }

    #[test]
    fn names_and_paths_with_quotes_and_spaces_stay_intact() {
        let odd = vec![WorktreeTab {
            name: "feat-a \"b\"".into(),
            path: PathBuf::from("/p/with space/feat-a \"b\""),
        }];
        let text = compose(
            builtin("workspace"),
            builtin("worktree"),
            Path::new("/p/trunk-main"),
            &odd,
        )
        .unwrap();
        let layout = Layout::from_kdl(&text, None, None, None).unwrap();
        assert_eq!(layout.tabs()[1].0.as_deref(), Some("feat-a \"b\""));
    }

    #[test]
    fn bad_templates_are_explained() {
        let err = compose("layout {", "layout { tab; }", Path::new("/p/t"), &[]).unwrap_err();
        assert!(err.contains("workspace layout is not valid KDL"), "{err}");
        let err = compose("layout { tab; }", "layout { }", Path::new("/p/t"), &[]).unwrap_err();
        assert!(err.contains("worktree layout has no `tab`"), "{err}");
    }

    #[test]
    fn inactive_and_malformed_rows_are_skipped() {
        let data = serde_json::json!({"worktrees": [
            {"name": "feat-a", "path": "/p/feat-a", "active": true},
            {"name": "feat-b", "path": "/p/feat-b", "active": false},
            {"name": "no-path"},
        ]});
        assert_eq!(
            worktree_tabs(&data),
            vec![WorktreeTab {
                name: "feat-a".into(),
                path: "/p/feat-a".into()
            }]
        );
    }

    #[test]
    fn only_the_bare_name_selects_it() {
        let dir = tempfile::tempdir().unwrap();
        let none = resolve(
            Path::new("./agents.kdl.bak"),
            dir.path(),
            dir.path(),
            dir.path(),
        );
        assert_eq!(none, Ok(None));
        // A user's own agents.kdl wins.
        std::fs::write(dir.path().join("agents.kdl"), "layout {}").unwrap();
        assert_eq!(
            resolve(Path::new("agents"), dir.path(), dir.path(), dir.path()),
            Ok(None)
        );
    }
}
