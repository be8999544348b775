//! `cargo xtask dist`: the Debian package of the suite, `target/dist/perth_<version>_<arch>.deb`,
//! made by cargo-deb from perth's `[package.metadata.deb]`.

use std::{fs, path::Path};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::{
    build::build,
    workspace::{Profile, Workspace},
};

/// The programs the package installs into `/usr/bin`, each of which writes its own man pages
/// and completion scripts (host-bridge/cli-docs).
pub(crate) const PACKAGED: [&str; 5] = ["perth", "host-bridge", "iMi", "imi", "zdrive"];

/// The variable that has a program write its man pages and completions (`cli_docs::VAR`).
const DOCS_VAR: &str = "PERTH_DIST_DOCS";

/// What to say when cargo-deb is missing and cannot be installed.
const CARGO_DEB_HOW: &str = "install it with `cargo install --locked cargo-deb` \
     (it needs crates.io, or a vendored copy), then run `cargo xtask dist` again";

/// Builds (unless `no_build`) in `profile`, has each program write its man pages and
/// completions next to its binary, then runs cargo-deb on those files without building again.
///
/// `--release --no-build` packages what `cargo xtask build` or the test build already made, so
/// the Zellij crates are not compiled a second time in another profile.
pub(crate) fn dist(
    sh: &Shell,
    ws: &Workspace,
    profile: Profile,
    no_build: bool,
    fast: bool,
) -> Result<()> {
    ensure!(
        profile != Profile::Debug,
        "the package is made from optimised binaries: use the dist profile (the default) or --release"
    );
    ensure_cargo_deb(sh)?;
    if no_build {
        for name in PACKAGED {
            let path = ws.bin_path(profile, name);
            ensure!(
                path.is_file(),
                "{} is missing; build it first ({}) or run `cargo xtask dist` without --no-build",
                path.display(),
                match profile {
                    Profile::Dist => "`cargo xtask install` builds the dist profile",
                    _ => "`cargo xtask build`",
                }
            );
        }
    } else {
        build(sh, ws, profile)?;
    }
    let docs = ws.target_dir.join(profile.dir()).join("dist-docs");
    write_docs(sh, ws, profile, &docs)?;

    let out_dir = ws.target_dir.join("dist");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let profile_name = profile.dir();
    let fast = fast.then_some("--fast");
    let deb = cmd!(
        sh,
        "cargo deb -p perth --no-build --profile {profile_name} {fast...} --output {out_dir}"
    )
    .read()
    .context("running cargo-deb on the built binaries")?;
    let deb = Path::new(deb.lines().last().unwrap_or_default().trim()).to_path_buf();
    ensure!(
        deb.is_file(),
        "cargo-deb did not name the package it wrote (got {})",
        deb.display()
    );
    let size = fs::metadata(&deb)
        .with_context(|| format!("reading {}", deb.display()))?
        .len();
    println!(
        "{} ({:.1} MiB); install it with: sudo dpkg -i {}",
        deb.display(),
        size as f64 / (1024.0 * 1024.0),
        deb.display()
    );
    Ok(())
}

/// Has each packaged program write its man pages and completion scripts under `docs`, then
/// gzips the man pages (Debian policy; cargo-deb leaves files under the target folder as they are).
fn write_docs(sh: &Shell, ws: &Workspace, profile: Profile, docs: &Path) -> Result<()> {
    if docs.exists() {
        fs::remove_dir_all(docs).with_context(|| format!("removing {}", docs.display()))?;
    }
    for name in PACKAGED {
        let bin = ws.bin_path(profile, name);
        cmd!(sh, "{bin}")
            .env(DOCS_VAR, docs)
            .run()
            .with_context(|| format!("having {name} write its man pages and completions"))?;
    }
    let man = docs.join("man");
    let mut pages: Vec<_> = fs::read_dir(&man)
        .with_context(|| format!("reading {}", man.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", man.display()))?;
    pages.sort();
    for name in PACKAGED {
        let page = man.join(format!("{name}.1"));
        if !pages.contains(&page) {
            bail!("{name} wrote no man page {}", page.display());
        }
    }
    // -n: no name or time stamp in the header, so the same pages make the same package.
    cmd!(sh, "gzip -9nf {pages...}")
        .quiet()
        .run()
        .context("compressing the man pages with gzip")
}

/// Makes sure `cargo deb` works, installing cargo-deb with `cargo install --locked` when missing.
pub(crate) fn ensure_cargo_deb(sh: &Shell) -> Result<()> {
    if cmd!(sh, "cargo deb --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok()
    {
        return Ok(());
    }
    eprintln!(
        "xtask: cargo-deb (which makes the .deb) is missing; installing it with \
         `cargo install --locked cargo-deb`"
    );
    cmd!(sh, "cargo install --locked cargo-deb")
        .run()
        .with_context(|| {
            format!("cargo-deb is missing and could not be installed; {CARGO_DEB_HOW}")
        })?;
    cmd!(sh, "cargo deb --version")
        .quiet()
        .read()
        .with_context(|| {
            format!("cargo-deb was installed but `cargo deb` does not run; {CARGO_DEB_HOW}")
        })?;
    Ok(())
}
