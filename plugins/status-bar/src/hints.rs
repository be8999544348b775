//! The second line: the current mode's key hints (` <n> New / <←↓↑→> Change Focus / ...`),
//! the quicknav tip in Normal mode, ` -- INTERFACE LOCKED -- ` while locked, and the notices
//! that take their place (fullscreen, floating panes, a copy, nested sessions).
//!
//! When the hints do not fit they take their short names, then as many as fit are kept,
//! followed by ` ... `. The lists of the modes both bars show alike live here, and the
//! one-row bar ([`crate::one_line`]) takes them from here.

use bar_style::{Line, Style};
use zellij_tile::prelude::actions::{Action, SearchDirection, SearchOption};
use zellij_tile::prelude::{
    BareKey, CopyDestination, Direction, InputMode, KeyWithModifier, ModeInfo, Resize,
};

use crate::keys::{key_group, keys_for, keys_for_each, Keymap, Part, TO_NORMAL};
use crate::Colors;

/// What follows the hints that did not all fit.
const MORE: &str = " ... ";

/// The locked mode's line.
const LOCKED: &str = " -- INTERFACE LOCKED -- ";

/// A message that replaces the hints until the next key press.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Notice {
    Copied(CopyDestination),
    ClipboardFailed,
}

/// What the lines need to know about the active tab.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TabView {
    pub fullscreen: bool,
    pub panes_to_hide: usize,
    pub floating_visible: bool,
    /// Whether the panes shown (the floating ones while visible, else the tiled ones) hold
    /// more than one to select: the one-row bar names the keys of moving focus and resizing
    /// only then.
    pub several_panes: bool,
}

/// One hint: its long and short names and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub long: &'static str,
    pub short: &'static str,
    pub keys: Vec<KeyWithModifier>,
}

/// Returns a hint.
pub fn hint(long: &'static str, short: &'static str, keys: Vec<KeyWithModifier>) -> Hint {
    Hint { long, short, keys }
}

/// Returns the keys of moving focus in the four directions.
pub fn focus_keys(km: &Keymap) -> Vec<KeyWithModifier> {
    directional(km, |direction| Action::MoveFocus { direction })
}

/// Returns the keys of an action in each direction (`make` builds it).
pub fn directional(km: &Keymap, make: impl Fn(Direction) -> Action) -> Vec<KeyWithModifier> {
    let actions = [
        Direction::Left,
        Direction::Down,
        Direction::Up,
        Direction::Right,
    ]
    .map(|d| [make(d)]);
    let sequences: Vec<&[Action]> = actions.iter().map(|a| a.as_slice()).collect();
    keys_for_each(km, &sequences)
}

/// Returns the action of a new tab as Zellij's default keybindings bind it.
pub fn new_tab() -> Action {
    Action::NewTab {
        tiled_layout: None,
        floating_layouts: vec![],
        swap_tiled_layouts: None,
        swap_floating_layouts: None,
        tab_name: None,
        should_change_focus_to_new_tab: true,
        cwd: None,
        initial_panes: None,
        first_pane_unblock_condition: None,
    }
}

/// Returns the action of a new pane as Zellij's default keybindings bind it.
pub fn new_pane(direction: Option<Direction>) -> Action {
    Action::NewPane {
        direction,
        pane_name: None,
        start_suppressed: false,
    }
}

/// Returns the bindings in key order, each action sequence once (with its first key).
pub fn distinct_bindings(keymap: &Keymap) -> Vec<(KeyWithModifier, Vec<Action>)> {
    let mut sorted: Vec<&(KeyWithModifier, Vec<Action>)> = keymap.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| a.cmp(b));
    let mut km: Vec<(KeyWithModifier, Vec<Action>)> = Vec::new();
    for (key, actions) in sorted {
        if !km.iter().any(|(_, known)| known == actions) {
            km.push((key.clone(), actions.clone()));
        }
    }
    km
}

/// A mode's bindings, ready for looking up its hints' keys: both bars build their hint lists
/// from them, and take the lists of the modes they show alike from the functions below.
pub struct ModeBindings<'a> {
    /// The bindings in the order the server sent them.
    pub keymap: &'a Keymap,
    /// The bindings in key order, each action sequence once (with its first key), so that
    /// where several keys do the same thing the first in key order (`←` before `h`) is shown.
    pub distinct: Vec<(KeyWithModifier, Vec<Action>)>,
    /// The key that goes back to the base mode: Enter where it does, else the first.
    pub back: Vec<KeyWithModifier>,
}

