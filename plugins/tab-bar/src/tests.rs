//! The bar driven natively through its public surface: Zellij events, mouse and pushed events
//! in, host-bridge answers fed back, and the row it draws (snapshot tests).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bridge_protocol::{ErrorBody, ErrorKind, Request, RequestEnvelope, Response, ResponseEnvelope};
use serde_json::json;
use zellij_tile::prelude::{
    Event, EventType, InputMode, ModeInfo, Mouse, PaneInfo, PaneManifest, PermissionStatus,
    PipeMessage, PipeSource, TabInfo,
};

use crate::app::{App, Effect, POLL};
use crate::view;

const CWD: &str = "/work/widgets/trunk-main";
const PLUGIN_ID: u32 = 7;

/// A request the bar sent: its id, its body, and the context its answer must carry.
type Sent = (u64, Request, BTreeMap<String, String>);

/// A bar with a bridge, whose requests the test answers.
struct Harness {
    app: App,
    clock: Instant,
    /// Requests sent and not answered yet, oldest first.
    sent: VecDeque<Sent>,
    /// Effects other than bridge sends, in order.
    effects: Vec<Effect>,
}

impl Harness {
    /// Returns a bar granted its permissions, in session `work`, on tabs `workspace` (active),
    /// `feat-login` and `fix-crash`, with the first status request answered by [`status`].
    fn new() -> Harness {
        let mut h = Harness::bare(true);
        h.grant();
        h.tabs(&["workspace", "feat-login", "fix-crash"], 0);
        h.answer_status(status());
        h.effects.clear();
        h
    }

    /// Returns a loaded bar whose permissions are not granted yet.
    fn bare(with_bridge: bool) -> Harness {
        let mut h = Harness {
            app: App::default(),
            clock: Instant::now(),
            sent: VecDeque::new(),
            effects: Vec::new(),
        };
        let mut config = BTreeMap::new();
        if with_bridge {
            config.insert("bridge_url".to_owned(), "http://127.0.0.1:4000".to_owned());
            config.insert("bridge_token".to_owned(), "tok".to_owned());
        }
        let loaded = h.app.load(&config, Some(CWD.into()), Some(PLUGIN_ID));
        h.take(loaded);
        h
    }

    fn grant(&mut self) {
        self.event(Event::PermissionRequestResult(PermissionStatus::Granted));
        self.event(Event::ModeUpdate(ModeInfo {
            session_name: Some("work".into()),
            ..Default::default()
        }));
    }

