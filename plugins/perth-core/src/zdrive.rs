//! The `zdrive::log` pipe: scripts and agents log an intent entry to a zdrive pane with
//! `zellij pipe --name zdrive::log --args pane=api-server,type=milestone -- "Released v2"`.
//! perth-core checks the arguments, hands the entry to host-bridge (which logs it with zdrive's
//! engine) and answers on the pipe's output.

use std::collections::BTreeMap;

use bridge_protocol::Request;

/// The arguments `zdrive::log` takes.
const KNOWN: [&str; 5] = ["pane", "type", "source", "artifacts", "summary"];

/// A checked `zdrive::log` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPipe {
    /// The zdrive pane name.
    pub pane: String,
    /// The summary: the payload, or the `summary` argument.
    pub summary: String,
    /// `checkpoint`, `milestone` or `exploration` (zdrive's default when absent).
    pub entry_type: Option<String>,
    /// `human` or `agent`.
    pub source: Option<String>,
    /// Files, separated by `;` in the argument.
    pub artifacts: Vec<String>,
}

impl LogPipe {
    /// The host-bridge request, keyed by the CLI pipe so that the plugin instances of several
    /// clients, which all receive the pipe, log it once.
    pub fn request(&self, key: Option<String>) -> Request {
        Request::ZdriveLog {
            pane: self.pane.clone(),
            summary: self.summary.clone(),
            entry_type: self.entry_type.clone(),
            source: self.source.clone(),
            artifacts: self.artifacts.clone(),
            key,
        }
    }
}

/// Reads a `zdrive::log` message. Names, summaries and types are checked again by zdrive's
/// engine; this catches what is wrong with the message itself.
pub fn parse_log_pipe(
    args: &BTreeMap<String, String>,
    payload: Option<&str>,
) -> Result<LogPipe, String> {
    if let Some(unknown) = args.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!(
            "unknown argument '{}'; zdrive::log takes {}",
            crate::notice::clean_message(unknown),
            KNOWN.join(", ")
        ));
    }
    let pane = args
        .get("pane")
        .filter(|p| !p.trim().is_empty())
        .ok_or("zdrive::log needs --args pane=NAME (the zdrive pane name, e.g. pane=api-server)")?
        .clone();
    let from_payload = payload.map(|p| p.trim_end_matches(['\n', '\r']).to_owned());
    let summary = match (from_payload, args.get("summary")) {
        (Some(p), _) if !p.trim().is_empty() => p,
        (_, Some(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(
                "zdrive::log needs a summary: zellij pipe --name zdrive::log --args pane=NAME -- \"what happened\""
                    .to_owned(),
            )
        }
    };
    let artifacts = args
        .get("artifacts")
        .map(|a| {
            a.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(LogPipe {
        pane,
        summary,
        entry_type: args.get("type").cloned(),
        source: args.get("source").cloned(),
        artifacts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_readme_example_reads() {
        let log = parse_log_pipe(
            &args(&[
                ("pane", "api-server"),
                ("type", "milestone"),
                ("artifacts", "src/a.rs; tests/a.rs;"),
            ]),
            Some("Released v2\n"),
        )
        .unwrap();
        assert_eq!(
            log,
            LogPipe {
                pane: "api-server".into(),
                summary: "Released v2".into(),
                entry_type: Some("milestone".into()),
                source: None,
                artifacts: vec!["src/a.rs".into(), "tests/a.rs".into()],
            }
        );
        assert!(matches!(
            log.request(Some("k".into())),
            Request::ZdriveLog { key: Some(k), .. } if k == "k"
        ));
    }

    #[test]
    fn what_is_missing_or_unknown_is_named() {
        let no_pane = parse_log_pipe(&args(&[]), Some("x")).unwrap_err();
        assert!(no_pane.contains("pane=NAME"), "{no_pane}");
        let no_summary = parse_log_pipe(&args(&[("pane", "a")]), Some("\n")).unwrap_err();
        assert!(no_summary.contains("needs a summary"), "{no_summary}");
        let unknown =
            parse_log_pipe(&args(&[("pane", "a"), ("\u{1b}[31mx", "1")]), Some("s")).unwrap_err();
        assert!(unknown.starts_with("unknown argument '"), "{unknown}");
        assert!(!unknown.contains('\u{1b}'), "{unknown:?}");
        // The summary argument stands in for a payload.
        let by_arg = parse_log_pipe(&args(&[("pane", "a"), ("summary", "s")]), None).unwrap();
        assert_eq!(by_arg.summary, "s");
    }
}
