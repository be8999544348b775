//! `perth action notify | clear-notification | list-notifications`: the command-line side of the
//! notification bus, talking to the session's server over its control socket.

use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::control::{self, ControlRequest, ControlResponse};
use crate::exit::UNAVAILABLE as EXIT_UNAVAILABLE;
use crate::notify::bus::{HistoryEntry, Notification, PaneRef, Style};
use crate::notify::engine::NotificationList;

/// The names of the actions this module adds.
pub const ACTIONS: [&str; 3] = ["notify", "clear-notification", "list-notifications"];

/// The `--pane-id ID` argument, in every form Zellij accepts.
pub(crate) fn pane_arg(help: &'static str) -> Arg {
    Arg::new("pane-id")
        .long("pane-id")
        .short('p')
        .value_name("ID")
        .help(help)
        .value_parser(|s: &str| s.parse::<PaneRef>())
}

/// The `--json` flag.
pub(crate) fn json_arg() -> Arg {
    Arg::new("json")
        .long("json")
        .action(ArgAction::SetTrue)
        .help("Print the result as JSON")
}

/// The three action subcommands.
pub fn commands() -> Vec<Command> {
    let notify = Command::new("notify")
        .about("Raise a notification on a pane: its border takes the style's colour until the pane gets focus")
        .long_about(
            "Raise a notification on a pane. Its frame is drawn in the style's colour (error red, \
             success green, warning yellow, info blue), animated, with the message in the frame \
             title, until the pane gets focus, it is cleared, or its time to live runs out.\n\n\
             Scripts without perth can use the stock CLI instead:\n  \
             zellij pipe --name perth::notify --args pane_id=3,style=error -- \"Build failed\"\n\n\
             Exit codes: 0 raised, 1 rejected (unknown pane), 2 usage error, 3 no such running session.\n\n\
             Examples:\n  perth action notify --style success --message \"Tests pass\"\n  \
             perth action notify --pane-id terminal_3 --style error --message \"Build failed\" --ttl 60",
        )
        .arg(pane_arg(
            "The pane: 3, terminal_3 or plugin_2 (default: $ZELLIJ_PANE_ID, the pane you run it in)",
        ))
        .arg(
            Arg::new("style")
                .long("style")
                .short('s')
                .value_name("STYLE")
                .default_value("info")
                .help("error, success, warning or info")
                .value_parser(|s: &str| s.parse::<Style>()),
        )
        .arg(
            Arg::new("message")
                .long("message")
                .short('m')
                .value_name("TEXT")
                .required(true)
                .help("The text shown in the pane's frame (escape sequences are removed)"),
        )
        .arg(
            Arg::new("ttl")
                .long("ttl")
                .value_name("SECONDS")
                .help("Clear it after this many seconds even if nobody looks")
                .value_parser(|s: &str| bridge_protocol::notice::parse_ttl(s)),
        )
        .arg(json_arg());
    let clear = Command::new("clear-notification")
        .about("Clear a pane's notification (or every one with --all)")
        .long_about(
            "Clear a pane's notification; its frame goes back to the theme's colours. Focusing \
             the pane does the same.\n\n\
             Exit codes: 0 done (also when there was nothing to clear), 1 unknown pane, \
             3 no such running session.",
        )
        .arg(pane_arg(
            "The pane: 3, terminal_3 or plugin_2 (default: $ZELLIJ_PANE_ID)",
        ))
        .arg(
            Arg::new("all")
                .long("all")
                .action(ArgAction::SetTrue)
                .conflicts_with("pane-id")
                .help("Clear every notification of the session"),
        )
        .arg(json_arg());
    let list = Command::new("list-notifications")
        .about("List active notifications and the recent history")
        .arg(
            Arg::new("history")
                .long("history")
                .value_name("N")
                .default_value("20")
                .help("How many history lines to show (newest first)")
                .value_parser(clap::value_parser!(usize)),
        )
        .arg(json_arg());
    vec![notify, clear, list]
}

/// Runs one of [`ACTIONS`].
pub fn run(name: &str, matches: &ArgMatches, session_flag: Option<String>) -> i32 {
    let json = matches.get_flag("json");
    let request = match name {
        "notify" => {
            let pane = match pane_or_env(matches) {
                Ok(p) => p,
                Err(e) => return usage(&e),
            };
            ControlRequest::Notify {
                pane,
                style: matches
                    .get_one::<Style>("style")
                    .copied()
                    .unwrap_or_default(),
                message: matches
                    .get_one::<String>("message")
                    .cloned()
                    .unwrap_or_default(),
                ttl_ms: matches.get_one::<u64>("ttl").copied(),
            }
        }
        "clear-notification" => {
            let pane = if matches.get_flag("all") {
                None
            } else {
                match pane_or_env(matches) {
                    Ok(p) => Some(p),
                    Err(e) => return usage(&e),
                }
            };
            ControlRequest::ClearNotification { pane }
        }
        _ => ControlRequest::ListNotifications {
            history: matches.get_one::<usize>("history").copied().unwrap_or(20),
        },
    };
    if let ControlRequest::Notify { message, .. } = &request {
        if bridge_protocol::notice::clean_message(message).is_empty() {
            return usage("the message is empty; pass some text with --message");
        }
    }
    let session = match crate::call_cli::target_session(session_flag) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("perth: {message}");
            return EXIT_UNAVAILABLE;
        }
    };
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let response = match control::request(&sock_dir, &session, &request, Duration::from_secs(5)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("perth: {e}");
            return EXIT_UNAVAILABLE;
        }
    };
    match response {
        ControlResponse::Notified(n) => {
            if json {
                print_json(&n);
            } else {
                println!("raised {} on {}: {}", n.style, n.pane, n.message);
            }
            0
        }
        ControlResponse::Cleared { count } => {
            if json {
                println!("{{\"cleared\":{count}}}");
            } else {
                println!(
                    "cleared {count} notification{}",
                    if count == 1 { "" } else { "s" }
                );
            }
            0
        }
        ControlResponse::Notifications(list) => {
            if json {
                print_json(&list);
            } else {
                print!("{}", render_list(&list, now_ms()));
            }
            0
        }
        ControlResponse::Error { message } => {
            eprintln!("perth: {message}");
            1
        }
        other @ (ControlResponse::Status(_)
        | ControlResponse::FlushQueued { .. }
        | ControlResponse::Agents { .. }
        | ControlResponse::Sent { .. }) => crate::control::unexpected_answer(&other),
    }
}

