//! perth's drawing on read-only clients: a web token made with `--create-read-only-token`
//! attaches as a Zellij watcher, the same server path as `perth watch` in a terminal, so a
//! watcher in tmux shows what a read-only browser gets from perth's server.

use std::time::Duration;

use tests::screen::{Rect, Screen};
use tests::{wait_for_with_last, PerthSession, TmuxTerminal};

const WAIT: Duration = Duration::from_secs(15);

fn pane_rect(s: &PerthSession, id: u64) -> Rect {
    let panes = s.terminal_panes().unwrap();
    let pane = panes
        .iter()
        .find(|p| p["id"].as_u64() == Some(id))
        .unwrap_or_else(|| panic!("no terminal pane {id}"));
    Rect::of_pane(pane)
}

fn wait_share(term: &TmuxTerminal, rect: Rect, what: &str, pred: impl Fn(f64) -> bool) {
    wait_for_with_last(what, WAIT, || {
        let sc = Screen::parse(&term.capture_colored());
        let share = sc.coloured_share(rect);
        if pred(share) {
            Ok(())
        } else {
            Err(format!(
                "{:.0}% coloured\n{}",
                share * 100.0,
                term.capture()
            ))
        }
    })
    .unwrap();
}

/// Waits until row `y` of the terminal holds `text`.
fn wait_row(term: &TmuxTerminal, y: usize, text: &str, what: &str) {
    term.wait_for_screen(what, WAIT, |screen| {
        screen.lines().nth(y).is_some_and(|l| l.contains(text))
    })
    .unwrap();
}

#[test]
fn a_watcher_sees_borders_messages_and_titles_as_text_and_sees_them_clear() {
    let s = PerthSession::start("e2e-web-watcher").unwrap();
    s.action(&["new-pane", "--direction", "right"]).unwrap();
    wait_for_with_last("two terminal panes", WAIT, || {
        let n = s.terminal_panes().map_err(|e| e.to_string())?.len();
        if n == 2 {
            Ok(())
        } else {
            Err(format!("{n} panes"))
        }
    })
    .unwrap();
    s.wait_for_core(4).unwrap();
    let bin = tests::workspace_bin("perth").unwrap();
    let bin = bin.to_string_lossy().into_owned();
    // The same size as the session's client: a watcher is drawn the followed client's screen.
    let watcher = TmuxTerminal::start(&s.env, 120, 40, &[&bin, "watch", &s.name]).unwrap();
    watcher
        .wait_for_text("the watcher's screen", "Pane #2", WAIT)
        .unwrap();
    s.action(&[
        "notify",
        "--pane-id",
        "terminal_0",
        "--style",
        "error",
        "--message",
        "<script>alert(1)</script>",
    ])
    .unwrap();
    // The focused pane (the right one) gets a title in HTML.
    s.action(&["rename-pane", "<i>t</i>"]).unwrap();
    let left = pane_rect(&s, 0);
    let right = pane_rect(&s, 1);
    wait_share(&s.term, left, "the attached client's border", |x| x > 0.9);
    wait_share(&watcher, left, "the watcher's border", |x| x > 0.9);
    wait_row(
        &watcher,
        left.y,
        "<script>alert(1)</script>",
        "the message as text",
    );
    wait_row(&watcher, right.y, "<i>t</i>", "the title as text");
    // The attached client focuses the pane; the watcher follows and its border clears.
    s.term.send_keys(&["M-Left"]).unwrap();
    wait_share(
        &watcher,
        left,
        "the watcher's border back in the theme",
        |x| x == 0.0,
    );
}

/// perth's configuration for web tests: sessions open to web clients.
const WEB_CONFIG: &str = "web_sharing \"on\"\n";

/// A perth session shared with the web, `perth web` serving it on a free port, and tokens.
struct Web {
    s: PerthSession,
    base: String,
    port: u16,
    token: String,
    read_only: String,
    _server: tests::process::ProcessGroup,
}

