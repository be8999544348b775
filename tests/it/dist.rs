//! The Debian package (`cargo xtask dist`): made from the release binaries the test build
//! already compiled (`--release --no-build`, so no second build of the Zellij crates), its
//! control data and file list read with `dpkg-deb -I`/`-c`, then unpacked with `dpkg-deb -x`
//! into a scratch root whose programs are started once each, perth in tmux.
//!
//! Unpacking instead of `dpkg -i` keeps the machine as it was: nothing lands in /usr/bin where
//! another test running at the same time could pick it up instead of the workspace's binaries
//! (see ARCHITECTURE.md, "The Debian package").

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tests::isolate::PROMPT;
use tests::{IsolatedEnv, TmuxTerminal};

const PROGRAMS: [&str; 5] = ["perth", "host-bridge", "iMi", "imi", "zdrive"];

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cargo xtask dist --release --no-build --fast` and returns the .deb it wrote.
fn build_package() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace root");
    // The release binaries next to this test executable are what gets packaged.
    let perth = tests::workspace_bin("perth").unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = run(Command::new(cargo)
        .args(["xtask", "dist", "--release", "--no-build", "--fast"])
        .current_dir(root));
    let line = text(&out);
    let deb = PathBuf::from(line.split_whitespace().next().unwrap_or_default());
    assert_eq!(
        deb.parent().and_then(Path::file_name),
        Some("dist".as_ref()),
        "{line}"
    );
    assert!(
        perth.parent().unwrap().parent() == deb.parent().unwrap().parent(),
        "the package is written to the target folder of the binaries: {line}"
    );
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("perth_{}_", version())) && name.ends_with(".deb"),
        "{name}"
    );
    deb
}

/// Returns perth's version, the package's.
fn version() -> String {
    let manifest = include_str!("../../perth/Cargo.toml");
    let line = manifest
        .lines()
        .find(|l| l.starts_with("version = "))
        .expect("perth's version");
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_owned()
}

#[test]
fn dist_package_installs_a_working_suite() {
    tests::ensure_tmux().unwrap();
    let deb = build_package();

    // Control data: named, versioned, with the shared libraries' packages as dependencies.
    let info = text(&run(Command::new("dpkg-deb").arg("-I").arg(&deb)));
    assert!(info.contains("Package: perth\n"), "{info}");
    assert!(
        info.contains(&format!("Version: {}\n", version())),
        "{info}"
    );
    assert!(info.contains("Depends: libc6"), "{info}");
    let arch = text(&run(Command::new("dpkg").arg("--print-architecture")));
    assert!(
        info.contains(&format!("Architecture: {}", arch.trim())),
        "{info}"
    );

    // Contents: programs, man pages (one per command and subcommand, gzipped), completions for
    // three shells, the licence.
    let list = text(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)));
    let has = |path: &str| list.lines().any(|l| l.ends_with(&format!(" ./{path}")));
    for name in PROGRAMS {
        for path in [
            format!("usr/bin/{name}"),
            format!("usr/share/man/man1/{name}.1.gz"),
            format!("usr/share/bash-completion/completions/{name}"),
            format!("usr/share/zsh/vendor-completions/_{name}"),
            format!("usr/share/fish/vendor_completions.d/{name}.fish"),
        ] {
            assert!(has(&path), "{path} missing from the package:\n{list}");
        }
    }
    for page in [
        "perth-attach.1.gz",
        "perth-status.1.gz",
        "perth-action-new-pane.1.gz",
        "iMi-doctor.1.gz",
        "zdrive-config.1.gz",
        "host-bridge-serve.1.gz",
    ] {
        assert!(
            has(&format!("usr/share/man/man1/{page}")),
            "{page}:\n{list}"
        );
    }
    assert!(has("usr/share/doc/perth/copyright"), "{list}");

    // Unpacked into a scratch root, every program runs from there.
    let mut env = IsolatedEnv::new().unwrap();
    let root = env.root().join("deb-root");
    // As after `dpkg -i`: the suite's programs are on PATH (iMi doctor and perth look there).
    let path = std::env::var("PATH").unwrap_or_default();
    env.set_var("PATH", format!("{}:{path}", root.join("usr/bin").display()));
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let bin = |name: &str| root.join("usr/bin").join(name);
    let licence = std::fs::read_to_string(root.join("usr/share/doc/perth/copyright")).unwrap();
    assert!(licence.contains("MIT License"), "{licence}");

    // The man pages come from the command line perth parses: Zellij's commands are there too.
    let page = text(&run(Command::new("gzip")
        .arg("-dc")
        .arg(root.join("usr/share/man/man1/perth.1.gz"))));
    assert!(page.contains(".TH perth 1"), "{page}");
    for command in ["attach", "action", "status", "agents"] {
        assert!(page.contains(command), "{command} not in perth.1");
    }
    let bash =
        std::fs::read_to_string(root.join("usr/share/bash-completion/completions/iMi")).unwrap();
    assert!(
        bash.contains("COMPLETE") && !bash.contains("target/"),
        "iMi's completion calls the installed iMi back:\n{bash}"
    );

    let version_line = text(&run(env.command(bin("perth")).arg("--version")));
    assert!(
        version_line.contains(&version()) && version_line.contains("Zellij 0.45.1"),
        "{version_line}"
    );
    for name in ["host-bridge", "iMi", "imi", "zdrive"] {
        run(env.command(bin(name)).arg("--version"));
    }
    let doctor = run(env.command(bin("iMi")).arg("doctor"));
    assert!(!text(&doctor).is_empty(), "iMi doctor printed nothing");
    let config = text(&run(env.command(bin("zdrive")).args(["config", "show"])));
    assert!(
        config.contains("redis") || config.contains("store"),
        "{config}"
    );

    // A session of the unpacked perth, in tmux: its server is the same binary, re-executed.
    let perth = bin("perth").to_string_lossy().into_owned();
    let term = TmuxTerminal::start(&env, 120, 40, &[&perth, "--session", "deb"]).unwrap();
    term.wait_for_screen(
        "the packaged perth's workspace: the tab bar and a shell prompt",
        Duration::from_secs(30),
        |screen| screen.contains("workspace") && screen.contains(PROMPT.trim()),
    )
    .unwrap();
    drop(term);
}

/// Without cargo-deb, and without a way to install it, `cargo xtask dist` says what to do.
#[test]
fn dist_without_cargo_deb_says_how_to_install_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // The toolchain's own folder (not ~/.cargo/bin, where cargo-deb would be found).
    let sysroot = text(&run(Command::new("rustc").args(["--print", "sysroot"])));
    let toolchain_bin = Path::new(sysroot.trim()).join("bin");
    let perth = tests::workspace_bin("perth").unwrap();
    let target = perth.parent().unwrap().parent().unwrap();
    // `cargo xtask` builds xtask in the dev profile; build it there (no-op when built) and run it
    // directly, since an empty CARGO_HOME could not build it.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .args(["build", "--quiet", "-p", "xtask"])
        .current_dir(root));
    let empty_home = tempfile::tempdir().unwrap();
    let out = Command::new(target.join("debug/xtask"))
        .args(["dist", "--release", "--no-build"])
        .current_dir(root)
        .env_clear()
        .env("HOME", empty_home.path())
        .env("PATH", format!("{}:/usr/bin:/bin", toolchain_bin.display()))
        .env("CARGO_HOME", empty_home.path())
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cargo-deb is missing and could not be installed")
            && stderr.contains("install it with `cargo install --locked cargo-deb`"),
        "{stderr}"
    );
}
