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
    /// Returns the target of a `verify-ca` or `verify-full` connection over TCP to
    /// `host:port`, with the CA file `rootcert` (the system's store without one, or with
    /// `system`) and the client certificate `identity`; `None` for the other modes.
    pub(crate) fn new(
        host: &str,
        port: u16,
        mode: sqlx::postgres::PgSslMode,
        rootcert: Option<&str>,
        identity: Option<conn_tls::ClientIdentity>,
        connect_timeout: Duration,
    ) -> Option<Self> {
        use sqlx::postgres::PgSslMode;
        let check = match mode {
            PgSslMode::VerifyFull => conn_tls::ServerCheck::ChainAndHost,
            PgSslMode::VerifyCa => conn_tls::ServerCheck::ChainOnly,
            _ => return None,
        };
        let roots = match rootcert {
            None | Some("system") => conn_tls::Roots::System,
            Some(path) => conn_tls::Roots::File(PathBuf::from(path)),
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

/// Returns the client certificate `sslcert` and `sslkey` name, when both are set.
///
/// Half a pair is refused rather than ignored, as libpq refuses a certificate without its key:
/// the server would otherwise refuse the login for want of a certificate, which reads like a
/// wrong password.
pub(crate) fn client_identity(
    sslcert: Option<&str>,
    sslkey: Option<&str>,
) -> Result<Option<conn_tls::ClientIdentity>, HalfPair> {
    match (sslcert, sslkey) {
        (Some(cert), Some(key)) => Ok(Some(conn_tls::ClientIdentity {
            cert: cert.into(),
            key: key.into(),
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(HalfPair {
            given: "sslcert",
            missing: "sslkey",
        }),
        (None, Some(_)) => Err(HalfPair {
            given: "sslkey",
            missing: "sslcert",
        }),
    }
}

/// Which half of the client certificate pair was given without the other.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HalfPair {
    pub given: &'static str,
    pub missing: &'static str,
}

/// How one of the tunnel's connections failed, for the error `open` reports.
#[derive(Clone, Debug)]
pub(crate) enum TunnelFailure {
    /// The TCP connection could not be made.
    Unreachable(String),
    /// TLS failed, named.
    Tls(conn_tls::TlsProblem),
}

/// How one connection failed, written by its task before it closes sqlx's end.
type FailureSlot = Arc<Mutex<Option<TunnelFailure>>>;

/// A running tunnel: its socket folder (removed when the last clone goes) and the failure slot
/// of the connection it accepted last.
#[derive(Clone, Debug)]
pub(crate) struct Tunnel {
    inner: Arc<TunnelInner>,
}

#[derive(Debug)]
struct TunnelInner {
    dir: tempfile::TempDir,
    newest: Arc<Mutex<Option<FailureSlot>>>,
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
        let newest = Arc::new(Mutex::new(None));
        let listener = tokio::net::UnixListener::bind(&socket).map_err(StartError::Io)?;
        let accept = tokio::spawn(accept_loop(
            listener,
            Arc::new(target),
            config,
            name,
            newest.clone(),
        ));
        Ok(Self {
            inner: Arc::new(TunnelInner {
                dir,
                newest,
                accept,
            }),
        })
    }

    /// Returns the folder of the tunnel's socket, for `PgConnectOptions::socket`.
    pub(crate) fn socket_dir(&self) -> &Path {
        self.inner.dir.path()
    }

    /// Returns and forgets how the connection accepted last failed, if it did.
    ///
    /// `open` asks when its one connection failed: the tunnel accepted it before it could close
    /// it, and wrote the failure before closing, so the answer is that connection's, never an
    /// earlier connection's (a pooled one that died unobserved).
    pub(crate) fn take_failure(&self) -> Option<TunnelFailure> {
        let slot = lock(&self.inner.newest).clone()?;
        let failure = lock(&slot).take();
        failure
    }
}

/// Locks `mutex`; a task that panicked holding it left a value as good as any.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(
    listener: tokio::net::UnixListener,
    target: Arc<TlsTarget>,
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    newest: Arc<Mutex<Option<FailureSlot>>>,
) {
    let connector = tokio_rustls::TlsConnector::from(config);
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors, most likely: try again when some are freed.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let failure = FailureSlot::default();
        *lock(&newest) = Some(failure.clone());
        let (target, connector, name) = (target.clone(), connector.clone(), name.clone());
        tokio::spawn(async move {
            match open_server(&target, &connector, name).await {
                Ok(server) => carry(client, server, &failure).await,
                Err(problem) => {
                    *lock(&failure) = Some(problem);
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

/// Copies bytes both ways until either side ends, then ends the other; a TLS failure that
/// ended it (with TLS 1.3 a server refuses a client certificate after the handshake) is
/// written to `failure` before sqlx's end closes, so `open` finds it when sqlx sees the close.
async fn carry(
    mut client: tokio::net::UnixStream,
    mut server: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    failure: &FailureSlot,
) {
    let result = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    if let Some(problem) = result.err().and_then(|e| conn_tls::tls_problem(&e)) {
        *lock(failure) = Some(TunnelFailure::Tls(problem));
    }
    drop(client);
    let _ = server.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns a tunnel to a fake server listening on a local port, and that server.
    async fn tunnel_to_fake_server(
        ca: &::tests::services::TestCa,
    ) -> (Tunnel, tokio::net::TcpListener, PathBuf) {
        conn_tls::install_crypto_provider();
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        let tunnel = Tunnel::start(TlsTarget {
            host: "localhost".to_owned(),
            port,
            roots: conn_tls::Roots::File(ca.cert()),
            check: conn_tls::ServerCheck::ChainAndHost,
            identity: None,
            connect_timeout: Duration::from_secs(5),
        })
        .unwrap();
        let socket = tunnel.socket_dir().join(format!(".s.PGSQL.{port}"));
        (tunnel, server, socket)
    }

    /// Accepts the tunnel's next connection to the fake server and reads its `SSLRequest`.
    async fn accept_ssl_request(server: &tokio::net::TcpListener) -> tokio::net::TcpStream {
        let (mut conn, _) = server.accept().await.unwrap();
        let mut request = [0; 8];
        conn.read_exact(&mut request).await.unwrap();
        assert_eq!(request, SSL_REQUEST);
        conn
    }

    /// Reads the client's end of a tunnel connection until the tunnel closes it.
    async fn until_closed(client: &mut tokio::net::UnixStream) {
        let mut buf = [0; 64];
        while client.read(&mut buf).await.unwrap_or(0) > 0 {}
    }

    #[tokio::test]
    async fn each_connection_reports_its_own_failure_by_the_time_it_closes() {
        let ca = ::tests::services::TestCa::generate("tunnel test CA");
        let Some(ca) = ::tests::require_or_skip("openssl", ca) else {
            return;
        };
        let (tunnel, server, socket) = tunnel_to_fake_server(&ca).await;

        // The first connection fails: the server does not offer TLS.
        let mut first = tokio::net::UnixStream::connect(&socket).await.unwrap();
        let mut answered = accept_ssl_request(&server).await;
        answered.write_all(b"N").await.unwrap();
        until_closed(&mut first).await;

        // A second connection, its server not answering yet, has not failed: the first one's
        // failure, which nobody took, is not reported for it.
        let mut second = tokio::net::UnixStream::connect(&socket).await.unwrap();
        let silent = accept_ssl_request(&server).await;
        assert!(
            tunnel.take_failure().is_none(),
            "an earlier connection's failure was reported for a later one"
        );
        // Its own failure is there as soon as its socket closes.
        drop(silent);
        until_closed(&mut second).await;
        assert!(
            matches!(tunnel.take_failure(), Some(TunnelFailure::Unreachable(_))),
            "the second connection's failure"
        );
    }
}
