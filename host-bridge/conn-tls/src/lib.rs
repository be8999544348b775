//! What the PostgreSQL, Redis and AMQP connections share: one crypto provider, TLS failures named, how a connection is secured, URLs without passwords.
//!
//! Every TLS connection of the workspace goes through rustls with the `ring` provider: sqlx
//! (`tls-rustls-ring-native-roots`), redis (`tokio-rustls-comp`) and lapin
//! (`rustls-native-certs`, through `rustls-connector`). Zellij's client also compiles in
//! `aws-lc-rs`, and with two providers compiled rustls cannot pick one by itself, so every
//! connection calls [`install_crypto_provider`] first and the process uses `ring` throughout.

use std::fmt;

mod client_config;

pub use client_config::{
    client_config, server_name, unverified_client_config, ClientConfigError, ClientIdentity, Roots,
    ServerCheck,
};

/// Installs `ring` as the process's rustls crypto provider, unless one is installed already.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing the same provider is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Returns the addresses to try for `host:port` when `host` is `localhost` or a name under
/// `.localhost`, which always mean this machine (RFC 6761, section 6.3): IPv4's loopback, then
/// IPv6's. `None` for any other name, which the system's resolver looks up.
///
/// The TLS connections (Redis, PostgreSQL's tunnel, RabbitMQ) name their server as their
/// certificate does, often `localhost` on a one-machine setup; asking the system's resolver
/// for it loads its modules and reads its files in every short-lived command, about 1 to 3 ms
/// of a 10 ms `zdrive pane log`.
pub fn loopback_addrs(host: &str, port: u16) -> Option<[std::net::SocketAddr; 2]> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let local = name == "localhost" || name.ends_with(".localhost");
    local.then(|| {
        [
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        ]
    })
}

/// Opens a TCP connection to `host:port`, to the loopback addresses directly for a localhost
/// name ([`loopback_addrs`]), else to what the system's resolver gives.
pub async fn connect_tcp(host: &str, port: u16) -> std::io::Result<tokio::net::TcpStream> {
    match loopback_addrs(host, port) {
        Some(loopback) => tokio::net::TcpStream::connect(&loopback[..]).await,
        None => tokio::net::TcpStream::connect((host, port)).await,
    }
}

/// How much a connection's TLS proves about the server.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Nothing: plain text, or TLS that accepts any certificate (`sslmode=require`).
    None,
    /// The certificate chains to a trusted CA, whatever host name it names (`verify-ca`).
    Ca,
    /// The certificate chains to a trusted CA and names the host connected to (`verify-full`, `rediss://`, `amqps://`).
    CaAndHost,
}

/// How a connection to a server is secured, for `perth status`, `iMi doctor` and `zdrive config show`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Transport {
    /// Whether the bytes on the wire are encrypted (TLS).
    pub encrypted: bool,
    /// What the server's certificate was checked for.
    pub verified: Verification,
}

impl Transport {
    /// A plain-text connection.
    pub const PLAIN: Transport = Transport {
        encrypted: false,
        verified: Verification::None,
    };

    /// Returns the words status lines show: `TLS, verified (CA and host name)`, `plain text (not encrypted)`, ...
    pub fn describe(&self) -> &'static str {
        match (self.encrypted, self.verified) {
            (false, _) => "plain text (not encrypted)",
            (true, Verification::None) => "TLS, not verified (any certificate accepted)",
            (true, Verification::Ca) => "TLS, verified (CA only, not the host name)",
            (true, Verification::CaAndHost) => "TLS, verified (CA and host name)",
        }
    }

    /// Returns the JSON form: `{"encrypted": true, "verified": "ca_and_host"}`.
    pub fn verified_key(&self) -> &'static str {
        match self.verified {
            Verification::None => "none",
            Verification::Ca => "ca",
            Verification::CaAndHost => "ca_and_host",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Which way a TLS connection failed, named so the message can say what to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsProblem {
    /// The server's certificate is not signed by a CA the client trusts.
    UnknownCa,
    /// The certificate is valid but names another host than the one connected to.
    WrongHost,
    /// The configuration asks for TLS and the server does not offer it.
    ServerWithoutTls,
    /// The server asked for a client certificate and none (or a refused one) was sent.
    ClientCertificate,
    /// Another TLS failure (expired certificate, protocol error, ...).
    Other(String),
}

impl TlsProblem {
    /// Returns what went wrong, in words.
    pub fn what(&self) -> String {
        match self {
            TlsProblem::UnknownCa => {
                "the server's certificate is not signed by a trusted CA (unknown CA)".to_owned()
            }
            TlsProblem::WrongHost => {
                "the server's certificate does not name the host connected to (wrong host name)"
                    .to_owned()
            }
            TlsProblem::ServerWithoutTls => {
                "TLS is required but the server does not offer TLS".to_owned()
            }
            TlsProblem::ClientCertificate => {
                "the server refused the client certificate (or wants one)".to_owned()
            }
            TlsProblem::Other(detail) => format!("TLS failed: {detail}"),
        }
    }
}

/// Finds a TLS failure in `error` or its sources (a rustls error, possibly inside an I/O error).
pub fn tls_problem(error: &(dyn std::error::Error + 'static)) -> Option<TlsProblem> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(problem) = rustls_problem(e) {
            return Some(problem);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(problem) = tls_problem(inner) {
                    return Some(problem);
                }
            }
        }
        let text = e.to_string();
        if text.contains("server does not support TLS") {
            return Some(TlsProblem::ServerWithoutTls);
        }
        next = e.source();
    }
    None
}