impl<'a> ModeBindings<'a> {
    /// Returns the bindings of `keymap`, whose way back leads to `back_to`.
    pub fn new(keymap: &'a Keymap, back_to: InputMode) -> ModeBindings<'a> {
        let back_keys = keys_for(
            keymap,
            &[Action::SwitchToMode {
                input_mode: back_to,
            }],
        );
        let enter = KeyWithModifier::new(BareKey::Enter);
        let back = if back_keys.contains(&enter) {
            vec![enter]
        } else {
            back_keys.into_iter().take(1).collect()
        };
        ModeBindings {
            keymap,
            distinct: distinct_bindings(keymap),
            back,
        }
    }

    /// Returns the bindings in key order, each action sequence once.
    pub fn km(&self) -> &Keymap {
        &self.distinct
    }

    /// Returns the keys that do `action` and go back to Normal mode.
    pub fn then_normal(&self, action: Action) -> Vec<KeyWithModifier> {
        keys_for(self.km(), &[action, TO_NORMAL])
    }

    /// Returns the keys that switch to `mode` and send it `input` (clearing what a rename or
    /// search mode edits).
    pub fn to_input(&self, mode: InputMode, input: Action) -> Vec<KeyWithModifier> {
        keys_for(
            self.km(),
            &[Action::SwitchToMode { input_mode: mode }, input],
        )
    }

    /// Returns the keys that start entering a search term.
    pub fn enter_search(&self) -> Vec<KeyWithModifier> {
        self.to_input(
            InputMode::EnterSearch,
            Action::SearchInput { input: vec![0] },
        )
    }

    /// Returns the keys of one action and of another, one after the other.
    pub fn pair(&self, a: Action, b: Action) -> Vec<KeyWithModifier> {
        keys_for_each(self.km(), &[&[a], &[b]])
    }

    /// Returns the hint of going back to the base mode.
    pub fn select_pane(&self) -> Hint {
        hint("Select pane", "Select", self.back.clone())
    }
}

/// Returns the keys of moving between tabs in Tab mode.
pub fn tab_focus_keys(b: &ModeBindings<'_>) -> Vec<KeyWithModifier> {
    use Action as A;
    // Every arrow moves between tabs; in key order ← and ↓ would be the ones shown, where
    // ← and → are meant.
    let all = keys_for_each(b.keymap, &[&[A::GoToPreviousTab], &[A::GoToNextTab]]);
    let (left, right) = (
        KeyWithModifier::new(BareKey::Left),
        KeyWithModifier::new(BareKey::Right),
    );
    if all.contains(&left) && all.contains(&right) {
        vec![left, right]
    } else {
        b.pair(A::GoToPreviousTab, A::GoToNextTab)
    }
}

/// Returns Tab mode's hint of breaking the pane out to the tab on its left or right.
pub fn break_left_right(b: &ModeBindings<'_>) -> Hint {
    hint(
        "Break pane left/right",
        "Break",
        keys_for_each(
            b.km(),
            &[
                &[Action::BreakPaneLeft, TO_NORMAL],
                &[Action::BreakPaneRight, TO_NORMAL],
            ],
        ),
    )
}

/// Returns Resize mode's hints.
pub fn resize_hints(b: &ModeBindings<'_>) -> Vec<Hint> {
    let resize = |resize: Resize, direction| Action::Resize { resize, direction };
    vec![
        hint(
            "Increase/Decrease size",
            "Increase/Decrease",
            b.pair(
                resize(Resize::Increase, None),
                resize(Resize::Decrease, None),
            ),
        ),
        hint(
            "Increase to",
            "Increase",
            directional(b.km(), |d| resize(Resize::Increase, Some(d))),
        ),
        hint(
            "Decrease from",
            "Decrease",
            directional(b.km(), |d| resize(Resize::Decrease, Some(d))),
        ),
        b.select_pane(),
    ]
}

/// Returns Move mode's hint of moving the pane.
pub fn switch_location(b: &ModeBindings<'_>) -> Hint {
    hint(
        "Switch Location",
        "Move",
        directional(b.km(), |d| Action::MovePane { direction: Some(d) }),
    )
}

/// Returns EnterSearch mode's hints.
pub fn enter_search_hints(b: &ModeBindings<'_>) -> Vec<Hint> {
    let to_mode = |input_mode| Action::SwitchToMode { input_mode };
    vec![
        hint(
            "When done",
            "Done",
            keys_for(b.km(), &[to_mode(InputMode::Search)]),
        ),
        hint(
            "Cancel",
            "Cancel",
            keys_for(
                b.km(),
                &[
                    Action::SearchInput { input: vec![27] },
                    to_mode(InputMode::Scroll),
                ],
            ),
        ),
    ]
}

/// Returns the hints of scrolling by a line, a page and half a page.
fn scroll_hints(b: &ModeBindings<'_>) -> [Hint; 3] {
    use Action as A;
    [
        hint("Scroll", "Scroll", b.pair(A::ScrollDown, A::ScrollUp)),
        hint(
            "Scroll page",
            "Scroll",
            b.pair(A::PageScrollDown, A::PageScrollUp),
        ),
        hint(
            "Scroll half page",
            "Scroll",
            b.pair(A::HalfPageScrollDown, A::HalfPageScrollUp),
        ),
    ]
}

/// Returns Search mode's hints.
pub fn search_hints(b: &ModeBindings<'_>) -> Vec<Hint> {
    let search = |direction| keys_for(b.km(), &[Action::Search { direction }]);
    let toggle = |option| keys_for(b.km(), &[Action::SearchToggleOption { option }]);
    let mut hints = vec![hint("Enter Search term", "Search", b.enter_search())];
    hints.extend(scroll_hints(b));
    hints.extend([
        hint("Search down", "Down", search(SearchDirection::Down)),
        hint("Search up", "Up", search(SearchDirection::Up)),
        hint(
            "Case sensitive",
            "Case",
            toggle(SearchOption::CaseSensitivity),
        ),
        hint("Wrap", "Wrap", toggle(SearchOption::Wrap)),
        hint("Whole words", "Whole", toggle(SearchOption::WholeWord)),
    ]);
    hints
}

/// Returns Tmux mode's hints.
pub fn tmux_hints(b: &ModeBindings<'_>) -> Vec<Hint> {
    use Action as A;
    vec![
        hint("Move focus", "Move", focus_keys(b.km())),
        hint(
            "Split down",
            "Down",
            b.then_normal(new_pane(Some(Direction::Down))),
        ),
        hint(
            "Split right",
            "Right",
            b.then_normal(new_pane(Some(Direction::Right))),
        ),
        hint(
            "Fullscreen",
            "Fullscreen",
            b.then_normal(A::ToggleFocusFullscreen),
        ),
        hint("New tab", "New", b.then_normal(new_tab())),
        hint(
            "Rename tab",
            "Rename",
            b.to_input(InputMode::RenameTab, A::TabNameInput { input: vec![0] }),
        ),
        hint(
            "Previous Tab",
            "Previous",
            b.then_normal(A::GoToPreviousTab),
        ),
        hint("Next Tab", "Next", b.then_normal(A::GoToNextTab)),
        b.select_pane(),
    ]
}

/// Returns the hints of a mode other than Normal and Locked, from its keymap.
///
/// Where several keys do the same thing the one shown is the first in key order (so `←`
/// before `h`); going back to Normal mode prefers Enter.
pub fn mode_hints(mode: InputMode, keymap: &Keymap) -> Vec<Hint> {
    use Action as A;
    use InputMode as IM;

    let b = ModeBindings::new(keymap, IM::Normal);

    match mode {
        IM::Pane => vec![
            hint("New", "New", b.then_normal(new_pane(None))),
            hint("Change Focus", "Move", focus_keys(b.km())),
            hint("Close", "Close", b.then_normal(A::CloseFocus)),
            hint(
                "Rename",
                "Rename",
                b.to_input(IM::RenamePane, A::PaneNameInput { input: vec![0] }),
            ),
            hint(
                "Toggle Fullscreen",
                "Fullscreen",
                b.then_normal(A::ToggleFocusFullscreen),
            ),
            hint(
                "Toggle Floating",
                "Floating",
                b.then_normal(A::ToggleFloatingPanes),
            ),
            hint(
                "Toggle Embed",
                "Embed",
                b.then_normal(A::TogglePaneEmbedOrFloating),
            ),
            b.select_pane(),
        ],
        IM::Tab => vec![
            hint("New", "New", b.then_normal(new_tab())),
            hint("Change focus", "Move", tab_focus_keys(&b)),
            hint("Close", "Close", b.then_normal(A::CloseTab)),
            hint(
                "Rename",
                "Rename",
                b.to_input(IM::RenameTab, A::TabNameInput { input: vec![0] }),
            ),
            hint("Sync", "Sync", b.then_normal(A::ToggleActiveSyncTab)),
            hint(
                "Break pane to new tab",
                "Break out",
                b.then_normal(A::BreakPane),
            ),
            break_left_right(&b),
            hint("Toggle", "Toggle", keys_for(b.km(), &[A::ToggleTab])),
            b.select_pane(),
        ],
        IM::Resize => resize_hints(&b),
        IM::Move => vec![switch_location(&b)],
        IM::Scroll => {
            let mut hints = vec![hint("Enter search term", "Search", b.enter_search())];
            hints.extend(scroll_hints(&b));
            hints.push(hint(
                "Edit scrollback in default editor",
                "Edit",
                b.then_normal(A::EditScrollback { ansi: false }),
            ));
            hints.push(b.select_pane());
            hints
        }
        IM::EnterSearch => enter_search_hints(&b),
        IM::Search => search_hints(&b),
        IM::Session => vec![
            hint("Detach", "Detach", keys_for(b.km(), &[A::Detach])),
            hint(
                "Session Manager",
                "Manager",
                b.then_normal(A::LaunchOrFocusPlugin {
                    plugin: Default::default(),
                    should_float: true,
                    move_to_focused_tab: true,
                    should_open_in_place: false,
                    close_replaced_pane: false,
                    skip_cache: false,
                    tab_id: None,
                }),
            ),
            b.select_pane(),
        ],
        IM::Tmux => tmux_hints(&b),
        IM::RenamePane | IM::RenameTab => vec![
            hint("When done", "Done", b.back.clone()),
            hint("Select pane", "Select", focus_keys(b.km())),
        ],
        IM::Normal | IM::Locked | IM::Prompt => vec![],
    }
}

/// Returns ` <keys> name`, or ` / <keys> name` after another hint; nothing without keys.
fn hint_part(first: bool, keys: &[KeyWithModifier], name: &str, colors: &Colors) -> Part {
    if keys.is_empty() {
        return Part::default();
    }
    let mut line = Line::default();
    line.push(if first { " " } else { " / " }, Style::fg(colors.text));
    line.append(&key_group(keys, colors, None).line);
    line.push(&format!(" {name}"), Style::fg(colors.text).bold());
    Part::counted_in_bytes(line)
}

/// Returns all the hints with their long or short names.
fn hints_line(hints: &[Hint], short: bool, colors: &Colors) -> Part {
    let mut part = Part::default();
    for h in hints {
        let name = if short { h.short } else { h.long };
        let next = hint_part(part.len == 0, &h.keys, name, colors);
        part.append(&next);
    }
    part
}

/// Returns as many short hints as fit in `width` with ` ... ` after them.
fn hints_that_fit(hints: &[Hint], width: usize, colors: &Colors) -> Part {
    let mut part = Part::default();
    for h in hints {
        let next = hint_part(part.len == 0, &h.keys, h.short, colors);
        if part.len + next.len + MORE.len() > width {
            part.line.push(MORE, Style::default());
            part.len += MORE.len();
            break;
        }
        part.append(&next);
    }
    part
}

/// The three forms of the quicknav tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TipForm {
    Full,
    Medium,
    Short,
}

