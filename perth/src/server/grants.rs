//! perth's own plugins never wait at a permission question (D10: an upstream defect fixed in
//! perth's server).
//!
//! perth grants its plugins their permissions before a session starts (Zellij's
//! `permissions.kdl`). Zellij 0.45.1 then rewrites that file in place (truncate, then write)
//! each time a plugin's cached permissions are applied, while other plugins loading on other
//! threads read it: a plugin that reads the file in that moment finds no grant and asks the
//! user again (the tab bar shows "This plugin asks permission to: ... Allow? (y/n)", perth-core
//! floats its question, and its notifications wait). No upstream issue names it; zellij #4982
//! and PR #4990 are its neighbours.
//!
//! When a render shows the question, and three times in the seconds after a client attached
//! (its plugins load then, all at once), this thread finds which plugin asks: one of perth's
//! own (a file in perth's plugin cache, or an alias the composed configuration points there)
//! whose pane shows the question, or shows nothing at all. Zellij draws the question only into
//! copies of the pane that a client already had, so for a client that just attached the
//! question is blank: a bar (a pane that takes no focus) with no text, and perth-core, which
//! runs in the background and is floated to ask, with an empty floating pane. It answers `y`
//! for that pane alone, as the user would, so Zellij applies and caches the grant perth gave;
//! a `y` reaching a bar or perth-core that was not asking is ignored (neither reads keys).
//! Other plugins' questions are left to the user.
//!
//! Zellij applies an answer given to a pane rather than by a client's key press to the first
//! instance of the plugin it finds, which may be another client's; perth's plugins ask once
//! more when their grant came late (see `bridge_protocol::ASK_AGAIN_AFTER`), and then ask
//! perth-core for the mode update they dropped meanwhile (`bridge_protocol::REFRESH_PIPE`).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zellij_utils::data::ClientId;

use crate::notify::engine::Engine;
use serde_json::Value;
use zellij_utils::data::PaneId;
use zellij_utils::input::actions::Action;

/// How long a render has to reach the shadow before its pane is read.
const SETTLE: Duration = Duration::from_millis(50);

/// Looks are this far apart at least: a terminal showing "(y/n)" of its own (a shell asking,
/// an agent's prompt redrawn with a spinner) costs one look of two listings each time, not one
/// per render.
const LOOK_INTERVAL: Duration = Duration::from_millis(250);

/// After a client attached, its plugins are looked at this long after (they load, and ask,
/// within the first second or two; each early look saves a page load that met the race the
/// time to the next one). Each look answers every pane it finds asking: a `y` given to a bar
/// still loading (blank, not asking yet) or to a pane whose question went is ignored.
const AFTER_ATTACH: [Duration; 4] = [
    Duration::from_millis(150),
    Duration::from_millis(400),
    Duration::from_millis(1000),
    Duration::from_millis(2500),
];

/// The words of Zellij's question, in its one-line and its long form.
const QUESTION_WORDS: [&str; 2] = ["permission to", "(y/n)"];

/// Which plugin locations are perth's own.
#[derive(Debug, Clone)]
pub struct OwnPlugins {
    /// `file:` plus perth's plugin cache folder, with a trailing slash.
    file_prefix: String,
    /// Aliases the composed configuration points into that folder (`tab-bar`, `imi`, ...).
    aliases: Vec<String>,
    /// What the composed configuration loads in the background (`load_plugins`).
    background: Vec<String>,
}

impl OwnPlugins {
    /// perth's plugins for a server whose composed configuration is `config_text`.
    pub fn new(plugin_dir: &Path, config_text: &str) -> OwnPlugins {
        let file_prefix = format!("file:{}/", plugin_dir.display());
        let aliases = config_text
            .lines()
            .filter_map(|line| {
                let (alias, rest) = line.trim().split_once(" location=\"")?;
                rest.starts_with(&file_prefix)
                    .then(|| alias.trim().trim_matches('"').to_owned())
            })
            .collect();
        OwnPlugins {
            file_prefix,
            aliases,
            background: load_plugins(config_text),
        }
    }

    /// perth's plugins of the running server, from its cache folder and composed configuration.
    pub fn of_this_server() -> OwnPlugins {
        let config = std::env::var_os(crate::settings::SERVER_CONFIG_ENV)
            .and_then(|file| std::fs::read_to_string(file).ok())
            .unwrap_or_default();
        OwnPlugins::new(&crate::paths::cache_dir().join("plugins"), &config)
    }