    /// Keeps the effects, reading the requests out of the bridge's sends.
    fn take(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            let Effect::Bridge(bridge) = effect else {
                self.effects.push(effect);
                continue;
            };
            self.sent.extend(bridge.into_iter().filter_map(|e| match e {
                bridge_client::Effect::Send { body, context, .. } => {
                    let envelope: RequestEnvelope = serde_json::from_slice(&body).ok()?;
                    Some((envelope.id, envelope.body, context))
                }
                bridge_client::Effect::WakeAfter(_) => None,
            }));
        }
    }

    fn event(&mut self, event: Event) -> bool {
        let (render, effects) = self.app.update(event, self.clock);
        self.take(effects);
        render
    }

    /// Sends a tab update: `names` in order, the one at `active` active.
    fn tabs(&mut self, names: &[&str], active: usize) -> bool {
        let tabs = names
            .iter()
            .enumerate()
            .map(|(position, name)| TabInfo {
                position,
                name: (*name).to_owned(),
                active: position == active,
                ..Default::default()
            })
            .collect();
        self.event(Event::TabUpdate(tabs))
    }

    /// Says which tab holds this instance of the bar.
    fn place_in_tab(&mut self, position: usize) {
        let me = PaneInfo {
            id: PLUGIN_ID,
            is_plugin: true,
            ..Default::default()
        };
        let other = PaneInfo {
            id: 1,
            is_plugin: false,
            ..Default::default()
        };
        let panes = HashMap::from([(position, vec![me]), (position + 10, vec![other])]);
        self.event(Event::PaneUpdate(PaneManifest { panes }));
    }

    /// Lets `after` pass and delivers the timer event.
    fn wait(&mut self, after: Duration) -> bool {
        self.clock += after;
        self.event(Event::Timer(after.as_secs_f64()))
    }

    /// Removes and returns the oldest unanswered request.
    fn next_request(&mut self) -> Sent {
        self.sent
            .pop_front()
            .expect("a request to host-bridge was expected")
    }

    fn reply(&mut self, context: BTreeMap<String, String>, envelope: ResponseEnvelope, code: u16) {
        let headers = BTreeMap::from([("content-type".into(), "application/json".into())]);
        let body = serde_json::to_vec(&envelope).unwrap();
        self.event(Event::WebRequestResult(code, headers, body, context));
    }

    /// Answers the status request the bar sent, checking what it asked.
    fn answer_status(&mut self, status: serde_json::Value) {
        let (id, request, context) = self.next_request();
        assert_eq!(
            request,
            Request::ImiStatus {
                project: Some(CWD.into()),
                key: None,
                agents: false,
            }
        );
        let response = Response::ImiStatus {
            status,
            first: true,
        };
        self.reply(context, ResponseEnvelope::ok(id, response), 200);
    }

    fn pipe(&mut self, message: PipeMessage) -> bool {
        let (render, effects) = self.app.pipe(message, self.clock);
        self.take(effects);
        render
    }

    /// Returns the bar `cols` wide with its styles.
    fn markup(&self, cols: usize) -> String {
        view::bar(&self.app, cols).line.to_markup()
    }

    /// Returns the bar's text `cols` wide, trailing blanks shown as one `·` per ten.
    fn text(&self, cols: usize) -> String {
        let line = view::bar(&self.app, cols).line;
        assert_eq!(line.width(), cols, "the bar fills its row");
        let text = line.plain_text();
        let trimmed = text.trim_end();
        let blanks = text.len() - trimmed.len();
        format!("{trimmed}|{}", blanks)
    }

    /// Draws the bar `cols` wide, as Zellij's render does, and returns it.
    fn draw(&mut self, cols: usize) -> view::Bar {
        let bar = view::bar(&self.app, cols);
        self.app.drawn(bar.hits.clone());
        bar
    }

    fn click(&mut self, col: usize) -> Vec<Effect> {
        self.effects.clear();
        self.event(Event::Mouse(Mouse::LeftClick(0, col)));
        std::mem::take(&mut self.effects)
    }
}

fn worktree(name: &str, branch: &str, dirty: u64, ahead: u64, behind: u64) -> serde_json::Value {
    json!({
        "name": name, "type": "feat", "branch": branch, "path": format!("/work/widgets/{name}"),
        "dirty_files": dirty, "ahead": ahead, "behind": behind,
        "upstream": null, "last_commit": "Initial import", "agent_id": null,
    })
}

/// Trunk and two worktrees: one with work in progress, one behind trunk.
fn status() -> serde_json::Value {
    json!({
        "repository": "widgets",
        "trunk": worktree("trunk-main", "main", 0, 0, 0),
        "worktrees": [
            worktree("feat-login", "feat/login", 3, 2, 0),
            worktree("fix-crash", "fix/crash-on-empty-cart", 0, 0, 4),
        ],
        "database_updated": true,
    })
}

fn push(topic: &str) -> PipeMessage {
    PipeMessage {
        source: PipeSource::Cli("1".into()),
        name: bridge_client::PUSH_PIPE_NAME.into(),
        payload: Some(json!({"topic": topic, "data": {}}).to_string()),
        args: BTreeMap::new(),
        is_private: false,
    }
}

