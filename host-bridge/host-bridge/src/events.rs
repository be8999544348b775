//! `host-bridge events` (and `perth events`, which runs it): the workspace's events for people
//! and scripts. First the newest from the tools' outboxes, then with `follow` the live stream:
//! from the broker when one is configured, else from the outboxes as rows are appended.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context as _, Result};
use bloodbank::{describe, watch_broker, OutboxWatch, Watched};

/// An outbox to read: a label for people (`zdrive`, `iMi`, `perth`) and its database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxSource {
    /// Who writes it.
    pub label: String,
    /// A PostgreSQL URL or an SQLite path.
    pub location: String,
}

/// What to print.
#[derive(Clone, Debug)]
pub struct EventsOptions {
    /// Keep printing new events until interrupted.
    pub follow: bool,
    /// One CloudEvent JSON per line instead of text.
    pub json: bool,
    /// How many of the newest stored events to print first.
    pub last: u32,
    /// The broker; without it `follow` reads the outboxes.
    pub amqp_url: Option<String>,
    /// How often the outboxes are read while following without a broker.
    pub poll: Duration,
}

/// Formats one event: a line of text, or the CloudEvent as JSON with where it was read.
pub fn format_event(w: &Watched, json: bool) -> String {
    if json {
        let mut event = w.event.clone();
        if let Some(obj) = event.as_object_mut() {
            obj.insert("perthorigin".into(), w.origin.clone().into());
        }
        return event.to_string();
    }
    let local = w.time.with_timezone(&chrono::Local);
    let subject: String = w
        .subject
        .as_deref()
        .unwrap_or("-")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "{} {:<30} {:<24} {}",
        local.format("%H:%M:%S%.3f"),
        w.event_type,
        subject,
        describe(w)
    )
}

/// Opens the outboxes that exist; one that cannot be opened is reported on stderr and skipped.
async fn open(sources: &[OutboxSource]) -> Vec<(String, store::Database)> {
    let mut open = Vec::new();
    for s in sources {
        let is_url = s.location.contains("://");
        if !is_url && !std::path::Path::new(&s.location).exists() {
            continue;
        }
        let options = store::OpenOptions {
            pg_env: store::PgEnv::from_process(),
            ..Default::default()
        };
        match store::Database::open_with(&s.location, &options).await {
            Ok(db) => open.push((s.label.clone(), db)),
            Err(e) => eprintln!("host-bridge: skipping the {} outbox: {e}", s.label),
        }
    }
    open
}

/// Prints the newest events, then follows the stream if asked; returns when done, when the
/// output is closed (a pipe to `head`), or with the error that stopped it.
pub async fn run(
    sources: &[OutboxSource],
    options: &EventsOptions,
    out: &mut dyn Write,
) -> Result<()> {
    let outboxes = open(sources).await;
    let mut watch = OutboxWatch::new(outboxes).await?;
    let print = |w: &Watched, out: &mut dyn Write| -> bool {
        writeln!(out, "{}", format_event(w, options.json)).is_ok() && out.flush().is_ok()
    };
    for w in watch.recent(options.last).await? {
        if !print(&w, out) {
            return Ok(());
        }
    }
    if !options.follow {
        return Ok(());
    }
    if let Some(url) = &options.amqp_url {
        return watch_broker(url, bloodbank::EXCHANGE, Duration::from_secs(5), |w| {
            print(&w, out)
        })
        .await
        .context("following the broker");
    }
    loop {
        for w in watch.poll().await? {
            if !print(&w, out) {
                return Ok(());
            }
        }
        tokio::time::sleep(options.poll).await;
    }
}
