//! `perth web` against stock `zellij web` 0.45.1 in the same headless Chromium (issue 21): page
//! load to the first full screen and keystroke-to-echo, with each terminal client's echo beside.
//!
//! Each side gets an isolated home whose configuration shares sessions with the web
//! (`web_sharing "on"`), a login token, its web server on a free port and a background session
//! with its default layout. Times are read in the page's clock: the first full screen is stamped
//! by a script that runs before the page's own and watches the terminal's buffer (first and last
//! rows drawn, the shell's prompt shown), and an echo is the time from the key's `keydown` to the
//! terminal parsing output that holds it. The terminal client's echo is timed on a
//! pseudo-terminal of the bench's own (`tests::pty`). A perth built without Zellij's web server
//! (see `perth web`) has no web figures: its rows are NaN and miss their goal.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use ::tests::browser::Browser;
use ::tests::isolate::PROMPT;
use ::tests::process::ProcessGroup;
use ::tests::pty::PtyClient;
use ::tests::IsolatedEnv;
use anyhow::{bail, Context, Result};
use serde_json::json;

use super::report::{median, percentile, Goal, Row};
use super::{reference, Bench, BenchContext};

/// The configuration both sides get: no tips, and sessions open to web clients.
const CONFIG: &str = "show_startup_tips false\nshow_release_notes false\nweb_sharing \"on\"\n";

/// The session each side's browser and terminal attach to.
const SESSION: &str = "bench-web";

/// How long one start, load or echo may take before the run fails.
const WAIT: Duration = Duration::from_secs(30);

/// The key typed for echoes: no escape sequence a client writes ends in it.
const KEY: char = 'z';

pub(crate) struct Web;

impl Bench for Web {
    fn name(&self) -> &'static str {
        "web"
    }

    fn reference(&self) -> String {
        format!(
            "stock Zellij {} (`zellij web`, the same headless Chromium; terminal rows: its terminal client)",
            reference::ZELLIJ_VERSION
        )
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        let stock = reference::stock_zellij(ctx)?;
        let samples = ctx.samples(30, 8);
        eprintln!("bench web: stock zellij web");
        let zellij = measure(&stock, samples)?.context("stock zellij web did not start")?;
        eprintln!("bench web: perth web");
        let perth = measure(&ctx.perth_bin, samples)?;
        let web = |pick: fn(&Figures) -> &Vec<f64>, stat: fn(&[f64]) -> Option<f64>| {
            let reference = stat(pick(&zellij)).unwrap_or(f64::NAN);
            let perth = perth
                .as_ref()
                .and_then(|p| stat(pick(p)))
                .unwrap_or(f64::NAN);
            (perth, reference)
        };
        let p95 = |s: &[f64]| percentile(s, 95.0);
        let mut rows = Vec::new();
        let (p, r) = web(|f| &f.load, median);
        rows.push(Row::new(
            "web: page load to first full screen, median",
            p,
            r,
            "ms",
            Goal::RatioAtMost(1.05),
        ));
        let (p, r) = web(|f| &f.load, p95);
        rows.push(Row::new(
            "web: page load to first full screen, p95",
            p,
            r,
            "ms",
            Goal::RatioAtMost(1.05),
        ));
        let (p, r) = web(|f| &f.echo, median);
        rows.push(Row::new(
            "web: keystroke to echo, median",
            p,
            r,
            "ms",
            Goal::RatioAtMost(1.05),
        ));
        let (p, r) = web(|f| &f.echo, p95);
        rows.push(Row::new(
            "web: keystroke to echo, p95",
            p,
            r,
            "ms",
            Goal::RatioAtMost(1.05),
        ));
        let terminal = terminal_echo(&ctx.perth_bin, samples)?;
        let stock_terminal = terminal_echo(&stock, samples)?;
        rows.push(Row::new(
            "terminal client: keystroke to echo, median",
            median(&terminal).unwrap_or(f64::NAN),
            median(&stock_terminal).unwrap_or(f64::NAN),
            "ms",
            Goal::None,
        ));
        rows.push(Row::new(
            "terminal client: keystroke to echo, p95",
            p95(&terminal).unwrap_or(f64::NAN),
            p95(&stock_terminal).unwrap_or(f64::NAN),
            "ms",
            Goal::None,
        ));
        Ok(rows)
    }
}

/// One side's samples, in ms.
struct Figures {
    load: Vec<f64>,
    echo: Vec<f64>,
}

/// An isolated home with `CONFIG` where perth and Zellij read it.
fn web_env() -> Result<IsolatedEnv> {
    let env = IsolatedEnv::new()?;
    for dir in [env.home().join(".config"), env.config_dir()]
        .iter()
        .flat_map(|home| ["zellij", "perth"].map(|app| home.join(app)))
    {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("config.kdl"), CONFIG)
            .with_context(|| format!("writing {}/config.kdl", dir.display()))?;
    }
    Ok(env)
}

