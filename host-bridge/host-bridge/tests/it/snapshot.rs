//! `zdrive_snapshots`, `zdrive_snapshot` and `zdrive_consent`: the snapshot pane's requests,
//! carried out by the zdrive engine in host-bridge's own environment (the embedded store and
//! configuration file under the test's HOME), against a local server speaking Ollama's API.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use bridge_protocol::{ErrorKind, Request, Response};
use zdrive::model::SnapshotRecord;
use zdrive::setup::{Access, Setup};
use zdrive::PaneUpdate;

use crate::support::TestEnv;
use tests::fake_llm::FakeOllama;

/// How long the fake provider takes to answer: long enough that concurrent requests overlap.
const ANSWER_DELAY: Duration = Duration::from_millis(300);

fn snapshots_at(session: &str, pane_id: &str) -> Request {
    Request::ZdriveSnapshots {
        pane: None,
        session: Some(session.into()),
        pane_id: Some(pane_id.into()),
        last: None,
    }
}

fn snapshots_of(pane: &str) -> Request {
    Request::ZdriveSnapshots {
        pane: Some(pane.into()),
        session: None,
        pane_id: None,
        last: None,
    }
}

/// Runs `work` with zdrive's engine opened on the store host-bridge uses.
fn with_engine(env: &TestEnv, work: impl AsyncFnOnce(&zdrive::Zdrive)) {
    let home = env.home().display().to_string();
    let setup = Setup::resolve(&|k| (k == "HOME").then(|| home.clone())).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let engine = setup.open_engine(Access::Write).await.unwrap();
            work(&engine).await;
        });
}

/// Tracks `name` at `pane_id` of `session`.
async fn track(engine: &zdrive::Zdrive, name: &str, session: &str, pane_id: &str) {
    let update = PaneUpdate {
        session: Some(session.into()),
        tab: Some("main".into()),
        pane_id: Some(pane_id.into()),
        ..Default::default()
    };
    engine.store().update_pane(name, &update).await.unwrap();
}

fn record(minute: u32, summary: &str) -> SnapshotRecord {
    SnapshotRecord {
        timestamp: format!("2026-11-24T10:{minute:02}:00Z").parse().unwrap(),
        provider: "ollama".into(),
        model: "llama3.2".into(),
        summary: summary.into(),
        context_hash: format!("hash-{minute}"),
        context_bytes: 1200,
        duration_ms: 900,
    }
}