    /// Whether a pane's `plugin_url` (as `list-panes` reports it) is one of perth's plugins.
    pub fn owns(&self, plugin_url: &str) -> bool {
        plugin_url.starts_with(&self.file_prefix) || self.aliases.iter().any(|a| a == plugin_url)
    }

    /// Whether a pane's `plugin_url` is one of perth's plugins that run in the background.
    fn in_background(&self, plugin_url: &str) -> bool {
        self.owns(plugin_url) && self.background.iter().any(|b| b == plugin_url)
    }
}

/// Returns the entries of the configuration's top-level `load_plugins` block (a location or
/// an alias each), unquoted.
fn load_plugins(config_text: &str) -> Vec<String> {
    let mut entries = Vec::new();
    let mut depth: Option<usize> = None;
    for line in config_text.lines() {
        let line = line.trim();
        match depth {
            None if line.starts_with("load_plugins") && line.ends_with('{') => depth = Some(1),
            None => {}
            Some(d) => {
                if d == 1 && !line.is_empty() && line != "}" {
                    let entry = line.trim_end_matches('{').trim();
                    let entry = entry.split_whitespace().next().unwrap_or(entry);
                    entries.push(entry.trim_matches('"').to_owned());
                }
                let d = d + line.matches('{').count() - line.matches('}').count().min(d);
                depth = (d > 0).then_some(d);
            }
        }
    }
    entries
}

/// Why the thread looks: a render showed the question, or a client attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Question(ClientId),
    Attached(ClientId),
}

/// Starts the thread; returns what the render path calls with a client whose render shows a
/// permission question, or which was drawn for the first time (it attached).
pub fn start(
    socket_path: PathBuf,
    engine: Arc<Engine>,
    own: OwnPlugins,
) -> impl Fn(Look) + Send + Sync + 'static {
    let (seen, looks) = mpsc::sync_channel::<Look>(16);
    let spawned = std::thread::Builder::new()
        .name("perth-grants".into())
        .spawn(move || answer_main(&socket_path, &engine, &own, &looks));
    if let Err(e) = spawned {
        log::error!("perth: the permission thread did not start: {e}");
    }
    move |look| {
        // Full: a look is already due, and it reads every pane.
        let _ = seen.try_send(look);
    }
}

