//! Bloodbank outbox throughput: 10,000 events appended to the outbox and published by the pump
//! with publisher confirms, next to the same events published straight to the broker with
//! confirms (the floor), against a local `rabbitmq-server` the harness starts.
//!
//! The measuring is done by the `outbox-bench` example of the bloodbank crate (it links the
//! real outbox, pump and publisher); this module builds it, starts the broker and reports.

use std::process::Command;

use ::tests::services::RabbitMq;
use ::tests::IsolatedEnv;
use anyhow::{Context, Result};
use xshell::cmd;

use super::report::{Goal, Row};
use super::{Bench, BenchContext};

pub(crate) struct OutboxThroughput;

impl Bench for OutboxThroughput {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn reference(&self) -> String {
        "the same events published straight to RabbitMQ with confirms".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        let events = ctx.samples(10_000, 2_000);
        // The same features as the test build, so that this reuses its compiled dependencies.
        cmd!(ctx.sh, "cargo build --release --workspace --examples")
            .run()
            .context("building the outbox-bench example")?;
        let bin = ctx.ws.target_dir.join("release/examples/outbox-bench");
        eprintln!("bench outbox: starting rabbitmq-server");
        let broker = RabbitMq::start().context("starting rabbitmq-server for the outbox bench")?;
        let env = IsolatedEnv::new()?;
        eprintln!(
            "bench outbox: {events} events through the outbox, then {events} straight to the broker"
        );
        let output = Command::new(&bin)
            .args(["--amqp-url", &broker.url(), "--events", &events.to_string()])
            .arg("--dir")
            .arg(env.root())
            .output()
            .with_context(|| format!("running {}", bin.display()))?;
        anyhow::ensure!(
            output.status.success(),
            "outbox-bench failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).with_context(|| {
                format!(
                    "outbox-bench printed no JSON: {}",
                    String::from_utf8_lossy(&output.stdout)
                )
            })?;
        let figure = |key: &str| {
            report[key]
                .as_f64()
                .with_context(|| format!("outbox-bench reported no {key}"))
        };
        let outbox_rate = figure("outbox_events_per_s")?;
        let raw_rate = figure("raw_events_per_s")?;
        let append_rate = figure("append_events_per_s")?;
        eprintln!(
            "bench outbox: outbox {outbox_rate:.0} events/s, raw {raw_rate:.0} events/s, append {append_rate:.0} events/s"
        );
        Ok(vec![
            Row::new(
                format!("publish {events} events with confirms"),
                outbox_rate,
                raw_rate,
                "events/s",
                Goal::AtLeast(5_000.0),
            ),
            Row::new(
                "append to the outbox (SQLite)",
                append_rate,
                raw_rate,
                "events/s",
                Goal::None,
            ),
        ])
    }
}
