//! A team server: PostgreSQL with `ssl=on` and `scram-sha-256`, two users' roles kept apart by row-level security, and TLS failures named.

use store::perth_sessions;
use store::{Backend, Database, OpenError, OpenOptions, PgEnv, TlsProblem, Verification};
use tests::services::{test_password, Postgres, TestCa};

/// Starts a secured server, or skips (never under CI=true).
fn secured() -> Option<(TestCa, Postgres)> {
    let started = TestCa::generate("perth test CA")
        .and_then(|ca| Postgres::start_secured(&ca).map(|pg| (ca, pg)));
    tests::require_or_skip("secured postgres", started)
}

async fn exec(db: &Database, sql: &str) {
    assert_eq!(
        db.backend(),
        Backend::Postgres,
        "these tests run on PostgreSQL"
    );
    let mut pooled = db.acquire().await.unwrap();
    pooled.conn().execute_batch(sql).await.unwrap();
}

async fn count(db: &Database, sql: &str) -> i64 {
    assert_eq!(
        db.backend(),
        Backend::Postgres,
        "these tests run on PostgreSQL"
    );
    let mut pooled = db.acquire().await.unwrap();
    pooled.conn().fetch_scalar(sql, &[]).await.unwrap()
}

#[tokio::test]
async fn two_roles_over_verify_full_see_only_their_own_rows() {
    let Some((_ca, pg)) = secured() else { return };
    let admin_url = pg.url();
    let admin = Database::open(&admin_url).await.unwrap();
    let transport = admin.transport();
    assert!(transport.encrypted, "{transport:?}");
    assert_eq!(transport.verified, Verification::CaAndHost);

    let (alice_pw, bob_pw, audit_pw) = (
        test_password("alice"),
        test_password("bob"),
        test_password("audit"),
    );
    pg.create_role("perth", "alice", &alice_pw, "").unwrap();
    pg.create_role("perth", "bob", &bob_pw, "").unwrap();
    pg.create_role("perth", "auditor", &audit_pw, "BYPASSRLS")
        .unwrap();
    let alice_url = pg.tls_url("alice", &alice_pw, "perth", "verify-full");
    let bob_url = pg.tls_url("bob", &bob_pw, "perth", "verify-full");
    // The schema is up to date: the users' opens run no migration (they may not create tables).
    let alice = Database::open(&alice_url).await.unwrap();
    let bob = Database::open(&bob_url).await.unwrap();
    assert_eq!(alice.transport().verified, Verification::CaAndHost);

    // Both users may call a session "main"; each sees one.
    for (db, who) in [(&alice, "alice"), (&bob, "bob")] {
        exec(
            db,
            &format!(
                "INSERT INTO sessions (id, name) VALUES ('{who}-s', 'main'); \
                 INSERT INTO tabs (id, session_id, name, position) VALUES ('{who}-t', '{who}-s', 'secret {who}', 0); \
                 INSERT INTO panes (id, session_id, tab_id, pane_id, scrollback) VALUES ('{who}-p', '{who}-s', '{who}-t', 1, 'scrollback of {who}'); \
                 INSERT INTO projects (id, name, trunk_path) VALUES ('{who}-proj', 'shop', '/home/{who}/shop/trunk-main'); \
                 INSERT INTO worktrees (id, project_id, type_id, name, branch_name, worktree_name, path) \
                   VALUES ('{who}-wt', '{who}-proj', 1, 'x', 'feat/x', 'feat-x', '/home/{who}/shop/feat-x'); \
                 INSERT INTO agent_activities (id, agent_id, worktree_id, activity_type) VALUES ('{who}-a', 'claude', '{who}-wt', 'edit');"
            ),
        )
        .await;
    }
    for table in [
        "sessions",
        "tabs",
        "panes",
        "projects",
        "worktrees",
        "agent_activities",
    ] {
        assert_eq!(
            count(&alice, &format!("SELECT COUNT(*) FROM {table}")).await,
            1,
            "{table}"
        );
        assert_eq!(
            count(&bob, &format!("SELECT COUNT(*) FROM {table}")).await,
            1,
            "{table}"
        );
    }
    let mut conn = bob.acquire().await.unwrap();
    let bobs = perth_sessions::list_sessions(conn.conn()).await.unwrap();
    assert_eq!(bobs.len(), 1);
    drop(conn);
    // Changing another user's rows changes nothing.
    assert_eq!(
        count(
            &bob,
            "WITH d AS (DELETE FROM panes WHERE id = 'alice-p' RETURNING 1) SELECT COUNT(*) FROM d"
        )
        .await,
        0
    );

    // A direct SELECT as the other role, through psql, returns nothing of alice's.
    let seen = pg
        .psql(
            &bob_url,
            "SELECT string_agg(scrollback, ',') FROM panes WHERE id = 'alice-p'; \
             SELECT COUNT(*) FROM worktrees WHERE path LIKE '/home/alice/%'",
        )
        .unwrap();
    assert_eq!(seen, "\n0", "bob saw: {seen:?}");
    // A role with BYPASSRLS sees every user's rows.
    let audit_url = pg.tls_url("auditor", &audit_pw, "perth", "verify-full");
    assert_eq!(
        pg.psql(&audit_url, "SELECT COUNT(*) FROM panes").unwrap(),
        "2"
    );

    // A shared layout: readable by bob, still alice's to change.
    let mut conn = alice.acquire().await.unwrap();
    perth_sessions::save_layout_shared(
        conn.conn(),
        "team",
        "layout { pane; }",
        true,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    perth_sessions::save_layout(conn.conn(), "private", "layout { }", chrono::Utc::now())
        .await
        .unwrap();
    drop(conn);
    let mut conn = bob.acquire().await.unwrap();
    let seen = perth_sessions::list_layouts(conn.conn()).await.unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].shared && seen[0].others, "{seen:?}");
    let got = perth_sessions::get_layout(conn.conn(), "team")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.kdl, "layout { pane; }");
    drop(conn);
    assert_eq!(
        count(&bob, "WITH u AS (UPDATE layouts SET kdl = 'x' WHERE name = 'team' RETURNING 1) SELECT COUNT(*) FROM u").await,
        0
    );
    // Bob saving a layout of the same name makes his own; alice's stays as it was.
    let mut conn = bob.acquire().await.unwrap();
    perth_sessions::save_layout(conn.conn(), "team", "layout { bob; }", chrono::Utc::now())
        .await
        .unwrap();
    let got = perth_sessions::get_layout(conn.conn(), "team")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.kdl.as_str(), got.others), ("layout { bob; }", false));
    drop(conn);
    let mut conn = alice.acquire().await.unwrap();
    let got = perth_sessions::get_layout(conn.conn(), "team")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.kdl, "layout { pane; }");
    drop(conn);

    // An administrator (BYPASSRLS) running perth or iMi sees both users' rows but acts on its
    // own: a session or project is found by owner and name, never by name alone.
    let auditor = Database::open(&audit_url).await.unwrap();
    let mut conn = auditor.acquire().await.unwrap();
    // Its layouts are its own and those shared with it (alice's "team"), not alice's private
    // one nor bob's own "team".
    let layouts = perth_sessions::list_layouts(conn.conn()).await.unwrap();
    let seen: Vec<_> = layouts
        .iter()
        .map(|l| (l.name.as_str(), l.kdl.as_str()))
        .collect();
    assert_eq!(seen, [("team", "layout { pane; }")], "{layouts:?}");
    assert_eq!(
        perth_sessions::get_layout(conn.conn(), "private")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        perth_sessions::load_session(conn.conn(), "main")
            .await
            .unwrap(),
        None,
        "the administrator restored another user's session"
    );
    assert!(perth_sessions::list_sessions(conn.conn())
        .await
        .unwrap()
        .is_empty());
    assert!(!perth_sessions::delete_session(conn.conn(), "main")
        .await
        .unwrap());
    let snapshot = perth_sessions::SessionSnapshot {
        name: "main".into(),
        layout: Some("admin's".into()),
        tabs: Vec::new(),
        panes: Vec::new(),
    };
    perth_sessions::save_session(
        conn.conn(),
        &snapshot,
        &perth_sessions::RowSelection::All,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    perth_sessions::mark_attached(conn.conn(), "main", chrono::Utc::now())
        .await
        .unwrap();
    let own = perth_sessions::load_session(conn.conn(), "main")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(own.layout.as_deref(), Some("admin's"));
    let listed = perth_sessions::list_sessions(conn.conn()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    drop(conn);
    // The users' sessions of that name are as they were: their tabs and panes kept (a flush
    // with no tabs deletes its session's tabs), not marked attached, still theirs.
    assert_eq!(
        count(
            &auditor,
            "SELECT COUNT(*) FROM tabs WHERE session_id IN ('alice-s', 'bob-s')"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &auditor,
            "SELECT COUNT(*) FROM sessions WHERE name = 'main' AND last_attached IS NOT NULL"
        )
        .await,
        1
    );
    let mut conn = auditor.acquire().await.unwrap();
    assert!(perth_sessions::delete_session(conn.conn(), "main")
        .await
        .unwrap());
    drop(conn);
    assert_eq!(count(&auditor, "SELECT COUNT(*) FROM sessions").await, 2);
    assert_eq!(count(&alice, "SELECT COUNT(*) FROM panes").await, 1);
}

#[tokio::test]
async fn tls_failures_say_which_and_what_to_set_without_the_password() {
    let Some((ca, pg)) = secured() else { return };
    let password = pg.admin_password().unwrap().to_owned();
    let port = pg.port();
    let ca_file = ca.cert().display().to_string();

    // The certificate names localhost, not 127.0.0.1.
    let url = format!(
        "postgres://perth:{password}@127.0.0.1:{port}/perth?sslmode=verify-full&sslrootcert={ca_file}"
    );
    let err = refused(&url, TlsProblem::WrongHost).await;
    let message = err.to_string();
    assert!(message.contains("wrong host name"), "{message}");
    assert!(message.contains("perth:***@127.0.0.1"), "{message}");
    assert!(!message.contains(&password), "{message}");
    assert!(!message.contains("start the server"), "{message}");
    // verify-ca checks the chain and not the name, as libpq does: the certificate names
    // `localhost`, not 127.0.0.1.
    let db = Database::open(&url.replace("verify-full", "verify-ca"))
        .await
        .unwrap();
    assert!(db.transport().encrypted);
    assert_eq!(db.transport().verified, Verification::Ca);
    let mut conn = db.acquire().await.unwrap();
    assert_eq!(
        conn.conn().backend(),
        Backend::Postgres,
        "a PostgreSQL URL opened another engine"
    );
    let ssl: bool = conn
        .conn()
        .fetch_scalar(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(ssl, "the server sees a TLS connection");
    drop(conn);
    // ... but still refuses a certificate of another CA.
    let other = TestCa::generate("another CA").unwrap();
    refused(
        &format!(
            "postgres://perth:{password}@127.0.0.1:{port}/perth?sslmode=verify-ca&sslrootcert={}",
            other.cert().display()
        ),
        TlsProblem::UnknownCa,
    )
    .await;
    let url = format!(
        "postgres://perth:{password}@localhost:{port}/perth?sslmode=verify-ca&sslrootcert={ca_file}"
    );
    let db = Database::open(&url).await.unwrap();
    assert_eq!(db.transport().verified, Verification::Ca);

    // Another CA than the one that signed the server's certificate.
    let other = TestCa::generate("another CA").unwrap();
    let url = format!(
        "postgres://perth:{password}@localhost:{port}/perth?sslmode=verify-full&sslrootcert={}",
        other.cert().display()
    );
    let err = refused(&url, TlsProblem::UnknownCa).await;
    let message = err.to_string();
    assert!(
        message.contains("unknown CA") && message.contains("sslrootcert"),
        "{message}"
    );
    assert!(!message.contains(&password), "{message}");

    // sslmode=require encrypts without checking the certificate.
    let url = format!("postgres://perth:{password}@127.0.0.1:{port}/perth?sslmode=require");
    let db = Database::open(&url).await.unwrap();
    assert!(db.transport().encrypted);
    assert_eq!(db.transport().verified, Verification::None);

    // The server allows no plain-text connection; a wrong password is refused, not echoed.
    let url = format!("postgres://perth:{password}@127.0.0.1:{port}/perth?sslmode=disable");
    let err = Database::open(&url).await.unwrap_err();
    assert!(matches!(err, OpenError::Rejected { .. }), "{err:?}");
    let url = format!("postgres://perth:wrong-{password}@localhost:{port}/perth?sslmode=verify-full&sslrootcert={ca_file}");
    let err = Database::open(&url).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, OpenError::Rejected { .. }), "{err:?}");
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    assert!(!message.contains(&password), "{message}");

    // The password from a pgpass file, as libpq reads it (PGPASSFILE, mode 0600), which the
    // binary names.
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("# the team server\nlocalhost:{port}:perth:perth:{password}\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let url = format!(
        "postgres://perth@localhost:{port}/perth?sslmode=verify-full&sslrootcert={ca_file}"
    );
    let db = Database::open_with(
        &url,
        &with_env(PgEnv {
            passfile: Some(pgpass.clone()),
            ..PgEnv::default()
        }),
    )
    .await
    .unwrap();
    assert_eq!(db.transport().verified, Verification::CaAndHost);
    // A password file others may read is ignored, as libpq ignores it.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Database::open_with(
        &url,
        &with_env(PgEnv {
            passfile: Some(pgpass),
            ..PgEnv::default()
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, OpenError::Rejected { .. }), "{err:?}");
}