fn answer_main(
    socket_path: &Path,
    engine: &Engine,
    own: &OwnPlugins,
    looks: &mpsc::Receiver<Look>,
) {
    // Looks due after an attach: when, and for which client.
    let mut due: Vec<(Instant, ClientId)> = Vec::new();
    loop {
        let next = due.iter().map(|(at, _)| *at).min();
        let first = match next {
            None => match looks.recv() {
                Ok(look) => Some(look),
                Err(_) => return,
            },
            Some(at) => match looks.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(look) => Some(look),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
        let started = Instant::now();
        let mut clients = Vec::new();
        for look in first.into_iter().chain(looks.try_iter()) {
            match look {
                Look::Question(client) => clients.push(client),
                Look::Attached(client) => {
                    due.extend(AFTER_ATTACH.iter().map(|after| (started + *after, client)))
                }
            }
        }
        due.retain(|(at, client)| {
            let now_due = *at <= started;
            if now_due {
                clients.push(*client);
            }
            !now_due
        });
        if clients.is_empty() {
            continue;
        }
        std::thread::sleep(SETTLE);
        clients.sort_unstable();
        clients.dedup();
        if let Err(e) = answer_once(socket_path, engine, own, &clients) {
            log::warn!("perth: cannot look for permission questions of perth's plugins: {e}");
        }
        std::thread::sleep(LOOK_INTERVAL.saturating_sub(started.elapsed()));
    }
}

fn answer_once(
    socket_path: &Path,
    engine: &Engine,
    own: &OwnPlugins,
    clients: &[ClientId],
) -> Result<(), session_ipc::SessionClientError> {
    let mut session = session_ipc::SessionClient::connect(socket_path)?;
    let panes = session.list_panes(Duration::from_secs(2))?;
    // Panes of tabs not shown sit where the shown tab's panes are: only the shown tabs count.
    let shown: Vec<u64> = session
        .list_tabs(Duration::from_secs(2))?
        .iter()
        .filter(|tab| tab["active"] == Value::Bool(true))
        .filter_map(|tab| tab["position"].as_u64())
        .collect();
    for pane in asking_panes(&panes, &shown, own, |x, y, columns, rows| {
        clients
            .iter()
            .map(|client| engine.text_in(*client, x, y, columns, rows))
            .collect()
    }) {
        log::info!(
            "perth: plugin_{pane}, one of perth's own, asked again for the permissions perth granted it; answering yes"
        );
        session.send_action(Action::WriteToPaneId {
            bytes: b"y".to_vec(),
            pane_id: PaneId::Plugin(pane),
        })?;
    }
    Ok(())
}

/// Returns the ids of perth's plugin panes, in the `shown` tabs (positions), whose screen (one
/// text per client, from `read`) shows Zellij's permission question; or, drawn for a client
/// that just attached, shows nothing: a bar (a pane that takes no focus) without a character,
/// or a background plugin of perth's floated (Zellij floats one to ask).
fn asking_panes(
    panes: &[Value],
    shown: &[u64],
    own: &OwnPlugins,
    read: impl Fn(usize, usize, usize, usize) -> Vec<String>,
) -> Vec<u32> {
    let field = |pane: &Value, name: &str| pane[name].as_u64().map(|n| n as usize);
    panes
        .iter()
        .filter(|pane| pane["is_plugin"] == Value::Bool(true))
        .filter(|pane| pane["plugin_url"].as_str().is_some_and(|url| own.owns(url)))
        .filter(|pane| {
            pane["tab_position"]
                .as_u64()
                .is_some_and(|tab| shown.contains(&tab))
        })
        .filter_map(|pane| {
            let id = u32::try_from(pane["id"].as_u64()?).ok()?;
            let (x, y) = (field(pane, "pane_x")?, field(pane, "pane_y")?);
            let (columns, rows) = (field(pane, "pane_columns")?, field(pane, "pane_rows")?);
            let flag = |name: &str| pane[name] == Value::Bool(true);
            let url = pane["plugin_url"].as_str().unwrap_or_default();
            let floated = flag("is_floating") && !flag("is_suppressed") && own.in_background(url);
            let bar = pane["is_selectable"] == Value::Bool(false) && !flag("is_floating");
            let texts = read(x, y, columns, rows);
            // A client that has no screen (it left) reads as "", which is not a blank bar.
            let blank = |text: &String| {
                !text.is_empty() && text.chars().all(|c| c.is_whitespace() || is_frame(c))
            };
            let asks = texts.iter().any(|text| asks_permission(text, rows))
                || floated
                || (bar && texts.iter().any(blank));
            asks.then_some(id)
        })
        .collect()
}

/// Whether a pane's text is Zellij's permission question (with line breaks and frame
/// characters taken out, as its long form wraps). In a pane of one row (a bar) Zellij writes
/// the question on one line, which wraps when the plugin asks for many permissions, and the
/// row shows its end only ("...llow? (y/n)"); perth's plugins never draw "(y/n)" themselves.
fn asks_permission(text: &str, rows: usize) -> bool {
    let flat: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !is_frame(*c))
        .collect();
    let words = |words: &str| words.replace(' ', "");
    if rows == 1 && flat.ends_with(&words(QUESTION_WORDS[1])) {
        return true;
    }
    QUESTION_WORDS
        .iter()
        .all(|question| flat.contains(&words(question)))
}

