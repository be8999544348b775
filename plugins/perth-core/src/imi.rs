//! The `imi::add`, `imi::open`, `imi::remove` and `imi::status` pipes: scripts and agents drive
//! iMi through the session, `zellij pipe --name imi::add --args type=feat,name=login`.
//! perth-core checks the arguments, hands the request to host-bridge (which runs iMi's engine
//! and opens or closes the worktree's tab in this session) and answers on the pipe's output.

use std::collections::BTreeMap;

use bridge_client::text::inert;
use bridge_protocol::Request;

use crate::link::{IMI_ADD_PIPE, IMI_OPEN_PIPE, IMI_REMOVE_PIPE, IMI_STATUS_PIPE};

/// A checked `imi::*` message: what to ask host-bridge, for which project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImiPipe {
    /// The folder the project is found from: `cwd=PATH`, else the session's folder.
    pub cwd: Option<String>,
    /// What to do.
    pub action: ImiAction,
}

/// What an `imi::*` message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImiAction {
    Add {
        kind: String,
        name: String,
        from: Option<String>,
        agent: Option<String>,
    },
    Open {
        name: String,
    },
    Remove {
        name: String,
        force: bool,
        delete_branch: bool,
    },
    Status,
}

impl ImiPipe {
    /// Returns the host-bridge request for the project at `cwd` (the message's own wins),
    /// opening tabs in `session`, keyed by the CLI pipe so that the instances of several
    /// clients, which all receive the pipe, act once.
    pub fn request(
        &self,
        cwd: Option<&str>,
        session: Option<String>,
        key: Option<String>,
    ) -> Result<Request, String> {
        let cwd = self
            .cwd
            .as_deref()
            .or(cwd)
            .filter(|c| !c.is_empty())
            .ok_or(
                "the session's folder is unknown; give --args cwd=PATH (a folder of the project)",
            )?
            .to_owned();
        Ok(match &self.action {
            ImiAction::Add {
                kind,
                name,
                from,
                agent,
            } => Request::ImiAdd {
                cwd,
                kind: kind.clone(),
                name: name.clone(),
                from: from.clone(),
                agent: agent.clone(),
                session,
                key,
            },
            ImiAction::Open { name } => Request::ImiOpen {
                cwd,
                name: name.clone(),
                session,
                key,
            },
            ImiAction::Remove {
                name,
                force,
                delete_branch,
            } => Request::ImiRemove {
                cwd,
                name: name.clone(),
                force: *force,
                delete_branch: *delete_branch,
                dry_run: false,
                session,
                key,
            },
            ImiAction::Status => Request::ImiStatus {
                project: Some(cwd),
                key,
                agents: true,
            },
        })
    }
}

/// Returns whether `pipe` is one of iMi's.
pub fn is_imi_pipe(pipe: &str) -> bool {
    [
        IMI_ADD_PIPE,
        IMI_OPEN_PIPE,
        IMI_REMOVE_PIPE,
        IMI_STATUS_PIPE,
    ]
    .contains(&pipe)
}

/// Reads an `imi::*` message. Names, types and references are checked again by iMi's engine,
/// which says what is allowed; this catches what is wrong with the message itself.
pub fn parse_imi_pipe(pipe: &str, args: &BTreeMap<String, String>) -> Result<ImiPipe, String> {
    let known: &[&str] = match pipe {
        IMI_ADD_PIPE => &["type", "name", "from", "agent", "cwd"],
        IMI_OPEN_PIPE => &["name", "cwd"],
        IMI_REMOVE_PIPE => &["name", "force", "delete_branch", "cwd"],
        _ => &["cwd"],
    };
    if let Some(unknown) = args.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "unknown argument '{}'; {pipe} takes {}",
            inert(unknown),
            known.join(", ")
        ));
    }
    let value = |key: &str| {
        args.get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let name = || {
        value("name").ok_or_else(|| {
            "no worktree named: give --args name=NAME (e.g. name=login or name=feat-login)"
                .to_owned()
        })
    };
    let action = match pipe {
        IMI_ADD_PIPE => ImiAction::Add {
            kind: value("type").ok_or_else(|| {
                "no type given: give --args type=TYPE,name=NAME (feat, fix, review, aiops or devops)"
                    .to_owned()
            })?,
            name: name()?,
            from: value("from"),
            agent: value("agent"),
        },
        IMI_OPEN_PIPE => ImiAction::Open { name: name()? },
        IMI_REMOVE_PIPE => ImiAction::Remove {
            name: name()?,
            force: flag(args, "force")?,
            delete_branch: flag(args, "delete_branch")?,
        },
        _ => ImiAction::Status,
    };
    Ok(ImiPipe {
        cwd: value("cwd"),
        action,
    })
}

