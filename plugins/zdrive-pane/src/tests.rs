//! The pane driven natively through its public surface, as Zellij would drive it: events and
//! keys in, host-bridge's answers fed back, and the screen it draws (snapshot tests).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bridge_protocol::{ErrorBody, ErrorKind, Request, RequestEnvelope, Response, ResponseEnvelope};
use serde_json::json;
use zellij_tile::prelude::{
    BareKey, Event, KeyWithModifier, ModeInfo, PaneInfo, PaneManifest, PermissionStatus,
    PipeMessage, PipeSource, SessionInfo, TabInfo,
};

use crate::app::{App, Effect, Mode, Now, Purpose, Status, View};
use crate::view;

/// 2026-11-24 10:05:00 UTC.
const NOW: i64 = 1_795_514_700;

/// A request the pane sent host-bridge, waiting for the test's reply.
struct Sent {
    id: u64,
    request: Request,
    /// The web request's context, which the reply carries back.
    context: BTreeMap<String, String>,
}

/// Drives an [`App`]: what it sends host-bridge waits in `pending` until the test replies.
struct Pane {
    /// Effects other than host-bridge traffic, in order.
    effects: Vec<Effect>,
    /// Requests not answered yet, oldest first.
    pending: VecDeque<Sent>,
    /// The clock, which stands still.
    now: Now,
    app: App,
}

impl Pane {
    /// Returns a pane in session `work`, permissions granted, nothing focused yet.
    fn open() -> Pane {
        Pane::configured("bridge_url=http://127.0.0.1:4000 bridge_token=secret")
    }

    /// Returns a pane loaded with `config` (`key=value` pairs), permissions granted.
    fn configured(config: &str) -> Pane {
        let mut pane = Pane::loaded(config);
        let session = ModeInfo {
            session_name: Some("work".into()),
            ..Default::default()
        };
        for event in [
            Event::ModeUpdate(session),
            Event::PermissionRequestResult(PermissionStatus::Granted),
        ] {
            pane.send(event);
        }
        pane
    }

    /// Returns a pane loaded with `config` that Zellij has told nothing yet.
    fn loaded(config: &str) -> Pane {
        let now = Now {
            mono: Instant::now(),
            unix_seconds: NOW,
        };
        let config = config
            .split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut app = App::default();
        let loaded = app.load(&config, now);
        let mut pane = Pane {
            effects: Vec::new(),
            pending: VecDeque::new(),
            now,
            app,
        };
        pane.collect(loaded);
        pane
    }

    /// Returns a pane on terminal 3 of tab `backend`, tracked as `api-server` with history.
    fn on_api_server() -> Pane {
        let mut pane = Pane::open();
        pane.focus_terminal(3, "backend");
        pane.reply(Ok(tracked("api-server", entries())));
        pane
    }