fn is_frame(c: char) -> bool {
    ('\u{2500}'..='\u{257f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn own() -> OwnPlugins {
        let config = "plugins {\n    tab-bar location=\"file:/c/perth/plugins/tab-bar-1.wasm\" {\n    }\n    mine location=\"file:/home/u/mine.wasm\"\n}\n";
        OwnPlugins::new(Path::new("/c/perth/plugins"), config)
    }

    #[test]
    fn perths_plugins_are_its_files_and_the_aliases_pointing_at_them() {
        let own = own();
        assert!(own.owns("file:/c/perth/plugins/perth-core-2.wasm"));
        assert!(own.owns("tab-bar"));
        assert!(!own.owns("mine"));
        assert!(!own.owns("file:/home/u/mine.wasm"));
        assert!(!own.owns("zellij:status-bar"));
        // A file beside the folder is not in it.
        assert!(!own.owns("file:/c/perth/plugins-evil/x.wasm"));
    }

    #[test]
    fn only_perths_plugin_panes_showing_the_question_are_answered() {
        let pane = |id: u64, url: &str, y: u64, tab: u64| {
            json!({"id": id, "is_plugin": true, "plugin_url": url, "pane_x": 0, "pane_y": y,
                   "pane_columns": 40, "pane_rows": 1, "tab_position": tab})
        };
        let panes = vec![
            pane(2, "tab-bar", 0, 1),
            pane(3, "zellij:status-bar", 1, 1),
            pane(4, "tab-bar", 2, 1),
            pane(5, "mine", 3, 1),
            // A hidden tab's bar sits where the shown tab's does.
            pane(6, "tab-bar", 2, 0),
            json!({"id": 0, "is_plugin": false, "pane_x": 0, "pane_y": 4, "pane_columns": 40,
                   "pane_rows": 1, "tab_position": 1}),
        ];
        let question = "This plugin asks permission to: ReadApplicationState. Allow? (y/n)";
        let screen = |_x: usize, y: usize, _c: usize, _r: usize| match y {
            2..=4 => vec![question.to_owned()],
            _ => vec![" perth (s)  workspace".to_owned()],
        };
        assert_eq!(asking_panes(&panes, &[1], &own(), screen), vec![4]);
    }

    #[test]
    fn the_background_plugins_are_the_load_plugins_entries() {
        let config = "plugins {\n    perth-core location=\"file:/c/perth/plugins/core-1.wasm\" {\n    }\n}\nload_plugins {\n    zellij:link\n    \"file:/c/perth/plugins/core-1.wasm\" {\n        bridge_url \"http://127.0.0.1:1\"\n    }\n}\nkeybinds {\n}\n";
        assert_eq!(
            load_plugins(config),
            vec!["zellij:link", "file:/c/perth/plugins/core-1.wasm"]
        );
        let own = OwnPlugins::new(Path::new("/c/perth/plugins"), config);
        assert!(own.in_background("file:/c/perth/plugins/core-1.wasm"));
        assert!(!own.in_background("zellij:link"), "not perth's");
        assert!(
            !own.in_background("perth-core"),
            "the alias is not what was loaded"
        );
    }

    /// For a client that just attached Zellij draws no question: perth's background plugin
    /// floated to ask, or one of its bars left blank, is answered all the same.
    #[test]
    fn a_blank_question_of_a_floated_background_plugin_or_a_bar_is_answered() {
        let config = "load_plugins {\n    \"file:/c/perth/plugins/core-1.wasm\"\n}\n";
        let own = OwnPlugins::new(Path::new("/c/perth/plugins"), config);
        let pane = |id: u64, url: &str, floating: bool, selectable: bool, y: u64| {
            json!({"id": id, "is_plugin": true, "plugin_url": url, "pane_x": 0, "pane_y": y,
                   "pane_columns": 40, "pane_rows": 1, "tab_position": 0,
                   "is_floating": floating, "is_suppressed": false, "is_selectable": selectable})
        };
        let panes = vec![
            pane(1, "file:/c/perth/plugins/core-1.wasm", true, true, 10),
            pane(2, "file:/c/perth/plugins/tab-bar-1.wasm", false, false, 0),
            pane(
                3,
                "file:/c/perth/plugins/status-bar-1.wasm",
                false,
                false,
                39,
            ),
            // A pane of perth's that takes the focus, blank: not a question.
            pane(4, "file:/c/perth/plugins/imi-1.wasm", false, true, 20),
        ];
        let screen = |_x: usize, y: usize, _c: usize, _r: usize| match y {
            0 => vec![" perth (s)  workspace\n".to_owned()],
            _ => vec!["          \n".to_owned()],
        };
        assert_eq!(asking_panes(&panes, &[0], &own, screen), vec![1, 3]);
        // Suppressed again (answered), perth-core is not asked about.
        let mut hidden = panes.clone();
        hidden[0]["is_suppressed"] = json!(true);
        hidden[0]["is_floating"] = json!(false);
        assert_eq!(asking_panes(&hidden, &[0], &own, screen), vec![3]);
    }

    #[test]
    fn the_long_question_is_read_across_its_wrapped_lines() {
        let text = "│rth-core-2.wasm asks perm│\n│ission to:               │\n│1. Access Zellij state   │\n│Allow? (y/n)             │\n";
        assert!(asks_permission(text, 4));
        assert!(!asks_permission("│Continue? (y/n)          │\n", 4));
        assert!(!asks_permission("│no permission to read    │\n", 4));
        // A bar shows the end of the one-line question when it wraps.
        assert!(asks_permission("llow? (y/n)         \n", 1));
        assert!(!asks_permission(" perth (s)  workspace \n", 1));
    }
}
