//! zdrive on a team server: Redis over `rediss://` with an ACL user and a CA file, its TLS failures as exit 3 naming what to set, and the password in no output or log.

use crate::support::Env;

#[test]
fn zdrive_logs_over_rediss_with_an_acl_user_and_never_prints_the_password() {
    let started = tests::services::TestCa::generate("perth test CA")
        .and_then(|ca| tests::Redis::start_secured(&ca).map(|r| (ca, r)));
    let Some((ca, redis)) = tests::require_or_skip("secured redis", started) else {
        return;
    };
    let password = redis.password().unwrap().to_owned();
    let mut env = Env::with_redis(&redis.tls_url(true).unwrap());
    env.env.set_var("ZDRIVE_LOG", "debug");
    env.env
        .set_var("ZDRIVE_REDIS_CA_FILE", ca.cert().display().to_string());
    let mut printed = Vec::new();

    let out = env.run(&[
        "pane",
        "log",
        "api",
        "checkpoint over TLS",
        "--type",
        "checkpoint",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    printed.push(out);
    let (code, v) = env.json(&["pane", "history", "api"]);
    assert_eq!(code, 0, "{v}");
    assert!(v.to_string().contains("checkpoint over TLS"), "{v}");
    // The entry is in the secured server, under the seed keyspace.
    let mut client = redis.client().unwrap();
    let stored = client.command(&["LLEN", "perth:pane:api:history"]).unwrap();
    assert_eq!(format!("{stored:?}"), "Integer(1)");

    let out = env.run(&["config", "show"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("zdrive:***@localhost") && text.contains("TLS, verified (CA and host name)"),
        "{text}"
    );
    printed.push(out);
    let (_, v) = env.json(&["config", "show"]);
    assert_eq!(v["data"]["store_encrypted"], true);
    assert_eq!(v["data"]["store_verified"], "ca_and_host");

    // Without the CA file the system's trust store does not know the server's CA.
    env.env.set_var("ZDRIVE_REDIS_CA_FILE", "");
    let (code, v) = env.json(&["pane", "log", "api", "will not be stored"]);
    assert_eq!(code, 3, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("unknown CA") && message.contains("redis_ca_file"),
        "{message}"
    );
    assert!(!message.contains("start redis-server"), "{message}");
    printed.push(env.run(&["pane", "log", "api", "will not be stored"]));

    for out in &printed {
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(&password),
                "the password was printed: {text}"
            );
        }
    }
}

#[test]
fn zdrive_presents_its_client_certificate_where_redis_asks_for_one() {
    let started = tests::services::TestCa::generate("perth test CA")
        .and_then(|ca| tests::Redis::start_secured_with_client_certs(&ca).map(|r| (ca, r)));
    let Some((ca, redis)) = tests::require_or_skip("redis wanting client certificates", started)
    else {
        return;
    };
    let pair = ca.client_cert("zdrive-client", "zdrive").unwrap();
    let mut env = Env::with_redis(&redis.tls_url(true).unwrap());
    env.env
        .set_var("ZDRIVE_REDIS_CA_FILE", ca.cert().display().to_string());

    // Without a certificate: exit 3, naming the settings.
    let (code, v) = env.json(&["pane", "log", "api", "will not be stored"]);
    assert_eq!(code, 3, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("redis_cert_file") && message.contains("redis_key_file"),
        "{message}"
    );
    // Half a pair is a user error that says so.
    env.env
        .set_var("ZDRIVE_REDIS_CERT_FILE", pair.cert.display().to_string());
    let (code, v) = env.json(&["pane", "log", "api", "will not be stored"]);
    assert_eq!(code, 1, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("set both or neither"));

    env.env
        .set_var("ZDRIVE_REDIS_KEY_FILE", pair.key.display().to_string());
    let (code, v) = env.json(&["pane", "log", "api", "checkpoint with a client certificate"]);
    assert_eq!(code, 0, "{v}");
    let mut client = redis.client().unwrap();
    let stored = client.command(&["LLEN", "perth:pane:api:history"]).unwrap();
    assert_eq!(format!("{stored:?}"), "Integer(1)");
}
