//! Tests of the two lines and of when they are built, against keybindings parsed the way a
//! session parses them (Zellij's defaults, or a configuration over them).

use zellij_tile::prelude::*;
use zellij_utils::input::config::Config;

use crate::app::KeyPresses;
use crate::App;

/// Returns the keybindings of Zellij's defaults with `config` (KDL) over them.
fn keybinds(config: &str) -> KeybindsVec {
    let defaults = Config::from_default_assets().expect("Zellij's default configuration parses");
    let config = Config::from_kdl(config, Some(defaults)).expect("the test configuration parses");
    config.keybinds.to_keybinds_vec()
}

/// Returns a mode update for `mode` with `keybinds` and Zellij's default theme.
fn mode_info(mode: InputMode, keybinds: KeybindsVec) -> ModeInfo {
    ModeInfo {
        mode,
        keybinds,
        style: Style {
            colors: DEFAULT_STYLES,
            ..Default::default()
        },
        // Zellij's name for the simplified UI (no arrow glyphs); off by default.
        capabilities: PluginCapabilities { arrow_fonts: false },
        ..Default::default()
    }
}

fn tab(edit: impl FnOnce(&mut TabInfo)) -> Event {
    let mut tab = TabInfo {
        active: true,
        ..Default::default()
    };
    edit(&mut tab);
    Event::TabUpdate(vec![tab])
}

/// Returns an app that saw a mode update (with `config` over Zellij's keybindings) and a tab
/// update with one plain tab.
fn app_with(mode: InputMode, config: &str) -> App {
    let mut app = App::default();
    app.update(Event::ModeUpdate(mode_info(mode, keybinds(config))));
    app.update(tab(|_| {}));
    app
}

fn app_in(mode: InputMode) -> App {
    app_with(mode, "")
}

/// Returns the two lines' text at `cols` columns, the separators' glyph written `>`.
fn text(app: &App, cols: usize) -> String {
    let [first, second] = app.lines(app.mode_info().unwrap(), cols);
    format!("{}\n{}", first.plain_text(), second.plain_text()).replace('\u{e0b0}', ">")
}

/// Returns [`text`] with each line between bars, for snapshots that keep leading spaces.
fn framed(app: &App, cols: usize) -> String {
    frame(&text(app, cols))
}

