//! host-bridge round trip: a trivial request (`ping`) over loopback HTTP, p50 and p99, next to
//! the same client fetching a static file from a minimal loopback HTTP server (the floor).
//!
//! One hand-written HTTP/1.1 keep-alive client serves both sides, so the figures differ only by
//! the server: what host-bridge adds (token check, limits, JSON decoding, dispatch) over a
//! server that just writes bytes back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ::tests::IsolatedEnv;
use anyhow::{bail, Context, Result};

use super::report::{Goal, Row};
use super::{Bench, BenchContext};

pub(crate) struct BridgeRoundTrip;

impl Bench for BridgeRoundTrip {
    fn name(&self) -> &'static str {
        "bridge"
    }

    fn reference(&self) -> String {
        "static file from a minimal loopback HTTP server".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        let requests = ctx.samples(10_000, 2_000);
        let bridge_bin = ctx
            .perth_bin
            .parent()
            .context("the perth binary has no folder")?
            .join("host-bridge");
        anyhow::ensure!(
            bridge_bin.is_file(),
            "{} does not exist; build it with `cargo xtask build`",
            bridge_bin.display()
        );
        let env = IsolatedEnv::new()?;
        let mut bridge = BridgeProcess::start(&env, &bridge_bin)?;
        let body = br#"{"id":1,"body":{"type":"ping"}}"#;
        let auth = format!("Bearer {}", bridge.token);
        eprintln!(
            "bench bridge: {requests} pings to host-bridge at port {}",
            bridge.port
        );
        let bridge_ms = measure(bridge.port, "/v1/rpc", Some(&auth), body, requests)?;
        bridge.stop();

        let floor = StaticServer::start(br#"{"id":1,"result":{"type":"pong","server_time":1}}"#)?;
        eprintln!("bench bridge: {requests} requests to the static floor server");
        let floor_ms = measure(floor.port, "/pong.json", None, body, requests)?;

        let (b50, b99) = (percentile(&bridge_ms, 50.0), percentile(&bridge_ms, 99.0));
        let (f50, f99) = (percentile(&floor_ms, 50.0), percentile(&floor_ms, 99.0));
        Ok(vec![
            Row::new(
                "round trip p50 (vs floor)",
                b50,
                f50,
                "ms",
                Goal::RatioAtMost(2.0),
            ),
            Row::new(
                "round trip p99 (vs floor)",
                b99,
                f99,
                "ms",
                Goal::RatioAtMost(2.0),
            ),
            Row::new("round trip p50", b50, f50, "ms", Goal::AtMost(1.0)),
            Row::new("round trip p99", b99, f99, "ms", Goal::AtMost(5.0)),
        ])
    }
}

/// A `host-bridge serve --foreground` in an isolated runtime folder.
struct BridgeProcess {
    child: Child,
    port: u16,
    token: String,
}

impl BridgeProcess {
    fn start(env: &IsolatedEnv, bin: &std::path::Path) -> Result<Self> {
        let child = env
            .command(bin)
            .args(["serve", "--foreground"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let info_path = env.runtime_dir().join("perth/host-bridge.json");
        let info: serde_json::Value = ::tests::wait_for(
            "host-bridge to write its runtime file",
            Duration::from_secs(10),
            || {
                let text = std::fs::read_to_string(&info_path).ok()?;
                serde_json::from_str(&text).ok()
            },
        )?;
        let port = info["port"]
            .as_u64()
            .context("no port in the runtime file")? as u16;
        let token = info["token"]
            .as_str()
            .context("no token in the runtime file")?
            .to_owned();
        Ok(BridgeProcess { child, port, token })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BridgeProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback HTTP/1.1 server that answers every request with the same bytes (keep-alive).
pub(crate) struct StaticServer {
    pub(crate) port: u16,
}

impl StaticServer {
    /// Starts serving on a free loopback port, a thread per connection, until the process exits.
    pub(crate) fn start(body: &'static [u8]) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the floor server")?;
        let port = listener.local_addr()?.port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve_static(stream, body));
            }
        });
        Ok(StaticServer { port })
    }
}

fn serve_static(stream: TcpStream, body: &[u8]) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    while let Ok(Some(length)) = read_head(&mut reader) {
        let mut discard = vec![0; length];
        if reader.read_exact(&mut discard).is_err() {
            return;
        }
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body).is_err() {
            return;
        }
    }
}

/// Reads one message head; returns its Content-Length, or `None` at end of stream.
fn read_head(reader: &mut impl BufRead) -> Result<Option<usize>> {
    let mut length = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if line == "\r\n" {
            if first {
                continue;
            }
            return Ok(Some(length));
        }
        first = false;
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().context("a bad content-length")?;
            }
        }
    }
}

/// Sends `requests` POSTs on one keep-alive connection; returns each round trip in ms.
fn measure(
    port: u16,
    path: &str,
    authorization: Option<&str>,
    body: &[u8],
    requests: usize,
) -> Result<Vec<f64>> {
    let stream = TcpStream::connect(("127.0.0.1", port)).context("connecting")?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(auth) = authorization {
        request.push_str(&format!("authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    let warmup = 200;
    let mut times = Vec::with_capacity(requests);
    for i in 0..warmup + requests {
        let started = Instant::now();
        writer.write_all(&request)?;
        let Some(length) = read_head(&mut reader)? else {
            bail!("the server closed the connection after {i} requests");
        };
        let mut answer = vec![0; length];
        reader.read_exact(&mut answer)?;
        if i >= warmup {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        if i == 0 && !answer.starts_with(b"{") {
            bail!("unexpected answer: {}", String::from_utf8_lossy(&answer));
        }
    }
    Ok(times)
}

/// Returns the `p`th percentile (nearest rank) of `samples`.
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn the_floor_server_and_client_talk_keep_alive_http() {
        let server = StaticServer::start(b"{\"ok\":true}").unwrap();
        let times = measure(server.port, "/x", None, b"{}", 50).unwrap();
        assert_eq!(times.len(), 50);
    }
}