impl Web {
    fn start(name: &str) -> Web {
        let env = tests::IsolatedEnv::new().unwrap();
        let dir = env.config_dir().join("perth");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.kdl"), WEB_CONFIG).unwrap();
        let s = PerthSession::start_in(env, name, 120, 40, &[]).unwrap();
        let token = created_token(&s, &["web", "--create-token"]);
        let read_only = created_token(&s, &["web", "--create-read-only-token"]);
        let port = tests::free_port();
        let bin = tests::workspace_bin("perth").unwrap();
        let mut cmd = s.env.command(&bin);
        cmd.args(["web", "--port", &port.to_string()]);
        let log = s.env.tmp_dir().join("perth-web.log");
        let server = tests::process::ProcessGroup::spawn("perth web", cmd, &log).unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_for_with_last("perth web's /info/version", WAIT, || {
            let answer = http(port, "GET", "/info/version", "").map_err(|e| e.to_string())?;
            if answer.starts_with("HTTP/1.1 200") {
                Ok(())
            } else {
                Err(answer)
            }
        })
        .unwrap();
        Web {
            s,
            base,
            port,
            token,
            read_only,
            _server: server,
        }
    }

    /// Whether the web server still answers.
    fn is_up(&self) -> bool {
        http(self.port, "GET", "/info/version", "")
            .is_ok_and(|a| a.starts_with("HTTP/1.1 200") && a.ends_with(zellij_version()))
    }
}

fn zellij_version() -> &'static str {
    "0.45.1"
}

/// Runs `perth ARGS` and returns the token of its last line (`NAME: TOKEN[ (read-only)]`).
fn created_token(s: &PerthSession, args: &[&str]) -> String {
    let bin = tests::workspace_bin("perth").unwrap();
    let out = s.env.command(&bin).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("Created token successfully"), "{text}");
    let last = text.lines().last().unwrap();
    let token = last.split_once(": ").unwrap().1;
    token.trim_end_matches(" (read-only)").to_owned()
}

/// One plain HTTP/1.1 exchange with the web server; returns the raw answer.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(WAIT))?;
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Logs the page in with `token` (as the login form does) and returns the HTTP status.
fn login(b: &mut Browser, token: &str) -> i64 {
    let status = b
        .eval(&format!(
            "fetch('/command/login', {{ method: 'POST', headers: {{ 'Content-Type': 'application/json' }}, \
             body: JSON.stringify({{ auth_token: '{token}', remember_me: false }}) }}).then(r => r.status)"
        ))
        .unwrap();
    status.as_i64().unwrap()
}

