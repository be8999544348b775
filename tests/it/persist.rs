//! End-to-end tests of session persistence (issue 7): a real perth session in tmux writing to
//! real SQLite and PostgreSQL, killed with SIGKILL and brought back with `perth attach`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::services::require_or_skip;
use tests::{wait_for_with_last, IsolatedEnv, PerthSession, Postgres};

const COLS: u16 = 140;
const ROWS: u16 = 45;

/// Writes perth's user configuration with a persistence block.
fn configure(env: &IsolatedEnv, persistence: &str) {
    let dir = env.config_dir().join("perth");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.kdl"),
        format!("perth {{\n    persistence {{\n{persistence}\n    }}\n}}\n"),
    )
    .unwrap();
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Waits until the writer has flushed everything changed before `since_ms`.
fn wait_for_flush(s: &PerthSession, since_ms: u64) -> Value {
    s.wait_for_status(
        "a persistence flush after the last change, nothing pending",
        Duration::from_secs(30),
        |st| {
            let p = &st["persistence"];
            p["state"] == "ok"
                && p["pending_changes"].as_u64() == Some(0)
                && p["last_flush_at"].as_u64().unwrap_or(0) > since_ms
        },
    )
    .unwrap()
}

/// Runs `perth --session NAME action ARGS` with a deadline: Zellij's command-line client
/// waits for the server's answer without one, and a lost answer must fail the test, not hang it.
fn bounded_action(s: &PerthSession, args: &[&str]) -> Result<String, String> {
    use std::process::Stdio;
    let bin = tests::workspace_bin("perth").map_err(|e| format!("{e:#}"))?;
    let mut child = s
        .env
        .command(&bin)
        .arg("--session")
        .arg(&s.name)
        .arg("action")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + tests::wait::scaled(Duration::from_secs(20));
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "perth action {} got no answer from session {} within 20 s",
                    args.join(" "),
                    s.name
                ));
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "perth action {} exited with {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Starts a session and waits until it has settled (perth-core loaded and linked): Zellij
/// compiles the plugins of each new server, and on a loaded machine actions sent meanwhile can
/// wait on it for a long time.
fn start(env: IsolatedEnv, name: &str) -> PerthSession {
    let s = PerthSession::start_in(env, name, COLS, ROWS, &[]).unwrap();
    s.wait_for_core(1).unwrap();
    s
}

/// Starts session `name` persisting to a new PostgreSQL database `db` with the persistence
/// block's other `settings`; `None` when PostgreSQL cannot be started (outside CI).
fn start_on_postgres(
    db: &str,
    settings: &str,
    name: &str,
) -> Option<(Postgres, String, PerthSession)> {
    let pg = require_or_skip("postgres", Postgres::start())?;
    let url = pg.create_database(db).unwrap();
    let env = IsolatedEnv::new().unwrap();
    configure(&env, &format!("{settings}\ndatabase_url \"{url}\""));
    let s = start(env, name);
    Some((pg, url, s))
}

/// Runs an action and returns its output; fails the test on an error or a lost answer.
fn act(s: &PerthSession, args: &[&str]) -> String {
    bounded_action(s, args).unwrap_or_else(|e| panic!("{e}"))
}

/// The parts of a pane that must survive a restore, keyed by title.
#[derive(Debug, Clone, PartialEq)]
struct PaneView {
    tab: String,
    floating: bool,
    cwd: Option<String>,
    command: Option<String>,
    plugin: Option<String>,
    geometry: (i64, i64, i64, i64),
}

