//! PostgreSQL's `verify-ca` and `verify-full` with the workspace's own TLS: sqlx speaks plain text to a private socket, and a tunnel makes the TLS connection to the server.
//!
//! sqlx 0.8.6 builds its TLS configuration for every connection from the system's trust store
//! (every file of `/etc/ssl/certs`, parsed) plus `sslrootcert`, and its `verify-ca` checks the
//! host name as well. The tunnel makes the connection as libpq does: the roots are the
//! `sslrootcert` file alone (the system's store only without one, or with
//! `sslrootcert=system`), read once per database; `verify-ca` checks the chain and not the
//! name; `sslcert`/`sslkey` are presented when given. sqlx connects, authenticates (SCRAM, the
//! password never passes through here in any other form) and runs its queries over a Unix
//! socket in a folder only this user can enter, and each of its connections becomes one TCP
//! connection, PostgreSQL's `SSLRequest`, the handshake and then bytes copied both ways.
//!
//! The tunnel's tasks run on the runtime that opened the database, as sqlx's own connections
//! do: a round trip then costs two more socket hops on the same thread, not a wake-up of
//! another thread each way (which, on a busy machine, made each round trip wait for the
//! scheduler twice; a flush is many round trips). How a connection failed (TCP, or which TLS
//! problem) is kept for `open` to report, since sqlx only sees its socket close.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// PostgreSQL's `SSLRequest`: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// What the tunnel's connections to one server use.
#[derive(Clone, Debug)]
pub(crate) struct TlsTarget {
    /// The server's host (name or address) and port.
    pub host: String,
    pub port: u16,
    /// The roots, what is checked, the client certificate.
    pub roots: conn_tls::Roots,
    pub check: conn_tls::ServerCheck,
    pub identity: Option<conn_tls::ClientIdentity>,
    /// How long the TCP connection and the handshake may take.
    pub connect_timeout: Duration,
}

impl TlsTarget {
    /// Returns the target a URL's `sslmode`, `sslrootcert`, `sslcert` and `sslkey` describe,
    /// when the mode is `verify-ca` or `verify-full` over TCP; `None` for the others.
    pub(crate) fn from_url(
        url: &str,
        host: &str,
        port: u16,
        mode: sqlx::postgres::PgSslMode,
        connect_timeout: Duration,
    ) -> Option<Self> {
        use sqlx::postgres::PgSslMode;
        let check = match mode {
            PgSslMode::VerifyFull => conn_tls::ServerCheck::ChainAndHost,
            PgSslMode::VerifyCa => conn_tls::ServerCheck::ChainOnly,
            _ => return None,
        };
        let parsed = url::Url::parse(url).ok()?;
        // The URL's parameter, else libpq's variable for it: sqlx reads the same variables
        // (PGSSLROOTCERT, PGSSLCERT, PGSSLKEY) when it parses the URL, and did for these modes
        // before the tunnel made their connections.
        let param = |name: &str, var: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .or_else(|| std::env::var(var).ok())
                .filter(|v| !v.is_empty())
        };
        let roots = match param("sslrootcert", "PGSSLROOTCERT") {
            None => conn_tls::Roots::System,
            Some(v) if v == "system" => conn_tls::Roots::System,
            Some(path) => conn_tls::Roots::File(PathBuf::from(path)),
        };
        let identity = match (param("sslcert", "PGSSLCERT"), param("sslkey", "PGSSLKEY")) {
            (Some(cert), Some(key)) => Some(conn_tls::ClientIdentity {
                cert: cert.into(),
                key: key.into(),
            }),
            _ => None,
        };
        Some(Self {
            host: host.to_owned(),
            port,
            roots,
            check,
            identity,
            connect_timeout,
        })
    }
}

/// How one of the tunnel's connections failed, for the error `open` reports.
#[derive(Clone, Debug)]
pub(crate) enum TunnelFailure {
    /// The TCP connection could not be made.
    Unreachable(String),
    /// TLS failed, named.
    Tls(conn_tls::TlsProblem),
}

/// A running tunnel: its socket folder (removed when the last clone goes) and its last failure.
#[derive(Clone, Debug)]
pub(crate) struct Tunnel {
    inner: Arc<TunnelInner>,
}