    fn collect(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            let Effect::Bridge(traffic) = effect else {
                self.effects.push(effect);
                continue;
            };
            for sent in traffic {
                if let bridge_client::Effect::Send { body, context, .. } = sent {
                    let envelope: RequestEnvelope = serde_json::from_slice(&body).unwrap();
                    self.pending.push_back(Sent {
                        id: envelope.id,
                        request: envelope.body,
                        context,
                    });
                }
            }
        }
    }

    fn send(&mut self, event: Event) -> bool {
        let step = self.app.update(event, self.now);
        self.collect(step.1);
        step.0
    }

    fn press(&mut self, key: BareKey) -> bool {
        self.send(Event::Key(KeyWithModifier::new(key)))
    }

    /// Types `text`, one key a character.
    fn type_text(&mut self, text: &str) {
        text.chars().map(BareKey::Char).for_each(|key| {
            self.press(key);
        });
    }

    /// Opens a prompt (or picks an entry type) with `key`, types `text` and presses Enter.
    fn answer_prompt(&mut self, key: char, text: &str) {
        self.press(BareKey::Char(key));
        self.type_text(text);
        self.press(BareKey::Enter);
    }

    /// Lets `by` pass and delivers the timer event Zellij would.
    fn later(&mut self, by: Duration) {
        self.now.mono += by;
        self.send(Event::Timer(by.as_secs_f64()));
    }

    /// Delivers perth-core's word that a script logged on `pane`, as every plugin receives it.
    fn script_logged(&mut self, pane: &str) {
        let message = PipeMessage {
            source: PipeSource::Plugin(7),
            name: bridge_protocol::ZDRIVE_LOGGED_PIPE.into(),
            payload: Some(pane.into()),
            args: BTreeMap::new(),
            is_private: false,
        };
        let (_, effects) = self.app.pipe(message, self.now);
        self.collect(effects);
    }

    /// Delivers a `host-bridge::event` pipe message.
    fn pushed(&mut self, topic: &str, data: serde_json::Value) {
        let message = PipeMessage {
            source: PipeSource::Cli("bridge-pipe".into()),
            name: bridge_protocol::PUSH_PIPE_NAME.into(),
            payload: Some(json!({ "topic": topic, "data": data }).to_string()),
            args: BTreeMap::new(),
            is_private: false,
        };
        let (_, effects) = self.app.pipe(message, self.now);
        self.collect(effects);
    }

    /// Focuses terminal `id` in the active tab `tab`, with this pane floating above it.
    fn focus_terminal(&mut self, id: u32, tab: &str) {
        self.send(Event::TabUpdate(vec![TabInfo {
            position: 0,
            name: tab.into(),
            active: true,
            are_floating_panes_visible: true,
            ..Default::default()
        }]));
        // The terminal, and this pane floating above it: both focused, in their layers.
        let focused = |id: u32, is_plugin: bool| PaneInfo {
            id,
            is_plugin,
            is_floating: is_plugin,
            is_focused: true,
            ..Default::default()
        };
        let panes = vec![focused(id, false), focused(9, true)];
        self.send(Event::PaneUpdate(PaneManifest {
            panes: [(0, panes)].into(),
        }));
    }

    /// Presses `R` and answers the read with `answer`.
    fn reply_to_refresh(&mut self, answer: Response) {
        self.press(BareKey::Char('R'));
        self.reply(Ok(answer));
    }

    /// Returns the requests waiting for an answer.
    fn requests(&self) -> Vec<&Request> {
        self.pending.iter().map(|sent| &sent.request).collect()
    }

    /// Answers the oldest waiting request; returns it.
    fn reply(&mut self, answer: Result<Response, ErrorBody>) -> Request {
        let Some(Sent {
            id,
            request,
            context,
        }) = self.pending.pop_front()
        else {
            panic!("no request waits for an answer");
        };
        let (status, envelope) = match answer {
            Ok(response) => (200, ResponseEnvelope::ok(id, response)),
            Err(error) => (
                error.kind.http_status(),
                ResponseEnvelope::error(Some(id), error),
            ),
        };
        let headers = [("content-type".to_owned(), "application/json".to_owned())].into();
        let body = serde_json::to_vec(&envelope).unwrap();
        self.send(Event::WebRequestResult(status, headers, body, context));
        request
    }

    /// Returns the screen as text, each line padded to the width and closed with `|`.
    fn screen(&mut self, rows: usize, cols: usize) -> String {
        self.app.note_size(rows, cols);
        let lines = view::lines(&self.app, rows, cols);
        assert_eq!(lines.len(), rows, "the pane fills its rows");
        let mut text = String::new();
        for line in &lines {
            let shown = line.plain_text();
            let width = line.width();
            assert!(width <= cols, "{shown:?} is wider than {cols}");
            text.push_str(&format!("{shown}{}|\n", " ".repeat(cols - width)));
        }
        text
    }

    /// Returns the screen with its styles written out (`{b,cyan|text}`).
    fn styled(&self, rows: usize, cols: usize) -> String {
        let lines = view::lines(&self.app, rows, cols);
        let markup: Vec<String> = lines.iter().map(|l| l.to_markup()).collect();
        markup.join("\n")
    }
}

/// An entry logged at `time` (`HH:MM`) on 2026-11-24.
fn entry(time: &str, entry_type: &str, source: &str, summary: &str) -> serde_json::Value {
    json!({
        "timestamp": format!("2026-11-24T{time}:00.000000Z"),
        "entry_type": entry_type,
        "source": source,
        "summary": summary,
        "artifacts": [],
    })
}