/// Returns the panes by title; empty when list-panes has no answer (Zellij gives the screen
/// thread one second, which a loaded machine can miss), so waits try again.
/// The session's panes by title; a listing that fails or does not parse fails the test (the
/// first answer is the answer; waits around it wait for the session's state, not for it).
fn panes_by_title(s: &PerthSession) -> BTreeMap<String, PaneView> {
    let text = bounded_action(s, &["list-panes", "--json", "--all"])
        .unwrap_or_else(|e| panic!("list-panes of {} failed: {e}", s.name));
    serde_json::from_str::<Vec<Value>>(&text)
        .unwrap_or_else(|e| panic!("list-panes of {} answered no JSON ({e}): {text:?}", s.name))
        .into_iter()
        .filter(|p| !p["is_suppressed"].as_bool().unwrap_or(false))
        .map(|p| {
            let title = p["title"].as_str().unwrap_or_default().to_string();
            let g = |k: &str| p[k].as_i64().unwrap_or(-1);
            (
                title,
                PaneView {
                    tab: p["tab_name"].as_str().unwrap_or_default().to_string(),
                    floating: p["is_floating"].as_bool().unwrap_or(false),
                    cwd: p["pane_cwd"].as_str().map(str::to_string),
                    command: p["pane_command"]
                        .as_str()
                        .or(p["terminal_command"].as_str())
                        .map(str::to_string),
                    plugin: p["plugin_url"].as_str().map(str::to_string),
                    geometry: (g("pane_x"), g("pane_y"), g("pane_columns"), g("pane_rows")),
                },
            )
        })
        .collect()
}