/// Names a TLS failure from a message only, for libraries that flatten their errors to text
/// (lapin and redis keep rustls's wording, not its type).
pub fn tls_problem_in_text(text: &str) -> Option<TlsProblem> {
    if text.contains("UnknownIssuer") || text.contains("unknown issuer") {
        Some(TlsProblem::UnknownCa)
    } else if text.contains("NotValidForName") || text.contains("not valid for name") {
        Some(TlsProblem::WrongHost)
    } else if text.contains("server does not support TLS") {
        Some(TlsProblem::ServerWithoutTls)
    } else if text.contains("CertificateRequired")
        || text.contains("BadCertificate")
        // The server's alert when it does not trust the client's certificate.
        || text.contains("alert: UnknownCA")
    {
        Some(TlsProblem::ClientCertificate)
    } else if text.contains("InvalidContentType")
        || text.contains("received corrupt message")
        || text.contains("corrupt message of type InvalidContentType")
    {
        Some(TlsProblem::ServerWithoutTls)
    } else {
        None
    }
}

fn rustls_problem(e: &(dyn std::error::Error + 'static)) -> Option<TlsProblem> {
    use rustls::{AlertDescription, CertificateError, Error};
    let e = e.downcast_ref::<Error>()?;
    Some(match e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => TlsProblem::UnknownCa,
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => TlsProblem::WrongHost,
        Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA,
        ) => TlsProblem::ClientCertificate,
        Error::InvalidMessage(_) => TlsProblem::ServerWithoutTls,
        other => TlsProblem::Other(other.to_string()),
    })
}

/// The password of a server URL, as messages may show it: written in the URL (percent-encoded)
/// and as the server and its driver know it (decoded). Both are masked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlSecret {
    forms: Vec<String>,
}

impl UrlSecret {
    /// Returns the password of `url` (none when it has none or does not parse).
    pub fn of(url: &str) -> UrlSecret {
        let Some(written) = url::Url::parse(url)
            .ok()
            .and_then(|u| u.password().map(str::to_owned))
            .filter(|p| !p.is_empty())
        else {
            return UrlSecret::default();
        };
        let decoded = percent_encoding::percent_decode_str(&written)
            .decode_utf8_lossy()
            .into_owned();
        let mut forms = vec![written];
        if !decoded.is_empty() && !forms.contains(&decoded) {
            forms.push(decoded);
        }
        // The longer first: one form may hold the other.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        UrlSecret { forms }
    }

    /// Returns `text` with every form of the password replaced by `***`.
    pub fn scrub(&self, text: String) -> String {
        self.forms
            .iter()
            .fold(text, |text, form| text.replace(form.as_str(), "***"))
    }
}

/// Returns `url` with any password replaced by `***`; `what` names the setting when it does not parse.
pub fn redact_url(url: &str, what: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => format!("<unparsable {what}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_scrubbed_as_written_and_as_decoded() {
        let secret = UrlSecret::of("redis://bob:p%40ss%2Fw0rd@127.0.0.1:6379/0");
        assert_eq!(
            secret.scrub("auth p@ss/w0rd failed for redis://bob:p%40ss%2Fw0rd@h".into()),
            "auth *** failed for redis://bob:***@h"
        );
        let plain = UrlSecret::of("amqp://u:s3cret@h/%2f");
        assert_eq!(plain.scrub("s3cret s3cret".into()), "*** ***");
        for none in ["redis://h:6379", "redis://u:@h", "not a url"] {
            assert_eq!(UrlSecret::of(none).scrub("text".into()), "text", "{none}");
        }
    }

    #[test]
    fn localhost_names_are_the_loopback_addresses_and_others_are_left_to_the_resolver() {
        let v4: std::net::SocketAddr = "127.0.0.1:6380".parse().unwrap();
        let v6: std::net::SocketAddr = "[::1]:6380".parse().unwrap();
        for host in ["localhost", "LocalHost", "localhost.", "db.localhost"] {
            assert_eq!(loopback_addrs(host, 6380), Some([v4, v6]), "{host}");
        }
        for host in [
            "example.com",
            "localhost.example.com",
            "mylocalhost",
            "127.0.0.1",
        ] {
            assert_eq!(loopback_addrs(host, 6380), None, "{host}");
        }
    }

    #[test]
    fn rustls_errors_inside_io_errors_are_named() {
        let unknown = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(tls_problem(&unknown), Some(TlsProblem::UnknownCa));
        let host = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        assert_eq!(tls_problem(&host), Some(TlsProblem::WrongHost));
        let plain = std::io::Error::other("connection refused");
        assert_eq!(tls_problem(&plain), None);
    }

    #[test]
    fn flattened_messages_are_named() {
        assert_eq!(
            tls_problem_in_text("invalid peer certificate: UnknownIssuer"),
            Some(TlsProblem::UnknownCa)
        );
        assert_eq!(
            tls_problem_in_text("invalid peer certificate: NotValidForName"),
            Some(TlsProblem::WrongHost)
        );
        assert_eq!(
            tls_problem_in_text("received fatal alert: UnknownCA"),
            Some(TlsProblem::ClientCertificate)
        );
        assert_eq!(tls_problem_in_text("connection refused"), None);
    }

    #[test]
    fn transports_say_what_they_prove() {
        assert_eq!(Transport::PLAIN.describe(), "plain text (not encrypted)");
        let full = Transport {
            encrypted: true,
            verified: Verification::CaAndHost,
        };
        assert_eq!(full.to_string(), "TLS, verified (CA and host name)");
        assert_eq!(full.verified_key(), "ca_and_host");
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("amqps://bb:s3cret@mq:5671/%2f", "amqp_url"),
            "amqps://bb:***@mq:5671/%2f"
        );
        assert_eq!(redact_url("::", "amqp_url"), "<unparsable amqp_url>");
    }
}
