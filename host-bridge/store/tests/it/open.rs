//! Opening databases: URL forms, the embedded default's folder, and a dead server failing fast.

use std::time::{Duration, Instant};

use store::{Backend, Database, OpenError};

#[tokio::test]
async fn a_dead_postgres_fails_fast_naming_the_address_but_not_the_password() {
    let port = tests::free_port();
    let url = format!("postgres://perth:hunter2@127.0.0.1:{port}/perth");
    let started = Instant::now();
    let err = Database::open(&url).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2500), "took {elapsed:?}");
    assert!(matches!(err, OpenError::Unreachable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("start the server"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

/// Half a client certificate pair is a mistake in the URL, said before any connection is tried.
#[tokio::test]
async fn half_a_client_certificate_pair_fails_before_connecting() {
    let port = tests::free_port();
    for mode in ["verify-full", "require"] {
        let url = format!(
            "postgres://perth:hunter2@127.0.0.1:{port}/perth?sslmode={mode}&sslcert=/nowhere/client.pem"
        );
        let err = Database::open(&url).await.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("sslcert and sslkey go together: set both, or neither"),
            "sslmode={mode}: {message}"
        );
        assert!(!message.contains("start the server"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[tokio::test]
async fn a_plain_path_opens_sqlite_and_creates_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config/iMi/iMi.db");
    let db = Database::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    assert_eq!(db.location(), path.display().to_string());
    assert!(path.is_file());
    assert_eq!(db.list_worktree_types().await.unwrap().len(), 5);
}

#[tokio::test]
async fn an_in_memory_sqlite_keeps_its_data_across_checkouts() {
    let db = Database::open("sqlite::memory:").await.unwrap();
    db.add_worktree_type(&store::NewWorktreeType {
        name: "mem".to_owned(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(db.list_worktree_types().await.unwrap().len(), 6);
}

#[tokio::test]
async fn an_unsupported_url_says_what_is_supported() {
    let err = Database::open("mysql://root:pw@localhost/x")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported database URL mysql://root:***@localhost/x: use postgres://USER:PASSWORD@HOST:PORT/DB, sqlite://PATH or a file path"
    );
}

#[tokio::test]
async fn an_unwritable_sqlite_folder_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let err = Database::open(file.join("sub/x.db").to_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::CreateDir { .. }), "{err:?}");
}

/// Several first opens of one new SQLite file at once (host-bridge answering requests side by
/// side, iMi beside it) each get a migrated database; none fails with "already exists".
#[tokio::test]
async fn first_opens_of_a_new_sqlite_file_at_once_all_succeed() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("round{round}.db"));
        let path = path.to_str().unwrap().to_owned();
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap()
                        .block_on(async move {
                            Database::open(&path)
                                .await
                                .map(|_| ())
                                .map_err(|e| e.to_string())
                        })
                })
            })
            .collect();
        for open in opens {
            open.join().unwrap().unwrap();
        }
    }
}