/// Returns `keys` as a group, or a bold `UNBOUND`.
fn group_or_unbound(keys: &[KeyWithModifier], colors: &Colors) -> Line {
    if keys.is_empty() {
        let mut line = Line::default();
        line.push("UNBOUND", Style::default().bold());
        return line;
    }
    key_group(keys, colors, None).line
}

/// Returns Normal mode's tip: the keys of a new pane, moving focus and resizing.
fn quicknav(keymap: &Keymap, form: TipForm, colors: &Colors) -> Part {
    let new_pane_keys = keys_for(keymap, &[new_pane(None)]);
    let mut resize_keys = keys_for_each(
        keymap,
        &[
            &[Action::Resize {
                resize: Resize::Increase,
                direction: None,
            }],
            &[Action::Resize {
                resize: Resize::Decrease,
                direction: None,
            }],
        ],
    );
    let alt = |c| KeyWithModifier::new(BareKey::Char(c)).with_alt_modifier();
    if resize_keys.contains(&alt('=')) && resize_keys.contains(&alt('+')) {
        resize_keys.retain(|k| k != &alt('='));
    }
    let focus = keys_for_each(
        keymap,
        &[
            &[Action::MoveFocus {
                direction: Direction::Left,
            }],
            &[Action::MoveFocusOrTab {
                direction: Direction::Left,
            }],
            &[Action::MoveFocus {
                direction: Direction::Down,
            }],
            &[Action::MoveFocus {
                direction: Direction::Up,
            }],
            &[Action::MoveFocus {
                direction: Direction::Right,
            }],
            &[Action::MoveFocusOrTab {
                direction: Direction::Right,
            }],
        ],
    );
    let (arrows, letters): (Vec<_>, Vec<_>) = focus
        .into_iter()
        .partition(|k| k.to_string().contains(['←', '↓', '↑', '→']));
    let mut focus_line = Line::default();
    if arrows.is_empty() && letters.is_empty() {
        focus_line.push("UNBOUND", Style::default().bold());
    } else {
        focus_line.append(&key_group(&arrows, colors, None).line);
        if !arrows.is_empty() && !letters.is_empty() {
            focus_line.push(" or ", Style::default());
        }
        focus_line.append(&key_group(&letters, colors, None).line);
    }

    let (intro, after_new, after_focus, after_resize) = match form {
        TipForm::Full => (
            " Tip: ",
            " => open new pane. ",
            " => navigate between panes. ",
            " => increase/decrease pane size.",
        ),
        TipForm::Medium => (
            " Tip: ",
            " => new pane. ",
            " => navigate. ",
            " => resize pane.",
        ),
        TipForm::Short => (" QuickNav: ", " / ", " / ", ""),
    };
    let plain = Style::default();
    let mut line = Line::default();
    line.push(intro, plain);
    line.append(&group_or_unbound(&new_pane_keys, colors));
    line.push(after_new, plain);
    line.append(&focus_line);
    line.push(after_focus, plain);
    line.append(&group_or_unbound(&resize_keys, colors));
    line.push(after_resize, plain);
    Part::counted_in_bytes(line)
}

