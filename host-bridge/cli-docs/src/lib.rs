//! What the suite's command lines share: man pages and shell completion scripts written from a
//! program's own clap `Command`, for the Debian package (`cargo xtask dist`), and the exit codes
//! ([`exit`]).
//!
//! Every binary of the suite calls [`write_if_asked`] first thing in `main`: started with
//! [`VAR`] set to a folder, it writes what it would parse (its real `Command`, so perth's pages
//! hold Zellij's flags and commands too) and exits, before any other work. Without the
//! variable it returns at once. The layout written is the one the package installs:
//!
//! ```text
//! DIR/man/NAME.1, NAME-SUB.1, NAME-SUB-SUB.1, ...
//! DIR/completions/bash/NAME
//! DIR/completions/zsh/_NAME
//! DIR/completions/fish/NAME.fish
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::Shell;

pub mod exit;

/// The environment variable naming the folder to write into.
pub const VAR: &str = "PERTH_DIST_DOCS";

/// The shells whose completion scripts are written.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Returns a completion script for a shell, a program name and its command.
pub type CompletionScript<'a> = dyn Fn(Shell, &str, &mut Command) -> io::Result<Vec<u8>> + 'a;

/// Writes man pages and static completion scripts for `command` under the name the program was
/// started as, then exits; returns at once when [`VAR`] is not set.
pub fn write_if_asked(command: impl FnOnce() -> Command) {
    write_if_asked_with(command, |shell, name, command| {
        let mut script = Vec::new();
        clap_complete::generate(shell, command, name, &mut script);
        Ok(script)
    });
}

/// As [`write_if_asked`], with the program's own completion script per shell: `completion`
/// gets the shell, the name and the command, and returns the script.
pub fn write_if_asked_with(
    command: impl FnOnce() -> Command,
    completion: impl Fn(Shell, &str, &mut Command) -> io::Result<Vec<u8>>,
) {
    let Some(dir) = std::env::var_os(VAR).filter(|dir| !dir.is_empty()) else {
        return;
    };
    let name = invoked_name();
    let command = command().name(name).bin_name(name);
    match write(Path::new(&dir), name, command, &completion) {
        Ok(()) => std::process::exit(0),
        Err(err) => {
            eprintln!(
                "{name}: cannot write man pages and completions into {} ({VAR}): {err}",
                PathBuf::from(dir).display()
            );
            std::process::exit(1)
        }
    }
}

/// Writes the man pages and completion scripts of `command`, called `name`, under `dir`.
pub fn write(
    dir: &Path,
    name: &str,
    mut command: Command,
    completion: &CompletionScript<'_>,
) -> io::Result<()> {
    let man = dir.join("man");
    fs::create_dir_all(&man)?;
    command.build();
    write_man_pages(&man, &command, name)?;
    for shell in SHELLS {
        let (folder, file) = match shell {
            Shell::Bash => ("bash", name.to_owned()),
            Shell::Zsh => ("zsh", format!("_{name}")),
            _ => ("fish", format!("{name}.fish")),
        };
        let folder = dir.join("completions").join(folder);
        fs::create_dir_all(&folder)?;
        fs::write(folder.join(file), completion(shell, name, &mut command)?)?;
    }
    Ok(())
}

/// Writes `PAGE.1` for `command` and, recursively, `PAGE-SUB.1` for each visible subcommand
/// (as git does: `man perth-attach`).
fn write_man_pages(dir: &Path, command: &Command, page: &str) -> io::Result<()> {
    let mut roff = Vec::new();
    // clap names are `&'static str` (its `string` feature would rebuild Zellij's clap users);
    // the process writes a bounded set of pages and exits, so the few names are leaked.
    let page: &'static str = Box::leak(page.to_owned().into_boxed_str());
    clap_mangen::Man::new(command.clone().name(page))
        .title(page)
        .render(&mut roff)?;
    fs::write(dir.join(format!("{page}.1")), roff)?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_man_pages(dir, sub, &format!("{page}-{}", sub.get_name()))?;
    }
    Ok(())
}

/// Returns the file name the program was started as (`iMi` or `imi`); leaked, as clap wants
/// `&'static str` names and the process exits after writing.
fn invoked_name() -> &'static str {
    std::env::args_os()
        .next()
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_name)
        .map(|name| &*Box::leak(name.to_string_lossy().into_owned().into_boxed_str()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Command {
        Command::new("tool")
            .about("Does things")
            .arg(
                clap::Arg::new("verbose")
                    .long("verbose")
                    .action(clap::ArgAction::SetTrue),
            )
            .subcommand(
                Command::new("add")
                    .about("Adds a thing")
                    .subcommand(Command::new("deep").about("Goes deeper")),
            )
            .subcommand(Command::new("secret").hide(true))
    }

    #[test]
    fn writes_a_page_per_visible_command_and_a_script_per_shell() {
        let dir = std::env::temp_dir().join(format!("cli-docs-{}", std::process::id()));
        let static_script = |shell, name: &str, command: &mut Command| {
            let mut script = Vec::new();
            clap_complete::generate(shell, command, name, &mut script);
            Ok(script)
        };
        write(&dir, "tool", example(), &static_script).unwrap();
        let mut pages: Vec<String> = fs::read_dir(dir.join("man"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        pages.sort();
        assert_eq!(pages, ["tool-add-deep.1", "tool-add.1", "tool.1"]);
        let page = fs::read_to_string(dir.join("man/tool-add.1")).unwrap();
        assert!(page.contains(".TH tool-add 1"), "{page}");
        assert!(page.contains("Adds a thing"), "{page}");
        let top = fs::read_to_string(dir.join("man/tool.1")).unwrap();
        assert!(top.contains("\\-\\-verbose"), "{top}");
        for script in ["bash/tool", "zsh/_tool", "fish/tool.fish"] {
            let text = fs::read_to_string(dir.join("completions").join(script)).unwrap();
            assert!(text.contains("verbose"), "{script}: {text}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
