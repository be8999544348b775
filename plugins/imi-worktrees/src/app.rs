//! The pane's state machine: Zellij events, keys and pushed events in, [`Effect`]s out.
//!
//! [`App`] never calls Zellij, so it runs natively in tests; `zdrive_snapshot::host::run`
//! performs the effects, and [`crate::view`] draws the state.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bridge_client::imi::{self as imi, ProjectStatus, Worktree, WorktreeType, IMI_TIMEOUT};
use bridge_client::{BridgeClient, BridgeConfig, BridgeError, Completion};
use bridge_protocol::{Request, RequestId, Response};
use zellij_tile::prelude::{
    BareKey, Event, EventType, KeyModifier, KeyWithModifier, PermissionStatus, PermissionType,
    PipeMessage,
};

/// What the pane asks Zellij to do: the snapshot pane's effects, performed by its
/// `zdrive_snapshot::host::run` (the iMi pane answers no pipe).
pub use zdrive_snapshot::app::Effect;
/// Where the permission request stands.
pub use zdrive_snapshot::app::Permissions;

/// The events the pane subscribes to.
pub const SUBSCRIPTIONS: [EventType; 7] = [
    // Shown again: read the status again.
    EventType::Visible,
    // The session's name: worktree tabs are opened in it. It comes with a `ModeUpdate`, which
    // Zellij sends only to plugins already in the tab (a pane that loads at the wrong moment
    // gets none), or with a `SessionUpdate`, which every change of panes brings.
    EventType::ModeUpdate,
    EventType::SessionUpdate,
    EventType::PermissionRequestResult,
    EventType::Key,
    EventType::WebRequestResult,
    // The spinner and the bridge client's deadlines and retries.
    EventType::Timer,
];

/// The permissions it asks for, as `bridge_protocol::permissions::IMI_WORKTREES` lists them; perth
/// grants them up front.
pub static PERMISSIONS: std::sync::LazyLock<Vec<PermissionType>> = std::sync::LazyLock::new(|| {
    bridge_client::permission_types(bridge_protocol::permissions::IMI_WORKTREES)
});

/// How often the spinner turns while a request runs.
pub const SPINNER_TICK: Duration = Duration::from_millis(125);

/// The pane's title before it knows the project.
pub const TITLE: &str = "iMi";

/// Paces the spinner. Zellij's `Timer` events carry no name and the bridge client asks for
/// wake-ups too, so a tick counts only once its time has come.
#[derive(Debug, Default)]
struct Pace {
    next: Option<Instant>,
}

impl Pace {
    /// Returns the wake-up to ask for, unless one is pending.
    fn start(&mut self, now: Instant) -> Option<Effect> {
        if self.next.is_some() {
            return None;
        }
        self.next = Some(now + SPINNER_TICK);
        Some(Effect::WakeAfter(SPINNER_TICK))
    }

    /// Returns whether the tick has come, consuming it.
    fn due(&mut self, now: Instant) -> bool {
        let due = self
            .next
            .is_some_and(|at| now + Duration::from_millis(10) >= at);
        if due {
            self.next = None;
        }
        due
    }
}

/// What the keys do right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Mode {
    /// Moving through the list.
    #[default]
    List,
    /// Typing the filter.
    Filter,
    /// Picking the type of a new worktree.
    PickKind { index: usize },
    /// Typing the new worktree's name.
    Name { kind: String, input: String },
    /// Typing the number of a pull request to review.
    Review { input: String },
    /// Confirming a removal: what it would lose, once host-bridge has said.
    Confirm(Removal),
}

/// A removal being confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// The worktree's folder name.
    pub name: String,
    /// Whether the branch goes too.
    pub delete_branch: bool,
    /// What removing it would lose; `None` while host-bridge checks.
    pub preview: Option<Preview>,
}

/// What removing a worktree would lose, from a dry run of iMi's removal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    pub branch: Option<String>,
    pub uncommitted_files: u64,
    pub unpushed_commits: u64,
    pub branch_deleted: bool,
    /// Why iMi refuses without force.
    pub refusal: Option<String>,
}

impl Preview {
    fn from_json(value: &serde_json::Value) -> Preview {
        Preview {
            branch: value["branch"].as_str().map(str::to_owned),
            uncommitted_files: value["uncommitted_files"].as_u64().unwrap_or(0),
            unpushed_commits: value["unpushed_commits"].as_u64().unwrap_or(0),
            branch_deleted: value["branch_deleted"] == true,
            refusal: value["refusal"].as_str().map(str::to_owned),
        }
    }
}

