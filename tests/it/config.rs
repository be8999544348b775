//! A KDL syntax error in the user's configuration or in a layout given with `--layout` stops
//! perth with exit code 1 and says where it is and what the parser found wrong.

use tests::IsolatedEnv;

/// Runs `perth ARGS` in `env` and returns its exit code and standard error.
fn perth(env: &IsolatedEnv, args: &[&str]) -> (Option<i32>, String) {
    let out = env
        .command(tests::workspace_bin("perth").unwrap())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_config_syntax_error_says_what_is_wrong_and_where() {
    let env = IsolatedEnv::new().unwrap();
    let dir = env.config_dir().join("perth");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.kdl");
    std::fs::write(
        &file,
        "pane_frames true\nui {\n    pane_frames {\n        rounded_corners true\n    }\n",
    )
    .unwrap();
    let (code, err) = perth(&env, &["--session", "broken"]);
    assert_eq!(code, Some(1), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "perth: invalid configuration in {}:2:4: KDL syntax error: Expected closing '}}' in \
             node children block; fix the file or move it aside",
            file.display()
        )
    );
    assert!(err.contains("the block opened here is not closed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    std::fs::write(&file, "pane_frames true\nui } {\n").unwrap();
    let (code, err) = perth(&env, &["list-sessions"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.starts_with(&format!(
            "perth: invalid configuration in {}:2:1: KDL syntax error: Expected valid node \
             terminator, found `}}`",
            file.display()
        )),
        "{err}"
    );
    // Nothing started half-configured.
    assert!(env.processes().is_empty());
}

#[test]
fn a_layout_syntax_error_says_what_is_wrong_and_where() {
    let env = IsolatedEnv::new().unwrap();
    let layout = env.tmp_dir().join("broken.kdl");
    std::fs::write(
        &layout,
        "layout {\n    pane {\n        pane command=\"htop\"\n",
    )
    .unwrap();
    let (code, err) = perth(
        &env,
        &["--session", "broken", "--layout", layout.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.starts_with(&format!(
            "perth: invalid layout in {}:2:10: KDL syntax error: Expected closing '}}' in node \
             children block; fix the file",
            layout.display()
        )),
        "{err}"
    );
    assert!(env.processes().is_empty());
}
