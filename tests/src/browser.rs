//! A headless Chromium from Debian's `chromium` package, driven over the DevTools protocol.
//!
//! The protocol runs on a pipe (`--remote-debugging-pipe`: Chromium reads commands from fd 3
//! and writes answers and events to fd 4, each message JSON ended by a NUL byte), so no port
//! is opened and no websocket client is needed. One page target is attached in flat mode;
//! every call waits for its answer with a deadline.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

use crate::process::{ProcessGroup, ScratchDir};
use crate::services::{ensure_debian_packages, find_program};

/// How long one DevTools call may take before the browser counts as wedged.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A running headless Chromium with one page attached.
pub struct Browser {
    to_browser: File,
    from_browser: Receiver<Value>,
    next_id: u64,
    session: String,
    /// Events read while waiting for an answer, oldest first.
    events: Vec<Value>,
    _group: ProcessGroup,
    _profile: ScratchDir,
}

impl Browser {
    /// Starts Chromium (installing Debian's `chromium` when it is missing) with a page of
    /// `width` x `height` CSS pixels.
    pub fn start(width: u32, height: u32) -> anyhow::Result<Browser> {
        ensure_debian_packages(&[("chromium", "chromium")])?;
        let chromium = find_program("chromium").context("chromium is not on PATH")?;
        let profile = ScratchDir::new("perth-chromium")?;
        let (cmd_read, cmd_write) = nix::unistd::pipe().context("pipe for DevTools commands")?;
        let (out_read, out_write) = nix::unistd::pipe().context("pipe for DevTools answers")?;
        let mut cmd = Command::new(chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-renderer-backgrounding",
            "--disable-background-timer-throttling",
            "--remote-debugging-pipe",
            "--hide-scrollbars",
            "--mute-audio",
        ])
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank");
        let (child_in, child_out) = (cmd_read.as_raw_fd(), out_write.as_raw_fd());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Move both ends out of the way first: either may already be fd 3 or 4.
                let a = libc::fcntl(child_in, libc::F_DUPFD, 10);
                let b = libc::fcntl(child_out, libc::F_DUPFD, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let log = profile.path().join("chromium.log");
        let group = ProcessGroup::spawn("chromium", cmd, &log)?;
        drop(cmd_read);
        drop(out_write);
        let (tx, rx) = mpsc::channel();
        let reader = File::from(out_read);
        std::thread::Builder::new()
            .name("devtools-reader".into())
            .spawn(move || read_messages(reader, tx))
            .context("starting the DevTools reader")?;
        let mut browser = Browser {
            to_browser: File::from(cmd_write),
            from_browser: rx,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            _group: group,
            _profile: profile,
        };
        let target = browser
            .call_browser("Target.createTarget", json!({ "url": "about:blank" }))
            .with_context(|| {
                format!(
                    "chromium did not answer on its DevTools pipe; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })?;
        let target_id = target["targetId"]
            .as_str()
            .context("no targetId")?
            .to_owned();
        let attached = browser.call_browser(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        )?;
        browser.session = attached["sessionId"]
            .as_str()
            .context("no sessionId")?
            .to_owned();
        browser.call("Page.enable", json!({}))?;
        browser.call("Runtime.enable", json!({}))?;
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )?;
        Ok(browser)
    }

    /// Sends a command to the attached page and returns its `result`.
    pub fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let session = self.session.clone();
        self.send(method, params, Some(&session))
    }

    fn call_browser(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.send(method, params, None)
    }

    fn send(
        &mut self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            msg["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&msg)?;
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .with_context(|| format!("sending {method} to chromium"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(answer) if answer["id"].as_u64() == Some(id) => {
                    if let Some(error) = answer.get("error") {
                        bail!("{method} failed: {error}");
                    }
                    return Ok(answer["result"].clone());
                }
                Ok(event) => {
                    if event.get("method").is_some() {
                        self.events.push(event);
                        if self.events.len() > 10_000 {
                            self.events.drain(..5_000);
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    bail!("chromium did not answer {method} within {CALL_TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("chromium closed its DevTools pipe during {method}")
                }
            }
        }
    }

    /// Loads `url` and waits until the page's `load` event.
    pub fn navigate(&mut self, url: &str) -> anyhow::Result<()> {
        self.events.clear();
        let nav = self.call("Page.navigate", json!({ "url": url }))?;
        if let Some(error) = nav.get("errorText").and_then(Value::as_str) {
            bail!("loading {url}: {error}");
        }
        self.wait_event("Page.loadEventFired", CALL_TIMEOUT)
    }

    fn wait_event(&mut self, method: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
                self.events.drain(..=i);
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(msg) => self.events.push(msg),
                Err(_) => bail!("no {method} within {timeout:?}"),
            }
        }
    }

    /// Evaluates `expression` in the page (awaiting it when it is a promise) and returns its value.
    pub fn eval(&mut self, expression: &str) -> anyhow::Result<Value> {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            bail!("{expression}: {exception}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Types `text` as key presses into whatever has the page's focus.
    pub fn type_text(&mut self, text: &str) -> anyhow::Result<()> {
        for ch in text.chars() {
            let key = ch.to_string();
            self.key_event("keyDown", &key, &key, &key, 0)?;
            self.key_event("keyUp", &key, &key, "", 0)?;
        }
        Ok(())
    }

    /// Presses Enter.
    pub fn press_enter(&mut self) -> anyhow::Result<()> {
        self.key_event("keyDown", "Enter", "Enter", "\r", 13)?;
        self.key_event("keyUp", "Enter", "Enter", "", 13)
    }

    fn key_event(
        &mut self,
        kind: &str,
        key: &str,
        code: &str,
        text: &str,
        key_code: u32,
    ) -> anyhow::Result<()> {
        let code = match key.chars().next() {
            Some(c) if key.len() == 1 && c.is_ascii_alphabetic() => {
                format!("Key{}", c.to_ascii_uppercase())
            }
            Some(c) if key.len() == 1 && c.is_ascii_digit() => format!("Digit{c}"),
            _ => code.to_owned(),
        };
        // Only letters and digits have their character's code as a virtual key code: xterm.js
        // reads the code first, and `$` (36) or `(` (40) would be Home or Down.
        let key_code = match key.chars().next() {
            Some(c) if key_code == 0 && key.len() == 1 && c.is_ascii_alphanumeric() => {
                c.to_ascii_uppercase() as u32
            }
            _ => key_code,
        };
        let mut params = json!({ "type": kind, "key": key, "code": code });
        if key_code != 0 {
            params["windowsVirtualKeyCode"] = json!(key_code);
        }
        if !text.is_empty() {
            params["text"] = json!(text);
        }
        self.call("Input.dispatchKeyEvent", params).map(drop)
    }

    /// Clicks the left mouse button at CSS pixel (`x`, `y`).
    pub fn click(&mut self, x: f64, y: f64) -> anyhow::Result<()> {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )?;
        }
        Ok(())
    }

    /// Takes a PNG screenshot of the page and returns the RGB colour of each CSS pixel asked
    /// for, read back by drawing the screenshot onto a canvas in the page.
    pub fn screenshot_pixels(&mut self, points: &[(u32, u32)]) -> anyhow::Result<Vec<[u8; 3]>> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let data = shot["data"].as_str().context("screenshot without data")?;
        let points = serde_json::to_string(points)?;
        let read = format!(
            "new Promise((ok, fail) => {{ const img = new Image(); \
             img.onload = () => {{ const c = document.createElement('canvas'); \
             c.width = img.width; c.height = img.height; const g = c.getContext('2d'); \
             g.drawImage(img, 0, 0); \
             ok({points}.map(([x, y]) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)))); }}; \
             img.onerror = () => fail('screenshot did not decode'); \
             img.src = 'data:image/png;base64,{data}'; }})"
        );
        let value = self.eval(&read)?;
        let pixels = value
            .as_array()
            .ok_or_else(|| anyhow!("no pixels: {value}"))?;
        pixels
            .iter()
            .map(|p| {
                let rgb: Vec<u8> = p
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_u64())
                            .map(|v| v as u8)
                            .collect()
                    })
                    .unwrap_or_default();
                <[u8; 3]>::try_from(rgb).map_err(|_| anyhow!("bad pixel {p}"))
            })
            .collect()
    }
}

/// Reads NUL-ended JSON messages from Chromium until the pipe closes.
fn read_messages(from: File, to: mpsc::Sender<Value>) {
    let mut reader = BufReader::new(from);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(0, &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(msg) = serde_json::from_slice::<Value>(&buf) {
                    if to.send(msg).is_err() {
                        return;
                    }
                }
            }
        }
    }
}
