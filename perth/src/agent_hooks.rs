//! The hook set-ups that make coding agents report their state to perth themselves
//! (`perth agents hooks AGENT [--install]`): Claude Code's and Gemini CLI's `hooks` settings,
//! Codex CLI's `notify` program and aider's notifications command, each calling
//! `perth action agent-state`.
//!
//! Printing shows the snippet and where it goes. Installing merges it into the agent's own
//! configuration file: nothing else in the file changes meaning, a second install changes
//! nothing, and a setting of the user's that perth's would replace (Codex runs one `notify`
//! program, aider one notifications command) is left alone with an error saying so. The file
//! is written whole to a temporary file beside it and renamed over it, after a copy of the
//! original is kept as `FILE.perth-backup`.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// The agents `perth agents hooks` has set-ups for.
pub const HOOK_AGENTS: [&str; 4] = ["claude", "codex", "gemini", "aider"];

/// The command a hook runs to set `state`.
fn set(state: &str, extra: &str) -> String {
    format!("perth action agent-state --quiet --state {state}{extra} 2>/dev/null || true")
}

/// The `hooks` events of a JSON-configured agent and the command each runs.
fn json_events(agent: &str) -> Option<Vec<(&'static str, String)>> {
    match agent {
        "claude" => Some(vec![
            ("UserPromptSubmit", set("working", "")),
            ("PreToolUse", set("working", "")),
            // After a tool ran (one the user allowed at a prompt), the agent works again.
            ("PostToolUse", set("working", "")),
            ("Notification", set("waiting", " --message-stdin")),
            ("Stop", set("idle", "")),
            ("SessionEnd", set("exited", "")),
        ]),
        "gemini" => Some(vec![
            ("BeforeAgent", set("working", "")),
            ("BeforeTool", set("working", "")),
            ("AfterTool", set("working", "")),
            ("Notification", set("waiting", " --message-stdin")),
            ("AfterAgent", set("idle", "")),
            ("SessionEnd", set("exited", "")),
        ]),
        _ => None,
    }
}

/// The `notify` line of Codex's configuration.
const CODEX_NOTIFY: &str =
    r#"notify = ["perth", "action", "agent-state", "--quiet", "--state", "idle"]"#;