/// The line under the list: what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Info(String),
    Error(String),
}

/// A change being carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// What is being done (`creating feat/login`).
    pub label: String,
    /// The spinner's frame.
    pub frame: usize,
}

/// A request waiting for host-bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Status,
    Change,
    Preview { name: String, delete_branch: bool },
}

/// The pane's state. Fields are read by [`crate::view`].
#[derive(Debug, Default)]
pub struct App {
    pub(crate) permissions: Permissions,
    bridge: Option<BridgeClient>,
    /// Why there is no bridge client (the configuration lacks the bridge's address).
    pub(crate) bridge_error: Option<String>,
    /// The folder the project is found from.
    pub(crate) cwd: Option<String>,
    session: Option<String>,
    /// The status last read.
    pub(crate) status: Option<ProjectStatus>,
    /// The session's agents as perth-core last broadcast them (fresher than a status's).
    agents: Option<Vec<imi::Agent>>,
    /// The status request whose answer is awaited.
    loading: Option<RequestId>,
    /// Something changed while the status was being read: read it again.
    reload: bool,
    /// The row selected, among the rows the filter shows.
    pub(crate) selected: usize,
    /// The worktree to select once the status shows it (one just created).
    select_name: Option<String>,
    pub(crate) filter: String,
    pub(crate) mode: Mode,
    pub(crate) busy: Option<Busy>,
    pub(crate) message: Option<Message>,
    calls: BTreeMap<RequestId, Call>,
    pace: Pace,
    /// The pane's title as last set.
    title: Option<String>,
}

impl App {
    /// Starts the pane: reads the bridge's address and the project's folder (`cwd` in the
    /// configuration, else `initial_cwd`, the session's folder), subscribes and requests
    /// permissions.
    pub fn load(
        &mut self,
        configuration: &BTreeMap<String, String>,
        initial_cwd: Option<String>,
    ) -> Vec<Effect> {
        match BridgeConfig::from_plugin_config(configuration) {
            Ok(config) => self.bridge = Some(BridgeClient::new(config)),
            Err(e) => self.bridge_error = Some(e.to_string()),
        }
        self.cwd = configuration
            .get("cwd")
            .cloned()
            .or(initial_cwd)
            .filter(|c| !c.is_empty());
        vec![
            Effect::Subscribe(SUBSCRIPTIONS.to_vec()),
            Effect::RequestPermission(PERMISSIONS.to_vec()),
        ]
    }

    /// Handles one Zellij event; returns whether to draw again and what to do.
    pub fn update(&mut self, event: Event, now: Instant) -> (bool, Vec<Effect>) {
        let mut effects = Vec::new();
        let render = match event {
            Event::PermissionRequestResult(PermissionStatus::Granted) => {
                self.permissions = Permissions::Granted;
                self.refresh(now, &mut effects);
                true
            }
            Event::PermissionRequestResult(PermissionStatus::Denied) => {
                self.permissions = Permissions::Denied;
                true
            }
            Event::ModeUpdate(mode) => {
                if mode.session_name.is_some() {
                    self.session = mode.session_name;
                }
                false
            }
            Event::SessionUpdate(sessions, _) => {
                if let Some(name) = zdrive_snapshot::focus::current_session(&sessions) {
                    self.session = Some(name.to_owned());
                }
                false
            }
            Event::Visible(true) => {
                self.refresh(now, &mut effects);
                true
            }
            Event::Key(key) => self.key(key, now, &mut effects),
            Event::Timer(_) => self.timer(now, &mut effects),
            Event::WebRequestResult(status, headers, body, context) => {
                let answered = self
                    .bridge
                    .as_mut()
                    .filter(|_| BridgeClient::owns(&context))
                    .map(|b| b.on_web_result(status, &headers, &body, &context, now));
                let Some((done, retries)) = answered else {
                    return (false, effects);
                };
                push_bridge(retries, &mut effects);
                done.is_some_and(|done| self.finish(done, now, &mut effects))
            }
            _ => false,
        };
        (render, effects)
    }