#[test]
fn loading_subscribes_asks_for_permissions_and_never_takes_the_focus() {
    let h = Harness::bare(true);
    assert_eq!(h.effects[0], Effect::SetSelectable(false));
    let Effect::Subscribe(events) = &h.effects[1] else {
        panic!("{:?}", h.effects)
    };
    for wanted in [
        EventType::TabUpdate,
        EventType::ModeUpdate,
        EventType::Mouse,
    ] {
        assert!(events.contains(&wanted), "{wanted:?}");
    }
    assert_eq!(
        h.effects[2],
        Effect::RequestPermission(crate::PERMISSIONS.to_vec())
    );
    assert!(h.sent.is_empty(), "nothing is asked before the grant");
}

#[test]
fn worktree_tabs_show_their_branch_and_compact_status() {
    let h = Harness::new();
    assert_eq!(
        h.text(100),
        " perth (work)  workspace   feat-login ⎇ feat/login ●3 ↑2   fix-crash ⎇ fix/crash-on-empty-cart ↓4|3"
    );
    insta::assert_snapshot!(h.markup(100), @"{fg=245,bg=238| perth (}{b,fg=154,bg=238|work}{fg=245,bg=238|) }{b,fg=16,bg=154| workspace }{fg=245,bg=238| }{fg=16,bg=238| feat-login ⎇ feat/login ●3 ↑2 }{fg=245,bg=238| }{fg=16,bg=238| fix-crash ⎇ fix/crash-on-empty-cart ↓4 }{fg=245,bg=238|  }");
}

#[test]
fn badges_give_way_before_tabs_collapse() {
    let mut h = Harness::new();
    h.tabs(&["workspace", "feat-login", "fix-crash", "notes"], 1);
    let widths = [100, 80, 72, 62, 50, 40, 30, 20, 12, 6];
    let lines: Vec<String> = widths
        .iter()
        .map(|cols| format!("{cols:>3} {}", h.text(*cols)))
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @r"
    100  perth (work)  workspace   feat-login ⎇ login ●3 ↑2   fix-crash ⎇ crash-on-em… ↓4   notes|11
     80  perth (work)  workspace   feat-login ●3 ↑2   fix-crash ↓4   notes|14
     72  perth (work)  workspace   feat-login ●3 ↑2   fix-crash ↓4   notes|6
     62  perth (work)  workspace   feat-login   fix-crash   notes|5
     50  perth (work)  workspace   feat-login ●3 ↑2  +2 →|1
     40  perth (work)  ← +1  feat-login  +2 →|3
     30  ← +1  feat-login ●3 ↑2  +2 →|1
     20  feat-login|9
     12  feat-login|1
      6  fea…|1
    ");
}