/// Returns the mode's hints in the widest form that fits in `width`.
fn key_hints(mode: InputMode, keymap: &Keymap, colors: &Colors, width: usize) -> Part {
    match mode {
        InputMode::Normal => [TipForm::Full, TipForm::Medium, TipForm::Short]
            .into_iter()
            .map(|form| quicknav(keymap, form, colors))
            .find(|part| part.len <= width)
            .unwrap_or_default(),
        InputMode::Locked => {
            let mut line = Line::default();
            line.push(LOCKED, Style::fg(colors.text).bold());
            let part = Part::counted_in_chars(line);
            if part.len <= width {
                part
            } else {
                Part::default()
            }
        }
        mode => {
            let hints = mode_hints(mode, keymap);
            let full = hints_line(&hints, false, colors);
            if full.len <= width {
                return full;
            }
            let short = hints_line(&hints, true, colors);
            if short.len <= width {
                return short;
            }
            hints_that_fit(&hints, width, colors)
        }
    }
}

/// Returns ` (NOTICE): ` in the notice colours.
fn notice(line: &mut Line, what: &str, colors: &Colors, closing: &str) {
    let text = Style::fg(colors.text).bold();
    line.push(" (", text);
    line.push(what, Style::fg(colors.orange).bold());
    line.push(closing, text);
}