/// Starts `bin`'s web server and a session, and times page loads and echoes in Chromium;
/// `None` when `bin web` cannot make a token (a build without Zellij's web server).
fn measure(bin: &Path, samples: usize) -> Result<Option<Figures>> {
    let env = web_env()?;
    let made = env
        .command(bin)
        .args(["web", "--create-token"])
        .output()
        .with_context(|| format!("running {} web --create-token", bin.display()))?;
    if !made.status.success() {
        eprintln!(
            "bench web: {} web --create-token: {}",
            bin.display(),
            String::from_utf8_lossy(&made.stderr).trim()
        );
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&made.stdout);
    let token = stdout
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(_, t)| t.trim().to_owned()))
        .next_back()
        .with_context(|| format!("no token in {stdout:?}"))?;
    let port = ::tests::free_port();
    let log = env.tmp_dir().join("web-server.log");
    let mut server = env.command(bin);
    server.args(["web", "--port", &port.to_string()]);
    let _server = ProcessGroup::spawn("web server", server, &log)?;
    let base = format!("http://127.0.0.1:{port}");
    wait_until("the web server's /info/version", || {
        Ok(http_get(port, "/info/version")?.starts_with("HTTP/1.1 200"))
    })?;
    start_session(&env, bin)?;
    let mut browser = Browser::start(1280, 800)?;
    browser.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": WATCH_SCRIPT.replace("PROMPT", PROMPT.trim()) }),
    )?;
    browser.navigate(&base)?;
    let login = browser.eval(&format!(
        "fetch('/command/login', {{ method: 'POST', headers: {{ 'Content-Type': 'application/json' }}, \
         body: JSON.stringify({{ auth_token: '{token}', remember_me: false }}) }}).then(r => r.status)"
    ))?;
    if login != json!(200) {
        bail!("logging in with the token answered {login}");
    }
    let url = format!("{base}/{SESSION}");
    let mut load = Vec::with_capacity(samples);
    for i in 0..samples + 2 {
        browser.navigate(&url)?;
        let at = first_full_screen(&mut browser)?;
        // The first two loads warm the server's caches and the session's client slot.
        if i >= 2 {
            load.push(at);
        }
    }
    browser.eval("term.focus(); 0")?;
    let mut echo = Vec::with_capacity(samples);
    for n in 1..=samples + 2 {
        browser.eval(&ECHO_ARM.replace("COUNT", &n.to_string()))?;
        browser.type_text(&KEY.to_string())?;
        let ms = browser.eval("window.__perthEcho")?;
        let ms = ms.as_f64().with_context(|| format!("no echo: {ms}"))?;
        if n > 2 {
            echo.push(ms);
        }
    }
    Ok(Some(Figures { load, echo }))
}

/// Watches the terminal from the page's start: stamps the first full screen and each keydown.
const WATCH_SCRIPT: &str = r#"(() => {
  const row = (b, i) => { const l = b.getLine(i); return l ? l.translateToString(true) : ''; };
  const full = () => {
    const t = window.term; if (!t) return false;
    const b = t.buffer.active; let prompt = false;
    for (let i = 0; i < t.rows; i++) if (row(b, i).includes('PROMPT')) prompt = true;
    return prompt && row(b, 0).trim() !== '' && row(b, t.rows - 1).trim() !== '';
  };
  const poll = () => { if (full()) { window.__perthFullAt = performance.now(); } else { setTimeout(poll, 1); } };
  poll();
  document.addEventListener('keydown', () => { window.__perthKeyAt = performance.now(); }, true);
})();"#;

/// Returns the first full screen's time since navigation, waiting for it up to [`WAIT`].
fn first_full_screen(browser: &mut Browser) -> Result<f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(at) = browser.eval("window.__perthFullAt || null")?.as_f64() {
            return Ok(at);
        }
        if Instant::now() > deadline {
            let screen = browser.eval(
                "window.term ? [...Array(term.rows).keys()].map(i => \
                 term.buffer.active.getLine(i).translateToString(true)).join('\\n') \
                 : document.body.innerText",
            )?;
            bail!(
                "no full screen within {WAIT:?}; the page shows:\n{}",
                screen.as_str().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Arms a promise that resolves to the time from the last keydown to the cursor's line holding
/// COUNT typed keys.
const ECHO_ARM: &str = "window.__perthEcho = new Promise(ok => { const t = term; \
    const d = t.onWriteParsed(() => { const b = t.buffer.active; \
    const l = b.getLine(b.cursorY + b.baseY).translateToString(true); \
    if ((l.match(/z/g) || []).length >= COUNT) { d.dispose(); ok(performance.now() - window.__perthKeyAt); } }); }); 0";

/// Starts session [`SESSION`] in the background and waits until it is listed.
fn start_session(env: &IsolatedEnv, bin: &Path) -> Result<()> {
    let started = env
        .command(bin)
        .args(["attach", "--create-background", SESSION])
        .output()
        .with_context(|| format!("starting {SESSION} with {}", bin.display()))?;
    if !started.status.success() {
        bail!(
            "{} attach --create-background failed: {}",
            bin.display(),
            String::from_utf8_lossy(&started.stderr)
        );
    }
    wait_until("the session in list-sessions", || {
        let out = env
            .command(bin)
            .args(["list-sessions", "--short"])
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == SESSION))
    })
}

/// Times `samples` echoes of `bin`'s terminal client attached to a fresh background session.
fn terminal_echo(bin: &Path, samples: usize) -> Result<Vec<f64>> {
    let env = web_env()?;
    start_session(&env, bin)?;
    let bin = bin.to_string_lossy();
    let mut client = PtyClient::spawn(&env, &[&bin, "attach", SESSION], 120, 40)?;
    client.wait_for_output(PROMPT.trim(), WAIT)?;
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples + 2 {
        let took = client.echo_latency(KEY as u8, WAIT)?;
        if i >= 2 {
            out.push(took.as_secs_f64() * 1000.0);
        }
    }
    Ok(out)
}

/// Returns the raw answer to `GET path` on the loopback port.
fn http_get(port: u16, path: &str) -> Result<String> {
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Asks `ready` until it says yes, or fails after [`WAIT`] naming `what`.
fn wait_until(what: &str, mut ready: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    while Instant::now() < deadline {
        match ready() {
            Ok(true) => return Ok(()),
            Ok(false) => last.clear(),
            Err(e) => last = format!("{e:#}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("{what} not ready within {WAIT:?} {last}")
}
