//! `cargo xtask`: perth's build, run, install, dist, test, bench and ci tasks, the one entry point CI calls.

mod bench;
mod build;
mod dist;
mod flags;
mod install;
mod test;
mod unify;
mod workspace;

use std::{
    env,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use anyhow::{Context, Result};
use xshell::Shell;

use crate::workspace::{Profile, Workspace};

fn main() -> ExitCode {
    let flags = flags::Xtask::from_env_or_exit();
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line, without anyhow's backtrace.
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: flags::Xtask) -> Result<()> {
    // perth runs where the user typed `cargo xtask run`; cargo commands run at the workspace root.
    let user_dir = env::current_dir().context("reading the current directory")?;
    forget_cargo_run_vars();
    let sh = Shell::new().context("creating a shell")?;
    sh.change_dir(workspace_root());
    let ws = Workspace::discover(&sh)?;

    match flags.subcommand {
        flags::XtaskCmd::Build(cmd) => {
            let profile = if cmd.debug {
                Profile::Debug
            } else {
                Profile::Release
            };
            build::build(&sh, &ws, profile)
        }
        flags::XtaskCmd::Run(cmd) => {
            build::build(&sh, &ws, Profile::Release)?;
            let perth = ws.bin_path(Profile::Release, "perth");
            // exec replaces xtask, so perth owns the terminal and its exit status is ours.
            let err = Command::new(&perth)
                .args(&cmd.args)
                .current_dir(&user_dir)
                .exec();
            Err(err).with_context(|| format!("starting {}", perth.display()))
        }
        flags::XtaskCmd::Install(cmd) => install::install(&sh, &ws, cmd.root),
        flags::XtaskCmd::Dist(cmd) => {
            let profile = if cmd.release {
                Profile::Release
            } else {
                Profile::Dist
            };
            dist::dist(&sh, &ws, profile, cmd.no_build, cmd.fast)
        }
        flags::XtaskCmd::Test(cmd) => test::test(&sh, &ws, &cmd.args),
        flags::XtaskCmd::Lint(_) => test::lint(&sh, &ws),
        flags::XtaskCmd::Ci(_) => test::ci(&sh, &ws),
        flags::XtaskCmd::Bench(cmd) => bench::bench(&sh, &ws, cmd.only.as_deref(), cmd.quick),
    }
}

/// Returns the workspace root, the parent of this crate's folder.
/// Takes out of the environment the variables `cargo run` set for xtask itself (its manifest folder,
/// its package's name and version, ...). Build scripts ask cargo to rebuild their crate when
/// such a variable changes (ring's asks about `CARGO_MANIFEST_DIR`), so a `cargo build` run
/// by xtask and one typed by hand would each find the other's build of ring, rustls, sqlx,
/// lapin and what depends on them out of date and compile them again.
///
/// Called first, before any thread starts (nothing else reads the environment meanwhile).
fn forget_cargo_run_vars() {
    for (name, _) in env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_by_cargo_run = name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            );
        if set_by_cargo_run {
            env::remove_var(name);
        }
    }
}

fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Invariant: xtask lives directly in the workspace root, so its folder has a parent.
    xtask_dir.parent().unwrap().to_path_buf()
}

/// Returns the path of an executable called `name` on `PATH`, if there is one.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}
