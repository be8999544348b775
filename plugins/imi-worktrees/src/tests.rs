//! The pane driven natively through its public surface: Zellij events and keys in, host-bridge
//! answers fed back, and the screen it draws (snapshot tests).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bridge_protocol::{ErrorBody, ErrorKind, Request, RequestEnvelope, Response, ResponseEnvelope};
use serde_json::json;
use zellij_tile::prelude::{
    BareKey, Event, KeyModifier, KeyWithModifier, ModeInfo, PermissionStatus, PipeMessage,
    PipeSource,
};

use crate::app::{App, Effect, Mode};
use crate::view;

const CWD: &str = "/work/widgets/trunk-main";

/// A request the pane sent: its id, its body, and the context its answer must carry.
type Sent = (u64, Request, BTreeMap<String, String>);

/// A pane with a bridge, whose requests the test answers.
struct Harness {
    app: App,
    clock: Instant,
    /// Requests sent and not answered yet, oldest first.
    sent: VecDeque<Sent>,
    /// Effects other than bridge sends, in order.
    effects: Vec<Effect>,
}

impl Harness {
    /// Returns a pane that has been granted its permissions and knows its session, with the
    /// first status request answered by [`status`].
    fn new() -> Harness {
        let mut h = Harness::bare();
        h.event(Event::PermissionRequestResult(PermissionStatus::Granted));
        let (id, request, context) = h.next_request();
        assert_eq!(
            request,
            Request::ImiStatus {
                project: Some(CWD.into()),
                key: None,
                agents: true,
            }
        );
        h.answer(
            id,
            context,
            Response::ImiStatus {
                status: status(),
                first: true,
            },
        );
        // Subscribing, the permission request and the pane's title are behind us.
        h.effects.clear();
        h
    }

    /// Returns a loaded pane whose permissions are not granted yet.
    fn bare() -> Harness {
        let mut h = Harness::bare_without_session();
        let mode = ModeInfo {
            session_name: Some("work".into()),
            ..Default::default()
        };
        h.event(Event::ModeUpdate(mode));
        h
    }