fn usage(message: &str) -> i32 {
    eprintln!("perth: {message}");
    2
}

/// Returns `--pane-id`, else the pane this runs in (`$ZELLIJ_PANE_ID`).
pub(crate) fn pane_or_env(matches: &ArgMatches) -> Result<PaneRef, String> {
    if let Some(p) = matches.get_one::<PaneRef>("pane-id") {
        return Ok(*p);
    }
    match std::env::var("ZELLIJ_PANE_ID") {
        Ok(id) => id.parse().map_err(|e| format!("$ZELLIJ_PANE_ID: {e}")),
        Err(_) => Err(
            "which pane? pass --pane-id ID (run it inside a perth pane to default to that pane)"
                .into(),
        ),
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn ago(now_ms: u64, at_ms: u64) -> String {
    let s = now_ms.saturating_sub(at_ms) / 1000;
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        _ => format!("{}h ago", s / 3600),
    }
}

/// The text listing people read.
pub fn render_list(list: &NotificationList, now_ms: u64) -> String {
    let mut out = String::new();
    if list.listing.active.is_empty() {
        out.push_str("No active notifications.\n");
    } else {
        out.push_str("Active:\n");
        for (n, label) in list
            .listing
            .active
            .iter()
            .zip(list.panes.iter().map(Some).chain(std::iter::repeat(None)))
        {
            out.push_str(&active_line(n, label, now_ms));
        }
    }
    if !list.listing.history.is_empty() {
        out.push_str("History (newest first):\n");
        for h in &list.listing.history {
            out.push_str(&history_line(h, now_ms));
        }
    }
    out
}

fn active_line(
    n: &Notification,
    label: Option<&crate::notify::views::PaneLabel>,
    now_ms: u64,
) -> String {
    let place = match label {
        Some(l) if !l.tab.is_empty() => format!(" (tab \"{}\", pane \"{}\")", l.tab, l.title),
        _ => String::new(),
    };
    let count = if n.count > 1 {
        format!(" ×{}", n.count)
    } else {
        String::new()
    };
    format!(
        "  {} {:<7} {:<12} {}{count}{place}, {}, {}\n",
        n.style.icon(),
        n.style.name(),
        n.pane.to_string(),
        n.message,
        serde_json::to_value(n.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        ago(now_ms, n.raised_at_ms)
    )
}

fn history_line(h: &HistoryEntry, now_ms: u64) -> String {
    let event = serde_json::to_value(h.event)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "  {:>8}  {:<10} {:<7} {:<12} {}\n",
        ago(now_ms, h.at_ms),
        event,
        h.notification.style.name(),
        h.notification.pane.to_string(),
        h.notification.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::bus::{Bus, Raise, Source};

    #[test]
    fn text_listing() {
        let mut bus = Bus::new(10);
        let t = std::time::Instant::now();
        bus.raise(
            Raise {
                pane: PaneRef::Terminal(3),
                style: Style::Error,
                message: "Build failed".into(),
                source: Source::Cli,
                ttl: None,
            },
            t,
            1_000,
        );
        let list = NotificationList {
            listing: bus.listing(5),
            panes: vec![crate::notify::views::PaneLabel {
                pane: "terminal_3".into(),
                title: "cargo".into(),
                tab: "work".into(),
            }],
        };
        let text = render_list(&list, 13_000);
        assert!(
            text.contains(
                "✗ error   terminal_3   Build failed (tab \"work\", pane \"cargo\"), cli, 12s ago"
            ),
            "{text}"
        );
        assert!(text.contains("raised"), "{text}");
        assert_eq!(
            render_list(&NotificationList::default(), 0),
            "No active notifications.\n"
        );
    }

    #[test]
    fn commands_parse() {
        let cmd = Command::new("x").subcommands(commands());
        let m = cmd
            .clone()
            .try_get_matches_from([
                "x", "notify", "-p", "plugin_2", "--style", "warning", "-m", "hi",
            ])
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        assert_eq!(sub.get_one::<PaneRef>("pane-id"), Some(&PaneRef::Plugin(2)));
        assert_eq!(sub.get_one::<Style>("style"), Some(&Style::Warning));
        let err = cmd
            .clone()
            .try_get_matches_from(["x", "notify", "--style", "loud", "-m", "hi"])
            .unwrap_err();
        assert!(err.to_string().contains("unknown style 'loud'"), "{err}");
        assert!(cmd
            .try_get_matches_from(["x", "clear-notification", "--all", "-p", "3"])
            .is_err());
    }
}
