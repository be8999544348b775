//! `zdrive migrate` from the v1.0 keyspace in `tests/fixtures/znav-v1.txt`, on a real redis-server.

use crate::support::Env;

fn seed(redis: &tests::Redis) {
    let mut client = redis.client().unwrap();
    for line in include_str!("../fixtures/znav-v1.txt").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let args: Vec<&str> = line.split('\t').collect();
        client.command(&args).unwrap();
    }
}

#[test]
fn migrate_moves_the_v1_keyspace_once_and_reports_it() {
    let Some(redis) = tests::require_or_skip("redis", tests::Redis::start()) else {
        return;
    };
    seed(&redis);
    let env = Env::with_redis(&redis.url());

    let (code, v) = env.json(&["migrate", "--dry-run"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["dry_run"], true);
    assert_eq!(
        v["data"]["panes"],
        serde_json::json!(["api-server", "frontend"])
    );
    assert_eq!(v["data"]["entries"], 3);
    assert_eq!(v["data"]["skipped"][0][0], "bad name");
    let (_, v) = env.json(&["list"]);
    assert_eq!(
        v["data"].as_array().unwrap().len(),
        0,
        "a dry run writes nothing"
    );

    let out = env.run(&["migrate"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("moved 2 pane(s), 3 entr(ies), 2 tab(s)")
    );

    let (_, v) = env.json(&["pane", "history", "api-server"]);
    let entries = v["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["summary"], "login fixed");
    assert_eq!(entries[0]["entry_type"], "milestone");
    assert_eq!(entries[0]["timestamp"], "2023-11-14T22:21:40.000000Z");
    assert_eq!(entries[0]["artifacts"], serde_json::json!(["src/auth.rs"]));
    assert_eq!(
        entries[1]["summary"],
        "token [REDACTED:github-token] rotated"
    );
    let (_, v) = env.json(&["pane", "info", "api-server"]);
    assert_eq!(v["data"]["tab"], "backend");
    assert_eq!(v["data"]["pane_id"], "terminal_2");
    assert_eq!(v["data"]["created_at"], "2023-11-14T22:13:20.000000Z");
    assert_eq!(v["data"]["metadata"]["issue"], "42");

    // Idempotent: nothing left to move, nothing duplicated.
    let (code, v) = env.json(&["migrate"]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["panes"], serde_json::json!([]));
    let (_, v) = env.json(&["pane", "history", "api-server"]);
    assert_eq!(v["data"]["total_entries"], 2);
    let mut client = redis.client().unwrap();
    let left = client
        .command(&[
            "EXISTS",
            "znav:pane:api-server",
            "znav:pane:api-server:log",
            "znav:tabs",
        ])
        .unwrap();
    assert_eq!(left, tests::services::resp::RespValue::Integer(0));
    let kept = client.command(&["EXISTS", "znav:pane:bad name"]).unwrap();
    assert_eq!(
        kept,
        tests::services::resp::RespValue::Integer(1),
        "skipped panes stay"
    );
}

#[test]
fn migrate_needs_redis() {
    let env = Env::new();
    let (code, v) = env.json(&["migrate"]);
    assert_eq!(code, 1, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("set redis_url"));
}