    /// Returns a loaded pane that Zellij has not told its session's name.
    fn bare_without_session() -> Harness {
        let mut h = Harness {
            app: App::default(),
            clock: Instant::now(),
            sent: VecDeque::new(),
            effects: Vec::new(),
        };
        let loaded = h.app.load(&config(), Some(CWD.into()));
        h.take(loaded);
        h
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

    fn key(&mut self, key: BareKey) -> bool {
        self.event(Event::Key(KeyWithModifier::new(key)))
    }

    fn type_text(&mut self, text: &str) {
        text.chars().for_each(|c| {
            self.key(BareKey::Char(c));
        });
    }

    /// Removes and returns the oldest unanswered request.
    fn next_request(&mut self) -> Sent {
        self.sent
            .pop_front()
            .expect("a request to host-bridge was expected")
    }

    /// Feeds host-bridge's answer to request `id`.
    fn answer(&mut self, id: u64, context: BTreeMap<String, String>, response: Response) {
        self.reply(context, ResponseEnvelope::ok(id, response), 200);
    }

    /// Feeds host-bridge's refusal of request `id`.
    fn refuse(&mut self, id: u64, context: BTreeMap<String, String>, error: ErrorBody) {
        self.reply(context, ResponseEnvelope::error(Some(id), error), 400);
    }

    fn reply(&mut self, context: BTreeMap<String, String>, envelope: ResponseEnvelope, code: u16) {
        let headers = BTreeMap::from([("content-type".into(), "application/json".into())]);
        let body = serde_json::to_vec(&envelope).unwrap();
        self.event(Event::WebRequestResult(code, headers, body, context));
    }

    /// Answers the status request the pane sent after a change.
    fn answer_status(&mut self, status: serde_json::Value) {
        let (id, request, context) = self.next_request();
        assert!(matches!(request, Request::ImiStatus { .. }), "{request:?}");
        self.answer(
            id,
            context,
            Response::ImiStatus {
                status,
                first: true,
            },
        );
    }

    fn pipe(&mut self, message: PipeMessage) -> bool {
        let (render, effects) = self.app.pipe(message, self.clock);
        self.take(effects);
        render
    }

    fn screen(&self, rows: usize, cols: usize) -> String {
        view::lines(&self.app, rows, cols)
            .iter()
            .map(|l| l.to_markup())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The pane's configuration: the bridge's address and token.
fn config() -> BTreeMap<String, String> {
    [
        ("bridge_url", "http://127.0.0.1:4000"),
        ("bridge_token", "tok"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into()
}

fn worktree(name: &str, kind: &str, branch: &str) -> serde_json::Value {
    json!({
        "name": name, "type": kind, "branch": branch, "path": format!("/work/widgets/{name}"),
        "dirty_files": 0, "ahead": 0, "behind": 0,
        "last_commit": "Initial import", "last_commit_age_seconds": 7200,
    })
}

/// Trunk and three worktrees: one with work in progress and an agent, one behind trunk, and a
/// review whose commit subject carries an escape sequence.
fn status() -> serde_json::Value {
    let mut login = worktree("feat-login", "feat", "feat/login");
    login["dirty_files"] = json!(3);
    login["ahead"] = json!(2);
    login["last_commit"] = json!("Add the login form");
    login["last_commit_age_seconds"] = json!(300);
    login["agent_id"] = json!("claude-1");
    let mut crash = worktree("fix-crash", "fix", "fix/crash");
    crash["behind"] = json!(4);
    crash["last_commit"] = json!("Guard the empty cart");
    crash["last_commit_age_seconds"] = json!(200_000);
    let mut pr = worktree("pr-7", "review", "pr/7");
    pr["last_commit"] = json!("Contribution\u{1b}[2J for PR 7");
    pr["last_commit_age_seconds"] = json!(45);
    json!({
        "repository": "widgets",
        "trunk": worktree("trunk-main", "trunk", "main"),
        "worktrees": [login, crash, pr],
        "database_updated": true,
    })
}

fn push(topic: &str) -> PipeMessage {
    PipeMessage::new(
        PipeSource::Cli("host-bridge-1-1".into()),
        bridge_protocol::PUSH_PIPE_NAME,
        &Some(json!({"topic": topic, "data": {}}).to_string()),
        &None,
        false,
    )
}

#[test]
fn the_list_at_100_columns() {
    let h = Harness::new();
    insta::assert_snapshot!(h.screen(12, 100));
}

#[test]
fn the_list_at_50_columns() {
    let mut h = Harness::new();
    h.key(BareKey::Down);
    insta::assert_snapshot!(h.screen(12, 50));
}

#[test]
fn a_filter_shows_the_rows_it_matches() {
    let mut h = Harness::new();
    h.key(BareKey::Char('/'));
    h.type_text("LOG");
    insta::assert_snapshot!("filter_being_typed", h.screen(8, 80));
    assert_eq!(
        h.app
            .rows()
            .iter()
            .map(|w| w.name.as_str())
            .collect::<Vec<_>>(),
        ["feat-login"]
    );
    h.key(BareKey::Enter);
    assert_eq!(h.app.mode, Mode::List);
    // The agent and branch match too.
    h.key(BareKey::Char('/'));
    h.key(BareKey::Backspace);
    h.key(BareKey::Backspace);
    h.key(BareKey::Backspace);
    h.type_text("fix/");
    h.key(BareKey::Enter);
    insta::assert_snapshot!("filter_kept", h.screen(8, 80));
    // Esc clears the filter first, then closes the pane.
    h.key(BareKey::Esc);
    assert_eq!(h.app.rows().len(), 4);
    assert!(h.effects.is_empty(), "{:?}", h.effects);
    h.key(BareKey::Esc);
    assert_eq!(h.effects, [Effect::Close]);
}

#[test]
fn a_new_worktree_is_picked_named_created_and_selected() {
    let mut h = Harness::new();
    h.key(BareKey::Char('a'));
    h.key(BareKey::Down);
    insta::assert_snapshot!("type_picker", h.screen(14, 80));
    h.key(BareKey::Enter);
    h.type_text("cart");
    h.key(BareKey::Backspace);
    h.type_text("t-total");
    insta::assert_snapshot!("name_prompt", h.screen(10, 80));
    h.key(BareKey::Enter);
    let (id, request, context) = h.next_request();
    assert_eq!(
        request,
        Request::ImiAdd {
            cwd: CWD.into(),
            kind: "fix".into(),
            name: "cart-total".into(),
            from: None,
            agent: None,
            session: Some("work".into()),
            key: None,
        }
    );
    assert_eq!(h.app.mode, Mode::List);
    // The spinner turns while host-bridge works, and other changes wait.
    h.clock += Duration::from_millis(130);
    assert!(h.event(Event::Timer(0.13)));
    assert!(h.screen(10, 80).contains("⠙ creating fix/cart-total…"));
    assert!(!h.key(BareKey::Char('d')));
    assert!(h.sent.is_empty());
    answer_added(&mut h, id, context, "fix-cart-total", "fix/cart-total");
    let mut after = status();
    after["worktrees"].as_array_mut().unwrap().push(worktree(
        "fix-cart-total",
        "fix",
        "fix/cart-total",
    ));
    h.answer_status(after);
    assert_eq!(h.app.selected_row().unwrap().name, "fix-cart-total");
    let screen = h.screen(10, 120);
    assert!(
        screen.contains("✓ created fix-cart-total on branch fix/cart-total from main; tab fix-cart-total opened"),
        "{screen}"
    );
}

#[test]
fn a_refused_name_shows_the_reason_in_red() {
    let mut h = Harness::new();
    h.key(BareKey::Char('a'));
    h.key(BareKey::Char('1'));
    h.type_text("../x");
    h.key(BareKey::Enter);
    let (id, _, context) = h.next_request();
    h.refuse(
        id,
        context,
        ErrorBody::new(
            ErrorKind::BadRequest,
            "worktree name \"../x\" is not allowed: use 1 to 64 ASCII letters, digits, '-', '_' or '.'",
        )
        .with_hint("pick another name"),
    );
    h.answer_status(status());
    insta::assert_snapshot!(h.screen(10, 60));
}

#[test]
fn removal_shows_what_would_be_lost_before_anything_happens() {
    let mut h = Harness::new();
    // Trunk is never removed.
    h.key(BareKey::Char('d'));
    assert!(h.sent.is_empty());
    assert!(h.screen(10, 80).contains("iMi never removes it"));
    h.key(BareKey::Down);
    h.key(BareKey::Char('d'));
    let (id, request, context) = h.next_request();
    assert_eq!(
        request,
        Request::ImiRemove {
            cwd: CWD.into(),
            name: "feat-login".into(),
            force: false,
            delete_branch: false,
            dry_run: true,
            session: None,
            key: None,
        }
    );
    assert!(h
        .screen(10, 80)
        .contains("checking what removing feat-login would lose…"));
    // Nothing is removed before host-bridge has said what would be lost.
    assert!(!h.key(BareKey::Char('y')));
    let preview = json!({
        "worktree_name": "feat-login", "branch": "feat/login",
        "uncommitted_files": 3, "unpushed_commits": 2, "branch_deleted": false,
        "refusal": "worktree feat-login has 3 uncommitted files; commit or stash them, or pass --force to discard them",
    });
    h.answer(id, context, Response::ImiRemoveChecked { preview });
    insta::assert_snapshot!(h.screen(14, 80));
    // iMi would refuse: y does nothing, F forces.
    assert!(!h.key(BareKey::Char('y')));
    assert!(h.sent.is_empty());
    h.key(BareKey::Char('F'));
    let (_, request, _) = h.next_request();
    assert!(
        matches!(&request, Request::ImiRemove { name, force: true, dry_run: false, session: Some(s), .. }
            if name == "feat-login" && s == "work"),
        "{request:?}"
    );
}

#[test]
fn a_clean_removal_is_confirmed_with_y_and_b_asks_again_with_the_branch() {
    let mut h = Harness::new();
    h.key(BareKey::Down);
    h.key(BareKey::Down);
    h.key(BareKey::Char('d'));
    let (id, _, context) = h.next_request();
    h.key(BareKey::Char('b'));
    let (again, request, again_context) = h.next_request();
    assert!(
        matches!(
            request,
            Request::ImiRemove {
                delete_branch: true,
                dry_run: true,
                ..
            }
        ),
        "{request:?}"
    );
    // The answer to the first question comes late and is dropped.
    let preview = |deleted: bool| {
        json!({"worktree_name": "fix-crash", "branch": "fix/crash", "uncommitted_files": 0,
               "unpushed_commits": 0, "branch_deleted": deleted, "refusal": null})
    };
    h.answer(
        id,
        context,
        Response::ImiRemoveChecked {
            preview: preview(false),
        },
    );
    assert!(h
        .screen(12, 80)
        .contains("checking what removing fix-crash"));
    h.answer(
        again,
        again_context,
        Response::ImiRemoveChecked {
            preview: preview(true),
        },
    );
    let screen = h.screen(12, 80);
    assert!(
        screen.contains("branch fix/crash is deleted (b keeps it)"),
        "{screen}"
    );
    assert!(screen.contains("no uncommitted files"), "{screen}");
    h.key(BareKey::Char('y'));
    let (_, request, _) = h.next_request();
    assert!(
        matches!(
            request,
            Request::ImiRemove {
                force: false,
                delete_branch: true,
                dry_run: false,
                ..
            }
        ),
        "{request:?}"
    );
}

#[test]
fn enter_opens_the_selected_tab_and_t_jumps_to_trunk() {
    let mut h = Harness::new();
    h.key(BareKey::Char('G'));
    h.key(BareKey::Enter);
    let (id, request, context) = h.next_request();
    assert_eq!(
        request,
        Request::ImiOpen {
            cwd: CWD.into(),
            name: "pr-7".into(),
            session: Some("work".into()),
            key: None,
        }
    );
    h.answer(
        id,
        context,
        Response::ImiOpened {
            name: "pr-7".into(),
            path: "/work/widgets/pr-7".into(),
            tab: json!({"name": "pr-7", "done": true}),
            first: true,
        },
    );
    h.answer_status(status());
    assert!(h.screen(10, 80).contains("✓ tab pr-7 open"));
    h.key(BareKey::Char('t'));
    let (_, request, _) = h.next_request();
    assert_eq!(
        request,
        Request::ImiOpen {
            cwd: CWD.into(),
            name: "trunk-main".into(),
            session: Some("work".into()),
            key: None,
        }
    );
}

#[test]
fn the_trunk_opens_in_the_session_and_a_tab_not_opened_shows_as_a_failure() {
    let mut h = Harness::new();
    // Enter on trunk's row, and t from anywhere, ask for trunk's tab in the pane's session.
    h.key(BareKey::Enter);
    let (id, request, context) = h.next_request();
    assert_eq!(
        request,
        Request::ImiOpen {
            cwd: CWD.into(),
            name: "trunk-main".into(),
            session: Some("work".into()),
            key: None,
        }
    );
    h.answer(
        id,
        context,
        Response::ImiOpened {
            name: "trunk-main".into(),
            path: "/work/widgets/trunk-main".into(),
            tab: json!({"name": "trunk-main", "done": false,
                        "reason": "perth action go-to-tab-name exited with 1: gone"}),
            first: true,
        },
    );
    h.answer_status(status());
    let screen = h.screen(10, 100);
    assert!(
        screen.contains("{red|✗ tab not open: perth action go-to-tab-name exited with 1: gone}"),
        "{screen}"
    );
    assert!(!screen.contains('✓'), "{screen}");

    // A pane Zellij has not told its session's name asks nothing it cannot get.
    let mut nameless = Harness::bare_without_session();
    nameless.event(Event::PermissionRequestResult(PermissionStatus::Granted));
    nameless.answer_status(status());
    nameless.key(BareKey::Char('t'));
    assert!(nameless.sent.is_empty(), "{:?}", nameless.sent);
    let screen = nameless.screen(10, 100);
    assert!(
        screen.contains("{red|✗ tab trunk-main not opened: Zellij has not told the pane"),
        "{screen}"
    );
    // Zellij sends no ModeUpdate to a pane that loads at the wrong moment; the SessionUpdate
    // that comes with every pane change names the session (unmarked sessions change nothing).
    let session = |name: &str, current: bool| zellij_tile::prelude::SessionInfo {
        name: name.into(),
        is_current_session: current,
        ..Default::default()
    };
    nameless.event(Event::SessionUpdate(vec![session("other", false)], vec![]));
    nameless.key(BareKey::Char('t'));
    assert!(nameless.sent.is_empty(), "{:?}", nameless.sent);
    nameless.event(Event::SessionUpdate(
        vec![session("other", false), session("work", true)],
        vec![],
    ));
    nameless.key(BareKey::Char('t'));
    let (_, request, _) = nameless.next_request();
    assert!(
        matches!(&request, Request::ImiOpen { name, session: Some(s), .. } if name == "trunk-main" && s == "work"),
        "{request:?}"
    );
}

#[test]
fn a_message_of_several_lines_is_shown_as_lines_never_in_caret_form() {
    let mut h = Harness::new();
    h.key(BareKey::Char('p'));
    h.type_text("123");
    h.key(BareKey::Enter);
    let (id, _, context) = h.next_request();
    h.refuse(
        id,
        context,
        ErrorBody::new(
            ErrorKind::BadRequest,
            "git fetch origin pull/123/head failed:\nfatal: couldn't find remote ref pull/123/head\n",
        ),
    );
    h.answer_status(status());
    let screen = h.screen(12, 80);
    assert!(!screen.contains("^J"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn the_type_picker_offers_the_types_imi_reports() {
    let mut h = Harness::new();
    let mut with_spike = status();
    with_spike["types"] = json!([
        {"name": "feat", "branch_prefix": "feat/", "worktree_prefix": "feat-"},
        {"name": "review", "branch_prefix": "pr/", "worktree_prefix": "pr-"},
        {"name": "spike", "branch_prefix": "exp/", "worktree_prefix": "exp-"},
    ]);
    h.key(BareKey::Char('r'));
    h.answer_status(with_spike);
    h.key(BareKey::Char('a'));
    h.key(BareKey::Down);
    h.key(BareKey::Down);
    h.key(BareKey::Down);
    insta::assert_snapshot!(h.screen(12, 80));
    h.key(BareKey::Char('3'));
    assert_eq!(
        h.app.mode,
        Mode::Name {
            kind: "spike".into(),
            input: String::new()
        }
    );
    h.type_text("cache");
    assert!(h.screen(12, 80).contains("branch exp/cache in exp-cache/"));
    h.key(BareKey::Enter);
    let (_, request, _) = h.next_request();
    assert!(
        matches!(&request, Request::ImiAdd { kind, name, .. } if kind == "spike" && name == "cache"),
        "{request:?}"
    );
}

#[test]
fn a_pull_request_is_reviewed_by_number() {
    let mut h = Harness::new();
    h.key(BareKey::Char('p'));
    h.type_text("#1x2");
    assert_eq!(h.app.mode, Mode::Review { input: "12".into() });
    h.key(BareKey::Enter);
    let (_, request, _) = h.next_request();
    assert_eq!(
        request,
        Request::ImiReview {
            cwd: CWD.into(),
            pr: 12,
            session: Some("work".into()),
            key: None,
        }
    );
}

/// Starts an add of `feat/race` and returns the add request's id and context.
fn start_add(h: &mut Harness) -> (u64, BTreeMap<String, String>) {
    h.key(BareKey::Char('a'));
    h.key(BareKey::Enter);
    h.type_text("race");
    h.key(BareKey::Enter);
    let (id, request, context) = h.next_request();
    assert!(matches!(request, Request::ImiAdd { .. }), "{request:?}");
    (id, context)
}

/// Answers an add with host-bridge's report of worktree `name` on `branch`, its tab opened.
fn answer_added(
    h: &mut Harness,
    id: u64,
    context: BTreeMap<String, String>,
    name: &str,
    branch: &str,
) {
    let report = json!({
        "worktree": {"worktree_name": name, "branch": branch},
        "from": "main",
        "database_updated": true,
        "tab": {"name": name, "done": true},
    });
    h.answer(
        id,
        context,
        Response::ImiAdded {
            report,
            first: true,
        },
    );
}

fn status_with_race() -> serde_json::Value {
    let mut after = status();
    after["worktrees"]
        .as_array_mut()
        .unwrap()
        .push(worktree("feat-race", "feat", "feat/race"));
    after
}

#[test]
fn a_status_read_while_a_worktree_is_made_does_not_lose_its_selection() {
    // A pushed event's status is answered before the add is.
    let mut h = Harness::new();
    let (id, context) = start_add(&mut h);
    h.pipe(push("workspace.worktree.changed"));
    h.answer_status(status());
    answer_added(&mut h, id, context, "feat-race", "feat/race");
    h.answer_status(status_with_race());
    assert_eq!(h.app.selected_row().unwrap().name, "feat-race");

    // The add is answered while that status is still on its way.
    let mut h = Harness::new();
    let (id, context) = start_add(&mut h);
    h.pipe(push("workspace.worktree.changed"));
    answer_added(&mut h, id, context, "feat-race", "feat/race");
    h.answer_status(status());
    h.answer_status(status_with_race());
    assert_eq!(h.app.selected_row().unwrap().name, "feat-race");

    // A row the person picks meanwhile wins.
    let mut h = Harness::new();
    let (id, context) = start_add(&mut h);
    h.key(BareKey::Down);
    let picked = h.app.selected_row().unwrap().name.clone();
    answer_added(&mut h, id, context, "feat-race", "feat/race");
    h.answer_status(status_with_race());
    assert_eq!(h.app.selected_row().unwrap().name, picked);
}

#[test]
fn pushed_worktree_events_read_the_status_again_once_at_a_time() {
    let mut h = Harness::new();
    assert!(!h.pipe(push("workspace.intent.logged")));
    assert!(h.sent.is_empty() && h.effects.is_empty());
    h.pipe(push("workspace.worktree.changed"));
    assert_eq!(h.sent.len(), 1);
    // More events while it is read: one more read afterwards, not one each.
    for _ in 0..3 {
        h.pipe(push("workspace.worktree.created"));
    }
    assert_eq!(h.sent.len(), 1);
    h.answer_status(status());
    assert_eq!(h.sent.len(), 1);
    h.answer_status(status());
    assert!(h.sent.is_empty());
}

#[test]
fn nothing_is_asked_before_the_permissions_are_granted() {
    let mut h = Harness::bare();
    h.pipe(push("workspace.worktree.changed"));
    h.key(BareKey::Char('r'));
    assert!(h.sent.is_empty());
    assert!(h.screen(6, 60).contains("reading the project's worktrees…"));
    h.event(Event::PermissionRequestResult(PermissionStatus::Granted));
    assert_eq!(h.sent.len(), 1);
}

#[test]
fn modified_keys_are_not_the_panes() {
    let mut h = Harness::new();
    let alt_d = KeyWithModifier {
        bare_key: BareKey::Char('d'),
        key_modifiers: [KeyModifier::Alt].into(),
    };
    assert!(!h.event(Event::Key(alt_d)));
    assert!(h.sent.is_empty());
}

#[test]
fn without_a_bridge_the_pane_says_so() {
    let mut app = App::default();
    app.load(&BTreeMap::new(), Some(CWD.into()));
    let screen: Vec<String> = view::lines(&app, 6, 60)
        .iter()
        .map(|l| l.plain_text())
        .collect();
    assert!(
        screen[2].starts_with("host-bridge is out of reach: the plugin"),
        "{screen:?}"
    );
}

/// perth-core's broadcast of the session's agents.
fn agents_pipe(agents: serde_json::Value) -> PipeMessage {
    PipeMessage::new(
        PipeSource::Plugin(1),
        bridge_client::imi::AGENTS_PIPE,
        &Some(agents.to_string()),
        &None,
        false,
    )
}

#[test]
fn each_row_shows_the_agents_working_in_it_as_perth_broadcasts_them() {
    let mut h = Harness::new();
    let agents = json!([
        {"pane_id": 3, "state": "waiting", "since_ms": 1, "program": "claude",
         "message": "Run npm test?", "worktree": "/work/widgets/feat-login"},
        {"pane_id": 4, "state": "working", "since_ms": 2, "program": "codex",
         "worktree": "/work/widgets/fix-crash/"},
        {"pane_id": 5, "state": "idle", "since_ms": 3, "worktree": "/elsewhere"},
    ]);
    assert!(h.pipe(agents_pipe(agents.clone())));
    // Nothing is asked of host-bridge: the broadcast says it all.
    assert!(h.sent.is_empty());
    let screen = h.screen(12, 120);
    assert!(screen.contains("@claude-1 ✋ waiting"), "{screen}");
    assert!(screen.contains("⏳ working"), "{screen}");
    insta::assert_snapshot!(screen);
    // A status read afterwards keeps them; a broadcast without them clears them.
    h.pipe(push("workspace.worktree.changed"));
    h.answer_status(status());
    assert!(h.screen(12, 120).contains("✋ waiting"));
    h.pipe(agents_pipe(json!([])));
    assert!(!h.screen(12, 120).contains("waiting"));
    // A malformed broadcast changes nothing.
    assert!(!h.pipe(agents_pipe(json!({"not": "a list"}))));
}

/// perth's server broadcasts `perth::redraw` when a client attached: the pane draws again
/// without reading iMi's status again.
#[test]
fn the_redraw_pipe_draws_the_pane_again_and_reads_nothing() {
    let mut h = Harness::new();
    let redraw = PipeMessage::new(
        PipeSource::Cli("perth-link-redraw".into()),
        bridge_protocol::REDRAW_PIPE,
        &None,
        &None,
        false,
    );
    let (render, effects) = h.app.pipe(redraw, h.clock);
    assert!(render);
    assert!(effects.is_empty(), "{effects:?}");
}
