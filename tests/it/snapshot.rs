//! End-to-end: the zdrive snapshot pane in a real perth session. `Alt z` opens it on the focused
//! pane, `c` grants consent, `g` makes a snapshot through host-bridge and a local server that
//! speaks Ollama's API, and `zellij pipe --name zdrive::snapshot` answers on the command line.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;
use std::time::Duration;

use tests::fake_llm::FakeOllama;
use tests::{IsolatedEnv, PerthSession};

const SUMMARY: &str = "## What was done\n- Fixed the **login redirect** in `src/auth.rs`\n\n\
                       ## Current state\n- All tests pass\n\n## Suggested next steps\n1. Release v2.3\n";

#[test]
fn the_snapshot_pane_shows_grants_and_makes_snapshots() {
    let ollama = FakeOllama::start(SUMMARY, Duration::from_millis(1500));
    let env = IsolatedEnv::new().unwrap();
    let config = env.config_dir().join("zellij-driver/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "[llm]\nprovider = \"ollama\"\nbase_url = \"{}\"\n",
            ollama.url
        ),
    )
    .unwrap();
    let s = PerthSession::start_in(env, "e2e-snapshot", 120, 40, &[]).unwrap();
    s.wait_for_status("host-bridge running", Duration::from_secs(20), |st| {
        st["bridge"]["state"] == "running"
    })
    .unwrap();

    // zdrive opens and tracks a pane named web, which takes the focus.
    let zdrive = tests::workspace_bin("zdrive").unwrap();
    let out = s
        .env
        .command(&zdrive)
        .args(["pane", "web"])
        .env("ZELLIJ_SESSION_NAME", &s.name)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    s.term.send_keys(&["M-z"]).unwrap();
    s.term
        .wait_for_screen(
            "the snapshot pane on web, asking for consent",
            Duration::from_secs(20),
            |screen| {
                screen.contains("zdrive snapshot · web")
                    && screen.contains("consent: not granted — press c to grant")
                    && screen.contains("no snapshot of web yet")
            },
        )
        .unwrap();

    s.term.send_keys(&["c"]).unwrap();
    s.term
        .wait_for_text(
            "consent granted in the pane",
            "✓ consent granted",
            Duration::from_secs(10),
        )
        .unwrap();
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("llm_consent = true"));

    s.term.send_keys(&["g"]).unwrap();
    s.term
        .wait_for_text(
            "the progress line while the LLM works",
            "asking ollama (llama3.2) for a snapshot of web",
            Duration::from_secs(10),
        )
        .unwrap();
    // A second press while the LLM works asks nothing more.
    s.term.send_keys(&["g"]).unwrap();
    let screen = s
        .term
        .wait_for_screen(
            "the snapshot rendered from its markdown",
            Duration::from_secs(30),
            |screen| {
                screen.contains("snapshot of web stored")
                    && screen.contains("• Fixed the login redirect in src/auth.rs")
                    && screen.contains("1. Release v2.3")
            },
        )
        .unwrap();
    assert!(screen.contains("What was done"), "{screen}");
    assert_eq!(ollama.requests(), 1);
    // Headings are drawn bold and coloured, not as `##`.
    let colored = s.term.capture_colored();
    assert!(!colored.contains("## What was done"), "{colored}");

    // A script asks through the session; the open pane answers on the command line.
    let perth = tests::workspace_bin("perth").unwrap();
    let out = s
        .env
        .command(&perth)
        .args(["--session", &s.name, "pipe", "--name", "zdrive::snapshot"])
        .args(["--args", "pane=web,force=true", "--", "now"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Zellij can drop a waiting pipe's answer when another connection to the session comes
    // and goes meanwhile (the stored snapshot's notification is one): then the snapshot
    // itself is what shows the pipe worked.
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        answer == "snapshot of web stored\n" || (answer.is_empty() && out.status.success()),
        "{out:?}"
    );
    tests::wait_for(
        "the script's snapshot asked of the provider",
        Duration::from_secs(10),
        || (ollama.requests() == 2).then_some(()),
    )
    .unwrap();
    // A refusal is answered to the script that asked, the first time.
    let out = s
        .env
        .command(&perth)
        .args(["--session", &s.name, "pipe", "--name", "zdrive::snapshot"])
        .args(["--args", "pane=nobody", "--", "now"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let refusal = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        refusal.starts_with("zdrive::snapshot: no pane named \"nobody\" is tracked"),
        "{refusal:?}"
    );
    assert_eq!(ollama.requests(), 2);
}