/// A history, newest first, with each kind of entry.
fn entries() -> Vec<serde_json::Value> {
    let mut milestone = entry(
        "10:02",
        "milestone",
        "agent",
        "Released v2 with the login fix",
    );
    milestone["artifacts"] = json!(["src/auth.rs", "tests/login.rs"]);
    vec![
        milestone,
        entry(
            "09:58",
            "snapshot",
            "agent",
            "## What was done\n- Fixed the **login redirect** loop\n- Added a test",
        ),
        entry(
            "09:40",
            "exploration",
            "human",
            "trying a token cache to cut the round trips to the session store",
        ),
        entry(
            "09:15",
            "checkpoint",
            "human",
            "reproduced the redirect loop\nit needs a stale cookie",
        ),
    ]
}

/// Host-bridge's answer for a tracked pane.
fn tracked(name: &str, entries: Vec<serde_json::Value>) -> Response {
    Response::ZdrivePane {
        pane_name: Some(name.into()),
        record: Some(json!({
            "name": name, "session": "work", "tab": "backend", "pane_id": "terminal_3",
            "stale": false, "metadata": {"issue": "42", "area": "auth"},
        })),
        total_entries: entries.len() as u64 + 7,
        entries,
        context: None,
    }
}

/// Host-bridge's answer for a pane zdrive does not track.
fn untracked() -> Response {
    Response::ZdrivePane {
        pane_name: None,
        record: None,
        entries: vec![],
        total_entries: 0,
        context: None,
    }
}

/// Asserts that a change is done, says `message`, and that the pane is read again.
fn assert_done(pane: &Pane, message: &str) {
    assert_eq!(pane.app.status, Some(Status::Done(message.into())));
    assert!(
        matches!(pane.requests()[..], [Request::ZdrivePane { .. }]),
        "the pane is read again: {:?}",
        pane.requests()
    );
}

fn refused(message: &str, hint: &str) -> ErrorBody {
    ErrorBody::new(ErrorKind::BadRequest, message).with_hint(hint)
}

#[test]
fn the_focused_terminal_is_looked_up_by_where_it_lives() {
    let mut pane = Pane::open();
    assert!(pane.requests().is_empty(), "nothing is focused yet");
    pane.focus_terminal(3, "backend");
    assert_eq!(
        pane.requests(),
        [&Request::ZdrivePane {
            pane: None,
            session: Some("work".into()),
            pane_id: Some("terminal_3".into()),
            last: Some(crate::app::HISTORY_LAST),
            format: None,
        }]
    );
    pane.reply(Ok(tracked("api-server", entries())));
    assert_eq!(pane.app.pane_name(), Some("api-server"));
    assert!(pane
        .effects
        .contains(&Effect::SetTitle("zdrive · api-server".into())));
    // The same focus again asks nothing; another terminal is looked up afresh.
    pane.focus_terminal(3, "backend");
    assert!(pane.requests().is_empty());
    pane.focus_terminal(5, "backend");
    assert_eq!(pane.requests().len(), 1);
    assert!(pane.app.shown.is_none());
}

#[test]
fn without_a_bridge_the_pane_says_so() {
    let mut pane = Pane::configured("");
    pane.focus_terminal(3, "backend");
    assert!(pane.requests().is_empty());
    let screen = pane.screen(6, 70);
    let lines: Vec<&str> = screen
        .lines()
        .map(|l| l.trim_end_matches('|').trim_end())
        .collect();
    assert_eq!(lines[1], "host-bridge is not configured");
    assert!(
        lines[3].starts_with("cannot reach host-bridge: "),
        "{screen}"
    );
    assert!(screen.contains("`bridge_url`"), "{screen}");
}

#[test]
fn history_at_two_widths_with_its_styles() {
    let mut pane = Pane::on_api_server();
    insta::assert_snapshot!("history_at_80_columns", pane.screen(20, 80));
    insta::assert_snapshot!(
        "history_at_44_columns_wraps_under_the_summary",
        pane.screen(24, 44)
    );
    insta::assert_snapshot!("history_is_styled_by_entry_type", pane.styled(14, 80));
}