/// Returns the fullscreen notice: ` (FULLSCREEN): + 3 hidden panes`.
fn fullscreen(locked: bool, hidden: usize, colors: &Colors) -> Line {
    let text = Style::fg(colors.text).bold();
    let mut line = Line::default();
    if locked {
        line.push(LOCKED, text);
    }
    notice(&mut line, "FULLSCREEN", colors, "): ");
    line.push("+ ", text);
    line.push(&hidden.to_string(), Style::fg(colors.green).bold());
    line.push(" hidden panes", text);
    line
}

/// Returns the floating panes notice with the keys that hide them.
fn floating(mode_info: &ModeInfo, keymap: &Keymap, colors: &Colors) -> Line {
    let text = Style::fg(colors.text).bold();
    let key = Style::fg(colors.green).bold();
    let first_or_question = |keys: Vec<KeyWithModifier>| {
        keys.first()
            .map_or_else(|| "?".to_owned(), ToString::to_string)
    };
    let pane_mode = first_or_question(keys_for(
        keymap,
        &[Action::SwitchToMode {
            input_mode: InputMode::Pane,
        }],
    ));
    let hide = first_or_question(keys_for(
        &mode_info.get_keybinds_for_mode(InputMode::Pane),
        &[Action::ToggleFloatingPanes, TO_NORMAL],
    ));
    let mut line = Line::default();
    notice(&mut line, "FLOATING PANES VISIBLE", colors, "): ");
    line.push("Press ", text);
    line.push(&pane_mode, key);
    line.push(", <", text);
    line.push(&hide, key);
    line.push("> to hide.", text);
    line
}

