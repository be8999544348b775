//! `perth web`: Zellij's web server and its login tokens, run the way the `zellij` binary runs
//! them (same flags, messages and exit codes), through zellij-client's and zellij-utils' public
//! API; the sessions a browser opens are perth's, since Zellij starts their servers by
//! re-executing this binary.
//!
//! perth checks two kinds of bad input before Zellij sees them, with a message that says what to
//! do and exit status 1 (a user error): an address already in use, and a certificate or key file
//! that holds no PEM certificate or key (Zellij exits 2 with the bare system error for both).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use zellij_utils::cli::{CliArgs, WebCli};
use zellij_utils::consts::VERSION;
use zellij_utils::input::config::ConfigError;
use zellij_utils::setup::Setup;
use zellij_utils::shared::web_server_base_url_from_config;
use zellij_utils::web_authentication_tokens as tokens;
use zellij_utils::web_server_commands::shutdown_all_webserver_instances;

/// Zellij's default port for its web server.
const DEFAULT_PORT: u16 = 8082;

/// Runs `perth web` with `web`'s flags; `opts.config` already names perth's composed configuration.
pub fn run(web: WebCli, opts: &CliArgs) -> i32 {
    if web.get_start() {
        return start(web, opts);
    }
    if web.stop {
        return match shutdown_all_webserver_instances() {
            Ok(()) => {
                println!("Stopped web server.");
                0
            }
            Err(e) => {
                eprintln!("Failed to stop web server: {e}");
                2
            }
        };
    }
    if web.status {
        return status(&web, opts);
    }
    if web.create_token || web.create_read_only_token {
        let read_only = web.create_read_only_token;
        return match tokens::create_token(web.token_name.clone(), read_only) {
            Ok((token, name)) => {
                let access = if read_only { " (read-only)" } else { "" };
                println!("Created token successfully");
                println!();
                println!("{name}: {token}{access}");
                0
            }
            Err(e) => {
                eprintln!("Failed to create token: {e}");
                2
            }
        };
    }
    if let Some(name) = &web.revoke_token {
        return match tokens::revoke_token(name) {
            Ok(true) => {
                println!("Successfully revoked token.");
                0
            }
            Ok(false) => {
                eprintln!("Token by that name does not exist.");
                2
            }
            Err(e) => {
                eprintln!("Failed to revoke token: {e}");
                2
            }
        };
    }
    if web.revoke_all_tokens {
        return match tokens::revoke_all_tokens() {
            Ok(_) => {
                println!("Successfully revoked all auth tokens");
                0
            }
            Err(e) => {
                eprintln!("Failed to revoke all auth tokens: {e}");
                2
            }
        };
    }
    if web.list_tokens {
        return match tokens::list_tokens() {
            Ok(list) => {
                for t in list {
                    let access = if t.read_only { " [READ-ONLY]" } else { "" };
                    println!("{}: created at {}{access}", t.name, t.created_at);
                }
                0
            }
            Err(e) => {
                eprintln!("Failed to list tokens: {e}");
                2
            }
        };
    }
    0
}

fn start(web: WebCli, opts: &CliArgs) -> i32 {
    let (config, _layout, options, _, _) = match Setup::from_cli_args(opts) {
        Ok(setup) => setup,
        Err(ConfigError::KdlError(e)) => {
            eprintln!("{:?}", miette::Report::from(e));
            return 1;
        }
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let ip = web
        .ip
        .or(options.web_server_ip)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let port = web.port.or(options.web_server_port).unwrap_or(DEFAULT_PORT);
    let cert = web
        .cert
        .clone()
        .or_else(|| config.options.web_server_cert.clone());
    let key = web
        .key
        .clone()
        .or_else(|| config.options.web_server_key.clone());
    if let (Some(cert), Some(key)) = (&cert, &key) {
        if let Err(message) = check_pem(cert, "CERTIFICATE", "certificate")
            .and_then(|()| check_pem(key, "PRIVATE KEY", "private key"))
        {
            eprintln!("perth web: {message}");
            return 1;
        }
    }
    // Zellij binds after it has daemonized and says only "Address already in use".
    if let Err(e) = std::net::TcpListener::bind((ip, port)) {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            eprintln!(
                "perth web: {ip} port {port} is in use by another program (another web server?); \
                 stop it (`perth web --stop` stops perth's and Zellij's) or pick another port \
                 with --port"
            );
            return 1;
        }
    }
    // Zellij's web server builds its TLS configuration with rustls's process-wide provider,
    // which rustls cannot pick by itself while two are compiled in (see conn-tls).
    conn_tls::install_crypto_provider();
    zellij_client::web_client::start_web_client(
        config,
        options,
        opts.config.clone(),
        web.daemonize,
        web.ip,
        web.port,
        web.cert,
        web.key,
        web.server_startup_timeout,
    );
    0
}

/// Checks that `path` is readable and holds a PEM block whose label ends in `label`.
fn check_pem(path: &Path, label: &str, what: &str) -> Result<(), String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let has_block = text.lines().any(|l| {
        l.trim_start()
            .strip_prefix("-----BEGIN ")
            .is_some_and(|rest| rest.trim_end().trim_end_matches('-').ends_with(label))
    });
    if has_block {
        Ok(())
    } else {
        Err(format!(
            "the {what} file {} holds no PEM {what} (-----BEGIN ...{label}-----); \
             give --cert a PEM certificate chain and --key its PEM private key",
            path.display()
        ))
    }
}

/// `perth web --status`: asks the server at the configured address for its version.
fn status(web: &WebCli, opts: &CliArgs) -> i32 {
    let mut options = match Setup::from_cli_args(opts) {
        Ok((_, _, options, _, _)) => options,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if let Some(ip) = web.ip {
        options.web_server_ip = Some(ip);
    }
    if let Some(port) = web.port {
        options.web_server_port = Some(port);
    }
    let base = web_server_base_url_from_config(options);
    let timeout = Duration::from_secs(web.timeout.unwrap_or(30));
    match version_at(&base, timeout) {
        Some(version) => {
            let version = version.trim();
            println!("Web server online with version: {version}. Checked: {base}");
            if version != VERSION {
                println!();
                println!("Note: this version differs from the current Zellij version: {VERSION}.");
                println!("Consider stopping the server with: perth web --stop");
                println!("And then restarting it with: perth web --start");
            }
        }
        None => println!("Web server is offline, checked: {base}"),
    }
    0
}

/// Returns the body of `GET {base}/info/version`, or `None` when nothing answers 200 over plain
/// HTTP (an https server counts as offline: perth does not check a certificate here).
fn version_at(base: &str, timeout: Duration) -> Option<String> {
    let host = base.strip_prefix("http://")?;
    let addr = host.to_socket_addrs().ok()?.next()?;
    let mut conn = TcpStream::connect_timeout(&addr, timeout).ok()?;
    conn.set_read_timeout(Some(timeout)).ok()?;
    write!(
        conn,
        "GET /info/version HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}
