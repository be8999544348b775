//! `zdrive_log`: the `zdrive::log` pipe's request, logged by the zdrive engine in host-bridge's
//! own environment (here the embedded store under the test's HOME), once per key.

use crate::support::TestEnv;
use bridge_protocol::{ErrorKind, Request, Response};

fn log(pane: &str, summary: &str, entry_type: Option<&str>, key: Option<&str>) -> Request {
    Request::ZdriveLog {
        pane: pane.into(),
        summary: summary.into(),
        entry_type: entry_type.map(str::to_owned),
        source: Some("agent".into()),
        artifacts: vec!["src/auth.rs".into()],
        key: key.map(str::to_owned),
    }
}

#[test]
fn entries_are_logged_once_per_key_in_zdrives_store() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let first = bridge
        .rpc(
            1,
            log(
                "api-server",
                "Released v2",
                Some("milestone"),
                Some("pipe-1"),
            ),
        )
        .envelope()
        .into_result()
        .unwrap();
    let Response::ZdriveLogged {
        pane_name,
        entry,
        total_entries,
        first: was_first,
        ..
    } = first
    else {
        panic!("zdrive_logged expected, got {first:?}");
    };
    assert_eq!(pane_name, "api-server");
    assert_eq!(total_entries, 1);
    assert!(was_first);
    assert_eq!(entry["entry_type"], "milestone");
    assert_eq!(entry["source"], "agent");
    assert_eq!(entry["summary"], "Released v2");
    assert_eq!(entry["artifacts"][0], "src/auth.rs");

    // The same pipe seen by a second client's plugin: nothing more is logged.
    let again = bridge
        .rpc(
            2,
            log(
                "api-server",
                "Released v2",
                Some("milestone"),
                Some("pipe-1"),
            ),
        )
        .envelope()
        .into_result()
        .unwrap();
    assert!(
        matches!(
            again,
            Response::ZdriveLogged {
                first: false,
                total_entries: 1,
                ..
            }
        ),
        "{again:?}"
    );
    // Another pipe logs again, in the store zdrive's own command line reads.
    let other = bridge
        .rpc(3, log("api-server", "next", None, Some("pipe-2")))
        .envelope()
        .into_result()
        .unwrap();
    assert!(
        matches!(
            other,
            Response::ZdriveLogged {
                first: true,
                total_entries: 2,
                ..
            }
        ),
        "{other:?}"
    );
    assert!(env
        .runtime_dir()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("home/.local/share/zellij-driver/zdrive.db")
        .is_file());
}

#[test]
fn bad_entries_are_refused_with_what_is_wrong() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    for (request, expect) in [
        (log("api-server", "  ", None, None), "summary"),
        (log("api:server", "x", None, None), "pane name"),
        (log("api server", "x", None, None), "pane name"),
        (log("api-server", "x", Some("bogus"), None), "bogus"),
        (log("api-server", &"x".repeat(5000), None, None), "4096"),
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
fn the_kept_engine_follows_zdrives_configuration_between_requests() {
    let env = TestEnv::new();
    let dir = env.home().join("zdrive-config");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    let use_database = |name: &str| {
        let path = dir.join(name);
        std::fs::write(
            &config,
            format!(
                "store = \"embedded\"\ndatabase_path = \"{}\"\n",
                path.display()
            ),
        )
        .unwrap();
    };
    use_database("a.db");
    let bridge = env.serve_with_env(&[], &[("ZDRIVE_CONFIG", config.as_os_str())]);
    let total = |id: u64| match bridge
        .rpc(id, log("api-server", &format!("step {id}"), None, None))
        .envelope()
        .into_result()
        .unwrap()
    {
        Response::ZdriveLogged { total_entries, .. } => total_entries,
        other => panic!("zdrive_logged expected, got {other:?}"),
    };
    assert_eq!(total(1), 1);
    assert_eq!(total(2), 2);
    // Another database in the configuration: the next request writes there.
    use_database("b.db");
    assert_eq!(total(3), 1);
    assert!(dir.join("b.db").is_file());
    // And back: the first database kept its two entries.
    use_database("a.db");
    assert_eq!(total(4), 3);
}
