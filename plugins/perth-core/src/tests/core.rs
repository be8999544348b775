//! The state machine: permissions, queueing, unblocking, state pushes and their coalescing.

use std::collections::BTreeMap;

use zellij_tile::prelude::{Event, InputMode, ModeInfo, PermissionStatus, PipeMessage, PipeSource};

use super::{link_message, manifest, tab, terminal};
use crate::core::{
    Core, Effect, InstanceIds, Permissions, PERMISSIONS, QUEUE_LIMIT, SUBSCRIPTIONS,
};
use crate::link::{decode_line, Ev, Line, PROTOCOL_VERSION};

const IDS: InstanceIds = InstanceIds {
    plugin_id: 7,
    client_id: 1,
};

/// Returns a loaded core with the given configuration.
fn loaded(configuration: &[(&str, &str)]) -> Core {
    let mut core = Core::default();
    let configuration: BTreeMap<String, String> = configuration
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    core.load(&configuration, Some(IDS));
    core
}

/// Returns a loaded core whose permissions are granted.
fn granted(configuration: &[(&str, &str)]) -> Core {
    let mut core = loaded(configuration);
    let effects = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert!(effects.is_empty(), "{effects:?}");
    core
}

/// Returns a granted core with a link open on pipe `link` (coalescing off unless configured).
fn linked(configuration: &[(&str, &str)]) -> Core {
    let mut core = granted(configuration);
    core.pipe(link_message("link", Some(r#"{"op":"hello","version":1}"#)));
    assert_eq!(core.link(), Some("link"));
    core
}

/// Returns the decoded output lines with their pipe ids.
fn outputs(effects: &[Effect]) -> Vec<(String, Line)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::PipeOutput { pipe_id, line } => {
                assert!(line.ends_with('\n'), "{line:?}");
                assert_eq!(line.matches('\n').count(), 1, "{line:?}");
                Some((pipe_id.clone(), decode_line(line).unwrap()))
            }
            _ => None,
        })
        .collect()
}

/// Returns the events written to the pipes, without the instance ids.
fn events(effects: &[Effect]) -> Vec<(String, Ev)> {
    outputs(effects)
        .into_iter()
        .map(|(pipe_id, line)| (pipe_id, line.ev))
        .collect()
}

/// Returns the pipes unblocked, in order.
fn unblocks(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Unblock { pipe_id } => Some(pipe_id.clone()),
            _ => None,
        })
        .collect()
}

fn mode(mode: InputMode) -> Event {
    Event::ModeUpdate(ModeInfo {
        mode,
        ..ModeInfo::default()
    })
}

fn one_pane(cols: usize) -> Event {
    Event::PaneUpdate(manifest(vec![(
        0,
        vec![terminal(1, "sh", (0, 0, cols, 10))],
    )]))
}

#[test]
fn load_subscribes_and_requests_permissions() {
    let mut core = Core::default();
    let effects = core.load(&BTreeMap::new(), Some(IDS));
    assert_eq!(
        effects,
        [
            Effect::Subscribe(SUBSCRIPTIONS.to_vec()),
            Effect::RequestPermission(PERMISSIONS.to_vec()),
        ]
    );
    assert_eq!(core.permissions(), Permissions::Pending);
}

#[test]
fn bad_configuration_is_logged_not_fatal() {
    let mut core = Core::default();
    let configuration = BTreeMap::from([("coalesce_ms".to_owned(), "soon".to_owned())]);
    let effects = core.load(&configuration, None);
    assert!(
        matches!(&effects[0], Effect::Log(line) if line.contains("coalesce_ms \"soon\"")),
        "{effects:?}"
    );
    assert_eq!(effects.len(), 3);

    let configuration = BTreeMap::from([("coalesce_ms".to_owned(), "99999".to_owned())]);
    let effects = core.load(&configuration, None);
    assert!(matches!(&effects[0], Effect::Log(line) if line.contains("above 1000")));
}

#[test]
fn messages_before_permissions_are_queued_then_answered_in_order() {
    let mut core = loaded(&[]);
    for payload in [
        r#"{"op":"ping","seq":1}"#,
        r#"{"op":"hello","version":1}"#,
        "garbage",
        r#"{"op":"ping","seq":2}"#,
    ] {
        let effects = core.pipe(link_message("link", Some(payload)));
        // Zellij would deny any output now; nothing is written, nothing is lost.
        assert!(effects.is_empty(), "{effects:?}");
    }
    // A state event before the grant is remembered, not sent.
    assert!(core.update(one_pane(80)).is_empty());
    assert_eq!(core.queued(), 4);

    let effects = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert_eq!(core.permissions(), Permissions::Granted);
    assert_eq!(core.queued(), 0);
    let events = events(&effects);
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[0], ("link".to_owned(), Ev::Pong { seq: 1 }));
    assert_eq!(
        events[1],
        (
            "link".to_owned(),
            Ev::Hello {
                version: PROTOCOL_VERSION,
                permissions_granted: true
            }
        )
    );
    match &events[2].1 {
        Ev::State(state) => assert_eq!(state.panes[0].cols, 80),
        other => panic!("expected state, got {other:?}"),
    }
    assert!(matches!(&events[3].1, Ev::Error { .. }));
    assert_eq!(events[4], ("link".to_owned(), Ev::Pong { seq: 2 }));
    // One unblock per message, each after that message's answer.
    assert_eq!(unblocks(&effects), ["link"; 4]);
    let unblock_positions: Vec<usize> = effects
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Effect::Unblock { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(unblock_positions, [1, 4, 6, 8]);
}