fn write_config(env: &TestEnv, text: &str) {
    let path = env.home().join(".config/zellij-driver/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn snapshots_are_found_by_where_the_pane_lives() {
    let env = TestEnv::new();
    with_engine(&env, async |engine| {
        track(engine, "api-server", "work", "terminal_4").await;
        track(engine, "web", "work", "terminal_5").await;
        for (minute, text) in [
            (1, "## What was done\n- first"),
            (2, "## What was done\n- second"),
        ] {
            engine
                .record_snapshot("api-server", record(minute, text))
                .await
                .unwrap();
        }
    });
    let bridge = env.serve(&[]);
    let answer = bridge
        .rpc(1, snapshots_at("work", "terminal_4"))
        .envelope()
        .into_result()
        .unwrap();
    let Response::ZdriveSnapshots {
        pane_name,
        consent,
        provider,
        local,
        snapshots,
        ..
    } = answer
    else {
        panic!("zdrive_snapshots expected, got {answer:?}");
    };
    assert_eq!(pane_name.as_deref(), Some("api-server"));
    assert!(!consent, "consent is off until granted");
    assert_eq!(provider, "anthropic", "zdrive's default provider");
    assert!(!local);
    let summaries: Vec<_> = snapshots.iter().map(|s| s["summary"].clone()).collect();
    assert_eq!(
        summaries,
        ["## What was done\n- second", "## What was done\n- first"],
        "newest first"
    );
    assert_eq!(snapshots[0]["model"], "llama3.2");
    assert_eq!(snapshots[0]["timestamp"], "2026-11-24T10:02:00.000000Z");

    // A tracked pane without snapshots, an untracked place, and a pane by name.
    let web = bridge
        .rpc(2, snapshots_at("work", "terminal_5"))
        .envelope()
        .into_result()
        .unwrap();
    assert!(
        matches!(&web, Response::ZdriveSnapshots { pane_name: Some(n), snapshots, .. } if n == "web" && snapshots.is_empty()),
        "{web:?}"
    );
    for request in [
        snapshots_at("work", "terminal_9"),
        snapshots_at("other", "terminal_4"),
        snapshots_of("nobody"),
    ] {
        let answer = bridge.rpc(3, request).envelope().into_result().unwrap();
        assert!(
            matches!(&answer, Response::ZdriveSnapshots { pane_name: None, snapshots, .. } if snapshots.is_empty()),
            "{answer:?}"
        );
    }
    let by_name = bridge
        .rpc(
            4,
            Request::ZdriveSnapshots {
                pane: Some("api-server".into()),
                session: None,
                pane_id: None,
                last: Some(1),
            },
        )
        .envelope()
        .into_result()
        .unwrap();
    assert!(
        matches!(&by_name, Response::ZdriveSnapshots { snapshots, .. } if snapshots.len() == 1),
        "{by_name:?}"
    );
}

#[test]
fn bad_names_and_incomplete_lookups_are_refused() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let generate = |pane: &str| Request::ZdriveSnapshot {
        pane: pane.into(),
        force: false,
        key: None,
    };
    for (request, expect) in [
        (generate("api server"), "pane name"),
        (generate("api:server"), "pane name"),
        (generate(""), "pane name"),
        (snapshots_of("a b"), "pane name"),
        (
            Request::ZdriveSnapshots {
                pane: None,
                session: Some("work".into()),
                pane_id: None,
                last: None,
            },
            "a session and a pane id",
        ),
    ] {
        let error = bridge.rpc(9, request).envelope().into_result().unwrap_err();
        assert_eq!(error.kind, ErrorKind::BadRequest, "{error:?}");
        assert!(
            error.message.contains(expect),
            "{expect}: {}",
            error.message
        );
    }
}

#[test]
fn consent_is_written_to_zdrives_file_and_read_back() {
    let env = TestEnv::new();
    // Settings the user wrote stay as they were.
    write_config(&env, "history_cap = 50\n");
    let bridge = env.serve(&[]);
    let consent = |id, grant| {
        bridge
            .rpc(id, Request::ZdriveConsent { grant })
            .envelope()
            .into_result()
            .unwrap()
    };
    assert_eq!(consent(1, true), Response::ZdriveConsent { consent: true });
    let path = env.home().join(".config/zellij-driver/config.toml");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("llm_consent = true"), "{text}");
    assert!(text.contains("history_cap = 50"), "{text}");
    let seen = |id| match bridge.rpc(id, snapshots_of("api")).envelope().into_result() {
        Ok(Response::ZdriveSnapshots { consent, .. }) => consent,
        other => panic!("zdrive_snapshots expected, got {other:?}"),
    };
    assert!(seen(2));
    assert_eq!(
        consent(3, false),
        Response::ZdriveConsent { consent: false }
    );
    assert!(!seen(4));
}

#[test]
fn a_snapshot_without_consent_asks_for_it() {
    let env = TestEnv::new();
    let ollama = FakeOllama::start("## What was done\n- nothing", ANSWER_DELAY);
    write_config(
        &env,
        &format!(
            "[llm]\nprovider = \"ollama\"\nbase_url = \"{}\"\n",
            ollama.url
        ),
    );
    with_engine(&env, async |engine| track(engine, "api", "", "").await);
    let bridge = env.serve(&[]);
    let error = bridge
        .rpc(
            1,
            Request::ZdriveSnapshot {
                pane: "api".into(),
                force: false,
                key: None,
            },
        )
        .envelope()
        .into_result()
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadRequest);
    assert!(error.message.contains("consent"), "{}", error.message);
    assert!(
        error
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("press c"),
        "{error:?}"
    );
    assert_eq!(ollama.requests(), 0, "nothing was sent");
}