#[test]
fn the_context_view_renders_the_markdown() {
    let mut pane = Pane::on_api_server();
    pane.press(BareKey::Tab);
    let Request::ZdrivePane { format, .. } = pane.reply(Ok(Response::ZdrivePane {
        pane_name: Some("api-server".into()),
        record: Some(json!({"session": "work", "tab": "backend", "pane_id": "terminal_3"})),
        entries: vec![],
        total_entries: 11,
        context: Some(
            "# Workspace Context: api-server\n\nSession: work / Tab: backend\nTotal Entries: 11\n\
             Time Range: 2026-11-23 09:00 → 2026-11-24 10:02 (1d 1h)\n\n\
             ## Recent Activity (Last 1 Entry)\n\n★ [10:02] [AGENT] Released v2\n\n\
             ## Current State\n\n- All tests pass\n"
                .into(),
        ),
    })) else {
        panic!("a zdrive_pane request");
    };
    assert_eq!(format.as_deref(), Some("context"));
    assert_eq!(pane.app.view, View::Context);
    insta::assert_snapshot!(pane.screen(18, 60));
    // `v` switches back, asking for the entries again.
    pane.press(BareKey::Char('v'));
    assert!(matches!(
        pane.requests()[..],
        [Request::ZdrivePane { format: None, .. }]
    ));
}

#[test]
fn an_untracked_pane_is_named_with_n() {
    let mut pane = Pane::open();
    pane.focus_terminal(4, "main");
    pane.reply(Ok(untracked()));
    insta::assert_snapshot!(pane.screen(12, 60));
    // Logging needs a name first.
    pane.press(BareKey::Char('l'));
    assert_eq!(pane.app.mode, Mode::Browse);
    assert!(matches!(
        &pane.app.status,
        Some(Status::Failed { hint: Some(hint), .. }) if hint == "press n to name it"
    ));
    pane.answer_prompt('n', "web");
    assert_eq!(
        pane.reply(Ok(Response::ZdriveTracked {
            pane_name: "web".into(),
            record: json!({}),
            retitled: true,
        })),
        Request::ZdriveTrack {
            session: "work".into(),
            pane_id: "terminal_4".into(),
            name: "web".into(),
            tab: Some("main".into()),
        }
    );
    assert_done(&pane, "zdrive tracks this pane as web");
}

#[test]
fn logging_picks_a_type_then_takes_the_text() {
    let mut pane = Pane::on_api_server();
    pane.press(BareKey::Char('l'));
    assert_eq!(pane.app.mode, Mode::PickType(0));
    pane.press(BareKey::Right);
    assert_eq!(pane.app.mode, Mode::PickType(1));
    insta::assert_snapshot!("type_picker", pane.screen(12, 80));
    assert!(pane.styled(12, 80).contains("{rev,cyan|[m] milestone}"));
    pane.press(BareKey::Enter);
    pane.type_text("Released v3");
    pane.press(BareKey::Backspace);
    pane.type_text("2.1");
    insta::assert_snapshot!("summary_prompt", pane.screen(12, 80));
    assert!(
        pane.styled(12, 80)
            .contains("{b,cyan|milestone}{dim| › }Released v2.1{rev| }"),
        "the cursor after the text"
    );
    pane.press(BareKey::Enter);
    assert_eq!(pane.app.mode, Mode::Browse);
    assert_eq!(
        pane.app.status,
        Some(Status::Working("logging a milestone on api-server…".into()))
    );
    let request = pane.reply(Ok(Response::ZdriveLogged {
        pane_name: "api-server".into(),
        entry: entry("10:05", "milestone", "human", "Released v2.1"),
        total_entries: 12,
        session: None,
        pane_id: None,
        first: true,
    }));
    let Request::ZdriveLog {
        pane: logged_on,
        summary,
        entry_type,
        source,
        key,
        ..
    } = request
    else {
        panic!("a zdrive_log request, not {request:?}");
    };
    assert_eq!(
        (logged_on.as_str(), summary.as_str()),
        ("api-server", "Released v2.1")
    );
    assert_eq!(
        (entry_type.as_deref(), source.as_deref()),
        (Some("milestone"), Some("human"))
    );
    assert!(key.unwrap().starts_with("zdrive-pane:"));
    assert_done(&pane, "logged a milestone on api-server (12 entries)");
}