/// aider's settings: (key, value) lines of its YAML configuration.
fn aider_lines() -> [(&'static str, String); 2] {
    [
        ("notifications", "true".to_string()),
        ("notifications-command", format!("\"{}\"", set("idle", ""))),
    ]
}

/// Returns the configuration file the agent's set-up goes into, under `home` (or, for Claude
/// Code with `project`, the project's `.claude/settings.json`).
pub fn config_file(agent: &str, home: &Path, project: Option<&Path>) -> Option<PathBuf> {
    Some(match (agent, project) {
        ("claude", Some(dir)) => dir.join(".claude/settings.json"),
        ("claude", None) => home.join(".claude/settings.json"),
        ("gemini", _) => home.join(".gemini/settings.json"),
        ("codex", _) => home.join(".codex/config.toml"),
        ("aider", _) => home.join(".aider.conf.yml"),
        _ => return None,
    })
}

/// Returns the configuration that makes `agent` report its state to perth, with where it goes.
pub fn hook_snippet(agent: &str) -> Option<String> {
    if let Some(events) = json_events(agent) {
        let (file, note) = if agent == "claude" {
            (
                "~/.claude/settings.json (or .claude/settings.json in a project)",
                "",
            )
        } else {
            (
                "~/.gemini/settings.json",
                " (hooks must be enabled there: \"hooks\": {\"enabled\": true} in older versions)",
            )
        };
        let mut doc = Map::new();
        merge_json_hooks(&mut doc, &events);
        return Some(format!(
            "// Merge into {file}{note}, or run `perth agents hooks {agent} --install`\n{}\n",
            serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default()
        ));
    }
    match agent {
        "codex" => Some(format!(
            "# In ~/.codex/config.toml (top level, before any [table]), or run `perth agents hooks \
             codex --install`: Codex runs this when a turn completes, with its JSON last\n\
             {CODEX_NOTIFY}\n"
        )),
        "aider" => {
            let mut text = "# In ~/.aider.conf.yml, or run `perth agents hooks aider --install`: \
                            aider runs this when it waits for your input\n"
                .to_string();
            for (k, v) in aider_lines() {
                text.push_str(&format!("{k}: {v}\n"));
            }
            Some(text)
        }
        _ => None,
    }
}

/// Adds perth's hook to each event of a JSON `hooks` settings object unless a hook with the
/// same command is there; returns whether anything was added.
fn merge_json_hooks(doc: &mut Map<String, Value>, events: &[(&str, String)]) -> bool {
    let hooks = doc
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    if !hooks.is_object() {
        *hooks = Value::Object(Map::new());
    }
    let Some(hooks) = hooks.as_object_mut() else {
        return false;
    };
    let mut added = false;
    for (event, command) in events {
        let list = hooks
            .entry(event.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !list.is_array() {
            *list = Value::Array(Vec::new());
        }
        let Some(list) = list.as_array_mut() else {
            continue;
        };
        let present = list.iter().any(|group| {
            group["hooks"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["command"] == command.as_str()))
        });
        if !present {
            list.push(json!({
                "matcher": "*",
                "hooks": [{ "type": "command", "command": command }]
            }));
            added = true;
        }
    }
    added
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The file was written (created when it did not exist).
    Written(PathBuf),
    /// The file already held the set-up.
    Unchanged(PathBuf),
}

/// Installs `agent`'s set-up into its configuration file (see the module's documentation).
pub fn install(agent: &str, home: &Path, project: Option<&Path>) -> Result<Installed, String> {
    let file = config_file(agent, home, project)
        .ok_or_else(|| format!("no hook set-up for {agent}; use one of {HOOK_AGENTS:?}"))?;
    let old = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    let new = merged(agent, old.as_deref().unwrap_or(""), &file)?;
    if new.is_none() {
        return Ok(Installed::Unchanged(file));
    }
    let new = new.unwrap_or_default();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    if let Some(old) = &old {
        let backup = backup_path(&file);
        std::fs::write(&backup, old)
            .map_err(|e| format!("cannot keep a copy at {}: {e}", backup.display()))?;
    }
    let temp = file.with_extension("perth-tmp");
    std::fs::write(&temp, new).map_err(|e| format!("cannot write {}: {e}", temp.display()))?;
    std::fs::rename(&temp, &file).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot replace {}: {e}", file.display())
    })?;
    Ok(Installed::Written(file))
}

/// Where the copy of a file perth changed is kept.
pub fn backup_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".perth-backup");
    file.with_file_name(name)
}

/// Returns the file's text with the set-up in it, `None` when it already holds it.
fn merged(agent: &str, old: &str, file: &Path) -> Result<Option<String>, String> {
    if let Some(events) = json_events(agent) {
        let mut doc: Map<String, Value> = if old.trim().is_empty() {
            Map::new()
        } else {
            serde_json::from_str(old).map_err(|e| {
                format!(
                    "{} is not a JSON object ({e}); fix it or merge the snippet of \
                     `perth agents hooks {agent}` by hand",
                    file.display()
                )
            })?
        };
        if !merge_json_hooks(&mut doc, &events) {
            return Ok(None);
        }
        let text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
        return Ok(Some(text + "\n"));
    }
    match agent {
        "codex" => merged_codex(old, file),
        "aider" => merged_aider(old, file),
        _ => Err(format!("no hook set-up for {agent}")),
    }
}

/// Codex's `notify` is a top-level key: it goes before the first table.
fn merged_codex(old: &str, file: &Path) -> Result<Option<String>, String> {
    let top_level = old
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim);
    if let Some(existing) = top_level
        .clone()
        .find(|l| l.split('=').next().is_some_and(|k| k.trim() == "notify"))
    {
        if existing.replace(' ', "") == CODEX_NOTIFY.replace(' ', "") {
            return Ok(None);
        }
        return Err(format!(
            "{} already runs a notify program ({existing}); Codex runs only one: replace it \
             with {CODEX_NOTIFY}, or call `perth action agent-state --state idle` from yours",
            file.display()
        ));
    }
    Ok(Some(format!("{CODEX_NOTIFY}\n{old}")))
}