    /// Handles a pipe message: host-bridge's pushed events about worktrees read the status
    /// again; everything else is not the pane's.
    pub fn pipe(&mut self, message: PipeMessage, now: Instant) -> (bool, Vec<Effect>) {
        let mut effects = Vec::new();
        if message.name == bridge_protocol::REDRAW_PIPE {
            return (true, effects);
        }
        if message.name == imi::AGENTS_PIPE {
            // perth-core's broadcast of the session's agents: each row shows its own.
            let Some(Ok(agents)) = message
                .payload
                .as_deref()
                .map(serde_json::from_str::<Vec<imi::Agent>>)
            else {
                return (false, effects);
            };
            if let Some(status) = &mut self.status {
                status.place_agents(&agents);
            }
            self.agents = Some(agents);
            return (true, effects);
        }
        let Some(Ok(event)) = bridge_client::decode_push(&message.name, message.payload.as_deref())
        else {
            return (false, effects);
        };
        if !event.topic.starts_with(imi::WORKTREE_TOPIC_PREFIX) {
            return (false, effects);
        }
        self.refresh(now, &mut effects);
        (false, effects)
    }

    /// Returns the rows the filter lets through: trunk first, then the worktrees.
    pub fn rows(&self) -> Vec<&Worktree> {
        let Some(status) = &self.status else {
            return Vec::new();
        };
        let needle = self.filter.to_lowercase();
        status
            .all()
            .filter(|w| {
                needle.is_empty()
                    || [
                        Some(w.name.as_str()),
                        w.branch.as_deref(),
                        w.kind.as_deref(),
                        w.agent_id.as_deref(),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|field| field.to_lowercase().contains(&needle))
            })
            .collect()
    }

    /// Returns the selected worktree.
    pub fn selected_row(&self) -> Option<&Worktree> {
        self.rows().get(self.selected).copied()
    }

    /// Returns the worktree types the picker offers: the project's as iMi reports them (with
    /// those added by `iMi types add`), or the built-in ones before a status is read.
    pub fn kinds(&self) -> Vec<WorktreeType> {
        self.status.clone().unwrap_or_default().kinds()
    }

    /// Asks host-bridge for the status, or for it again once the current request is answered.
    fn refresh(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        if self.permissions != Permissions::Granted {
            return;
        }
        if self.loading.is_some() {
            self.reload = true;
            return;
        }
        let Some(cwd) = self.cwd.clone() else {
            self.message = Some(Message::Error(
                "the session's folder is unknown; give the pane a cwd in its configuration".into(),
            ));
            return;
        };
        let request = Request::ImiStatus {
            project: Some(cwd),
            key: None,
            agents: true,
        };
        if let Some(id) = self.send(request, Call::Status, now, effects) {
            self.loading = Some(id);
            self.reload = false;
        }
    }

    fn send(
        &mut self,
        request: Request,
        call: Call,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) -> Option<RequestId> {
        let bridge = self.bridge.as_mut()?;
        let (id, bridge_effects) = bridge.request_with_timeout(request, IMI_TIMEOUT, now);
        self.calls.insert(id, call);
        effects.push(Effect::Bridge(bridge_effects));
        Some(id)
    }

    /// Starts a change (add, remove, open), shown with a spinner until host-bridge answers.
    fn change(&mut self, request: Request, label: String, now: Instant, effects: &mut Vec<Effect>) {
        if self.send(request, Call::Change, now, effects).is_none() {
            return;
        }
        self.message = None;
        self.busy = Some(Busy { label, frame: 0 });
        effects.extend(self.pace.start(now));
    }

    fn key(&mut self, key: KeyWithModifier, now: Instant, effects: &mut Vec<Effect>) -> bool {
        // Shift is part of the character (`F`); other modifiers make another key.
        if key.key_modifiers.iter().any(|m| *m != KeyModifier::Shift) {
            return false;
        }
        match self.mode.clone() {
            Mode::List => self.list_key(key.bare_key, now, effects),
            Mode::Filter => self.filter_key(key.bare_key),
            Mode::PickKind { index } => self.pick_key(key.bare_key, index),
            Mode::Name { kind, input } => self.name_key(key.bare_key, kind, input, now, effects),
            Mode::Review { input } => self.review_key(key.bare_key, input, now, effects),
            Mode::Confirm(removal) => self.confirm_key(key.bare_key, removal, now, effects),
        }
    }