#[test]
fn many_tabs_collapse_around_the_active_one_and_markers_switch() {
    let mut h = Harness::new();
    let names: Vec<String> = (1..=12).map(|i| format!("Tab #{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    h.tabs(&names, 6);
    assert_eq!(
        h.text(60),
        " perth (work)  ← +5  Tab #6   Tab #7   Tab #8  +4 →|9"
    );
    let bar = h.draw(60);
    // The left marker switches to the nearest hidden tab, the right one likewise.
    let marker_col = " perth (work) ".len() + 2;
    assert_eq!(h.click(marker_col), [Effect::SwitchTab(5)]);
    let right = bar.hits.last().unwrap();
    assert_eq!(right.position, 8);
    assert_eq!(h.click(right.start + 1), [Effect::SwitchTab(9)]);
    // The first and the last tab active: the collapse leans to the other side.
    h.tabs(&names, 0);
    assert_eq!(
        h.text(60),
        " perth (work)  Tab #1   Tab #2   Tab #3   Tab #4  +8 →|6"
    );
    h.tabs(&names, 11);
    assert_eq!(
        h.text(60),
        " perth (work)  ← +8  Tab #9   Tab #10   Tab #11   Tab #12|3"
    );
}

#[test]
fn clicks_and_scrolling_switch_tabs() {
    let mut h = Harness::new();
    let text = h.draw(100).line.plain_text();
    let col_of =
        |needle: &str| text.chars().count() - text[text.find(needle).unwrap()..].chars().count();
    assert_eq!(h.click(col_of("fix-crash")), [Effect::SwitchTab(3)]);
    // Within the label, badge included, of the second tab.
    assert_eq!(h.click(col_of("●3")), [Effect::SwitchTab(2)]);
    // The active tab, the session's name and the blank stretch do nothing.
    assert_eq!(h.click(col_of("workspace")), []);
    assert_eq!(h.click(2), []);
    assert_eq!(h.click(99), []);
    let mut scroll = |mouse| {
        h.effects.clear();
        h.event(Event::Mouse(mouse));
        std::mem::take(&mut h.effects)
    };
    assert_eq!(scroll(Mouse::ScrollDown(1)), [Effect::SwitchTab(2)]);
    assert_eq!(scroll(Mouse::ScrollUp(1)), []);
    h.tabs(&["workspace", "feat-login", "fix-crash"], 2);
    let mut scroll = |mouse| {
        h.effects.clear();
        h.event(Event::Mouse(mouse));
        std::mem::take(&mut h.effects)
    };
    assert_eq!(scroll(Mouse::ScrollUp(1)), [Effect::SwitchTab(2)]);
    assert_eq!(scroll(Mouse::ScrollDown(1)), []);
}

#[test]
fn the_active_tab_and_session_take_the_modes_colour_and_markers_show() {
    let mut h = Harness::new();
    let mut tabs = h.app.tabs.clone();
    tabs[0].is_fullscreen_active = true;
    tabs[0].is_sync_panes_active = true;
    tabs[0].are_floating_panes_visible = true;
    tabs[0].selectable_floating_panes_count = 1;
    h.event(Event::TabUpdate(tabs));
    for (mode, color) in [
        (InputMode::Locked, "124"),
        (InputMode::Pane, "166"),
        (InputMode::Normal, "154"),
    ] {
        let redraw = h.event(Event::ModeUpdate(ModeInfo {
            mode,
            session_name: Some("work".into()),
            ..Default::default()
        }));
        assert!(redraw, "{mode:?}");
        let markup = h.markup(100);
        let active =
            format!("{{b,fg=16,bg={color}| workspace}}{{fg=16,bg={color}| (FULL) (SYNC) (FLOAT)}}");
        assert!(markup.contains(&active), "{mode:?}: {markup}");
        assert!(
            markup.contains(&format!("{{b,fg={color},bg=238|work}}")),
            "{mode:?}: {markup}"
        );
    }
    // A session that hides its name shows the tabs alone.
    let mut mode = ModeInfo {
        session_name: Some("work".into()),
        ..Default::default()
    };
    mode.style.hide_session_name = true;
    h.event(Event::ModeUpdate(mode));
    assert!(
        h.text(100).starts_with(" workspace (FULL)"),
        "{}",
        h.text(100)
    );
}

#[test]
fn names_from_outside_are_printed_inert() {
    let mut h = Harness::new();
    h.tabs(&["evil\u{1b}[2J", "feat-login"], 0);
    assert!(
        h.text(80).starts_with(" perth (work)  evil^[[2J "),
        "{}",
        h.text(80)
    );
}

#[test]
fn pushes_about_worktrees_read_the_status_again_once_at_a_time() {
    let mut h = Harness::new();
    // Not about worktrees, or not host-bridge's: nothing.
    h.pipe(push("workspace.intent.logged"));
    let other = PipeMessage {
        name: "perth::notifications".into(),
        ..push("workspace.worktree.changed")
    };
    h.pipe(other);
    assert!(h.sent.is_empty());
    h.pipe(push("workspace.worktree.changed"));
    assert_eq!(h.sent.len(), 1);
    // A second push while the first read runs is read once more afterwards.
    h.pipe(push("workspace.worktree.removed"));
    h.pipe(push("workspace.worktree.changed"));
    assert_eq!(h.sent.len(), 1);
    let mut fewer = status();
    fewer["worktrees"] = json!([worktree("feat-login", "feat/login", 0, 0, 0)]);
    h.answer_status(fewer.clone());
    assert_eq!(h.sent.len(), 1, "one more read for the pushes that waited");
    h.answer_status(fewer);
    assert!(h.sent.is_empty());
    assert_eq!(
        h.text(80),
        " perth (work)  workspace   feat-login ⎇ feat/login   fix-crash|18"
    );
}

#[test]
fn only_the_shown_bar_polls_and_a_hidden_one_catches_up_when_shown() {
    let mut h = Harness::new();
    // Shown, with worktree tabs: the timer reads every POLL.
    assert!(h.effects.is_empty() || h.effects.iter().all(|e| matches!(e, Effect::WakeAfter(_))));
    h.wait(POLL);
    h.answer_status(status());
    assert!(h.sent.is_empty());
    h.wait(POLL / 2);
    assert!(h.sent.is_empty(), "not before its time");
    h.wait(POLL / 2);
    h.answer_status(status());

    // This instance lives in tab 0; the client moves to tab 1: hidden, it reads nothing.
    h.place_in_tab(0);
    h.tabs(&["workspace", "feat-login", "fix-crash"], 1);
    assert!(!h.app.visible());
    h.wait(POLL);
    h.wait(POLL);
    assert!(h.sent.is_empty());
    h.pipe(push("workspace.worktree.changed"));
    assert!(h.sent.is_empty(), "hidden: the push is kept for later");
    // Shown again: it reads at once, and the timer runs again.
    h.effects.clear();
    h.tabs(&["workspace", "feat-login", "fix-crash"], 0);
    assert!(h.app.visible());
    h.answer_status(status());
    assert!(
        h.effects.contains(&Effect::WakeAfter(POLL)),
        "{:?}",
        h.effects
    );
    h.wait(POLL);
    h.answer_status(status());

    // The Visible event stands in until pane updates place the bar.
    let mut h = Harness::new();
    h.event(Event::Visible(false));
    h.wait(POLL);
    assert!(h.sent.is_empty());
}

#[test]
fn without_worktree_tabs_the_timer_reads_nothing() {
    let mut h = Harness::new();
    h.tabs(&["workspace", "notes"], 0);
    h.wait(POLL);
    // The pending tick ends the polling.
    assert!(h.sent.is_empty());
    h.wait(POLL);
    assert!(h.sent.is_empty());
    // A tab named like a worktree appears (iMi opened one): read at once, then poll again.
    h.tabs(&["workspace", "notes", "feat-new"], 0);
    let mut with_new = status();
    with_new["worktrees"] = json!([worktree("feat-new", "feat/new", 1, 0, 0)]);
    h.answer_status(with_new);
    assert!(
        h.text(80).contains(" feat-new ⎇ feat/new ●1"),
        "{}",
        h.text(80)
    );
    h.wait(POLL);
    assert_eq!(h.sent.len(), 1);
}

#[test]
fn pane_events_are_wanted_only_while_worktree_tabs_are_open() {
    let pane_events = || Effect::Subscribe(crate::app::PANE_EVENTS.to_vec());
    let mut h = Harness::bare(true);
    h.grant();
    h.tabs(&["workspace", "notes"], 0);
    assert!(
        !h.effects.contains(&pane_events()),
        "no worktree tab, no pane events: {:?}",
        h.effects
    );
    h.tabs(&["workspace", "notes", "feat-new"], 0);
    assert!(h.effects.contains(&pane_events()), "{:?}", h.effects);
    let mut one = status();
    one["worktrees"] = json!([worktree("feat-new", "feat/new", 1, 0, 0)]);
    h.answer_status(one);
    h.effects.clear();
    h.tabs(&["workspace", "notes"], 0);
    assert_eq!(
        h.effects,
        [Effect::Unsubscribe(crate::app::PANE_EVENTS.to_vec())]
    );
}

#[test]
fn a_failing_bridge_leaves_the_tabs_without_status_and_logs_once() {
    let mut h = Harness::new();
    h.pipe(push("workspace.worktree.changed"));
    let (id, _, context) = h.next_request();
    h.effects.clear();
    let refusal = ErrorBody::new(ErrorKind::BadRequest, "not an iMi project");
    h.reply(
        context,
        ResponseEnvelope::error(Some(id), refusal.clone()),
        400,
    );
    assert_eq!(
        h.text(60),
        " perth (work)  workspace   feat-login   fix-crash|11"
    );
    assert_eq!(
        h.effects,
        [
            Effect::Log("perth-tab-bar: no worktree status: not an iMi project".into()),
            // Nothing to read on a timer: which tab holds the bar no longer matters.
            Effect::Unsubscribe(crate::app::PANE_EVENTS.to_vec()),
        ]
    );
    // The same failure again is not logged again.
    h.pipe(push("workspace.worktree.changed"));
    let (id, _, context) = h.next_request();
    h.effects.clear();
    h.reply(context, ResponseEnvelope::error(Some(id), refusal), 400);
    assert!(!h.effects.iter().any(|e| matches!(e, Effect::Log(_))));
    // A connection refused until the deadline (Zellij: 400 without headers).
    h.pipe(push("workspace.worktree.changed"));
    let (_, _, context) = h.next_request();
    h.event(Event::WebRequestResult(
        400,
        BTreeMap::new(),
        b"connection refused".to_vec(),
        context,
    ));
    h.wait(Duration::from_secs(11));
    assert_eq!(h.app.worktrees.len(), 0);
    assert!(h.text(60).contains("feat-login"));
}

#[test]
fn without_a_bridge_the_bar_shows_the_tabs() {
    let mut h = Harness::bare(false);
    assert!(h
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Log(l) if l.contains("bridge_url"))));
    h.grant();
    h.tabs(&["workspace", "feat-login"], 1);
    h.pipe(push("workspace.worktree.changed"));
    h.wait(POLL);
    assert!(h.sent.is_empty());
    assert_eq!(h.text(50), " perth (work)  workspace   feat-login|13");
}

