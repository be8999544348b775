//! perth's agent transitions in zdrive's intent logs (`agents.log_transitions`): the real daemon
//! reads perth's outbox and logs each transition of a tracked pane once, with the key on only,
//! across restarts, with the broker down; on the embedded defaults (an SQLite outbox, zdrive's
//! embedded store) and on PostgreSQL with zdrive on Redis.

use std::ffi::OsString;
use std::time::Duration;

use chrono::Utc;
use nix::sys::signal::Signal;
use zdrive::agents::EVENT_TYPE;
use zdrive::config::Config;
use zdrive::setup::{Access, Setup};
use zdrive::{Navigation, Source, Zdrive};

use crate::support::{wait_for, TestEnv};

/// A broker address where nothing listens: publishing fails, logging must not.
const DEAD_BROKER: &str = "amqp://guest:guest@127.0.0.1:1/%2f";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Appends a transition as perth's server writes it (`notify::events::agent_event`).
async fn transition(
    db: &store::Database,
    session: &str,
    pane: u32,
    to: &str,
    message: Option<&str>,
    exit_status: Option<i32>,
) -> i64 {
    let event = bloodbank::Event::new(
        "perth://test/perth",
        EVENT_TYPE,
        serde_json::json!({
            "session": session,
            "pane_id": format!("terminal_{pane}"),
            "from": "working",
            "to": to,
            "message": message,
            "source": "cli",
            "program": "claude",
            "exit_status": exit_status,
        }),
    )
    .with_subject(format!("{session}/terminal_{pane}"));
    db.outbox_append(&event.to_outbox()).await.unwrap()
}

/// Where zdrive's data is for a daemon run with `vars` in `env`.
struct Zd {
    vars: Vec<(String, OsString)>,
    home: std::path::PathBuf,
}

impl Zd {
    fn setup(&self) -> Setup {
        let home = self.home.display().to_string();
        Setup::resolve(&|k| match k {
            "HOME" => Some(home.clone()),
            _ => self
                .vars
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string_lossy().into_owned()),
        })
        .unwrap()
    }

    async fn engine(&self) -> Zdrive {
        self.setup().open_engine(Access::Write).await.unwrap()
    }

    fn set_key(&self, on: bool) {
        let path = self.setup().config_path;
        let mut config = Config::load(&path).unwrap();
        config
            .set("agents.log_transitions", &on.to_string())
            .unwrap();
        config.save(&path).unwrap();
    }

    async fn summaries(&self) -> Vec<String> {
        let (_, history) = self.engine().await.history("api", None).await.unwrap();
        for e in &history.entries {
            assert_eq!(e.source, Source::Agent, "{e:?}");
        }
        history.entries.into_iter().map(|e| e.summary).collect()
    }
}