#[test]
fn the_picker_takes_c_m_e_and_esc_cancels_at_each_step() {
    let mut pane = Pane::on_api_server();
    for (key, entry_type) in [
        ('c', "checkpoint"),
        ('m', "milestone"),
        ('e', "exploration"),
    ] {
        pane.press(BareKey::Char('l'));
        pane.press(BareKey::Char(key));
        assert!(
            matches!(&pane.app.mode, Mode::Prompt(Purpose::Log(t), _) if *t == entry_type),
            "{key}"
        );
        pane.press(BareKey::Esc);
        assert_eq!(pane.app.mode, Mode::Browse);
    }
    pane.press(BareKey::Char('l'));
    pane.press(BareKey::Left);
    assert_eq!(pane.app.mode, Mode::PickType(2), "wraps around");
    pane.press(BareKey::Esc);
    assert_eq!(pane.app.mode, Mode::Browse);
    assert!(pane.requests().is_empty());
    assert!(pane.effects.iter().all(|e| *e != Effect::Close));
}

#[test]
fn an_empty_summary_keeps_the_prompt_open() {
    let mut pane = Pane::on_api_server();
    pane.press(BareKey::Char('l'));
    pane.answer_prompt('c', "   ");
    assert!(matches!(
        pane.app.mode,
        Mode::Prompt(Purpose::Log("checkpoint"), _)
    ));
    assert!(
        matches!(&pane.app.status, Some(Status::Failed { message, .. }) if message == "type what happened")
    );
    assert!(pane.requests().is_empty());
}

#[test]
fn each_log_has_a_key_of_its_own() {
    let mut pane = Pane::on_api_server();
    let mut keys = Vec::new();
    for text in ["one", "two"] {
        pane.press(BareKey::Char('l'));
        pane.answer_prompt('c', text);
        if let Request::ZdriveLog { key, .. } = pane.reply(Err(refused("x", "y"))) {
            keys.push(key.unwrap());
        }
    }
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
}

#[test]
fn a_refused_rename_shows_the_error_and_its_hint() {
    let mut pane = Pane::on_api_server();
    pane.press(BareKey::Char('r'));
    let Mode::Prompt(Purpose::Rename, editor) = &pane.app.mode else {
        panic!("the rename prompt, not {:?}", pane.app.mode);
    };
    assert_eq!(editor.text(), "api-server", "prefilled with the name");
    let clear = KeyWithModifier::new(BareKey::Char('u')).with_ctrl_modifier();
    pane.send(Event::Key(clear));
    pane.type_text("web");
    pane.press(BareKey::Enter);
    assert_eq!(
        pane.reply(Err(refused(
            "a pane named \"web\" is tracked already; pick another name, or rename that one first: zdrive pane rename web NEW",
            "check it with: zdrive list",
        ))),
        Request::ZdriveRename {
            pane: "api-server".into(),
            new_name: "web".into(),
        }
    );
    assert!(
        pane.requests().is_empty(),
        "nothing changed: nothing to read"
    );
    insta::assert_snapshot!(pane.screen(14, 72));
    assert!(pane
        .styled(14, 72)
        .contains("{red|✗ renaming api-server to web failed"));
}

#[test]
fn a_rename_to_the_same_name_sends_nothing_and_a_done_one_reads_again() {
    let mut pane = Pane::on_api_server();
    pane.press(BareKey::Char('r'));
    pane.press(BareKey::Enter);
    assert!(pane.requests().is_empty());
    assert_eq!(
        pane.app.status,
        Some(Status::Done("the name stays api-server".into()))
    );
    pane.answer_prompt('r', "-v2");
    pane.reply(Ok(Response::ZdriveRenamed {
        pane_name: "api-server-v2".into(),
        previous_name: "api-server".into(),
        record: json!({}),
        retitled: true,
    }));
    assert_done(
        &pane,
        "renamed api-server to api-server-v2, and its pane's title",
    );
    // Another view: what was done is not said again; what failed would be.
    pane.press(BareKey::Tab);
    assert_eq!(pane.app.status, None);
}

#[test]
fn tags_are_set_and_removed_from_the_prompt() {
    let mut pane = Pane::on_api_server();
    pane.answer_prompt('t', "owner=me and you");
    assert_eq!(
        pane.reply(Ok(Response::ZdriveTagged {
            pane_name: "api-server".into(),
            record: json!({"metadata": {"owner": "me and you", "issue": "42"}}),
        })),
        Request::ZdriveTag {
            pane: "api-server".into(),
            set: [("owner".to_owned(), "me and you".to_owned())].into(),
            remove: vec![],
        }
    );
    assert_done(&pane, "tagged api-server (2 tags)");
    pane.answer_prompt('t', "-owner -area");
    assert!(matches!(
        pane.requests()[1],
        Request::ZdriveTag { remove, .. } if remove == &["owner", "area"]
    ));
    // What is not key=value or -key stays in the prompt, with what to type.
    pane.answer_prompt('t', "oops");
    assert!(matches!(pane.app.mode, Mode::Prompt(Purpose::Tag, _)));
    assert!(
        matches!(&pane.app.status, Some(Status::Failed { message, .. }) if message.contains("key=value"))
    );
}