/// Returns the default options with `env` as the binary's libpq environment.
fn with_env(pg_env: PgEnv) -> OpenOptions {
    OpenOptions {
        pg_env,
        ..OpenOptions::default()
    }
}

/// What the URL leaves out comes from the environment the binary passes; what it says wins.
#[tokio::test]
async fn the_environment_the_binary_passes_completes_the_url() {
    let Some((ca, pg)) = secured() else { return };
    let password = pg.admin_password().unwrap().to_owned();
    let port = pg.port();
    let env = PgEnv {
        host: Some("localhost".into()),
        port: Some(port.to_string()),
        database: Some("perth".into()),
        user: Some("perth".into()),
        password: Some(password.clone()),
        sslmode: Some("verify-full".into()),
        sslrootcert: Some(ca.cert().display().to_string()),
        ..PgEnv::default()
    };
    // Everything from the environment (libpq's `psql` with no arguments).
    let db = Database::open_with("postgres://", &with_env(env.clone()))
        .await
        .unwrap();
    assert_eq!(db.transport().verified, Verification::CaAndHost);
    assert_eq!(db.location(), format!("localhost:{port}/perth"));
    // The URL's sslmode, host and CA win over the environment's.
    let db = Database::open_with(
        &format!("postgres://127.0.0.1:{port}/perth?sslmode=require"),
        &with_env(env.clone()),
    )
    .await
    .unwrap();
    assert_eq!(db.transport().verified, Verification::None);
    assert_eq!(db.location(), format!("127.0.0.1:{port}/perth"));
    let other = TestCa::generate("another CA").unwrap();
    let wrong_ca = PgEnv {
        sslrootcert: Some(other.cert().display().to_string()),
        ..env.clone()
    };
    refused_with(
        "postgres://localhost/perth",
        &with_env(wrong_ca.clone()),
        TlsProblem::UnknownCa,
    )
    .await;
    let url = format!("postgres:///perth?sslrootcert={}", ca.cert().display());
    let db = Database::open_with(&url, &with_env(wrong_ca))
        .await
        .unwrap();
    assert_eq!(db.transport().verified, Verification::CaAndHost);
    // The URL's password wins too.
    let err = Database::open_with("postgres:///perth?password=wrong", &with_env(env.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::Rejected { .. }), "{err:?}");
    // A client certificate's half from the URL and the other half from the environment make
    // a pair, as with libpq.
    let role = tests::services::CERT_ROLE;
    pg.create_role("perth", role, &test_password("unused"), "")
        .unwrap();
    let pair = ca.client_cert("env-client", role).unwrap();
    let db = Database::open_with(
        &format!(
            "postgres:///perth?user={role}&sslcert={}",
            pair.cert.display()
        ),
        &with_env(PgEnv {
            sslkey: Some(pair.key.display().to_string()),
            ..env.clone()
        }),
    )
    .await
    .unwrap();
    assert_eq!(db.transport().verified, Verification::CaAndHost);
    // An sslmode libpq does not know is refused, not taken for the default.
    let err = Database::open_with(
        "postgres://",
        &with_env(PgEnv {
            sslmode: Some("verify_full".into()),
            ..env
        }),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, OpenError::InvalidUrl { .. }), "{err:?}");
    assert!(message.contains("PGSSLMODE=\"verify_full\""), "{message}");
    assert!(!message.contains(&password), "{message}");
}

