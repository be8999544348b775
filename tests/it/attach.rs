//! End-to-end: clients attaching to a running session one after another, as a user does who
//! leaves and comes back (and as `perth web` does for each browser tab), each see the whole
//! workspace: the tab bar and the status bar, not only the panes.
//!
//! Zellij 0.45.1 keeps each plugin's instance for a client id after that client left; loading
//! the plugins of a client with another id blanks the absent one's copy of every plugin pane,
//! and a client later given that id back was shown the blank copy for good. perth's server
//! asks every perth plugin to draw again when a client attaches (`perth::redraw`).
//!
//! A client with a new id loads its own instances of every plugin at once, which can meet
//! Zellij's permission-cache race (see `perth::server::grants`): the question answered, the
//! bar holds its permissions only after asking again, and Zellij's mode update, handed to it
//! before, was dropped; the bar asks perth-core for it again (`bridge_protocol::REFRESH_PIPE`).

use std::os::unix::net::UnixStream;
use std::time::Duration;

use tests::tmux::TmuxTerminal;
use tests::PerthSession;

const WAIT: Duration = Duration::from_secs(20);
const COLS: u16 = 120;
const ROWS: u16 = 40;

/// The rows a client must show like the first one: the tab bar (the first row) and the status
/// bar's key hints (the row before the last; the last one shows a tip, which a new instance
/// of the bar may pick differently).
fn bars(screen: &str) -> (String, String) {
    let rows: Vec<&str> = screen.lines().collect();
    let row = |i: usize| {
        rows.get(i)
            .map_or(String::new(), |r| r.trim_end().to_owned())
    };
    (row(0), row(ROWS as usize - 2))
}

#[test]
fn every_client_attaching_in_turn_shows_the_tab_bar_and_the_status_bar() {
    let mut s = PerthSession::start_sized("e2e-attach-turns", COLS, ROWS).unwrap();
    let first = s
        .term
        .wait_for_screen("the first client's status bar", WAIT, |screen| {
            bars(screen).1.contains("LOCK")
        })
        .unwrap();
    let expected = bars(&first);
    assert!(expected.0.contains("workspace"), "{first}");

    let bin = tests::workspace_bin("perth").unwrap();
    let bin = bin.to_string_lossy().into_owned();
    for round in 0..4 {
        // Every other round a connection holds the id the last client left, so the next
        // client gets another one and loads its own instances of the plugins; the round after
        // gives the first id back to a new client.
        let hold_id = round % 2 == 0;
        let placeholder = TmuxTerminal::start(&s.env, COLS, ROWS, &["sleep", "600"]).unwrap();
        drop(std::mem::replace(&mut s.term, placeholder));
        s.wait_no_clients(WAIT).unwrap();
        let hold = hold_id.then(|| UnixStream::connect(s.socket()).unwrap());
        s.term = TmuxTerminal::start(&s.env, COLS, ROWS, &[&bin, "attach", &s.name]).unwrap();
        let id = if hold_id { "a new id" } else { "an id back" };
        let what = format!("attach {round}, {id}: the tab bar and status bar");
        s.term
            .wait_for_screen(&what, WAIT, |screen| bars(screen) == expected)
            .unwrap_or_else(|e| panic!("{e:#}\nexpected rows:\n{expected:#?}"));
        if let Some(hold) = hold {
            drop(hold);
            // perth keeps a command line's id for its linger (2 s) after the connection ended.
            std::thread::sleep(Duration::from_secs(3));
        }
    }
}
