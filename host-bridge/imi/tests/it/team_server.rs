//! iMi on a team server: PostgreSQL over `verify-full` with SCRAM passwords, two users whose worktrees stay apart, and TLS failures as exit 3 with the URL masked.

use tests::services::{test_password, Postgres, TestCa};

use crate::support::Sandbox;

#[test]
fn two_users_over_verify_full_keep_their_worktrees_apart_and_no_password_is_printed() {
    let started = TestCa::generate("perth test CA")
        .and_then(|ca| Postgres::start_secured(&ca).map(|pg| (ca, pg)));
    let Some((_ca, pg)) = tests::require_or_skip("secured postgres", started) else {
        return;
    };
    pg.create_database("imi").unwrap();
    // The administrator migrates once; users' roles run no migration.
    let admin = Sandbox::with_database(Some(pg.url_for("imi")));
    assert_eq!(admin.imi_in(admin.root(), &["doctor"]).code, 0);
    let (alice_pw, bob_pw) = (test_password("alice"), test_password("bob"));
    pg.create_role("imi", "alice", &alice_pw, "").unwrap();
    pg.create_role("imi", "bob", &bob_pw, "").unwrap();
    let alice_url = pg.tls_url("alice", &alice_pw, "imi", "verify-full");
    let bob_url = pg.tls_url("bob", &bob_pw, "imi", "verify-full");
    let alice = Sandbox::with_database(Some(alice_url.clone()));
    let bob = Sandbox::with_database(Some(bob_url.clone()));
    let mut outputs = Vec::new();

    alice.project_from_origin();
    let added = alice.imi(&["add", "feat", "login"]);
    assert_eq!(added.data()["database_updated"], true, "{}", added.stdout);
    let listed = alice.imi(&["list"]);
    assert_eq!(listed.data()["worktrees"].as_array().unwrap().len(), 1);
    bob.project_from_origin();
    let listed_by_bob = bob.imi(&["list"]);
    assert_eq!(
        listed_by_bob.data()["worktrees"].as_array().unwrap().len(),
        0,
        "bob sees alice's worktree: {}",
        listed_by_bob.stdout
    );
    outputs.extend([added, listed, listed_by_bob]);
    // The administrator (a superuser: it bypasses row-level security) sees every user's rows,
    // but its iMi works in its own project of the same name, not in alice's.
    admin.project_from_origin();
    let listed_by_admin = admin.imi(&["list"]);
    assert_eq!(
        listed_by_admin.data()["worktrees"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "the administrator's iMi lists alice's worktree: {}",
        listed_by_admin.stdout
    );
    outputs.push(listed_by_admin);
    // A direct SELECT as bob returns none of alice's rows.
    let seen = pg
        .psql(
            &bob_url,
            "SELECT COUNT(*) FROM worktrees; SELECT COUNT(*) FROM projects WHERE trunk_path LIKE '%alice%'",
        )
        .unwrap();
    assert_eq!(seen, "0\n0");
    assert_eq!(
        pg.psql(&alice_url, "SELECT COUNT(*) FROM worktrees")
            .unwrap(),
        "1"
    );

    // doctor says the connection is encrypted and verified, without the password.
    let doctor = alice.imi_text(&["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("connection   TLS, verified (CA and host name)"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("postgres at localhost:"),
        "{}",
        doctor.stdout
    );
    outputs.push(doctor);

    // The certificate names localhost: 127.0.0.1 is a wrong host name, exit 3, URL masked.
    let wrong_host = Sandbox::with_database(Some(alice_url.replace("@localhost:", "@127.0.0.1:")));
    let failed = wrong_host.imi_in(&alice.trunk(), &["list"]);
    assert_eq!(failed.code, 3, "{}\n{}", failed.stdout, failed.stderr);
    let message = failed.error_message().to_owned();
    assert!(message.contains("wrong host name"), "{message}");
    assert!(message.contains("alice:***@127.0.0.1"), "{message}");
    assert!(!message.contains("start the server"), "{message}");
    outputs.push(failed);

    for run in &outputs {
        for secret in [
            alice_pw.as_str(),
            bob_pw.as_str(),
            pg.admin_password().unwrap(),
        ] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "a password was printed:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
    }
}