/// Reads a yes/no argument; absent is no, present without a value is yes.
fn flag(args: &BTreeMap<String, String>, key: &str) -> Result<bool, String> {
    let Some(value) = args.get(key) else {
        return Ok(false);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        other => Err(format!("{key} is true or false, not '{}'", inert(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `--args` as `zellij pipe` does: `k=v` pairs separated by commas.
    fn args(text: &str) -> BTreeMap<String, String> {
        text.split(',')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (pair.to_owned(), String::new()),
            })
            .collect()
    }

    #[test]
    fn an_add_becomes_a_keyed_request_for_the_sessions_project() {
        let add = parse_imi_pipe(
            IMI_ADD_PIPE,
            &args("type=feat,name= pipe-x ,agent=claude-1"),
        )
        .unwrap();
        assert_eq!(
            add.request(
                Some("/w/p/trunk-main"),
                Some("work".into()),
                Some("pipe-1".into())
            ),
            Ok(Request::ImiAdd {
                cwd: "/w/p/trunk-main".into(),
                kind: "feat".into(),
                name: "pipe-x".into(),
                from: None,
                agent: Some("claude-1".into()),
                session: Some("work".into()),
                key: Some("pipe-1".into()),
            })
        );
        // cwd=PATH names another project.
        let elsewhere = parse_imi_pipe(IMI_STATUS_PIPE, &args("cwd=/other/project")).unwrap();
        assert_eq!(
            elsewhere.request(Some("/w/p"), None, None),
            Ok(Request::ImiStatus {
                project: Some("/other/project".into()),
                key: None,
                agents: true,
            })
        );
        let nowhere = parse_imi_pipe(IMI_STATUS_PIPE, &args("")).unwrap();
        assert!(nowhere
            .request(None, None, None)
            .unwrap_err()
            .contains("cwd=PATH"));
    }

    #[test]
    fn remove_takes_force_and_delete_branch() {
        let remove =
            parse_imi_pipe(IMI_REMOVE_PIPE, &args("name=x,force=true,delete_branch=")).unwrap();
        assert_eq!(
            remove.action,
            ImiAction::Remove {
                name: "x".into(),
                force: true,
                delete_branch: true
            }
        );
        let bad = parse_imi_pipe(IMI_REMOVE_PIPE, &args("name=x,force=maybe"));
        assert_eq!(bad.unwrap_err(), "force is true or false, not 'maybe'");
    }

    #[test]
    fn what_is_missing_or_unknown_is_named() {
        let no_name = parse_imi_pipe(IMI_ADD_PIPE, &args("type=feat")).unwrap_err();
        assert!(no_name.contains("name=NAME"), "{no_name}");
        let no_type = parse_imi_pipe(IMI_ADD_PIPE, &args("name=x")).unwrap_err();
        assert!(no_type.contains("type=TYPE"), "{no_type}");
        let open = parse_imi_pipe(IMI_OPEN_PIPE, &args("")).unwrap_err();
        assert!(
            open.starts_with("no worktree named: give --args name=NAME"),
            "{open}"
        );
        let unknown = parse_imi_pipe(IMI_STATUS_PIPE, &args("\u{1b}[2Jx=1")).unwrap_err();
        assert_eq!(unknown, "unknown argument '^[[2Jx'; imi::status takes cwd");
        assert!(is_imi_pipe("imi::remove") && !is_imi_pipe("imi::prune"));
    }
}
