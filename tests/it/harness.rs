//! Self-tests of the harness: the waiting helper, isolated environments, the tmux driver and each real service.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use tests::services::resp::RespValue;
use tests::services::{ensure_debian_packages, free_port, require_or_skip};
use tests::wait::{wait_for, wait_for_with_last};
use tests::{IsolatedEnv, Postgres, RabbitMq, Redis, TmuxTerminal};

const SHORT: Duration = Duration::from_secs(10);

/// Returns true when `port` on loopback refuses connections.
fn refuses(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_err()
}

/// Returns true when process `pid` no longer exists (or is a zombie nobody reaped yet).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesized command name: `pid (comm) S ...`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn bulk(value: &[u8]) -> RespValue {
    RespValue::Bulk(Some(value.to_vec()))
}

#[test]
fn wait_for_returns_the_first_value_the_probe_yields() {
    let mut calls = 0;
    let value = wait_for("the third probe", SHORT, || {
        calls += 1;
        (calls == 3).then_some(calls * 10)
    })
    .expect("probe succeeds on its third call");
    assert_eq!(value, 30);
}

#[test]
fn wait_for_timeout_names_what_was_awaited_and_the_last_state() {
    let started = Instant::now();
    let err = wait_for_with_last("a flag that never flips", Duration::from_millis(50), || {
        Err::<(), _>("flag is still down")
    })
    .expect_err("the probe never succeeds");
    assert!(started.elapsed() >= Duration::from_millis(50));
    let message = err.to_string();
    assert!(message.contains("a flag that never flips"), "{message}");
    assert!(message.contains("50ms"), "{message}");
    assert!(message.contains("flag is still down"), "{message}");
}

#[test]
fn isolated_env_has_short_private_dirs_and_a_clean_environment() {
    let env = IsolatedEnv::new().expect("isolated env");
    let root = env.root().to_owned();
    assert!(root.starts_with("/tmp"), "{}", root.display());
    assert!(root.as_os_str().len() < 20, "{}", root.display());
    for dir in [
        env.home(),
        env.config_dir(),
        env.cache_dir(),
        env.data_dir(),
        env.state_dir(),
        env.runtime_dir(),
        env.tmp_dir(),
        env.socket_dir(),
    ] {
        assert!(dir.is_dir(), "{} missing", dir.display());
    }
    let mode = std::fs::metadata(env.runtime_dir())
        .expect("runtime dir metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let bashrc = std::fs::read_to_string(env.home().join(".bashrc")).expect("bashrc");
    assert!(bashrc.contains("PS1='perth-test$ '"), "{bashrc}");

    let out = env.command("env").output().expect("run env");
    let printed = String::from_utf8_lossy(&out.stdout);
    let vars: Vec<&str> = printed.lines().collect();
    let home = format!("HOME={}", env.home().display());
    let sockets = format!("ZELLIJ_SOCKET_DIR={}", env.socket_dir().display());
    assert!(vars.contains(&home.as_str()), "{printed}");
    assert!(vars.contains(&sockets.as_str()), "{printed}");
    assert!(vars.contains(&"TERM=xterm-256color"), "{printed}");
    assert!(vars.contains(&"LANG=C.UTF-8"), "{printed}");
    for outer in ["ZELLIJ=", "ZELLIJ_SESSION_NAME=", "ZELLIJ_PANE_ID="] {
        assert!(!vars.iter().any(|v| v.starts_with(outer)), "{printed}");
    }

    drop(env);
    assert!(!root.exists(), "{} survived drop", root.display());
}

#[test]
fn isolated_env_drop_kills_daemons_started_inside_it() {
    let env = IsolatedEnv::new().expect("isolated env");
    // The background sleep outlives its shell, like a daemonized server.
    let out = env
        .command("sh")
        .args(["-c", "sleep 600 >/dev/null 2>&1 & echo $!"])
        .output()
        .expect("start a background sleep");
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("pid of the background sleep");
    assert!(!is_gone(pid), "the daemon should be running");
    drop(env);
    wait_for("the orphaned sleep to be killed", SHORT, || {
        is_gone(pid).then_some(())
    })
    .expect("drop kills the daemon");
}

#[test]
fn isolated_env_extra_variables_reach_commands() {
    let mut env = IsolatedEnv::new().expect("isolated env");
    env.set_var("PERTH_LOG", "debug");
    env.set_var("TERM", "dumb");
    let out = env.command("env").output().expect("run env");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.lines().any(|l| l == "PERTH_LOG=debug"), "{printed}");
    assert!(printed.lines().any(|l| l == "TERM=dumb"), "{printed}");
    assert!(
        !printed.lines().any(|l| l == "TERM=xterm-256color"),
        "{printed}"
    );
}