#[test]
fn a_session_without_worktree_tabs_asks_nothing_when_it_starts() {
    let mut h = Harness::bare(true);
    h.grant();
    h.tabs(&["workspace", "notes"], 0);
    assert!(h.sent.is_empty(), "{:?}", h.sent);
    h.wait(POLL);
    assert!(h.sent.is_empty(), "{:?}", h.sent);
    // A push about worktrees is still read at once.
    h.pipe(push("workspace.worktree.created"));
    assert_eq!(h.sent.len(), 1);
}

/// perth's server broadcasts `perth::redraw` when a client attached: the bar draws again (a
/// returning client id is otherwise shown a blank copy of it), and no request goes out.
#[test]
fn the_redraw_pipe_draws_the_bar_again_and_asks_nothing() {
    let mut h = Harness::new();
    h.effects.clear();
    let redraw = PipeMessage {
        name: bridge_protocol::REDRAW_PIPE.into(),
        payload: None,
        ..push("unused")
    };
    assert!(h.pipe(redraw));
    assert!(h.effects.is_empty(), "{:?}", h.effects);
    let other = PipeMessage {
        name: "someone::else".into(),
        ..push("imi.worktree.created")
    };
    assert!(!h.pipe(other));
}

/// A grant that comes long after the bar asked was a question perth's server answered, which
/// Zellij may have applied to another client's instance: the bar asks again (Zellij then finds
/// the grant in its cache and applies it to this instance). A prompt grant asks nothing; a
/// prompt grant to asking again asks perth-core for the updates dropped before it.
#[test]
fn a_late_grant_makes_the_bar_ask_again() {
    let mut prompt = Harness::bare(false);
    prompt.effects.clear();
    prompt.event(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert!(
        !prompt
            .effects
            .iter()
            .any(|e| matches!(e, Effect::RequestPermission(_))),
        "{:?}",
        prompt.effects
    );
    let mut late = Harness::bare(false);
    late.effects.clear();
    late.clock += bridge_protocol::ASK_AGAIN_AFTER + Duration::from_millis(50);
    late.event(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert_eq!(
        late.effects
            .iter()
            .filter(|e| matches!(e, Effect::RequestPermission(_)))
            .count(),
        1,
        "{:?}",
        late.effects
    );
    // The prompt grant to asking again: the bar holds its permissions, and asks for the mode
    // Zellij handed it before them (dropped), once.
    late.effects.clear();
    late.event(Event::PermissionRequestResult(PermissionStatus::Granted));
    let asked: Vec<_> = late
        .effects
        .iter()
        .filter(|e| !matches!(e, Effect::WakeAfter(_)))
        .collect();
    assert_eq!(asked, [&Effect::AskForUpdates]);
    assert!(!prompt.effects.contains(&Effect::AskForUpdates));
}

/// A bar asking for its lost mode on a timer: it asks, and sets the timer that asks again if
/// nothing answers.
const ASKED_AND_FOLLOWED_UP: [Effect; 2] = [
    Effect::AskForUpdates,
    Effect::WakeAfter(bridge_protocol::MODE_ASK_EVERY),
];

/// Zellij sends a loaded bar its client's mode before the tabs, and again only when the mode
/// changes: tabs that come with no mode seen mean the mode update was dropped (denied while
/// the permissions were set on another instance), and the bar asks perth-core for it, at most
/// once a second, until it comes. A bar that has its mode asks nothing.
#[test]
fn tabs_without_the_mode_make_the_bar_ask_for_it_until_it_comes() {
    let mut h = Harness::bare(false);
    h.event(Event::PermissionRequestResult(PermissionStatus::Granted));
    h.effects.clear();
    // The grant's timer is set: no other.
    h.tabs(&["workspace"], 0);
    assert_eq!(h.effects, [Effect::AskForUpdates]);
    h.effects.clear();
    h.tabs(&["workspace", "feat-login"], 0);
    assert!(h.effects.is_empty(), "{:?}", h.effects);
    h.clock += bridge_protocol::MODE_ASK_EVERY;
    h.tabs(&["workspace"], 0);
    assert_eq!(h.effects, [Effect::AskForUpdates]);
    h.effects.clear();
    // Nothing answered and no update comes: the timer asks again, and sets the next one.
    h.clock += bridge_protocol::MODE_ASK_EVERY;
    h.event(Event::Timer(1.0));
    assert_eq!(h.effects, ASKED_AND_FOLLOWED_UP);
    h.effects.clear();
    h.event(Event::ModeUpdate(ModeInfo {
        session_name: Some("work".into()),
        ..Default::default()
    }));
    h.clock += bridge_protocol::MODE_ASK_EVERY * 5;
    h.tabs(&["workspace", "feat-login"], 1);
    assert!(h.effects.is_empty(), "{:?}", h.effects);

    let mut usual = Harness::new();
    usual.tabs(&["workspace", "feat-login"], 1);
    assert!(!usual.effects.contains(&Effect::AskForUpdates));
}

/// A bar granted while its first updates were on their way may get neither its mode nor its
/// tabs, and nothing changes after to bring them: a second after the grant, with no mode, it
/// asks perth-core for them. A bar whose mode came asks nothing.
#[test]
fn a_grant_with_no_mode_after_it_asks_for_the_mode_a_second_later() {
    let mut lost = Harness::bare(false);
    lost.event(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert!(
        lost.effects
            .contains(&Effect::WakeAfter(bridge_protocol::MODE_WAIT_AFTER_GRANT)),
        "{:?}",
        lost.effects
    );
    lost.effects.clear();
    lost.event(Event::Timer(0.0));
    assert!(!lost.effects.contains(&Effect::AskForUpdates));
    lost.clock += bridge_protocol::MODE_WAIT_AFTER_GRANT;
    lost.event(Event::Timer(1.0));
    assert_eq!(lost.effects, ASKED_AND_FOLLOWED_UP);

    let mut usual = Harness::new();
    usual.effects.clear();
    usual.clock += bridge_protocol::MODE_WAIT_AFTER_GRANT * 3;
    usual.event(Event::Timer(1.0));
    assert!(!usual.effects.contains(&Effect::AskForUpdates));
}