/// Returns the tab names in order, from the session's first answer to list-tabs.
fn tab_names(s: &PerthSession) -> Vec<String> {
    let text = act(s, &["list-tabs", "--json"]);
    let tabs: Vec<Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("list-tabs answered {text:?}: {e}"));
    let mut tabs: Vec<(i64, String)> = tabs
        .iter()
        .map(|t| {
            (
                t["position"].as_i64().unwrap_or(0),
                t["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    tabs.sort();
    tabs.into_iter().map(|(_, n)| n).collect()
}

/// Returns the tab names, the panes, and the time just before the last change.
fn build_session(s: &PerthSession) -> (Vec<String>, BTreeMap<String, PaneView>, u64) {
    let work = s.env.home().join("work");
    let logs = s.env.home().join("logs");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let work = work.to_string_lossy().into_owned();
    let logs = logs.to_string_lossy().into_owned();
    act(s, &["rename-tab", "code"]);
    act(
        s,
        &[
            "new-pane",
            "--name",
            "editor",
            "--cwd",
            &work,
            "--direction",
            "right",
        ],
    );
    act(
        s,
        &[
            "new-pane",
            "--floating",
            "--name",
            "floater",
            "--cwd",
            &logs,
        ],
    );
    act(s, &["new-tab", "--name", "logs", "--cwd", &logs]);
    act(
        s,
        &[
            "new-pane",
            "--name",
            "watcher",
            "--cwd",
            &logs,
            "--direction",
            "down",
            "--",
            "sleep",
            "4242",
        ],
    );
    act(s, &["new-tab", "--name", "tools"]);
    let last_change = now_ms();
    act(s, &["new-pane", "--plugin", "zellij:strider"]);
    let panes = wait_for_with_last(
        "the built session: editor, floater, watcher and the strider plugin",
        Duration::from_secs(20),
        || {
            let panes = panes_by_title(s);
            let ok = ["editor", "floater", "watcher"]
                .iter()
                .all(|t| panes.contains_key(*t))
                && panes
                    .values()
                    .any(|p| p.plugin.as_deref().is_some_and(|u| u.contains("strider")));
            if ok {
                Ok(panes)
            } else {
                Err(format!("{panes:?}"))
            }
        },
    )
    .unwrap();
    (tab_names(s), panes, last_change)
}

/// Kills the server with SIGKILL, forgets Zellij's own resurrection cache of the session (a
/// lost machine has none), and brings the session back with `perth attach NAME`.
fn kill_and_attach(s: PerthSession, tabs: &[String]) -> PerthSession {
    let status = s.status().unwrap();
    let pid = status["server_pid"].as_i64().unwrap() as i32;
    let name = s.name.clone();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for_with_last(
        "the killed server to disappear",
        Duration::from_secs(10),
        || {
            if std::path::Path::new(&format!("/proc/{pid}/status")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z")
            {
                Err("still running")
            } else {
                Ok(())
            }
        },
    )
    .unwrap();
    let env = s.into_env();
    for entry in walk(&env.cache_dir().join("zellij")) {
        if entry.file_name().is_some_and(|n| n == name.as_str()) && entry.is_dir() {
            std::fs::remove_dir_all(&entry).unwrap();
        }
    }
    let last_tab = tabs.last().cloned().unwrap_or_default();
    let first_tab = tabs.first().cloned().unwrap_or_default();
    let args = ["attach", name.as_str()];
    PerthSession::launch(
        env,
        &name,
        COLS,
        ROWS,
        &args,
        "the restored session's tab bar",
        |screen| screen.contains(&last_tab) && screen.contains(&first_tab),
    )
    .unwrap()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

fn assert_restored(before_tabs: &[String], before: &BTreeMap<String, PaneView>, s: &PerthSession) {
    let after = wait_for_with_last("the restored panes", Duration::from_secs(20), || {
        let panes = panes_by_title(s);
        // Tiled pane names are given back by the client right after the restore.
        if panes.contains_key("floater")
            && panes.contains_key("editor")
            && panes
                .values()
                .any(|p| p.command.as_deref().is_some_and(|c| c.contains("4242")))
        {
            Ok(panes)
        } else {
            Err(format!("{panes:?}"))
        }
    })
    .unwrap();
    assert_eq!(tab_names(s), before_tabs);
    let close = |a: (i64, i64, i64, i64), b: (i64, i64, i64, i64)| {
        (a.0 - b.0).abs() <= 1
            && (a.1 - b.1).abs() <= 1
            && (a.2 - b.2).abs() <= 1
            && (a.3 - b.3).abs() <= 1
    };
    // Every terminal and plugin pane comes back in its tab, floating or not, at its place
    // (within a cell) and in its cwd, matched by place since names come back a moment later.
    for (title, b) in before {
        let found = after.values().find(|a| {
            a.tab == b.tab
                && a.floating == b.floating
                && close(a.geometry, b.geometry)
                && a.plugin.is_some() == b.plugin.is_some()
        });
        let a = found.unwrap_or_else(|| panic!("{title} {b:?} not restored: {after:?}"));
        if b.command.as_deref().is_none_or(|c| !c.contains("4242")) && b.plugin.is_none() {
            assert_eq!(a.cwd, b.cwd, "{title}: cwd");
        }
    }
    assert_eq!(after["floater"].tab, "code");
    assert_eq!(after["editor"].tab, "code");
    assert!(!after["editor"].floating);
    assert!(after["floater"].floating);
    let watcher = after
        .values()
        .find(|p| {
            p.command
                .as_deref()
                .is_some_and(|c| c.contains("sleep 4242"))
        })
        .unwrap_or_else(|| panic!("no command pane after restore: {after:?}"));
    assert_eq!(watcher.tab, "logs");
    assert!(
        after
            .values()
            .any(|p| p.plugin.as_deref().is_some_and(|u| u.contains("strider"))),
        "plugin pane after restore: {after:?}"
    );
    // Commands come back held: the command pane waits for Enter.
    act(s, &["go-to-tab-name", "logs"]);
    s.term
        .wait_for_text(
            "the held command pane",
            "Waiting to run",
            Duration::from_secs(10),
        )
        .unwrap();
}

/// The id of the terminal pane titled `title`.
fn terminal_titled(s: &PerthSession, title: &str) -> u64 {
    let text = bounded_action(s, &["list-panes", "--json"]).unwrap();
    serde_json::from_str::<Vec<Value>>(&text)
        .unwrap()
        .into_iter()
        .find(|p| p["title"] == title && p["is_plugin"] == false)
        .and_then(|p| p["id"].as_u64())
        .unwrap_or_else(|| panic!("no terminal pane {title:?}: {text}"))
}

/// The session's agent panes (`perth agents --json`).
fn agents(s: &PerthSession) -> Vec<Value> {
    let out = s
        .perth_within(&["agents", "--json"], None, Duration::from_secs(15))
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn restore_round_trip(env: IsolatedEnv, name: &str) {
    let s = start(env, name);
    let (tabs, before, _) = build_session(&s);
    assert_eq!(tabs, ["code", "logs", "tools"]);
    // The editor's agent waits for its user when the machine goes down.
    let editor = terminal_titled(&s, "editor").to_string();
    let out = s
        .perth_within(
            &[
                "action",
                "agent-state",
                "--pane-id",
                &editor,
                "--state",
                "waiting",
                "--message",
                "Run the migrations?",
            ],
            None,
            Duration::from_secs(15),
        )
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last_change = now_ms();
    wait_for_flush(&s, last_change);
    let restored = kill_and_attach(s, &tabs);
    assert_restored(&tabs, &before, &restored);
    // Its last known state comes back with it, marked as restored, on the editor's new pane.
    let editor = terminal_titled(&restored, "editor");
    let agent = wait_for_with_last(
        "the editor's agent state given back",
        Duration::from_secs(20),
        || {
            let listed = agents(&restored);
            match listed.iter().find(|a| a["pane_id"] == editor) {
                Some(a) => Ok(a.clone()),
                None => Err(format!("{listed:?}")),
            }
        },
    )
    .unwrap();
    assert_eq!(agent["state"], "waiting");
    assert_eq!(agent["message"], "Run the migrations?");
    assert_eq!(agent["restored"], true);
    // The restored session is persisted again under the same name.
    let st = restored
        .wait_for_status(
            "the restored session flushing",
            Duration::from_secs(30),
            |st| st["persistence"]["flushes"].as_u64().unwrap_or(0) > 0,
        )
        .unwrap();
    assert_eq!(st["session"], name);
}

#[test]
fn persist_kill_9_then_attach_restores_from_sqlite() {
    let env = IsolatedEnv::new().unwrap();
    configure(&env, "flush_interval_ms 300");
    restore_round_trip(env, "e2e-persist-sqlite");
}

#[test]
fn persist_kill_9_then_attach_restores_from_postgres() {
    let Some(url) = tests::services::fresh_database("p", "persist_restore") else {
        return;
    };
    let env = IsolatedEnv::new().unwrap();
    configure(
        &env,
        &format!("flush_interval_ms 300\ndatabase_url \"{url}\""),
    );
    restore_round_trip(env, "e2e-persist-pg");
}

#[test]
fn persist_database_stall_keeps_rendering_then_flushes() {
    let Some((mut pg, url, s)) =
        start_on_postgres("stall", "flush_interval_ms 300", "e2e-persist-stall")
    else {
        return;
    };
    wait_for_flush(&s, 0);

    pg.stop().unwrap();
    let stopped_at = now_ms();
    act(&s, &["new-tab", "--name", "while-down"]);
    // The terminal keeps echoing while the database is away.
    let typed = Instant::now();
    s.term.send_text("echo still-$((40+2))").unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    s.term
        .wait_for_text(
            "echo while the database is down",
            "still-42",
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(typed.elapsed() < Duration::from_secs(5));
    let down = s
        .wait_for_status(
            "persistence reporting the database down",
            Duration::from_secs(20),
            |st| st["persistence"]["state"] == "unavailable",
        )
        .unwrap();
    assert!(
        down["persistence"]["last_error"].as_str().is_some(),
        "{down}"
    );
    assert!(
        down["persistence"]["pending_changes"].as_u64().unwrap_or(0) > 0,
        "{down}"
    );

    pg.start_again().unwrap();
    let back = wait_for_flush(&s, stopped_at);
    assert!(back["persistence"]["last_error"].is_null(), "{back}");
    let rows = pg
        .psql(&url, "SELECT name FROM tabs ORDER BY position")
        .unwrap();
    assert!(rows.contains("while-down"), "{rows}");
}

#[test]
fn persist_list_delete_and_layout_templates() {
    let env = IsolatedEnv::new().unwrap();
    configure(&env, "flush_interval_ms 300");
    let s = start(env, "e2e-persist-cli");
    act(&s, &["rename-tab", "template-tab"]);
    let changed_at = now_ms();
    act(
        &s,
        &["new-pane", "--name", "right-side", "--direction", "right"],
    );
    wait_for_flush(&s, changed_at);

    let out = s.perth(&["layout", "save", "two-panes", "--json"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["data"]["tab"], "template-tab");
    let out = s.perth_plain(&["layout", "list", "--json"]).unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["data"][0]["name"], "two-panes");

    // The template opens as a new tab.
    act(&s, &["new-tab", "--layout", "db:two-panes"]);
    wait_for_with_last("a second template-tab", Duration::from_secs(10), || {
        let tabs = tab_names(&s);
        if tabs.iter().filter(|t| *t == "template-tab").count() == 2 {
            Ok(())
        } else {
            Err(format!("{tabs:?}"))
        }
    })
    .unwrap();
    let out = s
        .perth(&["action", "new-tab", "--layout", "db:missing"])
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("perth layout save missing"), "{stderr}");

    // Killed and forgotten by Zellij: listed as a database-only session, then deleted.
    let pid = s.status().unwrap()["server_pid"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let env = s.into_env();
    for entry in walk(&env.cache_dir().join("zellij")) {
        if entry.file_name().is_some_and(|n| n == "e2e-persist-cli") && entry.is_dir() {
            std::fs::remove_dir_all(&entry).unwrap();
        }
    }
    let bin = tests::workspace_bin("perth").unwrap();
    let listed = wait_for_with_last(
        "the database-only session listed",
        Duration::from_secs(10),
        || {
            let out = env
                .command(&bin)
                .args(["list-sessions", "--no-formatting"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.contains("e2e-persist-cli") && text.contains("DATABASE - attach to restore") {
                Ok(text)
            } else {
                Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
            }
        },
    )
    .unwrap();
    assert!(listed.contains("[Saved"), "{listed}");
    let out = env
        .command(&bin)
        .args(["delete-session", "e2e-persist-cli"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("successfully deleted"));
    let out = env
        .command(&bin)
        .args(["restore", "e2e-persist-cli", "--from-db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no saved session"));
}

#[test]
fn persist_two_sessions_share_a_database_and_stay_apart() {
    let Some(url) = tests::services::fresh_database("p", "persist_two") else {
        return;
    };
    let start = |name: &str| {
        let env = IsolatedEnv::new().unwrap();
        configure(
            &env,
            &format!("flush_interval_ms 300\ndatabase_url \"{url}\""),
        );
        start(env, name)
    };
    let a = start("e2e-two-a");
    let b = start("e2e-two-b");
    act(&a, &["rename-tab", "alpha"]);
    act(&b, &["rename-tab", "beta"]);
    let since = now_ms();
    act(&a, &["new-tab", "--name", "alpha-2"]);
    act(&b, &["new-pane", "--floating", "--name", "beta-float"]);
    wait_for_flush(&a, since);
    wait_for_flush(&b, since);
    let a = kill_and_attach(a, &["alpha".to_string(), "alpha-2".to_string()]);
    assert_eq!(tab_names(&a), ["alpha", "alpha-2"]);
    assert!(!panes_by_title(&a).contains_key("beta-float"));
    // b kept writing its own rows while a was restored.
    let b = kill_and_attach(b, &["beta".to_string()]);
    assert_eq!(tab_names(&b), ["beta"]);
    wait_for_with_last("beta-float restored", Duration::from_secs(20), || {
        let panes = panes_by_title(&b);
        if panes.contains_key("beta-float") {
            Ok(())
        } else {
            Err(format!("{panes:?}"))
        }
    })
    .unwrap();
}

#[test]
fn persist_scrollback_is_stored_redacted_when_configured() {
    let Some((mut pg, url, s)) = start_on_postgres(
        "scrollback",
        "flush_interval_ms 200\nscrollback_lines 20",
        "e2e-persist-scroll",
    ) else {
        return;
    };
    // The token is printed by the shell, not typed on the command line the pane also shows.
    s.term
        .send_text("printf 'marker-%s ghp_%s\\n' 42 abcdefghijklmnopqrstuvwxyz0123456789")
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    s.term
        .wait_for_text("the printed marker", "marker-42", Duration::from_secs(10))
        .unwrap();
    // Output marks nothing changed; the writer's periodic comparison finds it.
    let stored = wait_for_with_last(
        "the scrollback in the database",
        Duration::from_secs(30),
        || {
            let text = pg
                .psql(&url, "SELECT scrollback FROM panes WHERE kind = 'terminal'")
                .map_err(|e| format!("{e:#}"))?;
            if text.contains("marker-42 ") {
                Ok(text)
            } else {
                Err(text)
            }
        },
    )
    .unwrap();
    assert!(stored.contains("REDACTED"), "{stored}");
    assert!(
        !stored.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        "{stored}"
    );
    pg.stop().unwrap();
}

/// Returns host-bridge's token as perth hands it to its plugins (the generated configuration).
fn bridge_token(env: &IsolatedEnv) -> String {
    walk(&env.cache_dir().join("perth").join("config"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find_map(|text| {
            let rest = &text[text.find("bridge_token \"")? + "bridge_token \"".len()..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .filter(|t| t.len() >= 16)
        .expect("perth's generated configuration carries the bridge token")
}

/// Returns every row of perth's tables as text (`pg_dump --data-only`).
fn dump_rows(pg: &Postgres, url: &str) -> String {
    let out = std::process::Command::new(pg.bin_dir().join("pg_dump"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .args(["--data-only", "--no-owner", "-d", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn persist_stores_no_credential_and_scrubs_rows_written_before() {
    let Some((mut pg, url, s)) = start_on_postgres(
        "credentials",
        "flush_interval_ms 200\nscrollback_lines 20",
        "e2e-persist-creds",
    ) else {
        return;
    };
    let token = bridge_token(&s.env);
    // Every plugin pane perth has, beside the tab bar of the layout.
    act(&s, &["new-pane", "--plugin", "imi"]);
    act(&s, &["new-pane", "--floating", "--plugin", "zdrive"]);
    act(&s, &["new-tab", "--name", "snap"]);
    let changed_at = now_ms();
    act(&s, &["new-pane", "--plugin", "zdrive-snapshot"]);
    wait_for_with_last("the three plugin panes", Duration::from_secs(20), || {
        let panes = panes_by_title(&s);
        let plugins: Vec<&str> = panes.values().filter_map(|p| p.plugin.as_deref()).collect();
        let has = |name: &str| {
            plugins
                .iter()
                .any(|u| *u == name || u.contains(&format!("/{name}-")))
        };
        if has("imi") && has("zdrive") && has("zdrive-snapshot") && has("tab-bar") {
            Ok(())
        } else {
            Err(format!("{plugins:?}"))
        }
    })
    .unwrap();
    wait_for_flush(&s, changed_at);
    let out = s.perth(&["layout", "save", "with-plugins"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A row as an earlier perth wrote it: its plugin by file, with the bridge's keys.
    let legacy = "legacy0123456789abcdef0123456789ab";
    pg.psql(
        &url,
        &format!(
            "INSERT INTO layouts (id, name, kdl) VALUES ('legacy-row', 'legacy', 'layout {{\n\
             tab {{\npane {{\nplugin location=\"file:/old/perth/plugins/imi-00ff.wasm\" {{\n\
             bridge_token \"{legacy}\"\nbridge_url \"http://127.0.0.1:1\"\n}}\n}}\n}}\n}}\n')"
        ),
    )
    .unwrap();
    let out = s.perth_plain(&["layout", "list", "--json"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rows = dump_rows(&pg, &url);
    assert!(
        rows.contains("with-plugins"),
        "the saved layout is in the dump"
    );
    for secret in [token.as_str(), legacy, "bridge_token", "bridge_url"] {
        assert!(!rows.contains(secret), "{secret:?} is stored:\n{rows}");
    }
    let findings = secret_filter::redact(&rows);
    assert_eq!(
        findings.as_ref(),
        rows,
        "the secret filter finds secrets in the rows"
    );
    let legacy_kdl = pg
        .psql(&url, "SELECT kdl FROM layouts WHERE name = 'legacy'")
        .unwrap();
    assert!(legacy_kdl.contains("location=\"imi\""), "{legacy_kdl}");

    // Opened again, the saved layout's plugins get this session's bridge through their alias.
    act(&s, &["new-tab", "--layout", "db:with-plugins"]);
    let screen = wait_for_with_last(
        "the saved layout's iMi pane talking to the bridge",
        Duration::from_secs(20),
        || {
            let screen = s.term.capture();
            if tab_names(&s).iter().filter(|t| *t == "snap").count() == 2
                && screen.contains("zdrive snapshot")
                && !screen.contains("bridge_url")
                && !screen.contains("not configured")
            {
                Ok(screen)
            } else {
                Err(screen)
            }
        },
    );
    screen.unwrap();
    pg.stop().unwrap();
}

/// Writes a libpq password file (mode 0600) with `line` into `dir` and returns its path.
fn pgpass(dir: &std::path::Path, name: &str, line: &str) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, format!("{line}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

#[test]
fn persist_team_server_two_users_over_verify_full_keep_their_sessions_apart() {
    use tests::services::{test_password, TestCa};
    let started = TestCa::generate("perth test CA")
        .and_then(|ca| Postgres::start_secured(&ca).map(|pg| (ca, pg)));
    let Some((_ca, pg)) = require_or_skip("secured postgres", started) else {
        return;
    };
    let (alice_pw, bob_pw) = (test_password("alice"), test_password("bob"));
    pg.create_role("perth", "alice", &alice_pw, "").unwrap();
    pg.create_role("perth", "bob", &bob_pw, "").unwrap();
    // The administrator runs the migrations, as the README says: the role that runs them owns
    // the tables and could turn row-level security off; a user's role cannot.
    let admin = IsolatedEnv::new().unwrap();
    configure(&admin, &format!("database_url \"{}\"", pg.url()));
    let out = admin
        .command(tests::workspace_bin("perth").unwrap())
        .args(["layout", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Passwords come from libpq's password file, not from the URL in config.kdl.
    let secrets = tempfile::tempdir().unwrap();
    let user = |role: &str, password: &str, session: &str| {
        let mut env = IsolatedEnv::new().unwrap();
        let url = pg
            .tls_url(role, "", "perth", "verify-full")
            .replace(":@", "@");
        let file = pgpass(
            secrets.path(),
            role,
            &format!("localhost:{}:perth:{role}:{password}", pg.port()),
        );
        env.set_var("PGPASSFILE", file);
        configure(
            &env,
            &format!("flush_interval_ms 300\ndatabase_url \"{url}\""),
        );
        start(env, session)
    };

    let alice = user("alice", &alice_pw, "e2e-team-alice");
    act(&alice, &["rename-tab", "alice-secret-tab"]);
    let since = now_ms();
    act(
        &alice,
        &["new-pane", "--name", "alice-pane", "--direction", "right"],
    );
    let status = wait_for_flush(&alice, since);
    assert_eq!(
        status["persistence"]["connection"], "TLS, verified (CA and host name)",
        "{status}"
    );
    assert_eq!(status["persistence"]["encrypted"], true);
    assert_eq!(status["persistence"]["verified"], "ca_and_host", "{status}");
    for args in [
        &["layout", "save", "team-layout", "--shared", "--json"][..],
        &["layout", "save", "alice-only", "--json"][..],
    ] {
        let out = alice.perth(args).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let bob = user("bob", &bob_pw, "e2e-team-bob");
    let since = now_ms();
    act(&bob, &["rename-tab", "bob-tab"]);
    wait_for_flush(&bob, since);
    // Bob sees alice's shared layout, read-only, and not her private one.
    let out = bob.perth_plain(&["layout", "list", "--json"]).unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].clone(), l["read_only"].clone()))
        .collect();
    assert_eq!(names, [("team-layout".into(), true.into())], "{listed}");

    // A direct SELECT as bob returns none of alice's rows; alice's own reads them.
    let bob_url = pg.tls_url("bob", &bob_pw, "perth", "verify-full");
    let seen = pg
        .psql(
            &bob_url,
            "SELECT COUNT(*) FROM tabs WHERE name = 'alice-secret-tab'; \
             SELECT COUNT(*) FROM panes WHERE title = 'alice-pane'; \
             SELECT string_agg(name, ',') FROM sessions",
        )
        .unwrap();
    assert_eq!(seen, "0\n0\ne2e-team-bob");
    let alice_url = pg.tls_url("alice", &alice_pw, "perth", "verify-full");
    assert_eq!(
        pg.psql(
            &alice_url,
            "SELECT COUNT(*) FROM tabs WHERE name = 'alice-secret-tab'"
        )
        .unwrap(),
        "1"
    );
    // Nor can bob turn the policies off, read the outbox of alice's events, or change the
    // worktree types everyone shares.
    for sql in [
        "ALTER TABLE sessions NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY own_rows ON tabs",
    ] {
        let refused = pg.psql(&bob_url, sql);
        assert!(refused.is_err(), "{sql}: {refused:?}");
    }
    // Published already, so that alice's own host-bridge (which publishes and may mark her
    // rows) leaves it as it is while bob tries.
    pg.psql(
        &alice_url,
        "INSERT INTO outbox (event_id, source, type, subject, payload, created_at, published_at) \
         VALUES ('e2e-alice-event', 'imi', 'workspace.worktree.created', 'alice-wt', '{}', now(), now())",
    )
    .unwrap();
    assert_eq!(
        pg.psql(
            &bob_url,
            "SELECT COUNT(*) FROM outbox WHERE event_id = 'e2e-alice-event'; \
             WITH u AS (UPDATE outbox SET attempts = 99 WHERE event_id = 'e2e-alice-event' \
             RETURNING 1) SELECT COUNT(*) FROM u; \
             WITH d AS (DELETE FROM outbox WHERE event_id = 'e2e-alice-event' RETURNING 1) \
             SELECT COUNT(*) FROM d; \
             WITH u AS (UPDATE worktree_types SET branch_prefix = 'bob/' RETURNING 1) \
             SELECT COUNT(*) FROM u; \
             WITH d AS (DELETE FROM worktree_types WHERE is_builtin RETURNING 1) \
             SELECT COUNT(*) FROM d"
        )
        .unwrap(),
        "0\n0\n0\n0\n0"
    );
    assert_eq!(
        pg.psql(
            &alice_url,
            "SELECT COUNT(*) FROM outbox WHERE event_id = 'e2e-alice-event' AND attempts <> 99; \
             SELECT COUNT(*) > 0 FROM worktree_types WHERE is_builtin AND branch_prefix <> 'bob/'"
        )
        .unwrap(),
        "1\nt"
    );

    // No password in any file perth wrote (logs, caches, generated configuration) or printed.
    let mut printed = String::new();
    for s in [&alice, &bob] {
        printed.push_str(&s.status().unwrap().to_string());
    }
    for s in [alice, bob] {
        let env = s.into_env();
        for file in walk(env.root()) {
            let Ok(text) = std::fs::read(&file) else {
                continue;
            };
            let text = String::from_utf8_lossy(&text);
            for secret in [&alice_pw, &bob_pw] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{} holds a password",
                    file.display()
                );
            }
        }
    }
    for secret in [&alice_pw, &bob_pw] {
        assert!(!printed.contains(secret.as_str()), "{printed}");
    }
}