#[test]
fn pushed_events_about_the_pane_read_it_again() {
    let mut pane = Pane::on_api_server();
    pane.pushed(
        "workspace.intent.logged",
        json!({"pane_name": "api-server", "total_entries": 12}),
    );
    assert_eq!(pane.requests().len(), 1);
    pane.reply(Ok(tracked("api-server", entries())));
    for (topic, data) in [
        ("workspace.intent.logged", json!({"pane_name": "web"})),
        (
            "workspace.worktree.created",
            json!({"pane_name": "api-server"}),
        ),
    ] {
        pane.pushed(topic, data);
    }
    assert!(pane.requests().is_empty(), "not about this pane");
    pane.pushed(
        "workspace.pane.renamed",
        json!({"pane_name": "api", "previous_name": "api-server"}),
    );
    assert_eq!(pane.requests().len(), 1);
    pane.reply(Ok(tracked("api", entries())));
    // Hidden, the pane waits until it is shown.
    pane.send(Event::Visible(false));
    pane.pushed("workspace.snapshot.generated", json!({"pane_name": "api"}));
    assert!(pane.requests().is_empty());
    pane.send(Event::Visible(true));
    assert_eq!(pane.requests().len(), 1);
}

/// perth-core says a script's entry is stored: the pane showing that pane reads it again at
/// once; another pane's, and one hidden until it is shown, do not. The script's pipe itself
/// (which perth's server hands perth-core alone) is nothing to the pane.
#[test]
fn a_script_logging_on_the_pane_has_it_read_again_once_stored() {
    let mut pane = Pane::on_api_server();
    pane.script_logged("web");
    assert!(pane.requests().is_empty(), "another pane");
    let script_pipe = PipeMessage {
        source: PipeSource::Cli("script-pipe".into()),
        name: "zdrive::log".into(),
        payload: Some("from a script".into()),
        args: [("pane".to_owned(), "api-server".to_owned())].into(),
        is_private: false,
    };
    let (_, effects) = pane.app.pipe(script_pipe, pane.now);
    pane.collect(effects);
    assert!(pane.requests().is_empty(), "the log is on its way");
    pane.script_logged("api-server");
    assert_eq!(pane.requests().len(), 1);
    pane.reply(Ok(tracked("api-server", entries())));
    pane.later(Duration::from_secs(5));
    assert!(pane.requests().is_empty(), "nothing more");

    pane.send(Event::Visible(false));
    pane.script_logged("api-server");
    assert!(pane.requests().is_empty());
    pane.send(Event::Visible(true));
    assert_eq!(pane.requests().len(), 1);
}

#[test]
fn keys_scroll_refresh_and_close() {
    let mut pane = Pane::on_api_server();
    pane.screen(10, 44);
    pane.press(BareKey::Char('j'));
    pane.press(BareKey::Down);
    assert_eq!(pane.app.scroll, 2);
    pane.press(BareKey::Char('k'));
    assert_eq!(pane.app.scroll, 1);
    pane.press(BareKey::End);
    let bottom = pane.app.scroll;
    assert_eq!(bottom, view::max_scroll(&pane.app, 10, 44));
    pane.press(BareKey::Char('j'));
    assert_eq!(pane.app.scroll, bottom, "no further than the end");
    pane.press(BareKey::Home);
    assert_eq!(pane.app.scroll, 0);
    pane.press(BareKey::Char('R'));
    assert_eq!(pane.requests().len(), 1);
    pane.press(BareKey::Char('q'));
    assert_eq!(pane.effects.last(), Some(&Effect::Close));
    let alt = KeyWithModifier::new(BareKey::Char('l')).with_alt_modifier();
    assert!(!pane.send(Event::Key(alt)), "chords are Zellij's");
}