fn frame(text: &str) -> String {
    text.lines()
        .map(|l| format!("|{l}|"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn normal_mode_names_the_shared_modifier_once_and_gives_the_quicknav_tip() {
    insta::assert_snapshot!(framed(&app_in(InputMode::Normal), 200), @r"
    | Ctrl +>> <g> LOCK >> <p> PANE >> <t> TAB >> <n> RESIZE >> <h> MOVE >> <s> SEARCH >> <o> SESSION >> <q> QUIT >|
    | Tip: Alt + <n> => open new pane. Alt + <←↓↑→> or Alt + <hjkl> => navigate between panes. Alt + <+|-> => increase/decrease pane size.|
    ");
}

#[test]
fn each_mode_shows_its_hints_and_its_way_back() {
    let lines: Vec<String> = [
        InputMode::Pane,
        InputMode::Tab,
        InputMode::Resize,
        InputMode::Move,
        InputMode::Scroll,
        InputMode::Search,
        InputMode::Session,
    ]
    .into_iter()
    .map(|mode| text(&app_in(mode), 200).lines().nth(1).unwrap().to_owned())
    .collect();
    insta::assert_snapshot!(frame(&lines.join("\n")), @r"
    | <n> New / <←↓↑→> Change Focus / <x> Close / <c> Rename / <f> Toggle Fullscreen / <w> Toggle Floating / <e> Toggle Embed / <ENTER> Select pane|
    | <n> New / <←→> Change focus / <x> Close / <r> Rename / <s> Sync / <b> Break pane to new tab / <[]> Break pane left/right / <TAB> Toggle / <ENTER> Select pane|
    | <+|-> Increase/Decrease size / <←↓↑→> Increase to / <HJKL> Decrease from / <ENTER> Select pane|
    | <←↓↑→> Switch Location|
    | <s> Enter search term / <↓↑> Scroll / <PgDn|PgUp> Scroll page / <d|u> Scroll half page / <e> Edit scrollback in default editor / <ENTER> Select pane|
    | <↓↑> Scroll / <PgDn|PgUp> Scroll page / <d|u> Scroll half page / <n> Search down / <p> Search up / <c> Case sensitive / <w> Wrap / <o> Whole words|
    | <d> Detach / <a|c|l|p|s|w> Session Manager / <ENTER> Select pane|
    ");
}

#[test]
fn the_current_mode_is_highlighted_with_its_key_back_to_normal() {
    let app = app_in(InputMode::Tab);
    let [first, _] = app.lines(app.mode_info().unwrap(), 200);
    let selected = DEFAULT_STYLES.ribbon_selected.background;
    let highlighted: String = first
        .spans
        .iter()
        .filter(|s| s.style.bg == Some(selected))
        .map(|s| s.text.as_str())
        .collect();
    // Ctrl t goes back to Normal mode from Tab mode, so `t` stays the tab's key.
    assert_eq!(highlighted.replace('\u{e0b0}', ">"), "> <t> TAB ");
}

#[test]
fn locked_mode_disables_every_mode_but_the_lock() {
    let app = app_in(InputMode::Locked);
    insta::assert_snapshot!(framed(&app, 200), @r"
    | Ctrl +>> <g> LOCK >> <> PANE >> <> TAB >> <> RESIZE >> <> MOVE >> <> SEARCH >> <> SESSION >> <> QUIT >|
    | -- INTERFACE LOCKED -- |
    ");
    let [first, _] = app.lines(app.mode_info().unwrap(), 200);
    let pane = first
        .spans
        .iter()
        .find(|s| s.text.contains("PANE"))
        .unwrap();
    assert!(pane.style.dim && pane.style.italic, "{pane:?}");
    let lock = first
        .spans
        .iter()
        .find(|s| s.text.contains("LOCK"))
        .unwrap();
    assert!(!lock.style.dim && lock.style.bold, "{lock:?}");
}

#[test]
fn keys_are_read_from_the_users_keybindings() {
    // Pane mode moved to Alt x: the mode keys share no modifier, so none is named up front and
    // each ribbon names its own; the first ribbon has no separator before it.
    let app = app_with(
        InputMode::Normal,
        r#"keybinds { normal { unbind "Ctrl p"; bind "Alt x" { SwitchToMode "Pane"; }; }; }"#,
    );
    let first = text(&app, 200).lines().next().unwrap().to_owned();
    assert_eq!(
        first,
        " <Ctrl g> LOCK >> <Alt x> PANE >> <Ctrl t> TAB >> <Ctrl n> RESIZE >> <Ctrl h> MOVE >> \
         <Ctrl s> SEARCH >> <Ctrl o> SESSION >> <Ctrl q> QUIT >"
    );
    // Narrower: the modifiers shorten, then only the keys are left, then nothing.
    let first = text(&app, 130).lines().next().unwrap().to_owned();
    assert!(
        first.starts_with(" <^C g> LOCK >> <^A x> PANE >"),
        "{first}"
    );
    let first = text(&app, 85).lines().next().unwrap().to_owned();
    assert_eq!(
        first,
        " Ctrl g >> Alt x >> Ctrl t >> Ctrl n >> Ctrl h >> Ctrl s >> Ctrl o >> Ctrl q >"
    );
    assert_eq!(text(&app, 20).lines().next().unwrap(), "");
}

#[test]
fn the_unlock_first_preset_shows_bare_keys_and_locked_as_the_base() {
    // As Zellij's "unlock-first" preset: Ctrl g leaves the locked base mode, then bare letters
    // pick a mode.
    let config = r#"
        default_mode "locked"
        keybinds clear-defaults=true {
            locked { bind "Ctrl g" { SwitchToMode "Normal"; }; }
            normal {
                bind "Ctrl g" { SwitchToMode "Locked"; }
                bind "p" { SwitchToMode "Pane"; }
                bind "t" { SwitchToMode "Tab"; }
                bind "q" { Quit; }
            }
            pane { bind "p" { SwitchToMode "Normal"; }; bind "n" { NewPane; SwitchToMode "Normal"; }; }
        }
    "#;
    let normal = app_with(InputMode::Normal, config);
    assert_eq!(
        text(&normal, 200).lines().next().unwrap(),
        " <Ctrl g> LOCK >> <p> PANE >> <t> TAB >> <q> QUIT >"
    );
    let pane = app_with(InputMode::Pane, config);
    insta::assert_snapshot!(framed(&pane, 200), @r"
    | <p> PANE >|
    | <n> New / <p> Select pane|
    ");
    let locked = app_with(InputMode::Locked, config);
    assert_eq!(
        text(&locked, 200).lines().next().unwrap(),
        " Ctrl +>> <g> LOCK >> <> PANE >> <> TAB >> <> RESIZE >> <> MOVE >> <> SEARCH >> <> SESSION >> <> QUIT >"
    );
}

#[test]
fn narrow_widths_take_the_short_names_then_cut_with_an_ellipsis() {
    let app = app_in(InputMode::Pane);
    insta::assert_snapshot!(framed(&app, 120), @r"
    | Ctrl +>> <g> LOCK >> <p> PANE >> <t> TAB >> <n> RESIZE >> <h> MOVE >> <s> SEARCH >> <o> SESSION >> <q> QUIT >|
    | <n> New / <←↓↑→> Move / <x> Close / <c> Rename / <f> Fullscreen / <w> Floating / <e> Embed / <ENTER> Select|
    ");
    insta::assert_snapshot!(framed(&app, 70), @r"
    | Ctrl +>> g >> p >> t >> n >> h >> s >> o >> q >|
    | <n> New / <←↓↑→> Move / <x> Close / <c> Rename ... |
    ");
    let normal = app_in(InputMode::Normal);
    insta::assert_snapshot!(framed(&normal, 80), @r"
    | Ctrl +>> g >> p >> t >> n >> h >> s >> o >> q >|
    | QuickNav: Alt + <n> / Alt + <←↓↑→> or Alt + <hjkl> / Alt + <+|->|
    ");
    assert!(text(&normal, 40).ends_with('\n'), "nothing fits: no tip");
}

#[test]
fn widths_are_counted_as_zellij_counts_them() {
    // The full Pane hints are 142 characters but Zellij counts the arrows' bytes (150): at 146
    // columns it takes the short names, and so does this bar.
    let app = app_in(InputMode::Pane);
    let full = text(&app, 200).lines().nth(1).unwrap().to_owned();
    assert_eq!(full.chars().count(), 142);
    let at_146 = text(&app, 146).lines().nth(1).unwrap().to_owned();
    assert!(
        at_146.contains("<ENTER> Select") && !at_146.contains("Select pane"),
        "{at_146}"
    );
    assert_eq!(text(&app, 150).lines().nth(1).unwrap(), full);
}

#[test]
fn the_swap_layout_shows_on_the_right_with_its_keys() {
    let mut app = app_in(InputMode::Normal);
    app.update(tab(|t| t.active_swap_layout_name = Some("vertical".into())));
    let first = text(&app, 140).lines().next().unwrap().to_owned();
    assert!(
        first.ends_with("<q> QUIT >      Alt + <[]> > VERTICAL > "),
        "{first:?}"
    );
    assert_eq!(first.chars().count(), 140);
}

#[test]
fn notices_replace_the_hints_until_a_key_is_pressed() {
    let mut app = app_in(InputMode::Normal);
    app.update(tab(|t| {
        t.is_fullscreen_active = true;
        t.panes_to_hide = 2;
    }));
    assert_eq!(
        text(&app, 120).lines().nth(1),
        Some(" (FULLSCREEN): + 2 hidden panes")
    );
    app.update(tab(|t| t.are_floating_panes_visible = true));
    assert_eq!(
        text(&app, 120).lines().nth(1),
        Some(" (FLOATING PANES VISIBLE): Press Ctrl p, <w> to hide.")
    );

    let (redraw, keys) = app.update(Event::CopyToClipboard(CopyDestination::System));
    assert!(redraw);
    assert_eq!(keys, Some(KeyPresses::Read));
    assert_eq!(
        text(&app, 120).lines().nth(1),
        Some("Text copied to system clipboard")
    );
    // Key presses are read only while the notice shows.
    let (redraw, keys) = app.update(Event::InputReceived);
    assert!(redraw);
    assert_eq!(keys, Some(KeyPresses::Ignore));
    assert!(text(&app, 120).contains("FLOATING PANES VISIBLE"));
}

#[test]
fn lines_are_built_once_per_change_and_size() {
    let mut app = app_in(InputMode::Normal);
    let first = app.render(2, 120).to_owned();
    assert!(first.contains('\n') && first.contains("LOCK"), "{first:?}");
    // The same update again changes nothing and asks for no render.
    let (redraw, _) = app.update(Event::ModeUpdate(app.mode_info().unwrap().clone()));
    assert!(!redraw);
    let (redraw, _) = app.update(tab(|t| t.name = "renamed".into()));
    assert!(!redraw, "a tab's name is not on the status bar");
    assert_eq!(app.render(2, 120), first);
    // A mode update without keybindings (Zellij sends them once) keeps the known ones.
    let mut pane = app.mode_info().unwrap().clone();
    pane.mode = InputMode::Pane;
    pane.keybinds.clear();
    let (redraw, _) = app.update(Event::ModeUpdate(pane));
    assert!(redraw);
    let pane_text = app.render(2, 120).to_owned();
    assert!(pane_text.contains("Toggle") || pane_text.contains("Fullscreen"));
    // One row: Pane mode's ribbon and its hints.
    assert!(!app.render(1, 120).contains('\n'));
    assert!(app.render(1, 120).contains("PANE") && app.render(1, 120).contains("New"));
}

#[test]
fn nothing_is_drawn_before_the_first_mode_update_and_no_hints_before_the_tabs() {
    let mut app = App::default();
    assert_eq!(app.render(2, 80), "");
    app.update(Event::ModeUpdate(mode_info(
        InputMode::Normal,
        keybinds(""),
    )));
    let text = text(&app, 200);
    assert!(text.contains("LOCK") && text.ends_with('\n'), "{text:?}");
}

#[test]
fn keybindings_sent_apart_fill_a_mode_update_without_them() {
    let mut app = App::default();
    app.update(Event::ModeUpdate(mode_info(InputMode::Normal, Vec::new())));
    assert!(!text(&app, 200).contains("LOCK"));
    let (redraw, _) = app.update(Event::InitialKeybinds(keybinds("")));
    assert!(redraw);
    assert!(text(&app, 200).contains("<g> LOCK"));
}

#[test]
fn a_denied_permission_is_said_in_the_bar() {
    let mut app = App::default();
    app.update(Event::PermissionRequestResult(PermissionStatus::Denied));
    assert!(app.render(2, 120).contains("needs permission"));
}

/// perth's server broadcasts `perth::redraw` when a client attached: the bar draws the same
/// text again; other pipes are not the bar's.
#[test]
fn the_redraw_pipe_draws_the_same_bar_again() {
    let mut app = app_in(InputMode::Normal);
    let before = text(&app, 120);
    assert!(app.pipe(bridge_protocol::REDRAW_PIPE));
    assert!(!app.pipe("zdrive::log"));
    assert_eq!(text(&app, 120), before);
}

/// The modes the one-row bar is compared in.
const ALL_MODES: [InputMode; 13] = [
    InputMode::Normal,
    InputMode::Locked,
    InputMode::Pane,
    InputMode::Tab,
    InputMode::Resize,
    InputMode::Move,
    InputMode::Scroll,
    InputMode::EnterSearch,
    InputMode::Search,
    InputMode::Session,
    InputMode::RenamePane,
    InputMode::RenameTab,
    InputMode::Tmux,
];

/// Returns the one row's text at `cols` columns, the separators' glyph written `>`.
fn row_text(app: &App, cols: usize) -> String {
    app.row(app.mode_info().unwrap(), cols)
        .plain_text()
        .replace('\u{e0b0}', ">")
}

/// Returns a line's spans one a line, `STYLE: 'TEXT'`, the separators' glyph written `>`.
fn spans(line: &bar_style::Line) -> String {
    line.spans
        .iter()
        .map(|span| {
            let mut one = bar_style::Line::default();
            one.push(&span.text, span.style);
            let style = one.to_markup();
            let style = style
                .strip_prefix('{')
                .and_then(|m| m.split_once('|'))
                .map_or("", |(style, _)| style);
            format!("{style}: '{}'", span.text.replace('\u{e0b0}', ">"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Returns an app in `mode` as a session sends it (Normal as the base mode) with one pane.
fn row_app(mode: InputMode) -> App {
    let mut info = mode_info(mode, keybinds(""));
    info.base_mode = Some(InputMode::Normal);
    let mut app = App::default();
    app.update(Event::ModeUpdate(info));
    app.update(tab(|t| t.selectable_tiled_panes_count = 1));
    app
}

/// Returns the row of every mode at `cols` columns, one a line between bars.
fn rows_in_each_mode(cols: usize) -> String {
    ALL_MODES
        .into_iter()
        .map(|mode| format!("|{}|", row_text(&row_app(mode), cols)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_row_draws_zellijs_compact_design_in_each_mode() {
    // Normal and Locked mode: the mode ribbons, then (right-aligned, a column left free) the
    // keys of a new pane and the floating panes, or `...` where they do not fit. The others:
    // their own ribbon, a separator naming the search and rename modes, and their hints.
    insta::assert_snapshot!(rows_in_each_mode(120), @r#"
    | Ctrl +>> <g> LOCK >> <p> PANE >> <t> TAB >> <n> RESIZE >> <h> MOVE >> <s> SEARCH >> <o> SESSION >> <q> QUIT >       ...|
    | Ctrl +>> <g> LOCK >                                                                                                   |
    | Ctrl +>> <p> PANE >> > n > New > ←↓↑→ > Move > x > Close > c > Rename > f > Fullscreen > Alt f > Floating > ... |
    | Ctrl +>> <t> TAB >> > n > New > ←→ > Move > x > Close > r > Rename > s > Sync > b > Break out > [] > Break > ... |
    | Ctrl +>> <n> RESIZE >> > +|- > Increase/Decrease > ←↓↑→ > Increase > HJKL > Decrease > ENTER > Select >|
    | Ctrl +>> <h> MOVE >> > ←↓↑→ > Switch Location > ENTER > When done >|
    | Ctrl +>> <s> SEARCH >> > s > Search > ↓|↑|PgDn|PgUp|d|u > Scroll > e > Edit > ENTER > Select > [] > Commands >|
    | ENTERING SEARCH TERM > > ENTER > When done >|
    | SEARCHING > > ↓↑ > Scroll > PgDn|PgUp > Scroll > d|u > Scroll > n > Down > p > Up > c > Case > w > Wrap > o > Whole >|
    | Ctrl +>> <o> SESSION >> > d > Detach > w > Manager > s > Share > c > Config > l > Layouts > p > Plugins > ... |
    | RENAMING PANE > > ENTER > When done >|
    | RENAMING TAB > > ENTER > When done >|
    |> > Alt <↓↑> > Move > " > Down > % > Right > z > Fullscreen > c > New > p > Previous > n > Next > ENTER > Select >|
    "#);
    // Narrower: the mode ribbons keep only their keys, the hints are cut.
    insta::assert_snapshot!(rows_in_each_mode(80), @r#"
    | Ctrl +>> g >> p >> t >> n >> h >> s >> o >> q >                             ...|
    | Ctrl +>> <g> LOCK >                                                           |
    | Ctrl +>> <p> PANE >> > n > New > ←↓↑→ > Move > x > Close > c > Rename > ... |
    | Ctrl +>> <t> TAB >> > n > New > ←→ > Move > x > Close > r > Rename > ... |
    | Ctrl +>> <n> RESIZE >> > +|- > Increase/Decrease > ←↓↑→ > Increase > ... |
    | Ctrl +>> <h> MOVE >> > ←↓↑→ > Switch Location > ENTER > When done >|
    | Ctrl +>> <s> SEARCH >> > s > Search > ↓|↑|PgDn|PgUp|d|u > Scroll > ... |
    | ENTERING SEARCH TERM > > ENTER > When done >|
    | SEARCHING > > ↓↑ > Scroll > PgDn|PgUp > Scroll > d|u > Scroll > n > Down > ... |
    | Ctrl +>> <o> SESSION >> > d > Detach > w > Manager > s > Share > ... |
    | RENAMING PANE > > ENTER > When done >|
    | RENAMING TAB > > ENTER > When done >|
    |> > Alt <↓↑> > Move > " > Down > % > Right > z > Fullscreen > c > New > ... |
    "#);
    // Short names where the long ones do not fit (Move mode's `Back`).
    insta::assert_snapshot!(rows_in_each_mode(60), @r#"
    | Ctrl +>> g >> p >> t >> n >> h >> s >> o >> q >         ...|
    | Ctrl +>> <g> LOCK >                                       |
    | Ctrl +>> <p> PANE >> > n > New > ←↓↑→ > Move > ... |
    | Ctrl +>> <t> TAB >> > n > New > ←→ > Move > ... |
    | Ctrl +>> <n> RESIZE >> > +|- > Increase/Decrease > ... |
    | Ctrl +>> <h> MOVE >> > ←↓↑→ > Move > ENTER > Back >|
    | Ctrl +>> <s> SEARCH >> > s > Search > ... |
    | ENTERING SEARCH TERM > > ENTER > When done >|
    | SEARCHING > > ↓↑ > Scroll > PgDn|PgUp > Scroll > ... |
    | Ctrl +>> <o> SESSION >> > d > Detach > w > Manager > ... |
    | RENAMING PANE > > ENTER > When done >|
    | RENAMING TAB > > ENTER > When done >|
    |> > Alt <↓↑> > Move > " > Down > % > Right > ... |
    "#);
    // In Normal mode not even the keys of the mode ribbons fit: the shared modifier stays.
    insta::assert_snapshot!(rows_in_each_mode(40), @r#"
    | Ctrl +>                             ...|
    | Ctrl +>> <g> LOCK >                   |
    | Ctrl +>> <p> PANE >> > n > New > ... |
    | Ctrl +>> <t> TAB >> > n > New > ... |
    | Ctrl +>> <n> RESIZE >> > ... |
    | Ctrl +>> <h> MOVE >> > ... |
    | Ctrl +>> <s> SEARCH >> > ... |
    | ENTERING SEARCH TERM > > ENTER > Done >|
    | SEARCHING > > ↓↑ > Scroll > ... |
    | Ctrl +>> <o> SESSION >> > ... |
    | RENAMING PANE > > ENTER > When done >|
    | RENAMING TAB > > ENTER > When done >|
    |> > Alt <↓↑> > Move > " > Down > ... |
    "#);
    // Wide enough for every hint, with their long names.
    let pane = row_text(&row_app(InputMode::Pane), 200);
    assert_eq!(
        pane,
        " Ctrl +>> <p> PANE >> > n > New > ←↓↑→ > Move > x > Close > c > Rename > f > Fullscreen \
         > Alt f > Floating > e > Embed > r > Right > d > Down > s > Stack > ENTER > Select >"
    );
    let session = row_text(&row_app(InputMode::Session), 200);
    assert!(
        session.ends_with(
            "> d > Detach > w > Session Manager > s > Share > c > Configure > l > Layout Manager \
             > p > Plugin Manager > a > About > ENTER > Select pane >"
        ),
        "{session}"
    );
}

#[test]
fn one_row_names_moving_focus_and_resizing_once_there_are_panes_to_move_between() {
    let mut app = row_app(InputMode::Normal);
    let ribbons = " Ctrl +>> <g> LOCK >> <p> PANE >> <t> TAB >> <n> RESIZE >> <h> MOVE >> \
                   <s> SEARCH >> <o> SESSION >> <q> QUIT >";
    let one_pane = row_text(&app, 160);
    assert_eq!(
        one_pane,
        format!(
            "{ribbons}{}Alt + > <n> New Pane >> <f> Floating >",
            " ".repeat(11)
        )
    );
    app.update(tab(|t| t.selectable_tiled_panes_count = 2));
    // The last column is left free.
    let keys = "Alt + > <n> New Pane >> <←↓↑→> Change Focus >> <+-> Resize >> <f> Floating >";
    assert_eq!(
        row_text(&app, 200),
        format!("{ribbons}{}{keys}", " ".repeat(13))
    );
    // Where neither the long nor the short names fit, `...` takes their place.
    assert_eq!(
        row_text(&app, 160),
        format!("{ribbons}{}...", " ".repeat(47))
    );
    assert_eq!(app.row(app.mode_info().unwrap(), 200).width(), 199);
    assert_eq!(app.row(app.mode_info().unwrap(), 160).width(), 160);
}

#[test]
fn one_row_draws_each_piece_in_the_colours_zellijs_server_gives_it() {
    let app = row_app(InputMode::Pane);
    let row = app.row(app.mode_info().unwrap(), 60);
    insta::assert_snapshot!(spans(&row), @r"
    b,fg=245,bg=238: ' Ctrl +'
    b,fg=238,bg=238: '>'
    b,fg=238,bg=154: '>'
    b,fg=16,bg=154: ' <'
    b,fg=124,bg=154: 'p'
    b,fg=16,bg=154: '> PANE '
    b,fg=154,bg=238: '>'
    b,fg=16,bg=166: '>'
    b,fg=166,bg=166: ' '
    b,fg=166,bg=16: '>'
    b,fg=154,bg=238: ' n '
    b,fg=238,bg=238: '>'
    b,fg=16,bg=238: ' New '
    b,fg=238,bg=238: '>'
    b,fg=154,bg=238: ' ←↓↑→ '
    b,fg=238,bg=238: '>'
    b,fg=16,bg=238: ' Move '
    b,fg=238,bg=238: '>'
    : ' ... '
    ");
    // The floating panes' ribbon is selected while they show.
    let mut normal = row_app(InputMode::Normal);
    normal.update(tab(|t| {
        t.are_floating_panes_visible = true;
        t.selectable_floating_panes_count = 1;
    }));
    let row = normal.row(normal.mode_info().unwrap(), 200);
    assert_eq!(
        background_of(&row, "Floating"),
        Some(DEFAULT_STYLES.ribbon_selected.background)
    );
    assert_eq!(
        background_of(&row, "New Pane"),
        Some(DEFAULT_STYLES.ribbon_unselected.background)
    );
}

/// Returns the background of the first span of `row` that holds `text`.
fn background_of(row: &bar_style::Line, text: &str) -> Option<PaletteColor> {
    let span = row.spans.iter().find(|s| s.text.contains(text));
    span.unwrap_or_else(|| panic!("no span holds {text:?}"))
        .style
        .bg
}

#[test]
fn one_row_reads_the_users_keybindings_and_base_mode() {
    // Pane mode moved to Alt x: the mode keys share no modifier, so each key is drawn whole
    // before its ribbon.
    let mut app = App::default();
    let config =
        r#"keybinds { normal { unbind "Ctrl p"; bind "Alt x" { SwitchToMode "Pane"; }; }; }"#;
    app.update(Event::ModeUpdate(mode_info(
        InputMode::Normal,
        keybinds(config),
    )));
    assert!(
        row_text(&app, 250).starts_with(" Ctrl g > LOCK > Alt x > PANE > Ctrl t > TAB >"),
        "{}",
        row_text(&app, 250)
    );
    assert!(
        row_text(&app, 120).starts_with(" Ctrl g > Lo > Alt x > Pa > Ctrl t > Ta >"),
        "{}",
        row_text(&app, 120)
    );

    // Zellij's "unlock-first" preset: Locked is the base mode, its ribbon says UNLOCK, and
    // the way back goes there.
    let config = r#"
        default_mode "locked"
        keybinds clear-defaults=true {
            locked { bind "Ctrl g" { SwitchToMode "Normal"; }; }
            normal {
                bind "Ctrl g" { SwitchToMode "Locked"; }
                bind "p" { SwitchToMode "Pane"; }
                bind "q" { Quit; }
            }
            pane {
                bind "Ctrl g" { SwitchToMode "Locked"; }
                bind "p" { SwitchToMode "Normal"; }
                bind "n" { NewPane; SwitchToMode "Normal"; }
            }
        }
    "#;
    let in_mode = |mode| {
        let mut info = mode_info(mode, keybinds(config));
        info.base_mode = Some(InputMode::Locked);
        let mut app = App::default();
        app.update(Event::ModeUpdate(info));
        row_text(&app, 120)
    };
    assert_eq!(in_mode(InputMode::Locked).trim_end(), " Ctrl g > UNLOCK >");
    assert_eq!(
        in_mode(InputMode::Pane),
        " Ctrl g > UNLOCK > p > PANE >> > n > New > Ctrl g > Select pane >"
    );
}

#[test]
fn one_row_shows_notices_and_nested_sessions_in_place_of_the_modes() {
    let mut app = row_app(InputMode::Normal);
    app.update(Event::CopyToClipboard(CopyDestination::System));
    let row = app.row(app.mode_info().unwrap(), 120);
    assert_eq!(
        row.to_markup(),
        "{b,fg=154,bg=238|Text copied to system clipboard}"
    );
    app.update(Event::InputReceived);
    assert!(row_text(&app, 120).contains("LOCK"));

    let mut nested = mode_info(InputMode::Normal, keybinds(""));
    nested.session_dimmed = Some(true);
    nested.nested_ascend_keys = vec![KeyWithModifier::new(BareKey::Char('a')).with_ctrl_modifier()];
    app.update(Event::ModeUpdate(nested));
    assert_eq!(row_text(&app, 120), " Ascend: Ctrl + <a>");
}

#[test]
fn one_row_is_built_once_per_change_of_what_it_shows() {
    let mut app = row_app(InputMode::Normal);
    let row = app.render(1, 200).to_owned();
    assert!(!row.contains('\n') && row.contains("New Pane"), "{row:?}");
    assert!(!row.contains("Change Focus"));
    // Another tiled pane brings the keys of moving focus; a third changes nothing shown.
    let (redraw, _) = app.update(tab(|t| t.selectable_tiled_panes_count = 2));
    assert!(redraw);
    let two = app.render(1, 200).to_owned();
    assert!(two.contains("Change Focus"), "{two:?}");
    let (redraw, _) = app.update(tab(|t| t.selectable_tiled_panes_count = 3));
    assert!(
        !redraw,
        "the bar shows nothing of how many panes there are beyond two"
    );
    assert_eq!(app.render(1, 200), two);
    // The same state in two rows is the two lines.
    assert!(app.render(2, 200).contains("Tip:"));
}