    fn list_key(&mut self, key: BareKey, now: Instant, effects: &mut Vec<Effect>) -> bool {
        let count = self.rows().len();
        if matches!(
            key,
            BareKey::Down
                | BareKey::Up
                | BareKey::Home
                | BareKey::End
                | BareKey::Char('j' | 'k' | 'g' | 'G' | '/')
        ) {
            // The person chose a row: a worktree still being made no longer takes it.
            self.select_name = None;
        }
        match key {
            BareKey::Down | BareKey::Char('j') => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1))
            }
            BareKey::Up | BareKey::Char('k') => self.selected = self.selected.saturating_sub(1),
            BareKey::Home | BareKey::Char('g') => self.selected = 0,
            BareKey::End | BareKey::Char('G') => self.selected = count.saturating_sub(1),
            BareKey::Char('/') => self.mode = Mode::Filter,
            BareKey::Char('r') => {
                self.message = None;
                self.refresh(now, effects);
            }
            BareKey::Char('q') => effects.push(Effect::Close),
            BareKey::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.selected = 0;
            }
            BareKey::Esc => effects.push(Effect::Close),
            _ if self.busy.is_some() => {
                // One change at a time: the keys that start one wait for the current one.
                return false;
            }
            BareKey::Char('a') => self.mode = Mode::PickKind { index: 0 },
            BareKey::Char('p') => {
                self.mode = Mode::Review {
                    input: String::new(),
                }
            }
            BareKey::Enter | BareKey::Char('o') => {
                if let Some(name) = self.selected_row().map(|w| w.name.clone()) {
                    self.open(name, now, effects);
                }
            }
            BareKey::Char('t') => {
                if let Some(trunk) = self.status.as_ref().map(|s| s.trunk.name.clone()) {
                    self.open(trunk, now, effects);
                }
            }
            BareKey::Char('d') => self.start_removal(now, effects),
            _ => return false,
        }
        true
    }

    fn filter_key(&mut self, key: BareKey) -> bool {
        match key {
            BareKey::Char(c) if !c.is_control() => self.filter.push(c),
            BareKey::Backspace => {
                self.filter.pop();
            }
            BareKey::Enter => self.mode = Mode::List,
            BareKey::Esc => {
                self.filter.clear();
                self.mode = Mode::List;
            }
            BareKey::Down => self.selected += 1,
            BareKey::Up => self.selected = self.selected.saturating_sub(1),
            _ => return false,
        }
        self.selected = self.selected.min(self.rows().len().saturating_sub(1));
        true
    }

    fn pick_key(&mut self, key: BareKey, index: usize) -> bool {
        let count = self.kinds().len();
        let index = match key {
            BareKey::Down | BareKey::Char('j') => (index + 1).min(count.saturating_sub(1)),
            BareKey::Up | BareKey::Char('k') => index.saturating_sub(1),
            BareKey::Char(c @ '1'..='9') if (c as usize - '1' as usize) < count => {
                let index = c as usize - '1' as usize;
                return self.pick(index);
            }
            BareKey::Enter => return self.pick(index),
            BareKey::Esc => {
                self.mode = Mode::List;
                return true;
            }
            _ => return false,
        };
        self.mode = Mode::PickKind { index };
        true
    }

    fn pick(&mut self, index: usize) -> bool {
        let Some(kind) = self.kinds().into_iter().nth(index) else {
            return false;
        };
        self.mode = if kind.name == "review" {
            Mode::Review {
                input: String::new(),
            }
        } else {
            Mode::Name {
                kind: kind.name,
                input: String::new(),
            }
        };
        true
    }

    fn name_key(
        &mut self,
        key: BareKey,
        kind: String,
        mut input: String,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) -> bool {
        match key {
            BareKey::Char(c) if !c.is_control() => input.push(c),
            BareKey::Backspace => {
                input.pop();
            }
            BareKey::Esc => {
                self.mode = Mode::List;
                return true;
            }
            BareKey::Enter if !input.trim().is_empty() => {
                self.mode = Mode::List;
                let name = input.trim().to_owned();
                self.add(kind, name, now, effects);
                return true;
            }
            _ => return false,
        }
        self.mode = Mode::Name { kind, input };
        true
    }

    fn review_key(
        &mut self,
        key: BareKey,
        mut input: String,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) -> bool {
        match key {
            BareKey::Char(c) if c.is_ascii_digit() && input.len() < 10 => input.push(c),
            BareKey::Char('#') if input.is_empty() => {}
            BareKey::Backspace => {
                input.pop();
            }
            BareKey::Esc => {
                self.mode = Mode::List;
                return true;
            }
            BareKey::Enter => {
                let Some(pr) = input.parse::<u64>().ok().filter(|n| *n > 0) else {
                    return false;
                };
                self.mode = Mode::List;
                self.review(pr, now, effects);
                return true;
            }
            _ => return false,
        }
        self.mode = Mode::Review { input };
        true
    }

    fn confirm_key(
        &mut self,
        key: BareKey,
        mut removal: Removal,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) -> bool {
        match key {
            BareKey::Esc | BareKey::Char('n') | BareKey::Char('q') => self.mode = Mode::List,
            BareKey::Char('b') => {
                removal.delete_branch = !removal.delete_branch;
                removal.preview = None;
                self.check_removal(&removal, now, effects);
                self.mode = Mode::Confirm(removal);
            }
            BareKey::Char('y') | BareKey::Enter => match &removal.preview {
                Some(preview) if preview.refusal.is_none() => {
                    self.mode = Mode::List;
                    self.remove(removal, false, now, effects);
                }
                // Still being checked, or iMi would refuse: only F goes on.
                _ => return false,
            },
            BareKey::Char('F') if removal.preview.is_some() => {
                self.mode = Mode::List;
                self.remove(removal, true, now, effects);
            }
            _ => return false,
        }
        true
    }

    fn start_removal(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let Some(row) = self.selected_row() else {
            return;
        };
        if row.kind.as_deref() == Some("trunk") {
            self.message = Some(Message::Error(
                "trunk is the project's main checkout; iMi never removes it".into(),
            ));
            return;
        }
        let removal = Removal {
            name: row.name.clone(),
            delete_branch: false,
            preview: None,
        };
        self.message = None;
        self.check_removal(&removal, now, effects);
        self.mode = Mode::Confirm(removal);
    }

    /// Asks host-bridge what removing the worktree would lose.
    fn check_removal(&mut self, removal: &Removal, now: Instant, effects: &mut Vec<Effect>) {
        let Some(cwd) = self.cwd.clone() else { return };
        let request = Request::ImiRemove {
            cwd,
            name: removal.name.clone(),
            force: false,
            delete_branch: removal.delete_branch,
            dry_run: true,
            session: None,
            key: None,
        };
        let call = Call::Preview {
            name: removal.name.clone(),
            delete_branch: removal.delete_branch,
        };
        self.send(request, call, now, effects);
    }

    fn add(&mut self, kind: String, name: String, now: Instant, effects: &mut Vec<Effect>) {
        let Some(cwd) = self.cwd.clone() else { return };
        let label = format!("creating {kind}/{name}");
        self.select_name = Some(name.clone());
        let request = Request::ImiAdd {
            cwd,
            kind,
            name,
            from: None,
            agent: None,
            session: self.session.clone(),
            key: None,
        };
        self.change(request, label, now, effects);
    }

    fn review(&mut self, pr: u64, now: Instant, effects: &mut Vec<Effect>) {
        let Some(cwd) = self.cwd.clone() else { return };
        self.select_name = Some(format!("pr-{pr}"));
        let request = Request::ImiReview {
            cwd,
            pr,
            session: self.session.clone(),
            key: None,
        };
        self.change(
            request,
            format!("checking out pull request #{pr}"),
            now,
            effects,
        );
    }

    fn open(&mut self, name: String, now: Instant, effects: &mut Vec<Effect>) {
        let Some(cwd) = self.cwd.clone() else { return };
        if self.session.is_none() {
            // host-bridge could only answer that there is no session to open a tab in.
            self.message = Some(Message::Error(format!(
                "tab {} not opened: Zellij has not told the pane its session's name yet; \
                 press r and try again",
                bridge_client::text::inert(&name)
            )));
            return;
        }
        let label = format!("opening the tab of {name}");
        let request = Request::ImiOpen {
            cwd,
            name,
            session: self.session.clone(),
            key: None,
        };
        self.change(request, label, now, effects);
    }

    fn remove(&mut self, removal: Removal, force: bool, now: Instant, effects: &mut Vec<Effect>) {
        let Some(cwd) = self.cwd.clone() else { return };
        let label = format!(
            "removing {}{}",
            removal.name,
            if force { " (forced)" } else { "" }
        );
        let request = Request::ImiRemove {
            cwd,
            name: removal.name,
            force,
            delete_branch: removal.delete_branch,
            dry_run: false,
            session: self.session.clone(),
            key: None,
        };
        self.change(request, label, now, effects);
    }

    fn timer(&mut self, now: Instant, effects: &mut Vec<Effect>) -> bool {
        let (done, retries) = match self.bridge.as_mut() {
            Some(bridge) => bridge.on_timer(now),
            None => Default::default(),
        };
        push_bridge(retries, effects);
        let mut render = false;
        for completion in done {
            // Every completion is handled, whatever the others asked for.
            render |= self.finish(completion, now, effects);
        }
        if self.pace.due(now) {
            if let Some(busy) = self.busy.as_mut() {
                busy.frame += 1;
                effects.extend(self.pace.start(now));
                render = true;
            }
        }
        render
    }

    /// Handles a finished request; returns whether to draw again.
    fn finish(&mut self, done: Completion, now: Instant, effects: &mut Vec<Effect>) -> bool {
        let Some(call) = self.calls.remove(&done.id) else {
            return false;
        };
        match call {
            Call::Status => {
                self.loading = self.loading.filter(|id| *id != done.id);
                self.read_status(done.result, effects);
                if self.reload {
                    self.refresh(now, effects);
                }
            }
            Call::Preview {
                name,
                delete_branch,
            } => {
                let Mode::Confirm(removal) = &mut self.mode else {
                    return false;
                };
                // An answer for an earlier question (the branch choice changed since) is dropped.
                if removal.name != name || removal.delete_branch != delete_branch {
                    return false;
                }
                match done.result {
                    Ok(Response::ImiRemoveChecked { preview }) => {
                        removal.preview = Some(Preview::from_json(&preview))
                    }
                    other => {
                        self.mode = Mode::List;
                        self.message = Some(Message::Error(failure(&other)));
                    }
                }
            }
            Call::Change => {
                self.busy = None;
                self.message = Some(match imi::answer(&done.result) {
                    // A tab that was not opened, focused or closed is a failure, even when the
                    // worktree itself was made or removed.
                    Some(Ok(text)) if tab_failed(&done.result) => Message::Error(text),
                    Some(Ok(text)) => Message::Info(text),
                    Some(Err(e)) => Message::Error(e),
                    None => Message::Info("done".into()),
                });
                if done.result.is_err() {
                    self.select_name = None;
                }
                self.refresh(now, effects);
            }
        }
        true
    }

    fn read_status(&mut self, result: Result<Response, BridgeError>, effects: &mut Vec<Effect>) {
        match result {
            Ok(Response::ImiStatus { status, .. }) => match ProjectStatus::from_json(&status) {
                Some(status) => {
                    let title = format!("{TITLE} · {}", bridge_client::text::inert(&status.repository));
                    if self.title.as_ref() != Some(&title) {
                        self.title = Some(title.clone());
                        effects.push(Effect::SetTitle(title));
                    }
                    // The row selected stays selected when rows come and go above it. A
                    // worktree being made is selected once a status lists it: a status read
                    // while it is made (a pushed event's) does not, and must not end the wait.
                    let current = self.selected_row().map(|w| w.name.clone());
                    let mut status = status;
                    if let Some(agents) = &self.agents {
                        status.place_agents(agents);
                    }
                    self.status = Some(status);
                    let (wanted, found, count) = {
                        let rows = self.rows();
                        let position = |name: &str| {
                            rows.iter().position(|w| {
                                w.name == name || w.name.ends_with(&format!("-{name}"))
                            })
                        };
                        let wanted = self.select_name.as_deref().and_then(position);
                        let found = wanted.or_else(|| current.as_deref().and_then(position));
                        (wanted, found, rows.len())
                    };
                    if wanted.is_some() {
                        self.select_name = None;
                    }
                    self.selected = found
                        .unwrap_or(self.selected)
                        .min(count.saturating_sub(1));
                }
                None => {
                    self.message = Some(Message::Error(
                        "host-bridge sent a status the pane could not read; is it the same version as perth?"
                            .into(),
                    ))
                }
            },
            other => self.message = Some(Message::Error(failure(&other))),
        }
    }
}

/// Hands the bridge client's effects (retries, wake-ups) on, when there are any.
fn push_bridge(bridge: Vec<bridge_client::Effect>, effects: &mut Vec<Effect>) {
    if !bridge.is_empty() {
        effects.push(Effect::Bridge(bridge));
    }
}

/// Returns whether a change's answer says its tab was not opened, focused or closed.
fn tab_failed(result: &Result<Response, BridgeError>) -> bool {
    let tab = match result {
        Ok(Response::ImiOpened { tab, .. }) => tab,
        Ok(Response::ImiAdded { report, .. } | Response::ImiRemoved { report, .. }) => {
            &report["tab"]
        }
        _ => return false,
    };
    tab.is_object() && tab["done"] != true
}

/// Says why a request did not get the answer it should have.
fn failure(result: &Result<Response, BridgeError>) -> String {
    result
        .as_ref()
        .map_or_else(BridgeError::user_message, bridge_client::zdrive::unexpected)
}