#[test]
fn stored_escape_sequences_are_shown_inert() {
    let mut pane = Pane::open();
    pane.focus_terminal(3, "backend");
    let mut evil = entry(
        "10:00",
        "checkpoint",
        "human",
        "\u{1b}[2Jwiped \u{1b}]0;title\u{7}",
    );
    evil["artifacts"] = json!(["\u{1b}[31mred.rs"]);
    pane.reply(Ok(Response::ZdrivePane {
        pane_name: Some("api\u{1b}[5m".into()),
        record: Some(json!({"metadata": {"k\u{1b}": "v\u{9b}"}})),
        entries: vec![evil],
        total_entries: 1,
        context: None,
    }));
    let styled = pane.styled(10, 80);
    assert_eq!(
        styled.matches(['\u{1b}', '\u{9b}']).count(),
        0,
        "{styled:?}"
    );
    insta::assert_snapshot!(pane.screen(10, 80));
}

/// The events of a pane opened with `Alt e` in an 80x24 terminal that stayed on "waiting for a
/// focused terminal pane…" (from Zellij's log): permissions, then one `PaneUpdate` (the shell
/// focused in the tiled layer, the bars, this pane floating and focused, perth's background
/// plugins suppressed) and one `TabUpdate`, but no `ModeUpdate` with the session's name.
fn the_failed_opening(pane: &mut Pane) {
    let plugin = |id: u32, floating: bool, focused: bool, suppressed: bool| PaneInfo {
        id,
        is_plugin: true,
        is_floating: floating,
        is_focused: focused,
        is_suppressed: suppressed,
        ..Default::default()
    };
    let shell = PaneInfo {
        id: 0,
        is_focused: true,
        is_selectable: true,
        ..Default::default()
    };
    let panes = vec![
        shell,
        plugin(2, false, false, false),
        plugin(3, false, false, false),
        plugin(7, true, true, false),
        plugin(0, false, false, true),
        plugin(1, false, false, true),
    ];
    for event in [
        Event::PermissionRequestResult(PermissionStatus::Granted),
        Event::PaneUpdate(PaneManifest {
            panes: [(0, panes)].into(),
        }),
        Event::TabUpdate(vec![TabInfo {
            position: 0,
            name: "workspace".into(),
            active: true,
            are_floating_panes_visible: true,
            ..Default::default()
        }]),
    ] {
        pane.send(event);
    }
}

#[test]
fn without_a_mode_update_the_session_update_names_the_session() {
    let mut pane = Pane::loaded("bridge_url=http://127.0.0.1:4000 bridge_token=secret");
    the_failed_opening(&mut pane);
    // Before the fix the pane stayed here: it took the session's name from ModeUpdate only.
    assert!(pane.requests().is_empty(), "the session is not known yet");
    assert!(pane
        .screen(8, 38)
        .contains("waiting for a focused terminal pane…"));
    // R reads again what Zellij said, and says what is missing.
    pane.press(BareKey::Char('R'));
    assert!(pane.requests().is_empty());
    assert!(matches!(
        &pane.app.status,
        Some(Status::Failed { message, .. })
            if message == "Zellij has not said which session this is yet"
    ));
    // Zellij sends one with every PaneUpdate it reports; sessions read from disk in between
    // carry no mark and tell nothing.
    let session = |name: &str, current: bool| SessionInfo {
        name: name.into(),
        is_current_session: current,
        ..Default::default()
    };
    pane.send(Event::SessionUpdate(vec![session("work", false)], vec![]));
    assert!(pane.requests().is_empty());
    pane.send(Event::SessionUpdate(
        vec![session("other", false), session("work", true)],
        vec![],
    ));
    assert_eq!(
        pane.requests(),
        [&Request::ZdrivePane {
            pane: None,
            session: Some("work".into()),
            pane_id: Some("terminal_0".into()),
            last: Some(crate::app::HISTORY_LAST),
            format: None,
        }]
    );
    assert_eq!(pane.app.status, None, "another pane: the old status goes");
    // A ModeUpdate without a name keeps it.
    pane.send(Event::ModeUpdate(ModeInfo::default()));
    pane.reply(Ok(tracked("web", entries())));
    pane.press(BareKey::Char('R'));
    assert!(matches!(
        pane.requests()[..],
        [Request::ZdrivePane { session: Some(ref s), .. }] if s == "work"
    ));
}