/// Returns the line that takes the place of the hints in a nested session or while a notice
/// waits, or nothing.
pub fn notice_line(
    mode_info: &ModeInfo,
    colors: &Colors,
    notice: Option<Notice>,
    width: usize,
) -> Option<Line> {
    if mode_info.session_dimmed == Some(true) {
        return Some(nested(
            "Ascend: ",
            &mode_info.nested_ascend_keys,
            colors,
            width,
        ));
    }
    if mode_info.session_ascended == Some(true) {
        return Some(nested(
            "Descend: ",
            &mode_info.nested_descend_keys,
            colors,
            width,
        ));
    }
    let mut line = Line::default();
    match notice? {
        Notice::Copied(destination) => {
            let text = match destination {
                CopyDestination::Command => "Text piped to external command",
                CopyDestination::Primary => "Text copied to system primary selection",
                CopyDestination::System => "Text copied to system clipboard",
            };
            // Zellij draws it as a text component, which is bold.
            line.push(text, Style::new(colors.green, colors.background).bold());
        }
        Notice::ClipboardFailed => {
            line.push(
                " Error using the system clipboard.",
                Style::fg(colors.red).bold(),
            );
        }
    }
    Some(line)
}

/// Returns the nested session's hint (` Ascend: <keys>`), or the keys alone, whichever fits.
fn nested(label: &str, keys: &[KeyWithModifier], colors: &Colors, width: usize) -> Line {
    let faint = Style::default().dim().italic();
    let mut keys_line = Line::default();
    if keys.is_empty() {
        keys_line.push("<unbound>", faint);
    }
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            keys_line.push(" + ", Style::fg(colors.text));
        }
        keys_line.append(&key_group(std::slice::from_ref(key), colors, None).line);
    }
    let mut line = Line::default();
    line.push(&format!(" {label}"), faint);
    line.append(&keys_line);
    [line, keys_line]
        .into_iter()
        .find(|l| l.plain_text().len() <= width)
        .unwrap_or_default()
}

/// What the second line is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct SecondLine<'a> {
    pub mode_info: &'a ModeInfo,
    /// The current mode's bindings.
    pub keymap: &'a Keymap,
    pub colors: &'a Colors,
    /// The active tab, once the tabs are known: nothing is shown before.
    pub tab: Option<&'a TabView>,
    pub notice: Option<Notice>,
}

/// Returns the second line for `width` columns.
pub fn second_line(input: SecondLine<'_>, width: usize) -> Line {
    let SecondLine {
        mode_info,
        keymap,
        colors,
        tab,
        notice: message,
    } = input;
    if let Some(line) = notice_line(mode_info, colors, message, width) {
        return line;
    }
    let Some(tab) = tab else {
        return Line::default();
    };
    let mode = mode_info.mode;
    let locked = mode == InputMode::Locked;
    if tab.fullscreen && matches!(mode, InputMode::Normal | InputMode::Locked) {
        return fullscreen(locked, tab.panes_to_hide, colors);
    }
    if !tab.fullscreen && tab.floating_visible {
        if mode == InputMode::Normal {
            return floating(mode_info, keymap, colors);
        }
        if locked {
            let mut line = Line::default();
            line.push(LOCKED, Style::fg(colors.text).bold());
            notice(&mut line, "FLOATING PANES VISIBLE", colors, ")");
            return line;
        }
    }
    key_hints(mode, keymap, colors, width).line
}
