//! `host-bridge events` (what `perth events` runs): the newest stored events of the tools'
//! outboxes, then the live stream, from the outboxes without a broker or from RabbitMQ.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{wait_for, TestEnv};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Appends an event to the outbox at `url`, as a command does.
fn append(rt: &tokio::runtime::Runtime, url: &str, kind: &str, subject: &str) {
    rt.block_on(async {
        let db = store::Database::open(url).await.unwrap();
        let event = bloodbank::Event::new(
            "perth://test/events",
            kind,
            serde_json::json!({ "entry": { "summary": format!("{subject} did it") } }),
        )
        .with_subject(subject);
        db.outbox_append(&event.to_outbox()).await.unwrap();
    });
}

/// A running `host-bridge events ...` and the lines it printed.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(env: &TestEnv, args: &[&str], extra_env: &[(&str, &str)]) -> Self {
        let mut all = vec!["events"];
        all.extend_from_slice(args);
        let mut cmd = env.command(&all);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn next(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn stored_events_of_every_outbox_print_newest_last_and_new_ones_follow() {
    let env = TestEnv::new();
    let rt = runtime();
    // zdrive's outbox where zdrive keeps it for this HOME, and perth's database by URL.
    let zdrive_db = env.home().join(".local/share/zellij-driver/zdrive.db");
    std::fs::create_dir_all(zdrive_db.parent().unwrap()).unwrap();
    let zdrive_db = zdrive_db.display().to_string();
    let perth_db = env.home().join("perth.db").display().to_string();
    for i in 0..5 {
        append(
            &rt,
            &zdrive_db,
            "workspace.intent.logged",
            &format!("pane-{i}"),
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    append(&rt, &perth_db, "workspace.worktree.created", "feat-login");

    let out = env.run(&["events", "--last", "3", "--database-url", &perth_db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("pane-3") && lines[1].contains("pane-4"),
        "{text}"
    );
    assert!(
        lines[2].contains("workspace.worktree.created") && lines[2].contains("feat-login"),
        "{text}"
    );
    assert!(
        lines[1].contains("pane-4 did it"),
        "the entry's summary is shown: {text}"
    );

    // Following without a broker: new rows of any outbox appear as they are appended.
    let follower = Follower::start(
        &env,
        &["--follow", "--json", "--last", "0"],
        &[("PERTH_DATABASE_URL", &perth_db)],
    );
    std::thread::sleep(Duration::from_millis(500));
    append(&rt, &zdrive_db, "workspace.snapshot.generated", "api");
    let line = follower
        .next(Duration::from_secs(10))
        .expect("the new event");
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["type"], "workspace.snapshot.generated");
    assert_eq!(event["subject"], "api");
    assert_eq!(event["perthorigin"], "zdrive");
    append(&rt, &perth_db, "workspace.worktree.removed", "feat-login");
    let line = follower
        .next(Duration::from_secs(10))
        .expect("the perth event");
    assert!(line.contains("workspace.worktree.removed"), "{line}");
}

#[test]
fn nothing_stored_prints_nothing_and_a_dead_broker_is_an_error_that_says_what_to_do() {
    let env = TestEnv::new();
    let out = env.run(&["events"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let out = env.run(&[
        "events",
        "--follow",
        "--amqp-url",
        &format!("amqp://guest:secretpw@127.0.0.1:{port}/%2f"),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("start RabbitMQ"), "{stderr}");
    assert!(
        !stderr.contains("secretpw"),
        "the password is masked: {stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn following_the_broker_prints_what_is_published() {
    let Some(rabbit) = tests::require_or_skip("rabbitmq", tests::RabbitMq::start()) else {
        return;
    };
    let env = TestEnv::new();
    let rt = runtime();
    let follower = Follower::start(
        &env,
        &[
            "--follow",
            "--json",
            "--last",
            "0",
            "--amqp-url",
            &rabbit.url(),
        ],
        &[],
    );
    // Publish until the follower's queue is bound and the event comes through.
    let publisher = rt
        .block_on(bloodbank::Publisher::connect(
            &rabbit.url(),
            bloodbank::EXCHANGE,
            Duration::from_secs(5),
            Duration::from_secs(5),
        ))
        .unwrap();
    let db = env.home().join("pub.db").display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        append(&rt, &db, "workspace.intent.logged", "broker-pane");
        let rows = rt.block_on(async {
            let db = store::Database::open(&db).await.unwrap();
            let rows = db.outbox_pending(10).await.unwrap();
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            db.outbox_mark_published(&ids).await.unwrap();
            rows
        });
        let (sent, error) = rt.block_on(publisher.publish(&rows));
        assert!(error.is_none() && sent == rows.len(), "{error:?}");
        if let Some(line) = follower.next(Duration::from_millis(500)) {
            break line;
        }
        assert!(Instant::now() < deadline, "nothing came through the broker");
    };
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["type"], "workspace.intent.logged");
    assert_eq!(event["subject"], "broker-pane");
    assert_eq!(event["perthorigin"], "broker");
}

#[test]
fn a_running_bridge_publishes_a_verify_full_outbox_over_amqps_and_events_follows_over_amqps() {
    let started = tests::services::TestCa::generate("perth test CA").and_then(|ca| {
        let pg = tests::Postgres::start_secured(&ca)?;
        let rabbit = tests::RabbitMq::start_secured(&ca)?;
        Ok((ca, pg, rabbit))
    });
    let Some((ca, pg, rabbit)) = tests::require_or_skip("secured postgres and rabbitmq", started)
    else {
        return;
    };
    let env = TestEnv::new();
    let rt = runtime();
    let outbox = pg.url();
    let pg_password = pg.admin_password().unwrap().to_owned();
    let amqps = rabbit.tls_url().unwrap();
    let amqp_password = rabbit.password().unwrap().to_owned();
    let ca_file = ca.cert().display().to_string();
    let follower = Follower::start(
        &env,
        &["--follow", "--json", "--last", "0", "--amqp-url", &amqps],
        &[("BLOODBANK_AMQP_CA_FILE", &ca_file)],
    );
    let mut bridge = env.serve(&[
        "--database-url",
        &outbox,
        "--amqp-url",
        &amqps,
        "--amqp-ca-file",
        &ca_file,
    ]);
    // Append until the follower's queue is bound and an event comes through the broker.
    let deadline = Instant::now() + Duration::from_secs(60);
    let line = loop {
        append(&rt, &outbox, "workspace.intent.logged", "tls-pane");
        if let Some(line) = follower.next(Duration::from_millis(500)) {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "nothing came through the broker; host-bridge's log:\n{}",
            bridge.log()
        );
    };
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["type"], "workspace.intent.logged");
    assert_eq!(event["subject"], "tls-pane");
    assert_eq!(event["perthorigin"], "broker");
    // Everything appended leaves the outbox: the bridge's pump published it over amqps.
    let db = rt.block_on(store::Database::open(&outbox)).unwrap();
    wait_for(
        "host-bridge to take every event out of the verify-full outbox",
        Duration::from_secs(30),
        || (rt.block_on(db.outbox_pending_count()).ok()? == 0).then_some(()),
    );
    // Status says how each connection of the outbox is secured, passwords masked.
    let status = bridge.status();
    let link = status
        .outboxes
        .iter()
        .find(|l| l.outbox == "perth")
        .unwrap_or_else(|| panic!("no perth outbox in {status:?}"));
    assert!(link.database_encrypted, "{link:?}");
    assert_eq!(link.database_verified, "ca_and_host", "{link:?}");
    assert_eq!(link.broker_encrypted, Some(true), "{link:?}");
    assert_eq!(
        link.broker_verified.as_deref(),
        Some("ca_and_host"),
        "{link:?}"
    );
    let text = env.run(&["status"]);
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&text.stdout),
        serde_json::to_string(&status).unwrap()
    );
    assert!(
        shown.contains("outbox perth: ") && shown.contains("TLS, verified (CA and host name)"),
        "{shown}"
    );
    let log = bridge.log();
    for secret in [&pg_password, &amqp_password] {
        assert!(
            !log.contains(secret.as_str()) && !shown.contains(secret.as_str()),
            "a password in the log or the status:\n{log}\n{shown}"
        );
    }
    bridge.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(bridge.wait_exit().success());
}
