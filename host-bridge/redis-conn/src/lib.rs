//! Redis connection setup for zdrive: deadlines on connect and on every reply, and errors that name the server without its password.
//!
//! A dead Redis must fail a command line call in well under a second (issue 3, part 7), so
//! both timeouts default to 500 ms. `redis://`, `rediss://` and `redis://:PASSWORD@HOST`
//! (`requirepass`) or `redis://USER:PASSWORD@HOST` (an ACL user) URLs are accepted, as
//! `redis-cli -u` reads them. For `rediss://` this crate makes the TLS connection itself
//! (tokio-rustls with the workspace's one provider, `ring`) and hands the stream to redis-rs:
//! the CA file of [`RedisOptions::ca_file`] replaces the system's trust store, which is then
//! never read (redis-rs reads and parses all of it for each connection, more than the
//! handshake costs a short-lived command line), and [`RedisOptions::client_cert`] is presented
//! to a server that asks for client certificates (`tls-auth-clients`, `redis-cli --cert --key`).
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

pub use conn_tls::ClientIdentity;

/// How [`RedisConn::connect`] connects.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// How long the TCP (and TLS) connection and the handshake may take.
    pub connect_timeout: Duration,
    /// How long any reply may take.
    pub response_timeout: Duration,
    /// The CA certificate(s) (PEM) that sign the server's certificate, for `rediss://`; the
    /// system's trust store when `None` (`redis-cli --cacert`).
    pub ca_file: Option<std::path::PathBuf>,
    /// The client certificate and key (PEM) for a server that asks for one (`redis-cli --cert --key`).
    pub client_cert: Option<ClientIdentity>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(500),
            response_timeout: Duration::from_millis(500),
            ca_file: None,
            client_cert: None,
        }
    }
}

/// Why talking to Redis failed. Messages carry the URL with its password replaced by `***`.
#[derive(Debug, thiserror::Error)]
pub enum RedisConnError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL {url}: {reason}; use redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://...")]
    InvalidUrl {
        /// The URL without its password.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS handshake failed; the message says which way and what to set.
    #[error("TLS to Redis at {url} failed: {}; {}", problem.what(), tls_advice(problem))]
    Tls {
        /// The URL without its password.
        url: String,
        /// Which way TLS failed.
        problem: conn_tls::TlsProblem,
    },
    /// The CA file or the client certificate could not be used.
    #[error("{source}; fix redis_ca_file, redis_cert_file or redis_key_file")]
    TlsFiles {
        /// Which file and why.
        #[source]
        source: conn_tls::ClientConfigError,
    },
    /// The server refused the login: a wrong or missing password (`WRONGPASS`, `NOAUTH`), or
    /// an ACL user that does not exist or is off.
    #[error("Redis at {url} refused the login ({reason}); set the ACL user and its password in redis_url (ZDRIVE_REDIS_URL): redis://USER:PASSWORD@HOST, or redis://:PASSWORD@HOST for requirepass (rediss:// alike)")]
    Rejected {
        /// The URL without its password.
        url: String,
        /// Which refusal it was.
        reason: &'static str,
    },
    /// No connection could be made in time.
    #[error("cannot reach Redis at {url}: {reason}; start redis-server or fix redis_url")]
    Unreachable {
        /// The URL without its password.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A command failed or timed out.
    #[error("Redis at {url} failed {command}: {reason}")]
    Command {
        /// The URL without its password.
        url: String,
        /// The command, for example `PING`.
        command: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// Returns what to set for a TLS failure of a Redis connection.
fn tls_advice(problem: &conn_tls::TlsProblem) -> &'static str {
    use conn_tls::TlsProblem;
    match problem {
        TlsProblem::UnknownCa => "set redis_ca_file (ZDRIVE_REDIS_CA_FILE) to the CA file that signed the server's certificate",
        TlsProblem::WrongHost => "put a host name the server's certificate names in redis_url",
        TlsProblem::ServerWithoutTls => "point redis_url at the server's TLS port (tls-port), or use redis:// for a server without TLS",
        TlsProblem::ClientCertificate => "the server wants a client certificate it trusts (tls-auth-clients): set redis_cert_file and redis_key_file (ZDRIVE_REDIS_CERT_FILE, ZDRIVE_REDIS_KEY_FILE)",
        TlsProblem::Other(_) => "check the server's certificate, redis_url and redis_ca_file",
    }
}

/// Returns `url` with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    conn_tls::redact_url(url, "redis_url")
}

/// Returns how a connection to `url` is secured: `rediss://` is TLS verified against the CA
/// and the host name, unless the URL ends in `#insecure` (redis-rs's way to skip checks).
pub fn transport_of(url: &str) -> conn_tls::Transport {
    if !url.starts_with("rediss:") {
        return conn_tls::Transport::PLAIN;
    }
    conn_tls::Transport {
        encrypted: true,
        verified: if url.ends_with("#insecure") {
            conn_tls::Verification::None
        } else {
            conn_tls::Verification::CaAndHost
        },
    }
}

/// Returns the message of the server error with `code` (such as `NOPERM`) that `e` is or holds
/// (a `MULTI` refused as a whole holds one per command), or `None` when it has none.
pub fn server_error(e: &redis::RedisError, code: &str) -> Option<String> {
    let errors = e.clone().into_server_errors()?;
    errors
        .iter()
        .find(|(_, error)| error.code() == code)
        .map(|(_, error)| error.details().unwrap_or_default().to_owned())
}

/// Returns why the server refused a login when `e` is such a refusal: a wrong password or an
/// unknown or disabled ACL user (`WRONGPASS`, which redis-rs reports as a failed `AUTH`), or
/// no password where one is required (`NOAUTH`).
fn login_refusal(e: &redis::RedisError) -> Option<&'static str> {
    if e.kind() == redis::ErrorKind::AuthenticationFailed || server_error(e, "WRONGPASS").is_some()
    {
        Some("wrong password, or an ACL user that does not exist or is off")
    } else if server_error(e, "NOAUTH").is_some() {
        Some("NOAUTH: the server wants a password and the URL gives none")
    } else {
        None
    }
}