#[derive(Debug)]
struct TunnelInner {
    dir: tempfile::TempDir,
    failure: Arc<Mutex<Option<TunnelFailure>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for TunnelInner {
    fn drop(&mut self) {
        // Connections already made keep their own tasks until sqlx closes them.
        self.accept.abort();
    }
}

/// Why a tunnel could not be started.
#[derive(Debug)]
pub(crate) enum StartError {
    /// The TLS files (CA, client certificate, key) could not be used.
    Config(conn_tls::ClientConfigError),
    /// The server's host is no name or address TLS can check.
    ServerName(String),
    /// The socket folder or the listener could not be made.
    Io(std::io::Error),
}

impl Tunnel {
    /// Starts a tunnel to `target` on the current tokio runtime; sqlx connects to
    /// [`Tunnel::socket_dir`] on the target's port.
    pub(crate) fn start(target: TlsTarget) -> Result<Self, StartError> {
        let config = conn_tls::client_config(&target.roots, target.check, target.identity.as_ref())
            .map_err(StartError::Config)?;
        let name = conn_tls::server_name(&target.host)
            .map_err(|e| StartError::ServerName(format!("{}: {e}", target.host)))?;
        let dir = tempfile::Builder::new()
            .prefix("perth-pg-")
            .tempdir()
            .map_err(StartError::Io)?;
        let socket = dir.path().join(format!(".s.PGSQL.{}", target.port));
        let failure = Arc::new(Mutex::new(None));
        let listener = tokio::net::UnixListener::bind(&socket).map_err(StartError::Io)?;
        let accept = tokio::spawn(accept_loop(
            listener,
            Arc::new(target),
            config,
            name,
            failure.clone(),
        ));
        Ok(Self {
            inner: Arc::new(TunnelInner {
                dir,
                failure,
                accept,
            }),
        })
    }

    /// Returns the folder of the tunnel's socket, for `PgConnectOptions::socket`.
    pub(crate) fn socket_dir(&self) -> &Path {
        self.inner.dir.path()
    }

    /// Returns and forgets how the last failed connection failed.
    pub(crate) fn take_failure(&self) -> Option<TunnelFailure> {
        self.inner
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

async fn accept_loop(
    listener: tokio::net::UnixListener,
    target: Arc<TlsTarget>,
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    failure: Arc<Mutex<Option<TunnelFailure>>>,
) {
    let connector = tokio_rustls::TlsConnector::from(config);
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors, most likely: try again when some are freed.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (target, connector, name, failure) = (
            target.clone(),
            connector.clone(),
            name.clone(),
            failure.clone(),
        );
        tokio::spawn(async move {
            match open_server(&target, &connector, name).await {
                Ok(server) => {
                    if let Some(problem) = carry(client, server).await {
                        *failure.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(TunnelFailure::Tls(problem));
                    }
                }
                Err(problem) => {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(problem);
                    // Dropping the client's end tells sqlx; `open` then reads the failure.
                    drop(client);
                }
            }
        });
    }
}

/// Connects to the server, asks for TLS and makes the handshake.
async fn open_server(
    target: &TlsTarget,
    connector: &tokio_rustls::TlsConnector,
    name: ServerName<'static>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, TunnelFailure> {
    let deadline = target.connect_timeout;
    let mut tcp = tokio::time::timeout(deadline, conn_tls::connect_tcp(&target.host, target.port))
        .await
        .map_err(|_| TunnelFailure::Unreachable(format!("no answer within {deadline:?}")))?
        .map_err(|e| TunnelFailure::Unreachable(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let answer = tokio::time::timeout(deadline, async {
        tcp.write_all(&SSL_REQUEST).await?;
        tcp.read_u8().await
    })
    .await
    .map_err(|_| TunnelFailure::Unreachable(format!("no answer within {deadline:?}")))?
    .map_err(|e| TunnelFailure::Unreachable(e.to_string()))?;
    if answer != b'S' {
        return Err(TunnelFailure::Tls(conn_tls::TlsProblem::ServerWithoutTls));
    }
    tokio::time::timeout(deadline, connector.connect(name, tcp))
        .await
        .map_err(|_| {
            TunnelFailure::Tls(conn_tls::TlsProblem::Other(format!(
                "no TLS handshake within {deadline:?}"
            )))
        })?
        .map_err(|e| {
            TunnelFailure::Tls(
                conn_tls::tls_problem(&e)
                    .unwrap_or_else(|| conn_tls::TlsProblem::Other(e.to_string())),
            )
        })
}

/// Copies bytes both ways until either side ends, then ends the other; returns a TLS failure
/// that ended it (with TLS 1.3 a server refuses a client certificate after the handshake).
async fn carry(
    mut client: tokio::net::UnixStream,
    mut server: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
) -> Option<conn_tls::TlsProblem> {
    let result = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    let _ = server.shutdown().await;
    result.err().and_then(|e| conn_tls::tls_problem(&e))
}
