//! Serves the fake agents API on a free port for recording agents' screens by hand: prints the
//! base URL, then releases held answers once per line read from standard input.
//!
//! `cargo run -p tests --example fake_agents_api -- [--hold|--hold-start]`

use std::io::BufRead as _;

use tests::fake_agents_api::{FakeAgentsApi, Hold, Script};

fn main() -> anyhow::Result<()> {
    let hold = match std::env::args().nth(1).as_deref() {
        Some("--hold") => Hold::AfterFirstPart,
        Some("--hold-start") => Hold::BeforeFirstToken,
        _ => Hold::Never,
    };
    let api = FakeAgentsApi::start(Script {
        hold,
        ..Script::default()
    })?;
    println!("{}", api.url);
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if let Some(dir) = line.trim().strip_prefix("dump ") {
            for (i, r) in api.received().iter().enumerate() {
                std::fs::write(format!("{dir}/{i:03}.json"), &r.body)?;
            }
        } else if line.trim() == "log" {
            for r in api.received() {
                println!("{} {} {}", r.method, r.target, r.body.len());
            }
        } else {
            api.release();
        }
    }
    Ok(())
}