/// Returns the patterns of the `keys` field of an `ACL GETUSER` reply (Redis 7: one string,
/// `~alice:* %R~logs:*`; Redis 6: a list) that allow reading and writing (`~P`, `%RW~P`), as `P`.
fn key_patterns(reply: &redis::Value) -> Option<Vec<String>> {
    use redis::Value;
    let text = |v: &Value| match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let fields: Vec<(Value, Value)> = match reply {
        Value::Map(pairs) => pairs.clone(),
        Value::Array(items) => items
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect(),
        _ => return None,
    };
    let keys = fields
        .iter()
        .find(|(name, _)| text(name).as_deref() == Some("keys"))
        .map(|(_, value)| value)?;
    let words: Vec<String> = match keys {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other)?.split_whitespace().map(str::to_owned).collect(),
    };
    Some(
        words
            .iter()
            .filter_map(|w| match w.strip_prefix('%') {
                Some(rest) => rest
                    .strip_prefix("RW~")
                    .or_else(|| rest.strip_prefix("WR~")),
                None => Some(w.strip_prefix('~').unwrap_or(w)),
            })
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// Returns the TLS configuration `options` ask for: the CA file's roots or the system's, the
/// client certificate when given; no verification for a `#insecure` URL.
fn tls_config(
    options: &RedisOptions,
    insecure: bool,
) -> Result<std::sync::Arc<rustls::ClientConfig>, conn_tls::ClientConfigError> {
    if insecure {
        return conn_tls::unverified_client_config(options.client_cert.as_ref());
    }
    let roots = match &options.ca_file {
        Some(path) => conn_tls::Roots::File(path.clone()),
        None => conn_tls::Roots::System,
    };
    conn_tls::client_config(
        &roots,
        conn_tls::ServerCheck::ChainAndHost,
        options.client_cert.as_ref(),
    )
}

/// Why [`connect_tls`] failed, by step.
enum TlsConnectError {
    Tcp(std::io::Error),
    Handshake(std::io::Error),
    HandshakeTimeout,
    Redis(redis::RedisError),
}

/// Connects to `host:port`, makes the TLS handshake with `tls`, then lets redis-rs authenticate
/// and select the database over the stream; its driver runs as a task of the current runtime.
async fn connect_tls(
    (host, port): (&str, u16),
    tls: std::sync::Arc<rustls::ClientConfig>,
    handshake_timeout: Duration,
    settings: &redis::RedisConnectionInfo,
    config: AsyncConnectionConfig,
) -> Result<MultiplexedConnection, TlsConnectError> {
    let name = conn_tls::server_name(host).map_err(|e| {
        TlsConnectError::Handshake(std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    })?;
    let tcp = conn_tls::connect_tcp(host, port)
        .await
        .map_err(TlsConnectError::Tcp)?;
    let _ = tcp.set_nodelay(true);
    let handshake = tokio_rustls::TlsConnector::from(tls).connect(name, tcp);
    // A server without TLS on this port waits for more of a command than a hello gives it.
    let stream = tokio::time::timeout(handshake_timeout, handshake)
        .await
        .map_err(|_| TlsConnectError::HandshakeTimeout)?
        .map_err(TlsConnectError::Handshake)?;
    let (connection, driver) = MultiplexedConnection::new_with_config(settings, stream, config)
        .await
        .map_err(TlsConnectError::Redis)?;
    tokio::spawn(driver);
    Ok(connection)
}

/// A multiplexed connection to one Redis server; clones of [`RedisConn::connection`] share it.
#[derive(Clone)]
pub struct RedisConn {
    connection: MultiplexedConnection,
    url: String,
    password: conn_tls::UrlSecret,
    /// The ACL user logged in as; `default` for a URL without one.
    user: String,
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConn").field("url", &self.url).finish()
    }
}

impl RedisConn {
    /// Connects to `url` within `options.connect_timeout` and checks it answers `PING`.
    pub async fn connect(url: &str, options: &RedisOptions) -> Result<Self, RedisConnError> {
        let redacted = redact_url(url);
        // Removed from what a lower layer says, in case it echoed it.
        let password = conn_tls::UrlSecret::of(url);
        let invalid = |e: redis::RedisError| RedisConnError::InvalidUrl {
            url: redacted.clone(),
            reason: password.scrub(e.to_string()),
        };
        let client = redis::Client::open(url).map_err(invalid)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout));
        let unreachable = |reason: String| RedisConnError::Unreachable {
            url: redacted.clone(),
            reason: password.scrub(reason),
        };
        let failed = |e: redis::RedisError| match login_refusal(&e) {
            Some(reason) => RedisConnError::Rejected {
                url: redacted.clone(),
                reason,
            },
            None => unreachable(e.to_string()),
        };
        // The outer deadline also bounds the handshake (AUTH, HELLO, SELECT).
        let deadline = options.connect_timeout + options.response_timeout;
        let info = client.get_connection_info();
        let user = info
            .redis_settings()
            .username()
            .filter(|u| !u.is_empty())
            .unwrap_or("default")
            .to_owned();
        let connection = match info.addr() {
            redis::ConnectionAddr::TcpTls {
                host,
                port,
                insecure,
                ..
            } => {
                let tls = tls_config(options, *insecure)
                    .map_err(|source| RedisConnError::TlsFiles { source })?;
                let tls_error = |problem| RedisConnError::Tls {
                    url: redacted.clone(),
                    problem,
                };
                tokio::time::timeout(
                    deadline,
                    connect_tls(
                        (host, *port),
                        tls,
                        options.connect_timeout,
                        info.redis_settings(),
                        config,
                    ),
                )
                .await
                .map_err(|_| unreachable(format!("no answer within {deadline:?}")))?
                .map_err(|e| match e {
                    TlsConnectError::Tcp(e) => unreachable(e.to_string()),
                    TlsConnectError::Handshake(e) => tls_error(
                        conn_tls::tls_problem(&e)
                            .unwrap_or_else(|| conn_tls::TlsProblem::Other(e.to_string())),
                    ),
                    // A plain-text port never answers a TLS hello: redis-server waits for the
                    // end of an inline command that never comes.
                    TlsConnectError::HandshakeTimeout => {
                        tls_error(conn_tls::TlsProblem::ServerWithoutTls)
                    }
                    TlsConnectError::Redis(e) => {
                        match conn_tls::tls_problem(&e)
                            .or_else(|| conn_tls::tls_problem_in_text(&format!("{e:?}")))
                        {
                            // TLS 1.3 clients learn of a refused certificate only when they
                            // read the server's first answer.
                            Some(problem) => tls_error(problem),
                            None => failed(e),
                        }
                    }
                })?
            }
            _ => tokio::time::timeout(
                deadline,
                client.get_multiplexed_async_connection_with_config(&config),
            )
            .await
            .map_err(|_| unreachable(format!("no answer within {deadline:?}")))?
            .map_err(failed)?,
        };
        let mut conn = Self {
            connection,
            url: redacted.clone(),
            password,
            user,
        };
        conn.ping().await?;
        Ok(conn)
    }

    /// Sends `PING` and returns the round-trip time.
    pub async fn ping(&mut self) -> Result<Duration, RedisConnError> {
        let started = Instant::now();
        let reply: String = redis::cmd("PING")
            .query_async(&mut self.connection)
            .await
            .map_err(|e| self.command_error("PING", e))?;
        if reply != "PONG" {
            return Err(RedisConnError::Command {
                url: self.url.clone(),
                command: "PING",
                reason: format!("unexpected reply {reply:?}"),
            });
        }
        Ok(started.elapsed())
    }

    /// Returns the connection for running commands (cheap to clone; replies time out as configured).
    pub fn connection(&self) -> MultiplexedConnection {
        self.connection.clone()
    }

    /// Returns the server's URL without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the ACL user the connection logged in as (`default` when the URL names none).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Returns the key patterns the ACL user may read and write, as `ACL GETUSER` lists them
    /// without their `~` (for example `alice:*`), or `None` when the server does not say (a
    /// user not allowed `ACL GETUSER`). For messages: it costs a round trip.
    pub async fn acl_key_patterns(&self) -> Option<Vec<String>> {
        let reply: redis::Value = redis::cmd("ACL")
            .arg("GETUSER")
            .arg(&self.user)
            .query_async(&mut self.connection())
            .await
            .ok()?;
        key_patterns(&reply)
    }

    /// Returns how the connection is secured.
    pub fn transport(&self) -> conn_tls::Transport {
        transport_of(&self.url)
    }

    /// Wraps a command's failure with the server's URL, without the password: a login the
    /// server wants (`NOAUTH`) is [`RedisConnError::Rejected`].
    pub fn command_error(&self, command: &'static str, e: redis::RedisError) -> RedisConnError {
        if let Some(reason) = login_refusal(&e) {
            return RedisConnError::Rejected {
                url: self.url.clone(),
                reason,
            };
        }
        RedisConnError::Command {
            url: self.url.clone(),
            command,
            reason: self.password.scrub(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("redis://:s3cret@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("rediss://zdrive:s3cret@cache.example:6380"),
            "rediss://zdrive:***@cache.example:6380"
        );
        assert_eq!(redact_url("redis://127.0.0.1"), "redis://127.0.0.1");
    }

    #[test]
    fn acl_key_patterns_are_read_from_both_reply_shapes() {
        use redis::Value;
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        // Redis 7: one string; the password hashes beside it are never kept.
        let redis7 = Value::Array(vec![
            bulk("flags"),
            Value::Array(vec![bulk("on")]),
            bulk("passwords"),
            Value::Array(vec![bulk("30c952fab122c3f9")]),
            bulk("keys"),
            bulk("%R~shared:* ~alice:* %W~inbox:* %RW~team:*"),
        ]);
        // Read-only and write-only patterns are no use to zdrive.
        assert_eq!(
            key_patterns(&redis7),
            Some(vec!["alice:*".to_owned(), "team:*".to_owned()])
        );
        // Redis 6: a list of patterns.
        let redis6 = Value::Array(vec![bulk("keys"), Value::Array(vec![bulk("bob:*")])]);
        assert_eq!(key_patterns(&redis6), Some(vec!["bob:*".to_owned()]));
        let none = Value::Array(vec![bulk("flags"), Value::Array(vec![])]);
        assert_eq!(key_patterns(&none), None);
        assert_eq!(key_patterns(&Value::Nil), None);
    }
}