#[test]
fn queue_keeps_the_newest_messages_and_reports_the_dropped() {
    let mut core = loaded(&[]);
    for seq in 0..QUEUE_LIMIT + 3 {
        core.pipe(link_message(
            "link",
            Some(&format!(r#"{{"op":"ping","seq":{seq}}}"#)),
        ));
    }
    assert_eq!(core.queued(), QUEUE_LIMIT);
    let effects = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    let events = events(&effects);
    match &events[0].1 {
        Ev::Error { message } => assert!(message.starts_with("dropped 3 "), "{message}"),
        other => panic!("expected error, got {other:?}"),
    }
    assert_eq!(events[1].1, Ev::Pong { seq: 3 });
    assert_eq!(events.len(), QUEUE_LIMIT + 1);
    assert_eq!(unblocks(&effects).len(), QUEUE_LIMIT);
}

#[test]
fn denied_permissions_are_logged_and_messages_stay_queued() {
    let mut core = loaded(&[]);
    core.pipe(link_message("link", Some(r#"{"op":"hello","version":1}"#)));
    let effects = core.update(Event::PermissionRequestResult(PermissionStatus::Denied));
    assert_eq!(core.permissions(), Permissions::Denied);
    assert!(
        matches!(&effects[..], [Effect::Log(line)] if line.contains("ReadCliPipes")),
        "{effects:?}"
    );
    assert!(core.pipe(link_message("link", Some("{}"))).is_empty());
    assert!(core.update(one_pane(80)).is_empty());
    assert_eq!(core.queued(), 2);
    // A later grant (Zellij re-requests on reload) answers them.
    let effects = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert_eq!(unblocks(&effects), ["link", "link"]);
}

#[test]
fn every_link_message_is_unblocked_whatever_it_holds() {
    let mut core = granted(&[]);
    for payload in [
        Some(r#"{"op":"hello","version":1}"#),
        Some(r#"{"op":"hello","version":2}"#),
        Some(r#"{"op":"ping","seq":1}"#),
        Some(r#"{"op":"get_state"}"#),
        Some(r#"{"op":"explode"}"#),
        Some(""),
        Some("{"),
        Some("\u{FEFF}{\"op\":\"ping\",\"seq\":1}"),
        Some("null"),
        None,
    ] {
        let effects = core.pipe(link_message("p1", payload));
        assert_eq!(unblocks(&effects), ["p1"], "{payload:?}: {effects:?}");
        assert!(
            matches!(effects.last(), Some(Effect::Unblock { .. })),
            "{payload:?}: unblock must come after the answer"
        );
    }
}

#[test]
fn malformed_payloads_get_an_error_line() {
    let mut core = granted(&[]);
    let effects = core.pipe(link_message("p1", Some(r#"{"op":"ping","seq":"x"}"#)));
    let outputs = outputs(&effects);
    assert_eq!(outputs.len(), 1);
    let (pipe_id, line) = &outputs[0];
    assert_eq!(pipe_id, "p1");
    assert_eq!(line.plugin_id, Some(7));
    assert_eq!(line.client_id, Some(1));
    match &line.ev {
        Ev::Error { message } => assert!(message.contains("malformed"), "{message}"),
        other => panic!("expected error, got {other:?}"),
    }
    // The core is still usable afterwards.
    let effects = core.pipe(link_message("p1", Some(r#"{"op":"ping","seq":5}"#)));
    assert_eq!(events(&effects), [("p1".to_owned(), Ev::Pong { seq: 5 })]);
}

#[test]
fn hello_of_another_version_answers_but_opens_no_link() {
    let mut core = granted(&[]);
    let effects = core.pipe(link_message("p1", Some(r#"{"op":"hello","version":99}"#)));
    let events = events(&effects);
    assert_eq!(
        events[0].1,
        Ev::Hello {
            version: PROTOCOL_VERSION,
            permissions_granted: true
        }
    );
    match &events[1].1 {
        Ev::Error { message } => assert!(message.contains("version 99"), "{message}"),
        other => panic!("expected error, got {other:?}"),
    }
    assert_eq!(events.len(), 2);
    assert_eq!(core.link(), None);
    assert!(core.update(one_pane(80)).is_empty());
}

#[test]
fn other_pipes_and_sources_are_left_alone() {
    let mut core = granted(&[]);
    let unnamed = PipeMessage::new(PipeSource::Cli("u".to_owned()), "", &None, &None, false);
    assert!(core.pipe(unnamed).is_empty());
    for source in [PipeSource::Keybind, PipeSource::Plugin(3)] {
        let message = PipeMessage::new(
            source,
            crate::link::PIPE_NAME,
            &Some(r#"{"op":"get_state"}"#.to_owned()),
            &None,
            false,
        );
        let effects = core.pipe(message);
        assert!(matches!(&effects[..], [Effect::Log(_)]), "{effects:?}");
    }
    assert_eq!(core.link(), None);
}

#[test]
fn hello_opens_the_link_and_sends_the_full_state() {
    let mut core = granted(&[]);
    core.update(Event::TabUpdate(vec![tab(0, "main", true)]));
    core.update(one_pane(80));
    core.update(mode(InputMode::Locked));
    let effects = core.pipe(link_message("link", Some(r#"{"op":"hello","version":1}"#)));
    let outputs = outputs(&effects);
    assert_eq!(outputs.len(), 2);
    let Ev::State(state) = &outputs[1].1.ev else {
        panic!("expected state, got {:?}", outputs[1]);
    };
    assert_eq!(state.tabs[0].name, "main");
    assert_eq!(state.panes[0].title, "sh");
    assert_eq!(state.mode, "locked");
    assert_eq!(*state, core.snapshot());
}

#[test]
fn nothing_is_pushed_without_a_link() {
    let mut core = granted(&[("coalesce_ms", "0")]);
    assert!(core.update(one_pane(80)).is_empty());
    assert!(core.update(mode(InputMode::Pane)).is_empty());
    // get_state answers on its own pipe but does not open a link.
    let effects = core.pipe(link_message("query", Some(r#"{"op":"get_state"}"#)));
    assert_eq!(outputs(&effects).len(), 1);
    assert_eq!(core.link(), None);
    assert!(core.update(one_pane(81)).is_empty());
}

#[test]
fn unchanged_state_is_not_pushed() {
    let mut core = linked(&[("coalesce_ms", "0")]);
    core.update(Event::TabUpdate(vec![tab(0, "main", true)]));
    core.update(one_pane(80));
    core.update(mode(InputMode::Normal));
    // Zellij repeats updates often; equal ones are silent.
    assert!(core
        .update(Event::TabUpdate(vec![tab(0, "main", true)]))
        .is_empty());
    assert!(core.update(one_pane(80)).is_empty());
    assert!(core.update(mode(InputMode::Normal)).is_empty());
    assert!(core.update(Event::Timer(0.02)).is_empty());
}

#[test]
fn changes_are_pushed_on_the_link_immediately_without_coalescing() {
    let mut core = linked(&[("coalesce_ms", "0")]);
    let effects = core.update(one_pane(80));
    let events = events(&effects);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "link");
    assert!(matches!(&events[0].1, Ev::State(s) if s.panes[0].cols == 80));
    // Pushes are not answers: nothing to unblock.
    assert!(unblocks(&effects).is_empty());

    let effects = core.update(mode(InputMode::Tab));
    assert!(matches!(&events_of(&effects)[..], [Ev::State(s)] if s.mode == "tab"));
}

fn events_of(effects: &[Effect]) -> Vec<Ev> {
    events(effects).into_iter().map(|(_, ev)| ev).collect()
}

#[test]
fn changes_within_the_window_are_coalesced_into_one_push() {
    let mut core = linked(&[]);
    let effects = core.update(Event::TabUpdate(vec![
        tab(0, "a", true),
        tab(1, "b", false),
    ]));
    assert_eq!(effects, [Effect::SetTimeout { seconds: 0.02 }]);
    // Further changes while the timer runs arm nothing more.
    assert!(core.update(one_pane(80)).is_empty());
    assert!(core.update(mode(InputMode::Tab)).is_empty());

    let effects = core.update(Event::Timer(0.02));
    let events = events_of(&effects);
    assert_eq!(events.len(), 1);
    let Ev::State(state) = &events[0] else {
        panic!("expected state, got {events:?}");
    };
    assert_eq!(state.tabs.len(), 2);
    assert_eq!(state.panes.len(), 1);
    assert_eq!(state.mode, "tab");

    // A stray timer pushes nothing.
    assert!(core.update(Event::Timer(0.02)).is_empty());
}

#[test]
fn a_burst_of_pane_updates_pushes_the_last_one_once() {
    let mut core = linked(&[]);
    assert_eq!(
        core.update(one_pane(80)),
        [Effect::SetTimeout { seconds: 0.02 }]
    );
    for cols in 81..120 {
        assert!(core.update(one_pane(cols)).is_empty());
    }
    let events = events_of(&core.update(Event::Timer(0.02)));
    let [Ev::State(state)] = events.as_slice() else {
        panic!("expected one state, got {events:?}");
    };
    assert_eq!(state.panes.len(), 1);
    assert_eq!(
        state.panes[0].cols, 119,
        "the newest manifest is the one pushed"
    );
    // The same panes again arm a timer (they are compared when it fires) but push nothing.
    assert_eq!(core.update(one_pane(119)).len(), 1);
    assert!(core.update(Event::Timer(0.1)).is_empty());
}

#[test]
fn pushes_are_spaced_while_changes_keep_coming() {
    let mut core = linked(&[]);
    core.update(one_pane(80));
    assert_eq!(events_of(&core.update(Event::Timer(0.02))).len(), 1);
    // Right after a push, the next change waits out the rest of the burst interval.
    let effects = core.update(one_pane(81));
    let [Effect::SetTimeout { seconds }] = effects.as_slice() else {
        panic!("expected a timer, got {effects:?}");
    };
    let least = f64::from(crate::core::BURST_PUSH_INTERVAL_MS) / 1000.0;
    assert!(
        *seconds > least - 0.05 && *seconds <= least,
        "{seconds} s after a push just now"
    );
    assert_eq!(events_of(&core.update(Event::Timer(*seconds))).len(), 1);
    // After a quiet spell a change goes out after the coalescing window alone.
    core.last_push = Some(std::time::Instant::now() - std::time::Duration::from_secs(1));
    assert_eq!(
        core.update(one_pane(82)),
        [Effect::SetTimeout { seconds: 0.02 }]
    );
}

#[test]
fn a_change_undone_within_the_window_pushes_nothing() {
    let mut core = linked(&[("coalesce_ms", "50")]);
    assert_eq!(
        core.update(mode(InputMode::Pane)),
        [Effect::SetTimeout { seconds: 0.05 }]
    );
    assert!(core.update(mode(InputMode::Normal)).is_empty());
    assert!(core.update(Event::Timer(0.05)).is_empty());
}

#[test]
fn a_second_hello_moves_the_link_and_closing_stops_pushes() {
    let mut core = linked(&[("coalesce_ms", "0")]);
    core.pipe(link_message("link2", Some(r#"{"op":"hello","version":1}"#)));
    assert_eq!(core.link(), Some("link2"));
    let effects = core.update(one_pane(80));
    assert_eq!(events(&effects)[0].0, "link2");

    // A message without payload on another pipe does not close this link.
    core.pipe(link_message("link", None));
    assert_eq!(core.link(), Some("link2"));

    let effects = core.pipe(link_message("link2", None));
    assert_eq!(core.link(), None);
    assert_eq!(
        effects,
        [Effect::Unblock {
            pipe_id: "link2".to_owned()
        }]
    );
    assert!(core.update(one_pane(90)).is_empty());
}

#[test]
fn get_state_on_the_link_resets_the_diff() {
    let mut core = linked(&[]);
    assert_eq!(core.update(one_pane(80)).len(), 1); // arms the timer
    let effects = core.pipe(link_message("link", Some(r#"{"op":"get_state"}"#)));
    assert_eq!(outputs(&effects).len(), 1);
    // The timer finds the state already sent.
    assert!(core.update(Event::Timer(0.02)).is_empty());
}

#[test]
fn becoming_visible_hides_the_plugin() {
    let mut core = granted(&[]);
    assert_eq!(core.update(Event::Visible(true)), [Effect::HideSelf]);
    assert!(core.update(Event::Visible(false)).is_empty());
    assert!(core.update(Event::InputReceived).is_empty());
}

#[test]
fn lines_name_the_instance() {
    let mut core = Core::default();
    core.load(&BTreeMap::new(), None);
    core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    let effects = core.pipe(link_message("p", Some(r#"{"op":"ping","seq":1}"#)));
    let (_, line) = &outputs(&effects)[0];
    assert_eq!((line.plugin_id, line.client_id), (None, None));

    let mut core = granted(&[]);
    let effects = core.pipe(link_message("p", Some(r#"{"op":"ping","seq":1}"#)));
    let (_, line) = &outputs(&effects)[0];
    assert_eq!((line.plugin_id, line.client_id), (Some(7), Some(1)));
}

#[test]
fn arbitrary_payloads_never_panic() {
    let mut core = granted(&[("coalesce_ms", "0")]);
    let mut payloads: Vec<String> = vec![
        "{\"op\":\"ping\",\"seq\":18446744073709551616}".to_owned(),
        "{\"op\":\"hello\",\"version\":-1}".to_owned(),
        "{\"op\":{\"nested\":true}}".to_owned(),
        "\"just a string\"".to_owned(),
        "9".repeat(10_000),
        "[".repeat(10_000),
        "{\"op\":\"get_state\",\"op\":\"ping\"}".to_owned(),
    ];
    payloads.extend((0u8..=255).map(|b| String::from_utf8_lossy(&[b, b'{', b]).into_owned()));
    for payload in payloads {
        let effects = core.pipe(link_message("fuzz", Some(&payload)));
        assert_eq!(unblocks(&effects), ["fuzz"], "{payload:?}");
        assert!(!outputs(&effects).is_empty(), "{payload:?}");
    }
}

#[test]
fn bridge_ping_without_configuration_reports_why() {
    let mut core = linked(&[]);
    let effects = core.pipe(link_message(
        "link",
        Some(r#"{"op":"bridge_ping","seq":4}"#),
    ));
    match &events(&effects)[..] {
        [(
            pipe,
            Ev::BridgeResult {
                seq: 4,
                ok: false,
                error: Some(e),
                ..
            },
        )] => {
            assert_eq!(pipe, "link");
            assert!(e.contains("bridge_url"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(unblocks(&effects), ["link"]);
}

const BRIDGE: [(&str, &str); 2] = [
    ("bridge_url", "http://127.0.0.1:4100"),
    ("bridge_token", "secret"),
];

/// Returns the web request to host-bridge among the effects: its context and its envelope.
fn bridge_request(
    effects: &[Effect],
) -> (BTreeMap<String, String>, bridge_protocol::RequestEnvelope) {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Bridge(bridge) => bridge.iter().find_map(|b| match b {
                bridge_client::Effect::Send {
                    url,
                    headers,
                    context,
                    body,
                } => {
                    assert_eq!(url, "http://127.0.0.1:4100/v1/rpc");
                    assert_eq!(headers["Authorization"], "Bearer secret");
                    Some((context.clone(), serde_json::from_slice(body).unwrap()))
                }
                _ => None,
            }),
            _ => None,
        })
        .expect("a web request to the bridge")
}

/// Delivers host-bridge's answer to request `id`.
fn bridge_answer(
    core: &mut Core,
    context: BTreeMap<String, String>,
    id: u64,
    response: bridge_protocol::Response,
) -> Vec<Effect> {
    let answer = serde_json::to_vec(&bridge_protocol::ResponseEnvelope::ok(id, response)).unwrap();
    let headers = BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
    core.update(Event::WebRequestResult(200, headers, answer, context))
}

#[test]
fn bridge_ping_goes_through_web_request_and_answers_on_the_link() {
    let mut core = linked(&BRIDGE);
    let effects = core.pipe(link_message(
        "link",
        Some(r#"{"op":"bridge_ping","seq":9}"#),
    ));
    assert!(
        events(&effects).is_empty(),
        "answers only when the bridge does"
    );
    let (context, envelope) = bridge_request(&effects);
    assert_eq!(envelope.body, bridge_protocol::Request::Ping);
    let effects = bridge_answer(
        &mut core,
        context,
        envelope.id,
        bridge_protocol::Response::Pong { server_time: 1 },
    );
    assert!(matches!(
        &events(&effects)[..],
        [(
            _,
            Ev::BridgeResult {
                seq: 9,
                ok: true,
                rtt_ms: Some(_),
                error: None
            }
        )]
    ));
}

#[test]
fn events_pushed_by_the_bridge_are_reported_on_the_link() {
    let mut core = linked(&[]);
    let message = PipeMessage {
        source: PipeSource::Cli("host-bridge-1".into()),
        name: bridge_protocol::PUSH_PIPE_NAME.into(),
        payload: Some(r#"{"topic":"workspace.test","data":{}}"#.into()),
        args: BTreeMap::new(),
        is_private: false,
    };
    let effects = core.pipe(message);
    assert_eq!(
        events(&effects),
        [(
            "link".to_owned(),
            Ev::BridgeEvent {
                topic: "workspace.test".into()
            }
        )]
    );
    // Not our pipe to unblock: Zellij does it once every plugin has seen the message.
    assert!(unblocks(&effects).is_empty());
}

fn notify_pipe(
    source: PipeSource,
    name: &str,
    args: &[(&str, &str)],
    payload: Option<&str>,
) -> PipeMessage {
    let args: BTreeMap<String, String> = args
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    PipeMessage::new(
        source,
        name,
        &payload.map(str::to_owned),
        &Some(args),
        false,
    )
}

#[test]
fn notify_pipe_is_validated_and_forwarded_on_the_link() {
    let mut core = linked(&[("coalesce_ms", "0")]);
    core.update(one_pane(80));
    let cli = || PipeSource::Cli("cli-1".to_owned());
    let effects = core.pipe(notify_pipe(
        cli(),
        "perth::notify",
        &[("pane_id", "1"), ("style", "error")],
        Some("Build failed"),
    ));
    let evs = events(&effects);
    assert_eq!(evs.len(), 1, "{effects:?}");
    assert_eq!(evs[0].0, "link");
    match &evs[0].1 {
        Ev::Notify {
            notify,
            source_pipe,
        } => {
            assert_eq!(notify.message, "Build failed");
            assert_eq!(notify.style, crate::notice::Style::Error);
            assert_eq!(source_pipe.as_deref(), Some("cli-1"));
        }
        other => panic!("expected notify, got {other:?}"),
    }
    assert_eq!(unblocks(&effects), vec!["cli-1".to_owned()]);
    // Errors go back to the CLI pipe, as text, and nothing reaches the link.
    for (args, payload, expected) in [
        (vec![("pane_id", "9")], Some("x"), "no pane terminal_9"),
        (
            vec![("pane_id", "1"), ("style", "loud")],
            Some("x"),
            "unknown style 'loud'",
        ),
        (vec![("style", "error")], Some("x"), "pane_id"),
        (vec![("pane_id", "1")], None, "needs a message"),
    ] {
        let effects = core.pipe(notify_pipe(cli(), "perth::notify", &args, payload));
        let text: Vec<&str> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::PipeOutput { pipe_id, line } if pipe_id == "cli-1" => Some(line.as_str()),
                _ => None,
            })
            .collect();
        assert!(text.len() == 1 && text[0].contains(expected), "{effects:?}");
        assert_eq!(unblocks(&effects), vec!["cli-1".to_owned()]);
    }
    let effects = core.pipe(notify_pipe(PipeSource::Keybind, "perth::clear", &[], None));
    assert!(matches!(
        &events(&effects)[0].1,
        Ev::Clear {
            pane: None,
            source_pipe: None
        }
    ));
}

#[test]
fn notices_raised_before_the_link_wait_for_its_hello() {
    let mut core = granted(&[("coalesce_ms", "0")]);
    core.update(one_pane(80));
    let cli = |n: u32| PipeSource::Cli(format!("cli-{n}"));
    for n in 0..3 {
        let effects = core.pipe(notify_pipe(
            cli(n),
            "perth::notify",
            &[("pane_id", "1"), ("style", "success")],
            Some(&format!("early {n}")),
        ));
        // Taken: the pipe is let go without an error, and nothing is written yet.
        assert!(events(&effects).is_empty(), "{effects:?}");
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::PipeOutput { .. })),
            "{effects:?}"
        );
        assert_eq!(unblocks(&effects), vec![format!("cli-{n}")]);
    }
    // A bad notice is still refused at once.
    let effects = core.pipe(notify_pipe(
        cli(9),
        "perth::notify",
        &[("pane_id", "9")],
        Some("x"),
    ));
    assert!(effects.iter().any(
        |e| matches!(e, Effect::PipeOutput { line, .. } if line.contains("no pane terminal_9"))
    ));
    let effects = core.pipe(link_message("link", Some(r#"{"op":"hello","version":1}"#)));
    let delivered: Vec<String> = events(&effects)
        .into_iter()
        .filter_map(|(pipe, ev)| match ev {
            Ev::Notify { notify, .. } if pipe == "link" => Some(notify.message),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, ["early 0", "early 1", "early 2"]);
    // Delivered once: a second hello (a reconnect) sends none of them again.
    let effects = core.pipe(link_message("link", Some(r#"{"op":"hello","version":1}"#)));
    assert!(!events(&effects)
        .iter()
        .any(|(_, ev)| matches!(ev, Ev::Notify { .. })));
}

#[test]
fn early_notices_are_kept_up_to_their_limit() {
    let mut core = granted(&[("coalesce_ms", "0")]);
    core.update(one_pane(80));
    let mut dropped = 0;
    for n in 0..crate::core::EARLY_LIMIT + 2 {
        let effects = core.pipe(notify_pipe(
            PipeSource::Keybind,
            "perth::notify",
            &[("pane_id", "1")],
            Some(&format!("n{n}")),
        ));
        dropped += effects
            .iter()
            .filter(|e| matches!(e, Effect::Log(text) if text.contains("dropped")))
            .count();
    }
    assert_eq!(dropped, 2);
    let effects = core.pipe(link_message("link", Some(r#"{"op":"hello","version":1}"#)));
    let first = events(&effects).into_iter().find_map(|(_, ev)| match ev {
        Ev::Notify { notify, .. } => Some(notify.message),
        _ => None,
    });
    assert_eq!(first.as_deref(), Some("n2"));
}

#[test]
fn notices_are_broadcast_to_other_plugins() {
    let mut core = linked(&[]);
    let notices =
        r#"{"op":"notices","notices":[{"pane":"terminal_1","style":"warning","message":"m"}]}"#;
    let effects = core.pipe(link_message("link", Some(notices)));
    let broadcast: Vec<&Effect> = effects
        .iter()
        .filter(|e| matches!(e, Effect::Broadcast { .. }))
        .collect();
    assert_eq!(broadcast.len(), 1, "{effects:?}");
    assert_eq!(core.notices().len(), 1);
    // The same list again broadcasts nothing; another plugin asking gets a copy.
    let effects = core.pipe(link_message("link", Some(notices)));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::Broadcast { .. })));
    let ask = notify_pipe(PipeSource::Plugin(99), "perth::notifications", &[], None);
    assert!(core
        .pipe(ask)
        .iter()
        .any(|e| matches!(e, Effect::Broadcast { .. })));
}

#[test]
fn agent_states_are_broadcast_to_other_plugins_on_their_pipe() {
    let mut core = linked(&[]);
    let agents = r#"{"op":"agents","agents":[{"pane_id":3,"state":"waiting","since_ms":5,"message":"Run tests?","program":"claude"}]}"#;
    let effects = core.pipe(link_message("link", Some(agents)));
    let broadcast: Vec<(&String, &String)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast { name, payload } => Some((name, payload)),
            _ => None,
        })
        .collect();
    assert_eq!(broadcast.len(), 1, "{effects:?}");
    assert_eq!(broadcast[0].0, "perth::agents");
    let sent: Vec<crate::link::AgentNotice> = serde_json::from_str(broadcast[0].1).unwrap();
    assert_eq!(sent[0].state, "waiting");
    assert_eq!(core.agents().len(), 1);
    assert!(!core
        .pipe(link_message("link", Some(agents)))
        .iter()
        .any(|e| matches!(e, Effect::Broadcast { .. })));
    let ask = notify_pipe(PipeSource::Plugin(99), "perth::agents", &[], None);
    assert!(core
        .pipe(ask)
        .iter()
        .any(|e| matches!(e, Effect::Broadcast { name, .. } if name == "perth::agents")));
}

#[test]
fn undrawn_notifications_are_highlighted_then_released() {
    let mut core = linked(&[]);
    let notices = |drawn: bool| {
        format!(
            r##"{{"op":"notices","notices":[{{"pane":"terminal_1","style":"error","message":"m","drawn":{drawn},"color":"#ef5350"}}]}}"##
        )
    };
    let highlights = |effects: &[Effect]| -> Vec<Effect> {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Highlight { .. }))
            .cloned()
            .collect()
    };
    let effects = core.pipe(link_message("link", Some(&notices(true))));
    assert!(
        highlights(&effects).is_empty(),
        "drawn on its frame: nothing to do"
    );
    let effects = core.pipe(link_message("link", Some(&notices(false))));
    assert_eq!(
        highlights(&effects),
        vec![Effect::Highlight {
            on: vec![crate::notice::PaneRef::Terminal(1)],
            off: vec![]
        }]
    );
    // And its background takes a dark shade of the style's colour, once.
    let tint = Effect::PaneBackground {
        pane: crate::notice::PaneRef::Terminal(1),
        bg: Some("#2f1010".into()),
    };
    assert!(effects.contains(&tint), "{effects:?}");
    let again = core.pipe(link_message("link", Some(&notices(false))));
    assert!(!again.contains(&tint), "{again:?}");
    let effects = core.pipe(link_message(
        "link",
        Some(r#"{"op":"notices","notices":[]}"#),
    ));
    assert_eq!(
        highlights(&effects),
        vec![Effect::Highlight {
            on: vec![],
            off: vec![crate::notice::PaneRef::Terminal(1)]
        }]
    );
    assert!(effects.contains(&Effect::PaneBackground {
        pane: crate::notice::PaneRef::Terminal(1),
        bg: None,
    }));
}

#[test]
fn tints_are_dark_shades_of_rgb_colours_only() {
    assert_eq!(
        crate::notice::dark_tint("#ff8000").as_deref(),
        Some("#331900")
    );
    assert_eq!(crate::notice::dark_tint("red"), None);
    assert_eq!(crate::notice::dark_tint("#12345"), None);
    assert_eq!(crate::notice::dark_tint("#gg0000"), None);
}

#[test]
fn a_late_instance_joins_the_link_on_its_first_ping() {
    let mut core = granted(&[("coalesce_ms", "0")]);
    core.update(one_pane(80));
    // A ping on a pipe the server did not open (a script's) is answered but not joined.
    core.pipe(link_message("script", Some(r#"{"op":"ping","seq":2}"#)));
    assert_eq!(core.link(), None);
    let effects = core.pipe(link_message(
        "perth-link-9-0",
        Some(r#"{"op":"ping","seq":3}"#),
    ));
    assert_eq!(core.link(), Some("perth-link-9-0"));
    let evs: Vec<Ev> = events(&effects).into_iter().map(|(_, ev)| ev).collect();
    assert!(matches!(evs[0], Ev::State(_)), "{evs:?}");
    assert_eq!(evs[1], Ev::Pong { seq: 3 });
    assert_eq!(
        events(&core.update(one_pane(81))).len(),
        1,
        "changes are pushed from now on"
    );
}

fn logged(first: bool, entry_type: &str, session: &str) -> bridge_protocol::Response {
    bridge_protocol::Response::ZdriveLogged {
        pane_name: "api-server".into(),
        entry: serde_json::json!({"entry_type": entry_type, "summary": "Released v2"}),
        total_entries: 3,
        session: Some(session.into()),
        pane_id: Some("terminal_1".into()),
        first,
    }
}

/// The native side names the session in its hello (background plugins get no session name in
/// mode updates).
fn in_session(core: &mut Core, name: &str) {
    core.pipe(link_message(
        "link",
        Some(&format!(
            r#"{{"op":"hello","version":1,"session":"{name}"}}"#
        )),
    ));
}

#[test]
fn zdrive_log_goes_to_the_bridge_holds_the_pipe_and_answers_it() {
    let mut core = linked(&[BRIDGE[0], BRIDGE[1], ("coalesce_ms", "0")]);
    core.update(one_pane(80));
    in_session(&mut core, "work");
    let message = notify_pipe(
        PipeSource::Cli("cli-1".into()),
        "zdrive::log",
        &[("pane", "api-server"), ("type", "milestone")],
        Some("Released v2\n"),
    );
    let effects = core.pipe(message);
    assert!(effects.contains(&Effect::Block {
        pipe_id: "cli-1".into()
    }));
    assert!(
        unblocks(&effects).is_empty(),
        "held until host-bridge answers"
    );
    let (context, envelope) = bridge_request(&effects);
    let bridge_protocol::Request::ZdriveLog { key, .. } = &envelope.body else {
        panic!("not a log: {:?}", envelope.body);
    };
    // Keyed by the pipe and the message's number on it: every instance agrees on it.
    assert!(
        key.as_deref().is_some_and(|k| k.starts_with("cli-1#1:")),
        "{key:?}"
    );
    assert_eq!(
        envelope.body,
        bridge_protocol::Request::ZdriveLog {
            pane: "api-server".into(),
            summary: "Released v2".into(),
            entry_type: Some("milestone".into()),
            source: None,
            artifacts: vec![],
            key: key.clone(),
        }
    );
    let effects = bridge_answer(
        &mut core,
        context,
        envelope.id,
        logged(true, "milestone", "work"),
    );
    assert!(effects.contains(&Effect::PipeOutput {
        pipe_id: "cli-1".into(),
        line: "logged milestone on api-server (3 entries)\n".into(),
    }));
    assert_eq!(unblocks(&effects), ["cli-1"]);
    // The zdrive pane showing api-server reads it again: the entry is stored.
    assert!(effects.contains(&Effect::Broadcast {
        name: bridge_protocol::ZDRIVE_LOGGED_PIPE.into(),
        payload: "api-server".into(),
    }));
    // The milestone lights its pane up: a success notification on the link.
    assert!(
        effects.iter().any(|e| matches!(e, Effect::PipeOutput { pipe_id, line }
            if pipe_id == "link" && matches!(decode_line(line).unwrap().ev, Ev::Notify { notify, source_pipe: Some(p) }
                if notify.message == "milestone: Released v2"
                    && notify.style == crate::notice::Style::Success
                    && p == "cli-1"))),
        "{effects:?}"
    );
}

#[test]
fn zdrive_log_repeats_and_failures_are_answered_once_and_clearly() {
    let mut core = linked(&BRIDGE);
    in_session(&mut core, "work");
    let send = |core: &mut Core, args: &[(&str, &str)], payload: Option<&str>| {
        core.pipe(notify_pipe(
            PipeSource::Cli("cli-2".into()),
            "zdrive::log",
            args,
            payload,
        ))
    };
    // Another client's instance logged it: this one neither answers nor unblocks.
    let effects = send(&mut core, &[("pane", "api-server")], Some("x"));
    let (context, envelope) = bridge_request(&effects);
    let effects = bridge_answer(
        &mut core,
        context,
        envelope.id,
        logged(false, "checkpoint", "work"),
    );
    assert!(effects.is_empty(), "{effects:?}");

    // A refusal shows host-bridge's message and hint, and lets the pipe go.
    let effects = send(&mut core, &[("pane", "a:b")], Some("x"));
    let (context, envelope) = bridge_request(&effects);
    let refusal = bridge_protocol::ResponseEnvelope::error(
        Some(envelope.id),
        bridge_protocol::ErrorBody::new(
            bridge_protocol::ErrorKind::BadRequest,
            "the pane name may not contain ':'",
        ),
    );
    let headers = BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
    let effects = core.update(Event::WebRequestResult(
        400,
        headers,
        serde_json::to_vec(&refusal).unwrap(),
        context,
    ));
    assert!(
        effects.contains(&Effect::PipeOutput {
            pipe_id: "cli-2".into(),
            line: "zdrive::log: the pane name may not contain ':'\n".into(),
        }),
        "{effects:?}"
    );
    assert_eq!(unblocks(&effects), ["cli-2"]);

    // A message without a pane never reaches the bridge.
    let effects = send(&mut core, &[], Some("x"));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Bridge(_))));
    assert!(
        matches!(&effects[..], [Effect::PipeOutput { line, .. }, Effect::Unblock { .. }]
        if line.contains("pane=NAME")),
        "{effects:?}"
    );

    // Without host-bridge settings the answer says so.
    let mut bare = linked(&[]);
    let effects = bare.pipe(notify_pipe(
        PipeSource::Cli("cli-3".into()),
        "zdrive::log",
        &[("pane", "a")],
        Some("x"),
    ));
    assert!(
        matches!(&effects[..], [Effect::PipeOutput { line, .. }, Effect::Unblock { .. }]
        if line.starts_with("zdrive::log: ")),
        "{effects:?}"
    );
}

/// Returns a linked core with a bridge, in session `work` started in `/w/widgets/trunk-main`.
fn in_project() -> Core {
    let mut core = linked(&BRIDGE);
    core.set_cwd("/w/widgets/trunk-main");
    in_session(&mut core, "work");
    core
}

fn imi_pipe(core: &mut Core, pipe_id: &str, name: &str, args: &[(&str, &str)]) -> Vec<Effect> {
    core.pipe(notify_pipe(
        PipeSource::Cli(pipe_id.into()),
        name,
        args,
        Some("now"),
    ))
}

#[test]
fn imi_add_asks_the_bridge_for_the_sessions_project_and_answers_the_pipe() {
    let mut core = in_project();
    let effects = imi_pipe(
        &mut core,
        "cli-1",
        "imi::add",
        &[("type", "feat"), ("name", "login")],
    );
    assert!(effects.contains(&Effect::Block {
        pipe_id: "cli-1".into()
    }));
    assert!(
        unblocks(&effects).is_empty(),
        "held until host-bridge answers"
    );
    let (context, envelope) = bridge_request(&effects);
    assert_eq!(
        envelope.body,
        bridge_protocol::Request::ImiAdd {
            cwd: "/w/widgets/trunk-main".into(),
            kind: "feat".into(),
            name: "login".into(),
            from: None,
            agent: None,
            session: Some("work".into()),
            key: Some("cli-1".into()),
        }
    );
    let report = serde_json::json!({
        "worktree": {"worktree_name": "feat-login", "branch": "feat/login"},
        "from": "main",
        "tab": {"name": "feat-login", "done": true},
    });
    let effects = bridge_answer(
        &mut core,
        context,
        envelope.id,
        bridge_protocol::Response::ImiAdded {
            report,
            first: true,
        },
    );
    assert_eq!(
        effects,
        [
            Effect::PipeOutput {
                pipe_id: "cli-1".into(),
                line: "created feat-login on branch feat/login from main; tab feat-login opened\n"
                    .into(),
            },
            Effect::Unblock {
                pipe_id: "cli-1".into()
            }
        ]
    );
    // `zellij pipe` with its input redirected sends one more message under the same id once
    // answered: it is not a second add.
    let again = imi_pipe(
        &mut core,
        "cli-1",
        "imi::add",
        &[("type", "feat"), ("name", "login")],
    );
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn imi_status_answers_one_line_per_worktree_and_cwd_names_another_project() {
    let mut core = in_project();
    let effects = imi_pipe(&mut core, "cli-2", "imi::status", &[("cwd", "/other")]);
    let (context, envelope) = bridge_request(&effects);
    assert_eq!(
        envelope.body,
        bridge_protocol::Request::ImiStatus {
            project: Some("/other".into()),
            key: Some("cli-2".into()),
            agents: true,
        }
    );
    let status = serde_json::json!({
        "project": "other",
        "trunk": {"name": "trunk-main", "type": "trunk", "branch": "main"},
        "worktrees": [{"name": "fix-x", "type": "fix", "branch": "fix/x", "dirty_files": 2}],
    });
    let effects = bridge_answer(
        &mut core,
        context,
        envelope.id,
        bridge_protocol::Response::ImiStatus {
            status,
            first: true,
        },
    );
    assert!(effects.contains(&Effect::PipeOutput {
        pipe_id: "cli-2".into(),
        line: "trunk-main  trunk  main  clean  ↑0 ↓0\nfix-x  fix  fix/x  ●2  ↑0 ↓0\n".into(),
    }));
    assert_eq!(unblocks(&effects), ["cli-2"]);
}

#[test]
fn imi_repeats_refusals_and_bad_messages_are_answered_once_and_clearly() {
    let mut core = in_project();
    // Another client's instance did the work: this one neither answers nor unblocks.
    let effects = imi_pipe(&mut core, "cli-3", "imi::open", &[("name", "login")]);
    let (context, envelope) = bridge_request(&effects);
    assert!(matches!(
        &envelope.body,
        bridge_protocol::Request::ImiOpen { name, session: Some(s), .. } if name == "login" && s == "work"
    ));
    let repeat = bridge_protocol::Response::ImiOpened {
        name: "feat-login".into(),
        path: "/w/widgets/feat-login".into(),
        tab: serde_json::json!({"name": "feat-login", "done": true}),
        first: false,
    };
    assert!(bridge_answer(&mut core, context, envelope.id, repeat).is_empty());

    // A refusal shows host-bridge's message and hint, and lets the pipe go.
    let effects = imi_pipe(&mut core, "cli-4", "imi::remove", &[("name", "login")]);
    let (context, envelope) = bridge_request(&effects);
    assert!(matches!(
        envelope.body,
        bridge_protocol::Request::ImiRemove {
            force: false,
            dry_run: false,
            ..
        }
    ));
    let refusal = bridge_protocol::ResponseEnvelope::error(
        Some(envelope.id),
        bridge_protocol::ErrorBody::new(
            bridge_protocol::ErrorKind::BadRequest,
            "worktree feat-login has 3 uncommitted files",
        )
        .with_hint("force=true discards them"),
    );
    let headers = BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
    let effects = core.update(Event::WebRequestResult(
        400,
        headers,
        serde_json::to_vec(&refusal).unwrap(),
        context,
    ));
    assert!(effects.contains(&Effect::PipeOutput {
        pipe_id: "cli-4".into(),
        line:
            "imi::remove: worktree feat-login has 3 uncommitted files (force=true discards them)\n"
                .into(),
    }));
    assert_eq!(unblocks(&effects), ["cli-4"]);

    // A message without a name never reaches the bridge.
    let effects = imi_pipe(&mut core, "cli-5", "imi::add", &[("type", "feat")]);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Bridge(_))));
    assert!(
        matches!(&effects[..], [Effect::PipeOutput { line, .. }, Effect::Unblock { .. }]
        if line.starts_with("imi::add: no worktree named")),
        "{effects:?}"
    );

    // Without the session's folder, or without host-bridge, the answer says so.
    let mut nowhere = linked(&BRIDGE);
    let effects = imi_pipe(&mut nowhere, "cli-6", "imi::status", &[]);
    assert!(
        matches!(&effects[..], [Effect::PipeOutput { line, .. }, Effect::Unblock { .. }]
        if line.contains("cwd=PATH")),
        "{effects:?}"
    );
    let mut bare = linked(&[]);
    bare.set_cwd("/w");
    let effects = imi_pipe(&mut bare, "cli-7", "imi::status", &[]);
    assert!(
        matches!(&effects[..], [Effect::PipeOutput { line, .. }, Effect::Unblock { .. }]
        if line.starts_with("imi::status: the plugin configuration has no `bridge_url`")),
        "{effects:?}"
    );
}

/// A piped `zellij pipe` sends each input line as a message of one pipe: each line is an entry
/// of its own (host-bridge logs each key once), and two clients' instances key them alike.
#[test]
fn each_line_of_a_piped_zdrive_log_gets_its_own_key_and_instances_agree() {
    let keys = |core: &mut Core| -> Vec<String> {
        ["same\n", "same\n", "other\n"]
            .iter()
            .map(|line| {
                let message = notify_pipe(
                    PipeSource::Cli("cli-7".into()),
                    "zdrive::log",
                    &[("pane", "api")],
                    Some(line),
                );
                let effects = core.pipe(message);
                let (_, envelope) = bridge_request(&effects);
                match envelope.body {
                    bridge_protocol::Request::ZdriveLog { key: Some(k), .. } => k,
                    other => panic!("not a keyed log: {other:?}"),
                }
            })
            .collect()
    };
    let instance = || {
        let mut core = linked(&[BRIDGE[0], BRIDGE[1], ("coalesce_ms", "0")]);
        core.update(one_pane(80));
        core
    };
    let mut first = instance();
    let mut second = instance();
    let a = keys(&mut first);
    assert_eq!(a, keys(&mut second));
    assert_eq!(
        a.iter().collect::<std::collections::BTreeSet<_>>().len(),
        3,
        "{a:?}"
    );
}

/// A bar of this instance's client that holds its permissions only after asking again asks on
/// `perth::refresh`: the client is switched to the mode it is in, so Zellij sends every bar
/// its mode again, and the state is reported (tabs and panes). Another client's request, or
/// one without a client, is not this instance's.
#[test]
fn a_refresh_request_of_this_client_switches_it_to_its_own_mode() {
    let refresh = |payload: Option<&str>| {
        notify_pipe(
            PipeSource::Plugin(4),
            bridge_protocol::REFRESH_PIPE,
            &[],
            payload,
        )
    };
    let switches = |effects: Vec<Effect>| -> Vec<InputMode> {
        effects
            .into_iter()
            .filter_map(|effect| match effect {
                Effect::SwitchMode(mode) => Some(mode),
                _ => None,
            })
            .collect()
    };
    // Before any mode update: the session's default mode, from the configuration.
    let mut core = granted(&[("default_mode", "locked")]);
    assert_eq!(switches(core.pipe(refresh(Some("1")))), [InputMode::Locked]);
    assert_eq!(switches(core.pipe(refresh(Some("2")))), []);
    assert_eq!(switches(core.pipe(refresh(None))), []);
    core.update(mode(InputMode::Pane));
    assert_eq!(switches(core.pipe(refresh(Some("1")))), [InputMode::Pane]);
    // Its own late grant asks the same.
    assert_eq!(
        switches(core.granted_after_asking_again()),
        [InputMode::Pane]
    );
    // Switching to a rename mode again would take the half-typed name for the old one; the
    // tabs and panes are reported all the same.
    core.update(mode(InputMode::RenameTab));
    let effects = core.pipe(refresh(Some("1")));
    assert!(effects.contains(&Effect::ReportState), "{effects:?}");
    assert_eq!(switches(effects), []);
    assert!(!core.pipe(refresh(Some("2"))).contains(&Effect::ReportState));
    // Without a default mode configured, a client starts in normal mode.
    let mut core = granted(&[]);
    assert_eq!(switches(core.pipe(refresh(Some("1")))), [InputMode::Normal]);
}

#[test]
fn an_unknown_default_mode_is_reported_and_normal_is_used() {
    let mut core = Core::default();
    let configuration = BTreeMap::from([("default_mode".to_owned(), "sideways".to_owned())]);
    let effects = core.load(&configuration, Some(IDS));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Log(line)
            if line.contains("default_mode \"sideways\" is not an input mode"))),
        "{effects:?}"
    );
}

/// A refresh asked for before this instance holds its permissions (it met the race as well)
/// would be denied: it is made once the grant comes.
#[test]
fn a_refresh_asked_before_the_grant_is_made_with_it() {
    let mut core = loaded(&[("default_mode", "locked")]);
    let refresh = notify_pipe(
        PipeSource::Plugin(4),
        bridge_protocol::REFRESH_PIPE,
        &[],
        Some("1"),
    );
    let early = core.pipe(refresh);
    assert!(
        !early
            .iter()
            .any(|e| matches!(e, Effect::SwitchMode(_) | Effect::ReportState)),
        "{early:?}"
    );
    let granted = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert!(
        granted.contains(&Effect::SwitchMode(InputMode::Locked)),
        "{granted:?}"
    );
    assert!(granted.contains(&Effect::ReportState), "{granted:?}");
    // Once only.
    let again = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert!(!again.contains(&Effect::ReportState), "{again:?}");
}

/// An answer to a CLI pipe that is ready before this instance holds its permissions (its
/// grant came late and it asked again) is written once the grant comes, not lost.
#[test]
fn a_pipe_answered_before_the_grant_is_answered_with_it() {
    let mut core = loaded(&[]);
    let cli = PipeSource::Cli("p1".to_owned());
    let early = core.pipe(notify_pipe(
        cli,
        crate::link::ZDRIVE_LOG_PIPE,
        &[("pane", "api")],
        Some("step 1"),
    ));
    assert!(
        !early
            .iter()
            .any(|e| matches!(e, Effect::PipeOutput { .. } | Effect::Unblock { .. })),
        "{early:?}"
    );
    let granted = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    let answered: Vec<&str> = granted
        .iter()
        .filter_map(|e| match e {
            Effect::PipeOutput { pipe_id, line } if pipe_id == "p1" => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(answered.len(), 1, "{granted:?}");
    assert!(answered[0].starts_with("zdrive::log: "), "{answered:?}");
    assert!(
        granted.contains(&Effect::Unblock {
            pipe_id: "p1".to_owned()
        }),
        "{granted:?}"
    );
}

/// A malformed `perth::notify` from the command line, before this instance holds its
/// permissions: its error waits for the grant like any answer.
#[test]
fn a_notify_error_before_the_grant_is_answered_with_it() {
    let mut core = loaded(&[]);
    let cli = PipeSource::Cli("p2".to_owned());
    let early = core.pipe(notify_pipe(cli, "perth::notify", &[], None));
    assert!(
        !early.iter().any(|e| matches!(e, Effect::PipeOutput { .. })),
        "{early:?}"
    );
    let granted = core.update(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert!(
        granted.iter().any(|e| matches!(e,
            Effect::PipeOutput { pipe_id, line } if pipe_id == "p2" && line.starts_with("perth::notify: "))),
        "{granted:?}"
    );
    assert!(
        granted.contains(&Effect::Unblock {
            pipe_id: "p2".to_owned()
        }),
        "{granted:?}"
    );
}