#[test]
fn free_port_never_repeats_within_a_process() {
    let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "{ports:?}");
}

#[test]
fn require_or_skip_passes_services_through_and_skips_or_fails_on_errors() {
    assert_eq!(require_or_skip("answer", Ok(42)), Some(42));
    let failing = || require_or_skip::<()>("nothing", Err(anyhow::anyhow!("not installed")));
    if std::env::var("CI").as_deref() == Ok("true") {
        assert!(std::panic::catch_unwind(failing).is_err());
    } else {
        assert_eq!(failing(), None);
    }
}

#[test]
fn tmux_runs_an_interactive_shell() {
    let env = IsolatedEnv::new().expect("isolated env");
    let started = Instant::now();
    let term = TmuxTerminal::start(&env, 100, 30, &["bash", "--norc", "-i"]).expect("tmux starts");
    term.wait_for_text("the test prompt", "perth-test$", SHORT)
        .expect("prompt shows");
    eprintln!("tmux + bash prompt in {:?}", started.elapsed());
    assert!(term.is_alive());
    assert!(term.pane_pid().expect("pane pid") > 1);
    assert_eq!(term.size().expect("size"), (100, 30));

    term.send_text("echo hi-$((40+2))").expect("type");
    term.send_keys(&["Enter"]).expect("enter");
    let screen = term
        .wait_for_text("the shell to print hi-42", "hi-42", SHORT)
        .expect("arithmetic output");
    assert!(screen.contains("echo hi-$((40+2))"), "{screen}");

    term.send_text("printf '\\033[31mred\\033[0m\\n'")
        .expect("type");
    term.send_keys(&["Enter"]).expect("enter");
    term.wait_for_text("red text", "\nred", SHORT)
        .expect("red text shows");
    assert!(term.capture_colored().contains("\u{1b}[31mred"));

    term.resize(80, 24).expect("resize");
    assert_eq!(term.size().expect("size"), (80, 24));
    term.send_text("echo cols=$(tput cols)").expect("type");
    term.send_keys(&["Enter"]).expect("enter");
    term.wait_for_text("the new width", "cols=80", SHORT)
        .expect("program sees the new width");

    term.send_text("exit 7").expect("type");
    term.send_keys(&["Enter"]).expect("enter");
    // tmux reports the status when it has reaped the shell (almost always; see wait_for_exit).
    let status = term.wait_for_exit(SHORT).expect("shell exits");
    assert!(matches!(status, Some(7) | None), "{status:?}");
    assert!(!term.is_alive());
}

#[test]
fn tmux_timeout_error_shows_the_last_screen() {
    let env = IsolatedEnv::new().expect("isolated env");
    let term = TmuxTerminal::start(&env, 60, 10, &["bash", "--norc", "-i"]).expect("tmux starts");
    term.wait_for_text("the test prompt", "perth-test$", SHORT)
        .expect("prompt shows");
    let err = term
        .wait_for_text(
            "text that never appears",
            "no-such-text",
            Duration::from_millis(100),
        )
        .expect_err("text never appears");
    let message = format!("{err:#}");
    assert!(message.contains("text that never appears"), "{message}");
    assert!(message.contains("perth-test$"), "{message}");
    assert!(message.contains("program running"), "{message}");
}

#[test]
fn redis_answers_set_and_get() {
    let started = Instant::now();
    let Some(redis) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    eprintln!("redis started in {:?}", started.elapsed());
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/0", redis.port()));
    let mut client = redis.client().expect("connect");
    assert_eq!(
        client.command(&["SET", "greeting", "hello"]).expect("SET"),
        RespValue::Simple("OK".into())
    );
    assert_eq!(
        client.command(&["GET", "greeting"]).expect("GET"),
        bulk(b"hello")
    );
    assert_eq!(
        client.command(&["GET", "missing"]).expect("GET"),
        RespValue::Bulk(None)
    );
    assert!(matches!(
        client.command(&["NOSUCHCOMMAND"]).expect("reply"),
        RespValue::Error(_)
    ));
}

#[test]
fn redis_stops_and_restarts_on_the_same_port() {
    let Some(mut redis) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    let port = redis.port();
    redis.stop().expect("stop");
    assert!(!redis.is_running());
    assert!(refuses(port), "port {port} still answers after stop");
    let started = Instant::now();
    redis.start_again().expect("start again");
    eprintln!("redis restarted in {:?}", started.elapsed());
    assert_eq!(redis.port(), port);
    let mut client = redis.client().expect("connect after restart");
    assert_eq!(
        client.command(&["PING"]).expect("PING"),
        RespValue::Simple("PONG".into())
    );
    redis.restart().expect("restart");
    assert_eq!(redis.port(), port);
    assert!(redis.client().is_ok());
}