/// aider's two settings go at the end of its YAML file.
fn merged_aider(old: &str, file: &Path) -> Result<Option<String>, String> {
    let mut add = String::new();
    for (key, value) in aider_lines() {
        let existing = old.lines().find(|l| {
            l.split_once(':')
                .is_some_and(|(k, _)| !l.starts_with([' ', '\t', '#']) && k.trim() == key)
        });
        match existing {
            Some(line) => {
                let current = line.split_once(':').map_or("", |(_, v)| v.trim());
                if current != value {
                    return Err(format!(
                        "{} already sets {key}: {current}; perth's set-up needs {key}: {value}: \
                         change it by hand",
                        file.display()
                    ));
                }
            }
            None => add.push_str(&format!("{key}: {value}\n")),
        }
    }
    if add.is_empty() {
        return Ok(None);
    }
    let sep = if old.is_empty() || old.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    Ok(Some(format!("{old}{sep}{add}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_up_calls_perth_quietly() {
        for agent in HOOK_AGENTS {
            let snippet = hook_snippet(agent).unwrap();
            assert!(snippet.contains("agent-state"), "{agent}: {snippet}");
            assert!(snippet.contains("--quiet"), "{agent}: {snippet}");
            assert!(snippet.contains("--install"), "{agent}: {snippet}");
        }
        let claude = hook_snippet("claude").unwrap();
        let json: Value = serde_json::from_str(claude.split_once('\n').unwrap().1).unwrap();
        assert!(json["hooks"]["Notification"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .contains("--state waiting --message-stdin"));
        assert!(hook_snippet("cursor").is_none());
    }

    #[test]
    fn json_installs_keep_the_users_settings_and_a_second_install_changes_nothing() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join(".claude/settings.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let mine = r#"{"model":"opus","hooks":{"Stop":[{"matcher":"*","hooks":[{"type":"command","command":"say done"}]}]}}"#;
        std::fs::write(&file, mine).unwrap();
        assert_eq!(
            install("claude", home.path(), None).unwrap(),
            Installed::Written(file.clone())
        );
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(doc["model"], "opus");
        let stop = doc["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 2, "{stop:?}");
        assert_eq!(stop[0]["hooks"][0]["command"], "say done");
        assert_eq!(std::fs::read_to_string(backup_path(&file)).unwrap(), mine);
        assert_eq!(
            install("claude", home.path(), None).unwrap(),
            Installed::Unchanged(file.clone())
        );
        // A project's settings, and Gemini's file, are created when missing.
        let project = home.path().join("proj");
        assert_eq!(
            install("claude", home.path(), Some(&project)).unwrap(),
            Installed::Written(project.join(".claude/settings.json"))
        );
        assert!(matches!(
            install("gemini", home.path(), None).unwrap(),
            Installed::Written(_)
        ));
        // A file that is not JSON is left alone.
        std::fs::write(&file, "{ not json").unwrap();
        let err = install("claude", home.path(), None).unwrap_err();
        assert!(err.contains("not a JSON object"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{ not json");
    }

    #[test]
    fn codex_and_aider_installs_add_their_settings_once_and_never_replace_the_users() {
        let home = tempfile::tempdir().unwrap();
        let codex = home.path().join(".codex/config.toml");
        std::fs::create_dir_all(codex.parent().unwrap()).unwrap();
        std::fs::write(&codex, "model = \"gpt-5\"\n\n[tui]\nnotifications = true\n").unwrap();
        install("codex", home.path(), None).unwrap();
        let text = std::fs::read_to_string(&codex).unwrap();
        assert!(text.starts_with(CODEX_NOTIFY), "{text}");
        assert!(text.contains("[tui]\nnotifications = true"), "{text}");
        assert!(matches!(
            install("codex", home.path(), None).unwrap(),
            Installed::Unchanged(_)
        ));
        std::fs::write(&codex, "notify = [\"notify-send\"]\n").unwrap();
        let err = install("codex", home.path(), None).unwrap_err();
        assert!(err.contains("already runs a notify program"), "{err}");

        let aider = home.path().join(".aider.conf.yml");
        std::fs::write(&aider, "model: gpt-4o").unwrap();
        install("aider", home.path(), None).unwrap();
        let text = std::fs::read_to_string(&aider).unwrap();
        assert!(
            text.starts_with("model: gpt-4o\nnotifications: true\n"),
            "{text}"
        );
        assert!(matches!(
            install("aider", home.path(), None).unwrap(),
            Installed::Unchanged(_)
        ));
        std::fs::write(&aider, "notifications: false\n").unwrap();
        let err = install("aider", home.path(), None).unwrap_err();
        assert!(err.contains("already sets notifications: false"), "{err}");
    }
}