/// The page's terminal as text, one line per row (empty before the terminal exists).
fn page_screen(b: &mut Browser) -> String {
    b.eval(
        "window.term ? [...Array(term.rows).keys()].map(i => \
         term.buffer.active.getLine(i).translateToString(true)).join('\\n') : ''",
    )
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

fn wait_page(b: &mut Browser, what: &str, pred: impl Fn(&str) -> bool) -> String {
    wait_for_with_last(what, WAIT, || {
        let screen = page_screen(b);
        if pred(&screen) {
            Ok(screen)
        } else {
            Err(screen)
        }
    })
    .unwrap()
}

/// Logs the page in with `token`, opens the session at `session_url` and waits for perth's
/// workspace with a shell prompt in the page.
fn open_workspace(b: &mut Browser, token: &str, session_url: &str, what: &str) {
    assert_eq!(login(b, token), 200);
    b.navigate(session_url).unwrap();
    wait_page(b, what, |s| {
        s.contains("workspace") && s.contains(tests::isolate::PROMPT.trim())
    });
}

/// Types `line` into the page's terminal and presses Enter.
fn type_line(b: &mut Browser, line: &str) {
    b.eval("term.focus(); 0").unwrap();
    b.type_text(line).unwrap();
    b.press_enter().unwrap();
}

/// Opens a websocket from the page to `path` and says whether it opened.
fn websocket_opens(b: &mut Browser, port: u16, path: &str) -> String {
    b.eval(&format!(
        "new Promise(ok => {{ const ws = new WebSocket('ws://127.0.0.1:{port}{path}'); \
         ws.onopen = () => {{ ok('open'); ws.close(); }}; ws.onerror = () => ok('refused'); }})"
    ))
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// The RGB of the page's cell (`row`, `col`) as xterm holds it, if it is an RGB colour.
fn cell_rgb(b: &mut Browser, row: usize, col: usize) -> Option<[u8; 3]> {
    let v = b
        .eval(&format!(
            "(() => {{ const c = term.buffer.active.getLine({row}).getCell({col}); \
             return c.isFgRGB() ? c.getFgColor() : null; }})()"
        ))
        .unwrap();
    let n = v.as_u64()?;
    Some([(n >> 16) as u8, (n >> 8) as u8, n as u8])
}

/// The CSS pixel at the centre of the page's cell (`row`, `col`).
fn cell_centre(b: &mut Browser, row: usize, col: usize) -> (f64, f64) {
    let v = b
        .eval(&format!(
            "(() => {{ const r = document.querySelector('.xterm-screen').getBoundingClientRect(); \
             const w = r.width / term.cols, h = r.height / term.rows; \
             return [r.left + ({col} + 0.5) * w, r.top + ({row} + 0.5) * h]; }})()"
        ))
        .unwrap();
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

use tests::browser::Browser;

#[test]
fn a_browser_logs_in_types_sees_perth_borders_and_clears_them_by_a_click() {
    let web = Web::start("e2e-web-browser");
    web.s.action(&["new-pane", "--direction", "right"]).unwrap();
    wait_for_with_last("two terminal panes", WAIT, || {
        let n = web.s.terminal_panes().map_err(|e| e.to_string())?.len();
        if n == 2 {
            Ok(())
        } else {
            Err(format!("{n} panes"))
        }
    })
    .unwrap();
    web.s.wait_for_core(4).unwrap();
    let mut b = Browser::start(1280, 800).unwrap();
    let session_url = format!("{}/{}", web.base, web.s.name);
    // Without a token: the login page, and no terminal websocket.
    b.navigate(&session_url).unwrap();
    wait_for_with_last("the login page", WAIT, || {
        let body = b
            .eval("document.body.innerText")
            .map_err(|e| e.to_string())?;
        let body = body.as_str().unwrap_or_default().to_owned();
        if body.contains("SECURITY TOKEN REQUIRED") {
            Ok(())
        } else {
            Err(body)
        }
    })
    .unwrap();
    let path = format!("/ws/terminal/{}", web.s.name);
    assert_eq!(websocket_opens(&mut b, web.port, &path), "refused");
    // A wrong token is refused.
    assert_eq!(login(&mut b, "not-a-token"), 401);
    open_workspace(
        &mut b,
        &web.token,
        &session_url,
        "perth's workspace in the page",
    );
    // Typing reaches the focused pane and its output reaches the page.
    type_line(&mut b, "echo web-$((6*7))");
    wait_page(&mut b, "the command's output", |s| s.contains("web-42"));
    // An error notification: its border in the screenshot, its message as text.
    web.s
        .action(&[
            "notify",
            "--pane-id",
            "terminal_0",
            "--style",
            "error",
            "--message",
            "<script>x</script>",
        ])
        .unwrap();
    let left = pane_rect(&web.s, 0);
    let right = pane_rect(&web.s, 1);
    wait_page(&mut b, "the message as text", |s| {
        s.lines()
            .nth(left.y)
            .is_some_and(|l| l.contains("<script>x</script>"))
    });
    let row = left.y + left.rows / 2;
    let want = wait_for_with_last("the border's colour in the page", WAIT, || {
        cell_rgb(&mut b, row, left.x).ok_or("not RGB yet")
    })
    .unwrap();
    // The left border's glyph is drawn in that colour; the right pane's border is not.
    let near = |p: [u8; 3], q: [u8; 3]| (0..3).all(|i| p[i].abs_diff(q[i]) < 48);
    let strip = |b: &mut Browser, row: usize, col: usize| {
        let (x, y) = cell_centre(b, row, col);
        let points: Vec<(u32, u32)> = (-4..=4)
            .map(|dx| ((x + f64::from(dx)) as u32, y as u32))
            .collect();
        b.screenshot_pixels(&points).unwrap()
    };
    wait_for_with_last("the border's colour in a screenshot", WAIT, || {
        let px = strip(&mut b, row, left.x);
        if px.iter().any(|p| near(*p, want)) {
            Ok(())
        } else {
            Err(format!("{px:?} against {want:?}"))
        }
    })
    .unwrap();
    let other = strip(&mut b, row, right.x + right.cols - 1);
    assert!(!other.iter().any(|p| near(*p, want)), "{other:?}");
    // A click into the notified pane focuses it, and the notification clears.
    let (x, y) = cell_centre(&mut b, row, left.x + left.cols / 2);
    b.click(x, y).unwrap();
    wait_for_with_last("the border back in the theme", WAIT, || {
        match cell_rgb(&mut b, row, left.x) {
            None => Ok(()),
            Some(c) => Err(format!("{c:?}")),
        }
    })
    .unwrap();
    assert!(web.is_up());
}

#[test]
fn read_only_watches_revoked_tokens_are_refused_and_bad_input_leaves_everything_up() {
    let web = Web::start("e2e-web-limits");
    let mut b = Browser::start(1280, 800).unwrap();
    let session_url = format!("{}/{}", web.base, web.s.name);
    b.navigate(&web.base).unwrap();
    // A read-only token watches: the screen arrives, typing does not reach the pane.
    open_workspace(
        &mut b,
        &web.read_only,
        &session_url,
        "the watched workspace",
    );
    type_line(&mut b, "echo ro-typed");
    web.s.term.send_text("echo after-$((2+3))").unwrap();
    web.s.term.send_keys(&["Enter"]).unwrap();
    wait_page(&mut b, "the terminal's command, watched", |s| {
        s.contains("after-5")
    });
    assert!(
        !web.s.term.capture().contains("ro-typed"),
        "{}",
        web.s.term.capture()
    );
    // Garbage and 10 MB messages on a logged-in browser's websockets: the control channel
    // gets JSON that is not, and 10 MB of binary and of text; the terminal channel (whose text
    // is typed into the pane) gets a short line of garbage.
    assert_eq!(login(&mut b, &web.token), 200);
    for (path, script) in [
        (
            "/ws/control".to_owned(),
            "ws.send('\\u0000\\uffff{]garbage'); ws.send(new Uint8Array(10 * 1024 * 1024)); \
             ws.send('x'.repeat(10 * 1024 * 1024));",
        ),
        (
            format!("/ws/terminal/{}", web.s.name),
            "ws.send('\\u0001{]garbage'); ws.send(new Uint8Array([0xff, 0xfe, 0x00]));",
        ),
    ] {
        let sent = b
            .eval(&format!(
                "new Promise(async ok => {{ \
                 const r = await fetch('/session?session={}', {{ method: 'POST' }}); \
                 const id = (await r.json()).web_client_id; \
                 const ws = new WebSocket(`ws://127.0.0.1:{}{path}?web_client_id=${{id}}&rows=40&cols=120`); \
                 ws.onopen = () => {{ {script} setTimeout(() => {{ ws.close(); ok('sent'); }}, 0); }}; \
                 ws.onerror = () => ok('refused'); }})",
                web.s.name, web.port
            ))
            .unwrap();
        assert_eq!(sent, "sent", "{path}");
        assert!(web.is_up(), "the web server answers after {path}");
    }
    // A browser that goes away in the middle of a flood of output.
    b.navigate(&session_url).unwrap();
    wait_page(&mut b, "the workspace again", |s| s.contains("workspace"));
    // The garbage sent above was typed into the shell's line: cleared first (C-u), so the
    // flood runs.
    web.s.term.send_keys(&["C-u"]).unwrap();
    web.s
        .term
        .send_text("head -c 20000000 /dev/zero | tr '\\0' 'a'")
        .unwrap();
    web.s.term.send_keys(&["Enter"]).unwrap();
    drop(b);
    assert!(web.is_up(), "the web server answers");
    web.s.term.send_keys(&["C-c"]).unwrap();
    // Bash drops what was typed before it handled the interrupt: type once its prompt is back.
    let prompt = tests::isolate::PROMPT.trim();
    web.s
        .term
        .wait_for_screen("the prompt after the interrupt", WAIT, |screen| {
            screen
                .lines()
                .rev()
                .find(|l| l.contains(prompt))
                .is_some_and(|l| l.trim().trim_matches('│').trim() == prompt)
        })
        .unwrap();
    web.s.term.send_text("echo still-$((40+2))").unwrap();
    web.s.term.send_keys(&["Enter"]).unwrap();
    web.s
        .term
        .wait_for_text("the session after the flood", "still-42", WAIT)
        .unwrap();
    // Revoking the token ends its login: a new login with it is refused.
    let bin = tests::workspace_bin("perth").unwrap();
    let out = web
        .s
        .env
        .command(&bin)
        .args(["web", "--revoke-token", "token_1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Successfully revoked token."));
    let answer = http(
        web.port,
        "POST",
        "/command/login",
        &format!("{{\"auth_token\":\"{}\",\"remember_me\":false}}", web.token),
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(web.is_up());
}

#[test]
fn perth_web_refuses_a_port_in_use_and_a_bad_certificate_and_serves_tls_with_a_good_one() {
    let env = tests::IsolatedEnv::new().unwrap();
    let bin = tests::workspace_bin("perth").unwrap();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let out = env
        .command(&bin)
        .args(["web", "--port", &port])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is in use by another program"), "{err}");
    let bad = env.tmp_dir().join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let bad = bad.to_string_lossy().into_owned();
    let free = tests::free_port().to_string();
    let out = env
        .command(&bin)
        .args([
            "web", "--port", &free, "--ip", "0.0.0.0", "--cert", &bad, "--key", &bad,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("holds no PEM certificate"), "{err}");
    // A good certificate: the server starts on a non-loopback address over TLS.
    let ca = tests::services::TestCa::generate("perth web test CA").unwrap();
    let pair = ca.server_cert("web").unwrap();
    let (cert, key) = (pair.cert.to_string_lossy(), pair.key.to_string_lossy());
    let tls_port = tests::free_port();
    let log = env.tmp_dir().join("perth-web-tls.log");
    let mut cmd = env.command(&bin);
    cmd.args(["web", "--ip", "0.0.0.0", "--port", &tls_port.to_string()])
        .args(["--cert", &cert, "--key", &key]);
    let mut server = tests::process::ProcessGroup::spawn("perth web (TLS)", cmd, &log).unwrap();
    wait_for_with_last("perth web over TLS", WAIT, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(&format!("Web Server started on 0.0.0.0 port {tls_port}")) {
            Ok(())
        } else {
            Err(text)
        }
    })
    .unwrap();
    assert!(
        server.is_running(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // A token file edited by hand: every token command says so and nothing panics.
    let made = env
        .command(&bin)
        .args(["web", "--create-token"])
        .output()
        .unwrap();
    assert!(made.status.success());
    let db = tests::find_file(env.root(), "tokens.db").expect("the token file");
    std::fs::write(&db, "edited by hand\n").unwrap();
    let out = env
        .command(&bin)
        .args(["web", "--list-tokens"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Failed to list tokens"), "{err}");
}