#[test]
fn r_finds_a_focus_from_what_zellij_said_last() {
    let mut pane = Pane::open();
    // A tiled zdrive pane with the focus: no terminal to show.
    pane.send(Event::TabUpdate(vec![TabInfo {
        position: 0,
        name: "main".into(),
        active: true,
        ..Default::default()
    }]));
    let own = PaneInfo {
        id: 1,
        is_plugin: true,
        is_focused: true,
        ..Default::default()
    };
    pane.send(Event::PaneUpdate(PaneManifest {
        panes: [(0, vec![own])].into(),
    }));
    pane.press(BareKey::Char('R'));
    assert!(pane.requests().is_empty());
    assert!(matches!(
        &pane.app.status,
        Some(Status::Failed { message, hint: Some(hint) })
            if message == "no terminal pane has the focus in this tab"
                && hint == "focus a terminal pane, then press R"
    ));
    pane.focus_terminal(4, "main");
    assert_eq!(pane.requests().len(), 1);
    assert_eq!(pane.app.status, None);
}

#[test]
fn at_38x8_the_floating_pane_of_an_80x24_terminal_shows_the_newest_entries() {
    let mut pane = Pane::on_api_server();
    // The name goes into the rule, the keys that fit on one line, an entry's artifacts on one
    // line: the rest goes to the entries.
    let screen = pane.screen(8, 38);
    insta::assert_snapshot!("history_at_38x8", screen);
    assert!(screen.contains("Released v2"), "{screen}");
    assert!(
        screen.contains("── api-server · history · 4 of 11"),
        "{screen}"
    );
    insta::assert_snapshot!("history_at_38x8_styled", pane.styled(8, 38));
    // What was just done takes one line.
    pane.app.status = Some(Status::Done(
        "logged a milestone on api-server (12 entries)".into(),
    ));
    let screen = pane.screen(8, 38);
    insta::assert_snapshot!("history_at_38x8_with_a_status", screen);
    assert!(screen.contains("Released v2"), "{screen}");
    // Scrolling goes by the rows the entries get.
    pane.press(BareKey::PageDown);
    assert_eq!(pane.app.scroll, view::body_rows(&pane.app, 8, 38));
}

#[test]
fn the_layout_gives_way_a_step_at_a_time_as_rows_get_fewer() {
    let mut pane = Pane::on_api_server();
    // A tiled pane in an 80x24 terminal: all of it.
    insta::assert_snapshot!("history_at_78x20", pane.screen(20, 78));
    // Fewer rows: the keys on one line, then the header's lines cut, then only the name.
    insta::assert_snapshot!("history_at_44x12", pane.screen(12, 44));
    insta::assert_snapshot!("history_at_60x10", pane.screen(10, 60));
    // Few entries need few rows: nothing is squeezed for room they do not need.
    pane.reply_to_refresh(tracked("api-server", entries()[..1].to_vec()));
    insta::assert_snapshot!("one_entry_at_60x10", pane.screen(10, 60));
}

#[test]
fn small_panes_keep_the_picker_prompt_and_untracked_pane_usable() {
    let mut pane = Pane::open();
    pane.focus_terminal(4, "main");
    pane.reply(Ok(untracked()));
    insta::assert_snapshot!("untracked_at_38x8", pane.screen(8, 38));
    let mut pane = Pane::on_api_server();
    pane.press(BareKey::Char('l'));
    insta::assert_snapshot!("type_picker_at_38x8", pane.screen(8, 38));
    pane.press(BareKey::Char('m'));
    pane.type_text("Released v3");
    let screen = pane.screen(8, 38);
    insta::assert_snapshot!("summary_prompt_at_38x8", screen);
    assert!(screen.contains("milestone › Released v3"), "{screen}");
}

/// perth's server broadcasts `perth::redraw` when a client attached: the pane draws again and
/// asks host-bridge nothing.
#[test]
fn the_redraw_pipe_draws_the_pane_again_and_asks_nothing() {
    let mut pane = Pane::on_api_server();
    let redraw = PipeMessage {
        source: PipeSource::Cli("perth-link-redraw".into()),
        name: bridge_protocol::REDRAW_PIPE.into(),
        payload: None,
        args: BTreeMap::new(),
        is_private: false,
    };
    let (render, effects) = pane.app.pipe(redraw, pane.now);
    assert!(render);
    assert!(effects.is_empty(), "{effects:?}");
}