fn logs_each_transition_of_tracked_panes_once_when_asked(
    env: &TestEnv,
    perth_outbox: &str,
    zd: &Zd,
) {
    let rt = runtime();
    let perth = rt.block_on(store::Database::open(perth_outbox)).unwrap();
    let cursor = host_bridge::agent_log::AgentLog::new(
        perth.clone(),
        Box::new(|| -> anyhow::Result<Setup> { unreachable!("only named") }),
    )
    .cursor_name()
    .to_owned();
    rt.block_on(async {
        zd.engine()
            .await
            .record_navigation(
                "api",
                &Navigation {
                    created: true,
                    session: "work".into(),
                    tab: "dev".into(),
                    pane_id: "terminal_3".into(),
                },
                &Default::default(),
                Utc::now(),
            )
            .await
            .unwrap();
    });
    let vars: Vec<(&str, &std::ffi::OsStr)> = zd
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_os_str()))
        .collect();
    let serve = |env: &TestEnv| {
        env.serve_with_env(
            &["--database-url", perth_outbox, "--amqp-url", DEAD_BROKER],
            &vars,
        )
    };
    let reader = rt.block_on(zd.engine());
    let wait_for_cursor = |at: i64| {
        wait_for(
            &format!("the agent log's cursor to reach row {at}"),
            Duration::from_secs(30),
            || (rt.block_on(reader.cursor(&cursor)).unwrap() >= at).then_some(()),
        )
    };

    // The key is off: the bridge reads the transitions and logs nothing.
    let last = rt.block_on(async {
        transition(&perth, "work", 3, "working", None, None).await;
        transition(&perth, "work", 3, "waiting", Some("Proceed?"), None).await
    });
    let mut bridge = serve(env);
    wait_for_cursor(last);
    assert_eq!(rt.block_on(zd.summaries()), Vec::<String>::new());
    bridge.signal(Signal::SIGTERM);
    assert!(bridge.wait_exit().success());

    // On: what happens from now on is logged, on tracked panes only, while the broker is down.
    zd.set_key(true);
    let last = rt.block_on(async {
        transition(
            &perth,
            "work",
            3,
            "waiting",
            Some("Do you want to run\nnpm test?"),
            None,
        )
        .await;
        transition(&perth, "elsewhere", 3, "idle", None, None).await;
        transition(&perth, "work", 9, "idle", None, None).await;
        let other = bloodbank::Event::new(
            "perth://test/perth",
            "workspace.notification.raised",
            serde_json::json!({ "session": "work", "pane_id": "terminal_3", "message": "hi" }),
        );
        perth.outbox_append(&other.to_outbox()).await.unwrap();
        transition(&perth, "work", 3, "idle", None, None).await;
        transition(&perth, "work", 3, "exited", None, Some(1)).await
    });
    let mut bridge = serve(env);
    wait_for_cursor(last);
    let logged = vec![
        "agent exited (status 1)".to_owned(),
        "agent idle".to_owned(),
        "agent waiting: Do you want to run npm test?".to_owned(),
    ];
    assert_eq!(rt.block_on(zd.summaries()), logged);
    wait_for(
        "the bridge to say the broker is down",
        Duration::from_secs(30),
        || bridge.log().contains("publishing failed").then_some(()),
    );

    // A restart reads the same outbox again: nothing twice, and what comes next once.
    bridge.signal(Signal::SIGTERM);
    assert!(bridge.wait_exit().success());
    let mut bridge = serve(env);
    let last = rt.block_on(transition(&perth, "work", 3, "working", None, None));
    wait_for_cursor(last);
    let mut expected = vec!["agent working".to_owned()];
    expected.extend(logged);
    assert_eq!(rt.block_on(zd.summaries()), expected);
    bridge.signal(Signal::SIGTERM);
    assert!(bridge.wait_exit().success());
}

#[test]
fn on_the_embedded_defaults() {
    let env = TestEnv::new();
    let outbox = env.home().join("perth.db").display().to_string();
    let zd = Zd {
        vars: Vec::new(),
        home: env.home(),
    };
    logs_each_transition_of_tracked_panes_once_when_asked(&env, &outbox, &zd);
    assert!(
        env.home()
            .join(".local/share/zellij-driver/zdrive.db")
            .exists(),
        "zdrive's default, embedded store"
    );
}

#[test]
fn on_postgres_with_zdrive_on_redis() {
    let Some(postgres) = tests::require_or_skip("postgres", tests::Postgres::start()) else {
        return;
    };
    let Some(redis) = tests::require_or_skip("redis", tests::Redis::start()) else {
        return;
    };
    let env = TestEnv::new();
    let zd = Zd {
        vars: vec![("ZDRIVE_REDIS_URL".into(), redis.url().into())],
        home: env.home(),
    };
    logs_each_transition_of_tracked_panes_once_when_asked(&env, &postgres.url(), &zd);
}

#[test]
fn nothing_is_made_for_a_zdrive_that_was_never_used() {
    // With zdrive's embedded store not made yet, the reader leaves it so (it tracks no pane).
    let env = TestEnv::new();
    let outbox = env.home().join("perth.db").display().to_string();
    let rt = runtime();
    let perth = rt.block_on(store::Database::open(&outbox)).unwrap();
    rt.block_on(transition(&perth, "work", 3, "idle", None, None));
    let home = env.home().display().to_string();
    let mut log = host_bridge::agent_log::AgentLog::new(
        perth,
        Box::new(move || {
            let home = home.clone();
            Setup::resolve(&move |k| (k == "HOME").then(|| home.clone()))
        }),
    );
    let report = rt.block_on(log.round()).unwrap();
    assert_eq!(report, Default::default());
    assert!(!env.home().join(".local/share/zellij-driver").exists());
}