#[test]
fn a_keyed_snapshot_asks_the_llm_once_for_every_client() {
    let env = TestEnv::new();
    let summary = "## What was done\n- fixed **login**\n\n## Current state\n- tests pass\n\n\
                   ## Suggested next steps\n1. release";
    let ollama = FakeOllama::start(summary, ANSWER_DELAY);
    write_config(
        &env,
        &format!(
            "llm_consent = true\n\n[llm]\nprovider = \"ollama\"\nbase_url = \"{}\"\n",
            ollama.url
        ),
    );
    with_engine(&env, async |engine| track(engine, "api", "", "").await);
    let bridge = env.serve(&[]);
    let generate = |key: &str, force: bool| Request::ZdriveSnapshot {
        pane: "api".into(),
        force,
        key: Some(key.into()),
    };
    // Three clients' plugin instances receive the same pipe at once.
    let answers: Vec<Response> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..3)
            .map(|i| {
                let bridge = &bridge;
                scope.spawn(move || {
                    bridge
                        .rpc(i, generate("pipe-1", false))
                        .envelope()
                        .into_result()
                        .unwrap()
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(ollama.requests(), 1, "{answers:?}");
    let firsts: Vec<bool> = answers
        .iter()
        .map(|a| match a {
            Response::ZdriveSnapshotted {
                pane_name,
                snapshot,
                reused,
                first,
            } => {
                assert_eq!(pane_name, "api");
                assert_eq!(snapshot["summary"], summary);
                assert_eq!(snapshot["provider"], "ollama");
                assert!(!reused);
                *first
            }
            other => panic!("zdrive_snapshotted expected, got {other:?}"),
        })
        .collect();
    assert_eq!(firsts.iter().filter(|f| **f).count(), 1, "{firsts:?}");

    // Another pipe is another request: the LLM is asked again unless the engine finds the
    // context unchanged (its rule, tested with the engine) and keeps the last snapshot.
    let again = bridge
        .rpc(5, generate("pipe-2", false))
        .envelope()
        .into_result()
        .unwrap();
    let Response::ZdriveSnapshotted {
        reused,
        first: true,
        ..
    } = again
    else {
        panic!("a first zdrive_snapshotted expected, got {again:?}");
    };
    let expected = if reused { 1 } else { 2 };
    assert_eq!(ollama.requests(), expected);
    let forced = bridge
        .rpc(6, generate("pipe-3", true))
        .envelope()
        .into_result()
        .unwrap();
    assert!(
        matches!(forced, Response::ZdriveSnapshotted { reused: false, .. }),
        "{forced:?}"
    );
    assert_eq!(ollama.requests(), expected + 1);
    let listed = bridge
        .rpc(7, snapshots_of("api"))
        .envelope()
        .into_result()
        .unwrap();
    let Response::ZdriveSnapshots {
        snapshots,
        consent,
        provider,
        local,
        ..
    } = listed
    else {
        panic!("zdrive_snapshots expected, got {listed:?}");
    };
    assert_eq!(snapshots.len(), ollama.requests());
    assert!(consent);
    assert_eq!(provider, "ollama");
    assert!(local, "a provider on 127.0.0.1 keeps data on this machine");
}

#[test]
fn a_provider_that_is_down_is_unavailable() {
    let env = TestEnv::new();
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    write_config(
        &env,
        &format!(
            "llm_consent = true\n\n[llm]\nprovider = \"ollama\"\nbase_url = \"http://127.0.0.1:{port}\"\n"
        ),
    );
    with_engine(&env, async |engine| track(engine, "api", "", "").await);
    let bridge = env.serve(&[]);
    let error = bridge
        .rpc(
            1,
            Request::ZdriveSnapshot {
                pane: "api".into(),
                force: false,
                key: None,
            },
        )
        .envelope()
        .into_result()
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error:?}");
    assert!(error.message.contains("ollama"), "{}", error.message);
}
