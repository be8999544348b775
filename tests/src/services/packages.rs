//! Finding programs and installing the Debian packages that provide them, once per machine at a time.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{bail, Context as _};
use nix::fcntl::{Flock, FlockArg};

/// Directories searched after `PATH`: daemons live in `sbin`, which a non-root `PATH` often lacks.
const EXTRA_DIRS: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Lock file serializing installs across test processes (apt itself refuses to run twice).
const APT_LOCK: &str = "/tmp/perth-tests-apt.lock";

/// Whether this process has run `apt-get update`; the mutex also serializes installs between threads.
static APT_UPDATED: Mutex<bool> = Mutex::new(false);

/// Returns the full path of `program`: itself if absolute, else the first hit in `PATH` or an `sbin` directory.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_owned());
    }
    let from_env = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&from_env)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Installs, with `apt-get`, the packages whose binary is missing; `pkgs` pairs a binary with its package.
///
/// `apt-get update` runs at most once per process. Installs are serialized between threads and,
/// through a lock file under `/tmp`, between test processes. `sudo -n` is used when not root.
pub fn ensure_debian_packages(pkgs: &[(&str, &str)]) -> anyhow::Result<()> {
    let missing = |pkgs: &[(&str, &str)]| -> Vec<(String, String)> {
        pkgs.iter()
            .filter(|(bin, _)| find_program(bin).is_none())
            .map(|(bin, pkg)| (bin.to_string(), pkg.to_string()))
            .collect()
    };
    if missing(pkgs).is_empty() {
        return Ok(());
    }
    ensure_installed(
        || {
            let still = missing(pkgs);
            let mut names: Vec<String> = still.into_iter().map(|(_, pkg)| pkg).collect();
            names.sort();
            names.dedup();
            names
        },
        || {
            let still = missing(pkgs);
            if still.is_empty() {
                Ok(())
            } else {
                let bins: Vec<String> = still.into_iter().map(|(bin, _)| bin).collect();
                bail!(
                    "{} still missing after installing their packages",
                    bins.join(", ")
                )
            }
        },
    )
}

/// Installs the packages `wanted()` names (none when already present) under the locks, then runs `verify`.
///
/// `wanted` is evaluated again under the lock, because another process may have installed
/// them while this one waited.
pub(crate) fn ensure_installed(
    wanted: impl Fn() -> Vec<String>,
    verify: impl Fn() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut updated = APT_UPDATED.lock().unwrap_or_else(|e| e.into_inner());
    let _lock = lock_file(APT_LOCK)?;
    let packages = wanted();
    if packages.is_empty() {
        return Ok(());
    }
    let names = packages.join(" ");
    eprintln!("perth tests: installing {names} with apt-get");
    if !*updated {
        apt_get(&["update", "-q"]).context("apt-get update")?;
        *updated = true;
    }
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(packages.iter().map(String::as_str));
    apt_get(&args).with_context(|| format!("installing {names}"))?;
    verify()
}

/// Runs `apt-get` non-interactively, through `sudo -n` when not root.
fn apt_get(args: &[&str]) -> anyhow::Result<()> {
    if find_program("apt-get").is_none() {
        bail!("apt-get not found: this is not a Debian-like system; install the packages by hand");
    }
    let mut cmd = if nix::unistd::geteuid().is_root() {
        Command::new("env")
    } else if let Some(sudo) = find_program("sudo") {
        let mut cmd = Command::new(sudo);
        cmd.args(["-n", "env"]);
        cmd
    } else {
        bail!("not root and sudo is not installed, so apt-get cannot run; install the packages by hand");
    };
    // `env` carries DEBIAN_FRONTEND through sudo, which resets the environment.
    cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"])
        .args(["-o", "DPkg::Lock::Timeout=300"])
        .args(args)
        .stdin(std::process::Stdio::null());
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            last_lines(&String::from_utf8_lossy(&out.stdout), 20),
            last_lines(&String::from_utf8_lossy(&out.stderr), 20)
        );
    }
    Ok(())
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines[lines.len().saturating_sub(n)..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Takes an exclusive `flock` on `path` (created if needed), released when the guard drops.
pub(crate) fn lock_file(path: &str) -> anyhow::Result<Flock<std::fs::File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock file {path}"))?;
    // Anyone may need the lock, whichever user created the file.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o666));
    }
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| errno)
        .with_context(|| format!("locking {path}"))
}