#[tokio::test]
async fn a_client_certificate_logs_in_where_the_server_asks_for_one() {
    let Some((ca, pg)) = secured() else { return };
    let role = tests::services::CERT_ROLE;
    Database::open(&pg.url()).await.unwrap();
    pg.create_role("perth", role, &test_password("unused"), "")
        .unwrap();
    let pair = ca.client_cert("client", role).unwrap();
    let base = format!(
        "postgres://{role}@localhost:{}/perth?sslmode=verify-full&sslrootcert={}",
        pg.port(),
        ca.cert().display()
    );
    let with_cert = format!(
        "{base}&sslcert={}&sslkey={}",
        pair.cert.display(),
        pair.key.display()
    );
    let db = Database::open(&with_cert).await.unwrap();
    assert_eq!(db.transport().verified, Verification::CaAndHost);
    // Without one the server refuses, and says why.
    let err = Database::open(&base).await.unwrap_err();
    assert!(matches!(err, OpenError::Rejected { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

/// A client certificate without its key (or the reverse) is refused before any connection,
/// in every mode that may use TLS: the server would only say "check the user, password".
#[tokio::test]
async fn half_a_client_certificate_pair_is_refused_before_connecting() {
    let Some((ca, pg)) = secured() else { return };
    let role = tests::services::CERT_ROLE;
    let pair = ca.client_cert("half", role).unwrap();
    let base = format!(
        "postgres://{role}@localhost:{}/perth?sslrootcert={}",
        pg.port(),
        ca.cert().display()
    );
    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        for (half, given, missing) in [
            (
                format!("sslcert={}", pair.cert.display()),
                "sslcert",
                "sslkey",
            ),
            (
                format!("sslkey={}", pair.key.display()),
                "sslkey",
                "sslcert",
            ),
        ] {
            let err = Database::open(&format!("{base}&sslmode={mode}&{half}"))
                .await
                .unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(&format!("{given} is set but {missing} is not"))
                    && message.contains("sslcert and sslkey go together: set both, or neither"),
                "sslmode={mode}, {given} alone: {message}"
            );
        }
    }
}

/// A client certificate the server's CA did not sign is refused by the server after a TLS 1.3
/// handshake: the failure is the tunnel's, named, also when sqlx runs on another thread than
/// the tunnel's task and could see its socket close first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_of_another_ca_is_a_tls_failure() {
    let Some((ca, pg)) = secured() else { return };
    let role = tests::services::CERT_ROLE;
    Database::open(&pg.url()).await.unwrap();
    pg.create_role("perth", role, &test_password("unused"), "")
        .ok();
    let other = TestCa::generate("another CA").unwrap();
    let pair = other.client_cert("stranger", role).unwrap();
    let url = format!(
        "postgres://{role}@localhost:{}/perth?sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        pg.port(),
        ca.cert().display(),
        pair.cert.display(),
        pair.key.display()
    );
    for _ in 0..5 {
        let err = Database::open(&url).await.unwrap_err();
        assert!(matches!(err, OpenError::Tls { .. }), "{err:?}");
        assert!(!err.to_string().contains("start the server"), "{err}");
    }
}

/// Opening makes one PostgreSQL session, for its checks and the migrations: one TLS handshake
/// and one SCRAM exchange, with sqlx's own TLS (`require`) as through the tunnel
/// (`verify-full`).
#[tokio::test]
async fn opening_makes_one_session() {
    let Some((ca, pg)) = secured() else { return };
    let password = pg.admin_password().unwrap().to_owned();
    for (host, params) in [
        ("127.0.0.1", "sslmode=require".to_owned()),
        (
            "localhost",
            format!("sslmode=verify-full&sslrootcert={}", ca.cert().display()),
        ),
    ] {
        let relay = SessionRelay::start(pg.port()).await;
        let url = format!(
            "postgres://perth:{password}@{host}:{}/perth?{params}",
            relay.port
        );
        let db = Database::open_with(
            &url,
            &store::OpenOptions {
                max_connections: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(db.transport().encrypted);
        assert_eq!(relay.sessions(), 1, "sessions begun to open with {params}");
        // What a command line does next, one thing after another: each checkout takes the
        // connection the last one gave back (sqlx pings it on its way back, and a checkout in
        // that moment used to open a second session although the pool may hold two).
        for _ in 0..5 {
            assert_eq!(count(&db, "SELECT 1").await, 1);
            let mut tx = db.begin().await.unwrap();
            tx.conn().execute("SELECT 1", &[]).await.unwrap();
            drop(tx);
            assert_eq!(
                db.schema_version().await.unwrap(),
                Some(store::latest_known_version())
            );
        }
        assert_eq!(relay.sessions(), 1, "sessions begun using it with {params}");
    }
}

/// A TCP relay to a local port that counts the connections that sent anything: PostgreSQL
/// sessions begun (a TCP connection closed unused is none).
struct SessionRelay {
    port: u16,
    sessions: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SessionRelay {
    async fn start(to: u16) -> Self {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sessions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = sessions.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut first = vec![0; 4096];
                    let n = client.read(&mut first).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut server = tokio::net::TcpStream::connect(("127.0.0.1", to))
                        .await
                        .unwrap();
                    server.write_all(&first[..n]).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Self { port, sessions }
    }

    fn sessions(&self) -> usize {
        self.sessions.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn require_against_a_server_without_tls_refuses() {
    let Some(url) = tests::services::fresh_database("tls", "require_plain") else {
        return;
    };
    let plain_url = url.clone();
    let url = format!("{url}?sslmode=require");
    let err = refused(&url, TlsProblem::ServerWithoutTls).await;
    let message = err.to_string();
    assert!(
        message.contains("does not offer TLS") && message.contains("sslmode=require"),
        "{message}"
    );
    assert!(!message.contains("start the server"), "{message}");
    // prefer (libpq's default) falls back to plain text and says so.
    let db = Database::open(&format!("{plain_url}?sslmode=prefer"))
        .await
        .unwrap();
    assert!(!db.transport().encrypted);
}

/// Opens `url`, which must fail on TLS with `problem`, and returns the error.
async fn refused(url: &str, problem: TlsProblem) -> OpenError {
    refused_with(url, &OpenOptions::default(), problem).await
}

/// Opens `url` with `options`, which must fail on TLS with `problem`, and returns the error.
async fn refused_with(url: &str, options: &OpenOptions, problem: TlsProblem) -> OpenError {
    let err = Database::open_with(url, options).await.unwrap_err();
    assert!(
        matches!(&err, OpenError::Tls { problem: p, .. } if *p == problem),
        "{problem:?} expected: {err:?}"
    );
    err
}
