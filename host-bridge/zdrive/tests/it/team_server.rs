//! zdrive on a team server: Redis over `rediss://` with an ACL user and a CA file, its TLS failures as exit 3 naming what to set, and the password in no output or log; users sharing one Redis, each under their own key prefix; a refused login or ACL saying what to set.

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

/// Returns the names `zdrive list` shows.
fn pane_names(env: &Env) -> Vec<String> {
    let (code, v) = env.json(&["list"]);
    assert_eq!(code, 0, "{v}");
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pane_name"].as_str().unwrap().to_owned())
        .collect()
}

/// Returns the summaries of a pane's intent log, newest first.
fn summaries(env: &Env, pane: &str) -> Vec<String> {
    let (code, v) = env.json(&["pane", "history", pane]);
    assert_eq!(code, 0, "{v}");
    v["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn users_sharing_one_redis_each_see_only_their_own_panes_under_their_key_prefix() {
    let Some(redis) = tests::require_or_skip("redis", tests::Redis::start()) else {
        return;
    };
    let mut admin = redis.client().unwrap();
    for user in ["alice", "bob", "carol"] {
        let password = format!(">{user}-pw");
        let keys = format!("~{user}:*");
        admin
            .command(&["ACL", "SETUSER", user, "on", &password, &keys, "+@all"])
            .unwrap();
    }
    // Carol may not read her own ACL.
    admin.command(&["ACL", "SETUSER", "carol", "-acl"]).unwrap();
    let port = redis.port();
    let env_of = |user: &str, prefix: Option<&str>| {
        let mut env = Env::with_redis(&format!("redis://{user}:{user}-pw@127.0.0.1:{port}/0"));
        if let Some(prefix) = prefix {
            env.env.set_var("ZDRIVE_REDIS_KEY_PREFIX", prefix);
        }
        env
    };
    let alice = env_of("alice", Some("alice:"));
    let bob = env_of("bob", None);
    // Bob sets his in the file instead of the environment.
    let (code, v) = bob.json(&["config", "set", "redis_key_prefix", "bob:"]);
    assert_eq!(code, 0, "{v}");

    for (env, who) in [(&alice, "alice"), (&bob, "bob")] {
        // The same pane names for both, and one of each's own.
        for (pane, summary) in [
            ("api", format!("{who} fixed the login")),
            ("notes", format!("{who}'s notes")),
            (who, format!("{who}'s own pane")),
        ] {
            let (code, v) = env.json(&["pane", "log", pane, &summary]);
            assert_eq!(code, 0, "{who}: {v}");
        }
        let (code, v) = env.json(&["pane", "rename", "notes", "plans"]);
        assert_eq!(code, 0, "{who}: {v}");
        let (code, v) = env.json(&["pane", "tag", "api", &format!("owner={who}")]);
        assert_eq!(code, 0, "{who}: {v}");
    }
    for (env, who, other) in [(&alice, "alice", "bob"), (&bob, "bob", "alice")] {
        let mut expected = vec![who, "api", "plans"];
        expected.sort_unstable();
        assert_eq!(pane_names(env), expected, "{who}");
        assert_eq!(summaries(env, "api"), [format!("{who} fixed the login")]);
        assert_eq!(summaries(env, "plans"), [format!("{who}'s notes")]);
        let (code, v) = env.json(&["pane", "info", "api"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["data"]["metadata"]["owner"], who, "{v}");
        let (code, v) = env.json(&["pane", "history", other]);
        assert_eq!(code, 1, "{who} reads {other}'s pane: {v}");
        let (_, v) = env.json(&["config", "show"]);
        assert_eq!(v["data"]["config"]["redis_key_prefix"], format!("{who}:"));
        let out = env.run(&["config", "show"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("redis_key_prefix = \"{who}:\"")),
            "{text}"
        );
    }
    // Every key is under one of the two prefixes: nothing in the seed's perth:*.
    let keys = admin.command(&["KEYS", "*"]).unwrap();
    let tests::services::resp::RespValue::Array(Some(keys)) = keys else {
        panic!("KEYS answered {keys:?}");
    };
    let mut keys: Vec<String> = keys
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "alice:pane:alice",
            "alice:pane:alice:history",
            "alice:pane:api",
            "alice:pane:api:history",
            "alice:pane:plans",
            "alice:pane:plans:history",
            "bob:pane:api",
            "bob:pane:api:history",
            "bob:pane:bob",
            "bob:pane:bob:history",
            "bob:pane:plans",
            "bob:pane:plans:history",
        ]
    );

    // A prefix outside the ACL user's patterns: exit 3, naming the prefix the user may use.
    for (prefix, shown) in [(Some("alice:"), "alice:"), (None, "perth:")] {
        let astray = env_of("bob", prefix);
        for args in [
            &["pane", "log", "api", "not stored"][..],
            &["pane", "history", "api"][..],
            // Redis lets SCAN through whatever the ACL says, and finds nothing.
            &["list"][..],
        ] {
            let (code, v) = astray.json(args);
            assert_eq!(code, 3, "{args:?}: {v}");
            assert_eq!(v["error"]["kind"], "refused", "{v}");
            let message = v["error"]["message"].as_str().unwrap();
            for words in [
                "NOPERM",
                &format!("the ACL user bob may not use the keys under redis_key_prefix {shown}"),
                "its ACL allows only keys ~bob:*",
                "set redis_key_prefix to bob:",
                "ZDRIVE_REDIS_KEY_PREFIX=bob:",
                &format!("redis://bob:***@127.0.0.1:{port}/0"),
            ] {
                assert!(message.contains(words), "{words:?} missing: {message}");
            }
            // Granting another user's prefix is never suggested.
            assert!(!message.contains("ACL SETUSER"), "{message}");
            assert!(!message.contains("bob-pw"), "{message}");
            assert!(!message.contains("start redis-server"), "{message}");
        }
    }
    // migrate reads the v1.0 keys (znav:*), outside bob's: refused, naming them.
    let (code, v) = env_of("bob", Some("bob:")).json(&["migrate", "--dry-run"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["error"]["kind"], "refused", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    for words in [
        "NOPERM",
        "the v1.0 keys znav:pane:* and znav:tabs",
        "the ACL user bob may not use them all",
        "ACL SETUSER bob ~znav:* ~bob:*",
    ] {
        assert!(message.contains(words), "{words:?} missing: {message}");
    }
    assert!(!message.contains("bob-pw"), "{message}");
    assert_eq!(summaries(&alice, "api"), ["alice fixed the login"]);
    // A user who may not read their ACL is told where to look, and what an administrator runs.
    let (code, v) = env_of("carol", None).json(&["pane", "log", "api", "not stored"]);
    assert_eq!(code, 3, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("redis_key_prefix perth:")
            && message.contains("ACL GETUSER carol")
            && message.contains("ACL SETUSER carol ~perth:*"),
        "{message}"
    );

    // A wrong password: exit 3, a refused login, not an unreachable server.
    let mut wrong = Env::with_redis(&format!("redis://alice:not-alices@127.0.0.1:{port}/0"));
    wrong.env.set_var("ZDRIVE_REDIS_KEY_PREFIX", "alice:");
    let (code, v) = wrong.json(&["pane", "log", "api", "not stored"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["error"]["kind"], "refused", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("redis://alice:***@127.0.0.1:{port}/0"))
            && message.contains("refused the login")
            && message.contains("redis://USER:PASSWORD@HOST"),
        "{message}"
    );
    assert!(!message.contains("not-alices"), "{message}");
    assert!(!message.contains("start redis-server"), "{message}");
    let out = wrong.run(&["pane", "log", "api", "not stored"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not-alices"));

    // A prefix that is not one: exit 1 before anything is opened, saying why.
    let mut odd = env_of("alice", Some("alice *"));
    let (code, v) = odd.json(&["list"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"]["kind"], "bad_config", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ZDRIVE_REDIS_KEY_PREFIX")
            && message.contains("redis_key_prefix \"alice *\" contains whitespace"),
        "{message}"
    );
    odd.env.set_var("ZDRIVE_REDIS_KEY_PREFIX", "");
    let (code, v) = odd.json(&["config", "set", "redis_key_prefix", "tab\there"]);
    assert_eq!(code, 1, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("contains whitespace"));
}
