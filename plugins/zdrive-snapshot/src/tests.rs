//! The plugin driven natively through its public surface: Zellij events in, host-bridge
//! answers fed back, and the screen it draws (snapshot tests).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bridge_protocol::{Request, RequestEnvelope, Response, ResponseEnvelope};
use zellij_tile::prelude::{
    BareKey, Event, KeyModifier, KeyWithModifier, ModeInfo, PaneInfo, PaneManifest,
    PermissionStatus, PipeMessage, PipeSource, TabInfo,
};

use crate::app::{App, Effect, Now};
use crate::view;

/// 2026-11-24 10:05:00 UTC.
const NOW: i64 = 1_795_514_700;

const SUMMARY: &str = "## What was done\n\
- Fixed the **login redirect** loop in `src/auth.rs` (the session cookie was set twice)\n\
- Added a regression test, *tests/login.rs*\n\n\
## Current state\n\
- All 214 tests pass; `cargo clippy` is clean\n\
- The token cache experiment was _abandoned_: it broke logout\n\n\
## Suggested next steps\n\
1. Release v2.3 with the fix\n\
2. Remove the unused `TokenCache` type\n";

/// A plugin instance with a bridge, whose requests the test answers.
struct Harness {
    app: App,
    start: Instant,
    elapsed: Duration,
    /// Requests sent and not answered yet: id, body, context.
    sent: Vec<(u64, Request, BTreeMap<String, String>)>,
    /// Effects other than bridge sends, in order.
    effects: Vec<Effect>,
}

impl Harness {
    fn new() -> Harness {
        let mut h = Harness::granted();
        h.event(Event::ModeUpdate(ModeInfo {
            session_name: Some("work".into()),
            ..Default::default()
        }));
        h
    }

    /// A loaded pane with its permissions granted that Zellij has not told its session yet.
    fn granted() -> Harness {
        let mut h = Harness {
            app: App::default(),
            start: Instant::now(),
            elapsed: Duration::ZERO,
            sent: Vec::new(),
            effects: Vec::new(),
        };
        let config = BTreeMap::from([
            (
                "bridge_url".to_string(),
                "http://127.0.0.1:4000".to_string(),
            ),
            ("bridge_token".to_string(), "tok".to_string()),
        ]);
        let effects = h.app.load(&config, h.now());
        h.take(effects);
        h.event(Event::PermissionRequestResult(PermissionStatus::Granted));
        h
    }

    fn now(&self) -> Now {
        Now {
            mono: self.start + self.elapsed,
            unix_seconds: NOW + self.elapsed.as_secs() as i64,
        }
    }

