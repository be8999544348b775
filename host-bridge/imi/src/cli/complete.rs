//! Shell completion for both names, `iMi` and `imi`: clap's dynamic completion, which calls the
//! binary back at each TAB, so arguments naming a worktree complete the current project's worktrees.
//!
//! A shell registers once (`source <(iMi completions bash)`, or `source <(COMPLETE=bash imi)` for
//! the name it was run as); the registered function runs `COMPLETE=bash iMi -- WORDS...`, which
//! [`answer_if_asked`] answers before anything else runs. Worktree names come from the project's
//! folders alone ([`ProjectLayout::checkouts`]): no git, no database, nothing slow at a TAB.

use std::ffi::OsStr;

use clap::CommandFactory as _;
use clap_complete::env::Shells;
use clap_complete::CompletionCandidate;

use super::Cli;
use crate::layout::ProjectLayout;

/// The environment variable that asks for completions (clap's usual one).
const VAR: &str = "COMPLETE";

/// The names the command line is installed under.
const NAMES: [&str; 2] = ["iMi", "imi"];

/// Answers a shell's completion request (`COMPLETE=SHELL iMi ...`) and exits; returns at once
/// when the process was not started for one.
pub(super) fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(VAR)
        .bin(invoked_name())
        .complete();
}

/// Returns the name the binary was run as (`iMi` or `imi`), which a registration is made for.
fn invoked_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .and_then(OsStr::to_str)
        .unwrap_or(NAMES[0])
        .to_owned()
}

/// Returns the script that registers completions for both names in `shell`, calling this binary.
pub(super) fn registration(shell: clap_complete::Shell) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells
        .completer(&name)
        .with_context(|| format!("no completion support for {name}"))?;
    let exe = std::env::current_exe().context("finding the iMi binary to call back")?;
    let mut script = Vec::new();
    for bin in NAMES {
        completer
            .write_registration(VAR, bin, bin, &exe.to_string_lossy(), &mut script)
            .context("writing the completion script")?;
    }
    Ok(String::from_utf8_lossy(&script).into_owned())
}

/// Returns the script that registers completions for `bin` in `shell`, calling `completer` (a
/// path, or a name found on PATH) back at each TAB: the Debian package's completion files.
pub(super) fn registration_for(
    shell: clap_complete::Shell,
    bin: &str,
    completer: &str,
) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context as _;
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer_shell = shells
        .completer(&name)
        .with_context(|| format!("no completion support for {name}"))?;
    let mut script = Vec::new();
    completer_shell
        .write_registration(VAR, bin, bin, completer, &mut script)
        .context("writing the completion script")?;
    Ok(script)
}

/// Returns the worktrees of the project around the current directory that `current` may start.
pub(super) fn worktree_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let (Some(current), Ok(cwd)) = (current.to_str(), std::env::current_dir()) else {
        return Vec::new();
    };
    let Ok(project) = ProjectLayout::locate(&cwd) else {
        return Vec::new();
    };
    let folders: Vec<String> = project
        .checkouts()
        .unwrap_or_default()
        .into_iter()
        .filter(|path| *path != project.trunk)
        .filter_map(|path| Some(path.file_name()?.to_str()?.to_owned()))
        .collect();
    matching(&folders, current)
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// Returns what completes `current` among worktree `folders`: a folder name it starts, else the
/// short name after the type prefix (`login` of `feat-login`), as `iMi go` accepts both.
fn matching(folders: &[String], current: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for folder in folders {
        let short = folder.split_once('-').map(|(_, short)| short);
        let candidate = if folder.starts_with(current) {
            folder.as_str()
        } else if let Some(short) = short.filter(|s| s.starts_with(current)) {
            short
        } else {
            continue;
        };
        if !found.iter().any(|f| f == candidate) {
            found.push(candidate.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::matching;

    #[test]
    fn folder_names_complete_first_then_short_names() {
        let folders: Vec<String> = ["feat-login", "fix-crash", "fix-login", "pr-123"]
            .map(String::from)
            .to_vec();
        assert_eq!(matching(&folders, ""), folders);
        assert_eq!(matching(&folders, "fi"), ["fix-crash", "fix-login"]);
        assert_eq!(matching(&folders, "fix-c"), ["fix-crash"]);
        assert_eq!(matching(&folders, "lo"), ["login"]);
        assert_eq!(matching(&folders, "12"), ["123"]);
        assert!(matching(&folders, "zz").is_empty());
    }
}