#[test]
fn two_redis_servers_run_side_by_side() {
    let Some(first) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    let Some(second) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    assert_ne!(first.port(), second.port());
    first
        .client()
        .expect("connect")
        .command(&["SET", "owner", "first"])
        .expect("SET");
    assert_eq!(
        second
            .client()
            .expect("connect")
            .command(&["GET", "owner"])
            .expect("GET"),
        RespValue::Bulk(None)
    );
}

#[test]
fn services_die_when_a_test_panics() {
    let port = AtomicU16::new(0);
    let outcome = std::panic::catch_unwind(|| {
        if let Some(redis) = require_or_skip("redis", Redis::start()) {
            port.store(redis.port(), Ordering::SeqCst);
            panic!(
                "deliberate panic (expected) with redis on port {}",
                redis.port()
            );
        }
    });
    let port = port.load(Ordering::SeqCst);
    if port == 0 {
        return; // Skipped: redis unavailable, already reported.
    }
    assert!(outcome.is_err());
    // This process never hands the port out again, so a listener there would be our redis.
    assert!(refuses(port), "redis on port {port} survived the panic");
}

#[test]
fn postgres_answers_psql_and_survives_a_restart() {
    let started = Instant::now();
    let Some(mut pg) = require_or_skip("postgres", Postgres::start()) else {
        return;
    };
    eprintln!("postgres started in {:?}", started.elapsed());
    assert_eq!(
        pg.url(),
        format!("postgres://perth@127.0.0.1:{}/perth", pg.port())
    );
    ensure_debian_packages(&[("psql", "postgresql-client")]).expect("psql available");
    let psql = |url: &str, sql: &str| {
        let out = Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {url} -c {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(psql(&pg.url(), "select 1"), "1");

    let other = pg.create_database("second_db").expect("create database");
    assert_eq!(
        other,
        format!("postgres://perth@127.0.0.1:{}/second_db", pg.port())
    );
    psql(&other, "create table t (v int); insert into t values (7)");
    assert!(pg.create_database("bad; drop").is_err());

    let port = pg.port();
    pg.stop().expect("stop");
    assert!(refuses(port), "port {port} still answers after stop");
    let restarted = Instant::now();
    pg.start_again().expect("start again");
    eprintln!("postgres restarted in {:?}", restarted.elapsed());
    assert_eq!(pg.port(), port);
    assert_eq!(psql(&other, "select v from t"), "7");
    assert_eq!(
        pg.psql(&pg.url(), "select 40 + 2").expect("psql helper"),
        "42"
    );
}

#[test]
fn rabbitmq_answers_the_amqp_handshake_and_restarts() {
    let started = Instant::now();
    let Some(mut rabbit) = require_or_skip("rabbitmq", RabbitMq::start()) else {
        return;
    };
    eprintln!("rabbitmq started in {:?}", started.elapsed());
    let port = rabbit.port();
    assert_eq!(
        rabbit.url(),
        format!("amqp://guest:guest@127.0.0.1:{port}/%2f")
    );
    assert_connection_start(port);

    let stopping = Instant::now();
    rabbit.stop().expect("stop");
    eprintln!("rabbitmq stopped in {:?}", stopping.elapsed());
    assert!(!rabbit.is_running());
    assert!(refuses(port), "port {port} still answers after stop");
    let restarted = Instant::now();
    rabbit.start_again().expect("start again");
    eprintln!("rabbitmq restarted in {:?}", restarted.elapsed());
    assert_eq!(rabbit.port(), port);
    assert_connection_start(port);
}

/// Sends the AMQP 0-9-1 header and checks the reply is a `connection.start` method frame on channel 0.
fn assert_connection_start(port: u16) {
    let mut stream = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    )
    .expect("connect to rabbitmq");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    stream
        .write_all(b"AMQP\x00\x00\x09\x01")
        .expect("send header");
    let mut frame = [0u8; 11];
    stream.read_exact(&mut frame).expect("read first frame");
    assert_eq!(frame[0], 1, "method frame, got {frame:?}");
    assert_eq!(&frame[1..3], &[0, 0], "channel 0, got {frame:?}");
    assert_eq!(
        &frame[7..11],
        &[0, 10, 0, 10],
        "connection.start, got {frame:?}"
    );
}