    fn take(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Bridge(bridge) => {
                    for e in bridge {
                        if let bridge_client::Effect::Send { body, context, .. } = e {
                            let envelope: RequestEnvelope = serde_json::from_slice(&body).unwrap();
                            self.sent.push((envelope.id, envelope.body, context));
                        }
                    }
                }
                other => self.effects.push(other),
            }
        }
    }

    fn event(&mut self, event: Event) -> bool {
        let (render, effects) = self.app.update(event, self.now());
        self.take(effects);
        render
    }

    fn pipe(&mut self, message: PipeMessage) {
        let (_, effects) = self.app.pipe(message, self.now());
        self.take(effects);
    }

    fn key(&mut self, key: BareKey) -> bool {
        self.event(Event::Key(KeyWithModifier {
            bare_key: key,
            key_modifiers: Default::default(),
        }))
    }

    /// Focuses terminal pane `id` in the only tab.
    fn focus(&mut self, id: u32) {
        self.event(Event::TabUpdate(vec![TabInfo {
            position: 0,
            active: true,
            ..Default::default()
        }]));
        let panes = vec![
            PaneInfo {
                id,
                is_focused: true,
                ..Default::default()
            },
            PaneInfo {
                id: 1,
                is_plugin: true,
                is_floating: true,
                is_focused: true,
                ..Default::default()
            },
        ];
        self.event(Event::PaneUpdate(PaneManifest {
            panes: [(0, panes)].into(),
        }));
    }

    /// Removes and returns the oldest unanswered request.
    fn next_request(&mut self) -> (u64, Request, BTreeMap<String, String>) {
        assert!(
            !self.sent.is_empty(),
            "a request to host-bridge was expected"
        );
        self.sent.remove(0)
    }

    /// Answers the oldest unanswered request with `response`.
    fn answer(&mut self, response: Response) -> Request {
        let (id, request, context) = self.next_request();
        let body = serde_json::to_vec(&ResponseEnvelope::ok(id, response)).unwrap();
        let headers =
            BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        self.event(Event::WebRequestResult(200, headers, body, context));
        request
    }

    fn answer_error(&mut self, error: bridge_protocol::ErrorBody) {
        let (id, _, context) = self.next_request();
        let body = serde_json::to_vec(&ResponseEnvelope::error(Some(id), error)).unwrap();
        let headers =
            BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        self.event(Event::WebRequestResult(400, headers, body, context));
    }

    fn advance(&mut self, by: Duration) {
        self.elapsed += by;
        self.event(Event::Timer(by.as_secs_f64()));
    }

    fn screen(&mut self, rows: usize, cols: usize) -> String {
        self.app.note_size(rows, cols);
        let lines = view::lines(&self.app, rows, cols);
        assert!(lines.len() <= rows);
        for line in &lines {
            assert!(
                line.width() <= cols,
                "{:?} is wider than {cols}",
                line.plain_text()
            );
        }
        lines
            .iter()
            .map(|l| l.plain_text().trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn markup(&self, rows: usize, cols: usize) -> String {
        view::lines(&self.app, rows, cols)
            .iter()
            .map(|l| l.to_markup())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A snapshot record made at `time` (`HH:MM`) on 2026-11-24.
fn record(time: &str, summary: &str) -> serde_json::Value {
    serde_json::json!({
        "timestamp": format!("2026-11-24T{time}:00.000000Z"),
        "provider": "ollama",
        "model": "llama3.2",
        "summary": summary,
        "context_hash": "abc",
        "context_bytes": 4200,
        "duration_ms": 8400,
    })
}

fn snapshots(pane: Option<&str>, consent: bool, records: Vec<serde_json::Value>) -> Response {
    Response::ZdriveSnapshots {
        pane_name: pane.map(str::to_owned),
        consent,
        provider: "ollama".into(),
        model: "llama3.2".into(),
        local: true,
        snapshots: records,
    }
}

/// A harness showing terminal 3, which zdrive tracks as api-server with three snapshots.
fn with_snapshots() -> Harness {
    let mut h = Harness::new();
    h.focus(3);
    let request = h.answer(snapshots(
        Some("api-server"),
        true,
        vec![
            record("10:02", SUMMARY),
            record("09:04", "## What was done\n- started on the login bug"),
            record("08:06", "## What was done\n- set the project up"),
        ],
    ));
    assert_eq!(
        request,
        Request::ZdriveSnapshots {
            pane: None,
            session: Some("work".into()),
            pane_id: Some("terminal_3".into()),
            last: Some(20),
        }
    );
    h
}

#[test]
fn a_stored_snapshot_at_80_columns() {
    let mut h = with_snapshots();
    assert!(h
        .effects
        .contains(&Effect::SetTitle("zdrive snapshot · api-server".into())));
    insta::assert_snapshot!(h.screen(30, 80));
}

#[test]
fn a_stored_snapshot_at_44_columns_wraps_under_its_bullets() {
    let mut h = with_snapshots();
    insta::assert_snapshot!(h.screen(34, 44));
}

#[test]
fn a_stored_snapshot_is_styled() {
    let h = with_snapshots();
    insta::assert_snapshot!(h.markup(30, 80));
}

#[test]
fn a_tracked_pane_without_consent() {
    let mut h = Harness::new();
    h.focus(3);
    h.answer(snapshots(Some("api-server"), false, vec![]));
    insta::assert_snapshot!(h.screen(12, 80));
}

#[test]
fn an_untracked_pane() {
    let mut h = Harness::new();
    h.focus(5);
    h.answer(snapshots(None, false, vec![]));
    insta::assert_snapshot!(h.screen(12, 80));
    // Nothing to snapshot: g says why instead of asking host-bridge.
    h.key(BareKey::Char('g'));
    assert!(h.sent.is_empty());
    assert!(h
        .screen(12, 80)
        .contains("name it first with: zdrive pane NAME"));
}

#[test]
fn a_snapshot_in_progress_spins_and_ignores_more_presses() {
    let mut h = with_snapshots();
    h.key(BareKey::Char('g'));
    let (_, request, _) = h.sent[0].clone();
    assert_eq!(
        request,
        Request::ZdriveSnapshot {
            pane: "api-server".into(),
            force: false,
            key: None
        }
    );
    assert!(h
        .effects
        .contains(&Effect::WakeAfter(crate::app::SPINNER_TICK)));
    for _ in 0..25 {
        h.advance(Duration::from_millis(125));
    }
    // A second g, or G, while the LLM works asks nothing more.
    assert!(!h.key(BareKey::Char('g')));
    assert!(!h.key(BareKey::Char('G')));
    assert_eq!(h.sent.len(), 1);
    insta::assert_snapshot!(h.screen(14, 80));

    // The answer: a new snapshot, and the list is read again.
    h.answer(Response::ZdriveSnapshotted {
        pane_name: "api-server".into(),
        snapshot: record("10:05", "## What was done\n- released"),
        reused: false,
        first: true,
    });
    let status = h.screen(14, 80);
    assert!(
        status.contains("✓ snapshot of api-server stored (llama3.2 in 8.4 s)"),
        "{status}"
    );
    assert!(matches!(
        h.next_request().1,
        Request::ZdriveSnapshots { .. }
    ));
}

#[test]
fn force_is_capital_g_even_with_shift() {
    let mut h = with_snapshots();
    h.event(Event::Key(KeyWithModifier {
        bare_key: BareKey::Char('G'),
        key_modifiers: [KeyModifier::Shift].into(),
    }));
    assert!(matches!(
        h.next_request().1,
        Request::ZdriveSnapshot { force: true, .. }
    ));
}

#[test]
fn errors_show_the_bridges_message_and_hint() {
    let mut h = with_snapshots();
    h.key(BareKey::Enter);
    h.answer_error(
        bridge_protocol::ErrorBody::new(
            bridge_protocol::ErrorKind::BadRequest,
            "zdrive may not send pane context to an LLM: consent has not been granted",
        )
        .with_hint(
            "grant consent with: zdrive config consent --grant, or press c in the snapshot pane",
        ),
    );
    // The status line wraps, hanging under its first word.
    let screen = h.screen(30, 120).replace("\n  ", " ");
    assert!(
        screen.contains("✗ zdrive may not send pane context to an LLM: consent has not been granted (grant consent with: zdrive config consent --grant, or press c in the snapshot pane)"),
        "{screen}"
    );
    // Nothing is in progress any more: g asks again.
    h.key(BareKey::Char('g'));
    assert_eq!(h.sent.len(), 1);
}

#[test]
fn c_grants_consent() {
    let mut h = Harness::new();
    h.focus(3);
    h.answer(snapshots(Some("api-server"), false, vec![]));
    h.key(BareKey::Char('c'));
    let request = h.answer(Response::ZdriveConsent { consent: true });
    assert_eq!(request, Request::ZdriveConsent { grant: true });
    let screen = h.screen(12, 100);
    assert!(
        screen.contains("consent: granted (Ollama on localhost"),
        "{screen}"
    );
    assert!(screen.contains("✓ consent granted"), "{screen}");
}

#[test]
fn escape_sequences_in_stored_text_are_inert() {
    let mut h = Harness::new();
    h.focus(3);
    h.answer(Response::ZdriveSnapshots {
        pane_name: Some("api".into()),
        consent: true,
        provider: "ollama\u{1b}[31m".into(),
        model: "m\u{9b}2J".into(),
        local: false,
        snapshots: vec![serde_json::json!({
            "timestamp": "2026-11-24T10:00:00Z\u{1b}[2J",
            "model": "x\u{7}",
            "summary": "## \u{1b}]0;pwned\u{7}\n- \u{1b}[2J\u{1b}[H**bold \u{1b}[5m**",
        })],
    });
    let lines = view::lines(&h.app, 20, 80);
    for line in &lines {
        let ansi = line.to_ansi(80);
        // Only the plugin's own SGR sequences remain: ESC [ digits/; m.
        let mut rest = ansi.as_str();
        while let Some(at) = rest.find('\u{1b}') {
            rest = &rest[at + 1..];
            let end = rest.find('m').expect("an SGR sequence");
            assert!(
                rest.starts_with('[')
                    && rest[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
                "a foreign escape sequence in {ansi:?}"
            );
        }
        assert!(
            !ansi.contains('\u{7}') && !ansi.contains('\u{9b}'),
            "{ansi:?}"
        );
    }
    insta::assert_snapshot!(h.screen(8, 80));
}

#[test]
fn the_list_picks_older_snapshots_and_the_body_scrolls() {
    let mut h = with_snapshots();
    h.key(BareKey::Char('['));
    let screen = h.screen(30, 80);
    assert!(screen.contains("started on the login bug"), "{screen}");
    assert!(screen.contains("2 of 3, older"), "{screen}");
    h.key(BareKey::Char(']'));
    h.key(BareKey::Tab);
    h.key(BareKey::Down);
    h.key(BareKey::Down);
    h.key(BareKey::Down);
    assert!(h.screen(30, 80).contains("set the project up"));
    h.key(BareKey::Tab);
    h.key(BareKey::Char(']'));
    h.key(BareKey::Char(']'));
    // A small pane scrolls the snapshot; it stops at its end.
    let top = h.screen(12, 80);
    for _ in 0..50 {
        h.key(BareKey::Char('j'));
    }
    let bottom = h.screen(12, 80);
    assert_ne!(top, bottom);
    assert!(
        bottom.contains("Remove the unused TokenCache type"),
        "{bottom}"
    );
    h.key(BareKey::Char('k'));
    assert_ne!(h.screen(12, 80), bottom, "one line up from the end");
}

#[test]
fn focus_moves_to_another_terminal_but_not_to_a_plugin() {
    let mut h = with_snapshots();
    h.focus(3);
    assert!(h.sent.is_empty(), "the same pane is not looked up again");
    h.focus(8);
    assert!(matches!(
        h.next_request().1,
        Request::ZdriveSnapshots { pane_id: Some(id), .. } if id == "terminal_8"
    ));
    // Hidden: nothing is asked until the pane is shown again.
    h.event(Event::Visible(false));
    h.focus(9);
    assert!(h.sent.is_empty());
    h.event(Event::Visible(true));
    assert!(matches!(
        h.next_request().1,
        Request::ZdriveSnapshots { pane_id: Some(id), .. } if id == "terminal_9"
    ));
}

fn cli_pipe(pipe_id: &str, args: &[(&str, &str)]) -> PipeMessage {
    PipeMessage {
        source: PipeSource::Cli(pipe_id.into()),
        name: "zdrive::snapshot".into(),
        payload: None,
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        is_private: false,
    }
}

#[test]
fn the_pipe_generates_keyed_by_its_id_and_the_first_instance_answers() {
    let mut h = with_snapshots();
    h.pipe(cli_pipe("p-1", &[("pane", "web"), ("force", "true")]));
    assert_eq!(
        h.effects.last(),
        Some(&Effect::WakeAfter(crate::app::SPINNER_TICK))
    );
    assert!(h.effects.contains(&Effect::Block {
        pipe_id: "p-1".into()
    }));
    // The pane named by the pipe is looked up and a snapshot is asked for, keyed by the pipe.
    let lookup = h.answer(snapshots(Some("web"), true, vec![]));
    assert!(matches!(lookup, Request::ZdriveSnapshots { pane: Some(p), .. } if p == "web"));
    assert_eq!(
        h.sent[0].1,
        Request::ZdriveSnapshot {
            pane: "web".into(),
            force: true,
            key: Some("p-1".into())
        }
    );
    h.effects.clear();
    h.answer(Response::ZdriveSnapshotted {
        pane_name: "web".into(),
        snapshot: record("10:04", "## What was done\n- web things"),
        reused: false,
        first: true,
    });
    assert_eq!(
        h.effects,
        vec![
            Effect::PipeOutput {
                pipe_id: "p-1".into(),
                line: "snapshot of web stored\n".into()
            },
            Effect::Unblock {
                pipe_id: "p-1".into()
            },
        ]
    );
    // `zellij pipe` without a terminal sends one more message under the same id at the end of
    // its input: not a new request.
    h.effects.clear();
    h.pipe(cli_pipe("p-1", &[("pane", "web")]));
    assert!(h.effects.is_empty(), "{:?}", h.effects);
    assert!(
        !h.sent
            .iter()
            .any(|(_, r, _)| matches!(r, Request::ZdriveSnapshot { .. })),
        "{:?}",
        h.sent
    );
    // Another client's instance got there first: this one shows the result, answers nothing.
    h.pipe(cli_pipe("p-2", &[("pane", "web")]));
    h.effects.clear();
    while !matches!(h.sent[0].1, Request::ZdriveSnapshot { .. }) {
        h.next_request();
    }
    h.answer(Response::ZdriveSnapshotted {
        pane_name: "web".into(),
        snapshot: record("10:05", "## What was done\n- more"),
        reused: true,
        first: false,
    });
    assert!(
        !h.effects
            .iter()
            .any(|e| matches!(e, Effect::PipeOutput { .. } | Effect::Unblock { .. })),
        "{:?}",
        h.effects
    );
    assert!(h.screen(20, 120).contains("web's context has not changed"));
}

#[test]
fn a_bad_pipe_is_answered_at_once() {
    let mut h = Harness::new();
    h.pipe(cli_pipe("p-9", &[("pain", "web")]));
    assert!(h.sent.is_empty());
    assert_eq!(
        h.effects[h.effects.len() - 2..],
        [
            Effect::PipeOutput {
                pipe_id: "p-9".into(),
                line: "zdrive::snapshot: unknown argument 'pain'; zdrive::snapshot takes pane, force\n"
                    .into()
            },
            Effect::Unblock {
                pipe_id: "p-9".into()
            }
        ]
    );
}

#[test]
fn pipes_before_the_permission_grant_wait_for_it() {
    let mut app = App::default();
    let now = Now {
        mono: Instant::now(),
        unix_seconds: NOW,
    };
    let config = BTreeMap::from([
        (
            "bridge_url".to_string(),
            "http://127.0.0.1:4000".to_string(),
        ),
        ("bridge_token".to_string(), "tok".to_string()),
    ]);
    app.load(&config, now);
    let (_, effects) = app.pipe(cli_pipe("p-1", &[("pane", "web")]), now);
    // Held at once (Zellij lets an unheld pipe go), answered after the grant.
    assert_eq!(
        effects,
        [Effect::Block {
            pipe_id: "p-1".into()
        }]
    );
    let (_, effects) = app.update(
        Event::PermissionRequestResult(PermissionStatus::Granted),
        now,
    );
    assert!(effects.contains(&Effect::Block {
        pipe_id: "p-1".into()
    }));
}

#[test]
fn without_a_bridge_the_pane_says_so() {
    let mut app = App::default();
    let now = Now {
        mono: Instant::now(),
        unix_seconds: NOW,
    };
    app.load(&BTreeMap::new(), now);
    let screen: Vec<String> = view::lines(&app, 8, 100)
        .iter()
        .map(|l| l.plain_text().trim_end().to_owned())
        .collect();
    insta::assert_snapshot!(screen.join("\n"));
}

/// Zellij sends no `ModeUpdate` to a pane that loads at the wrong moment; the `SessionUpdate`
/// that comes with every pane change names the session, and the focused pane is looked up.
#[test]
fn without_a_mode_update_the_session_update_names_the_session() {
    let mut h = Harness::granted();
    h.focus(3);
    assert!(h.sent.is_empty(), "no session known yet: {:?}", h.sent);
    let session = |name: &str, current: bool| zellij_tile::prelude::SessionInfo {
        name: name.into(),
        is_current_session: current,
        ..Default::default()
    };
    h.event(Event::SessionUpdate(vec![session("other", false)], vec![]));
    assert!(h.sent.is_empty(), "an unmarked session names nothing");
    h.event(Event::SessionUpdate(
        vec![session("other", false), session("work", true)],
        vec![],
    ));
    assert!(matches!(
        h.next_request().1,
        Request::ZdriveSnapshots { session: Some(s), pane_id: Some(id), .. }
            if s == "work" && id == "terminal_3"
    ));
}

/// perth's server broadcasts `perth::redraw` when a client attached: the pane draws again and
/// neither answers nor holds the pipe (it is not the snapshot pipe).
#[test]
fn the_redraw_pipe_draws_the_pane_again_and_leaves_the_pipe_alone() {
    let mut h = Harness::granted();
    let mut redraw = cli_pipe("perth-link-redraw", &[]);
    redraw.name = bridge_protocol::REDRAW_PIPE.into();
    let (render, effects) = h.app.pipe(redraw, h.now());
    assert!(render);
    assert!(effects.is_empty(), "{effects:?}");
}
