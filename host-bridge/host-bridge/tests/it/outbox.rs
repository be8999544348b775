//! The daemon publishes the event outbox (D6): with a database and no broker configured, the
//! events commands append are taken out of the outbox (Bloodbank is off, nothing piles up).

use std::time::Duration;

use crate::support::{wait_for, TestEnv};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_daemon_drains_the_outbox_commands_append_to() {
    let env = TestEnv::new();
    let db_path = env.runtime_dir().join("events.db");
    std::fs::create_dir_all(env.runtime_dir()).unwrap();
    let url = db_path.to_string_lossy().into_owned();
    let rt = runtime();
    // A command appends events in its own transactions, as iMi and zdrive do.
    let db = rt.block_on(store::Database::open(&url)).unwrap();
    rt.block_on(async {
        for n in 0..20 {
            let event = bloodbank::Event::new(
                "perth://test/host-bridge",
                "workspace.test.appended",
                serde_json::json!({ "n": n }),
            );
            let mut tx = db.begin().await.unwrap();
            bloodbank::outbox_append(tx.conn(), &event).await.unwrap();
            tx.commit().await.unwrap();
        }
    });
    assert_eq!(rt.block_on(db.outbox_pending_count()).unwrap(), 20);

    let mut bridge = env.serve(&["--database-url", &url]);
    wait_for(
        "host-bridge to take every event out of the outbox",
        Duration::from_secs(20),
        || (rt.block_on(db.outbox_pending_count()).ok()? == 0).then_some(()),
    );
    assert!(
        bridge.log().contains("bloodbank: publishing the outbox"),
        "{}",
        bridge.log()
    );
    bridge.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(bridge.wait_exit().success());
}

#[test]
fn zdrives_outbox_is_published_too_once_zdrive_has_made_it() {
    let env = TestEnv::new();
    let mut bridge = env.serve(&[]);
    // zdrive's first command makes its database after the daemon started.
    let db_path = env.home().join(".local/share/zellij-driver/zdrive.db");
    std::fs::create_dir_all(db_path.parent().unwrap()).unwrap();
    let rt = runtime();
    let db = rt
        .block_on(store::Database::open(&db_path.display().to_string()))
        .unwrap();
    rt.block_on(async {
        for n in 0..3 {
            let event = bloodbank::Event::new(
                "perth://test/zdrive",
                "workspace.intent.logged",
                serde_json::json!({ "n": n }),
            );
            db.outbox_append(&event.to_outbox()).await.unwrap();
        }
    });
    wait_for(
        "host-bridge to publish zdrive's outbox",
        Duration::from_secs(30),
        || (rt.block_on(db.outbox_pending_count()).ok()? == 0).then_some(()),
    );
    assert!(bridge.log().contains("zdrive.db"), "{}", bridge.log());
    bridge.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(bridge.wait_exit().success());
}
