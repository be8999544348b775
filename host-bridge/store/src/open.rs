//! Turning a database URL into a connection pool, failing fast and clearly when the server is down.

use std::path::PathBuf;
use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::error::redact_url;
use crate::pg_tls::{StartError as TunnelStartError, TlsTarget, Tunnel, TunnelFailure};
use crate::sqlite::{self, Location};
use crate::{Database, OpenError, OpenOptions, Pool};

/// What a database URL names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Postgres,
    SqliteFile(PathBuf),
    SqliteMemory,
}

fn classify(url: &str) -> Result<Target, OpenError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    if url == ":memory:" || url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(Target::SqliteMemory);
    }
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        // Query parameters (`?mode=rwc`, as sqlx's URLs had them) are not part of the path.
        let path = rest.split('?').next().unwrap_or(rest);
        if path.is_empty() {
            return Err(OpenError::UnsupportedUrl {
                url: redact_url(url),
            });
        }
        return Ok(Target::SqliteFile(PathBuf::from(path)));
    }
    if url.is_empty() || url.contains("://") {
        return Err(OpenError::UnsupportedUrl {
            url: redact_url(url),
        });
    }
    Ok(Target::SqliteFile(PathBuf::from(url)))
}

/// Waits (up to a minute) for the turn to open the SQLite file `url` names, when it does.
///
/// SQLite has no lock for what a first open does: two first opens of a new file (host-bridge
/// answering two requests at once, or iMi beside host-bridge) both switch it to WAL (one gets
/// "database is locked") and both apply migration 1 (one gets "table already exists"). A lock
/// file beside the database makes opens take turns, across threads and processes; the second
/// finds the work done. `None` for PostgreSQL (its migrations take a lock of their own), an
/// in-memory database, or when no lock file can be made (then it opens as before).
pub(crate) async fn turn(url: &str) -> Option<std::fs::File> {
    let Ok(Target::SqliteFile(path)) = classify(url) else {
        return None;
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).ok()?;
    }
    let mut lock = path.clone().into_os_string();
    lock.push(".open-lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)
        .ok()?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match file.try_lock() {
            Ok(()) => return Some(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(_) => return None,
        }
    }
}

pub(crate) async fn connect(url: &str, options: &OpenOptions) -> Result<Database, OpenError> {
    match classify(url)? {
        Target::Postgres => connect_postgres(url, options).await,
        Target::SqliteFile(path) => connect_sqlite(Location::File(path), options).await,
        Target::SqliteMemory => connect_sqlite(Location::Memory, options).await,
    }
}

async fn connect_postgres(url: &str, options: &OpenOptions) -> Result<Database, OpenError> {
    conn_tls::install_crypto_provider();
    let connect = PgConnectOptions::from_str(url)
        .map_err(|source| OpenError::InvalidUrl {
            url: redact_url(url),
            source,
        })?
        .application_name("perth-store");
    let at = match connect.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", connect.get_host(), connect.get_port()),
    };
    let location = format!("{at}/{}", connect.get_database().unwrap_or_default());
    let tls_error = |problem: conn_tls::TlsProblem| OpenError::Tls {
        url: redact_url(url),
        problem,
        ssl_mode: ssl_mode_name(connect.get_ssl_mode()),
    };
    let tunnel_target = match connect.get_socket() {
        Some(_) => None,
        None if connect.get_host().starts_with('/') => None,
        None => TlsTarget::from_url(
            url,
            connect.get_host(),
            connect.get_port(),
            connect.get_ssl_mode(),
            options.connect_timeout,
        ),
    };
    if let Some(target) = tunnel_target {
        return connect_through_tunnel(url, connect, target, options, at, location).await;
    }

    // One probe connection first: the pool would retry until its timeout and then report only
    // "pool timed out", hiding "connection refused" or the server's authentication error.
    let transport = match tokio::time::timeout(
        options.connect_timeout,
        sqlx::PgConnection::connect_with(&connect),
    )
    .await
    {
        Err(_) => {
            return Err(OpenError::Unreachable {
                at,
                reason: format!("no answer within {:?}", options.connect_timeout),
            })
        }
        Ok(Err(e)) => {
            if let Some(problem) = conn_tls::tls_problem(&e) {
                return Err(tls_error(problem));
            }
            return Err(match e {
                e @ (sqlx::Error::Database(_) | sqlx::Error::Protocol(_)) => OpenError::Rejected {
                    at: location,
                    source: e,
                },
                e => OpenError::Unreachable {
                    at,
                    reason: e.to_string(),
                },
            });
        }
        Ok(Ok(mut probe)) => {
            let transport = pg_transport(&mut probe, connect.get_ssl_mode()).await;
            // A failed close only leaks one connection on the server side until it notices.
            let _ = probe.close().await;
            transport
        }
    };
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.connect_timeout)
        .connect_lazy_with(connect.disable_statement_logging());
    Ok(Database {
        pool: Pool::Postgres(pool),
        location,
        transport,
        _tunnel: None,
    })
}

/// Opens `verify-ca` and `verify-full` databases through the TLS tunnel (see `pg_tls`), with
/// one connection: the pool's first, which the probe's checks run on. A refused TCP connection
/// reaches sqlx as a closed socket, which it does not retry, so a dead server still fails at
/// once and no second connection (a second handshake and password exchange) is needed.
async fn connect_through_tunnel(
    url: &str,
    connect: PgConnectOptions,
    target: TlsTarget,
    options: &OpenOptions,
    at: String,
    location: String,
) -> Result<Database, OpenError> {
    let mode = connect.get_ssl_mode();
    let tls_error = |problem: conn_tls::TlsProblem| OpenError::Tls {
        url: redact_url(url),
        problem,
        ssl_mode: ssl_mode_name(mode),
    };
    let tunnel = Tunnel::start(target).map_err(|e| match e {
        TunnelStartError::Config(source) => OpenError::TlsFiles {
            url: redact_url(url),
            source,
        },
        TunnelStartError::ServerName(reason) => tls_error(conn_tls::TlsProblem::Other(reason)),
        TunnelStartError::Io(e) => OpenError::Unreachable {
            at: at.clone(),
            reason: format!("cannot make the local TLS socket: {e}"),
        },
    })?;
    let through = connect
        .socket(tunnel.socket_dir())
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.connect_timeout)
        .connect_lazy_with(through);
    let failed = |e: sqlx::Error| match tunnel.take_failure() {
        Some(TunnelFailure::Tls(problem)) => tls_error(problem),
        Some(TunnelFailure::Unreachable(reason)) => OpenError::Unreachable {
            at: at.clone(),
            reason,
        },
        None => match e {
            e @ (sqlx::Error::Database(_) | sqlx::Error::Protocol(_)) => OpenError::Rejected {
                at: location.clone(),
                source: e,
            },
            e => OpenError::Unreachable {
                at: at.clone(),
                reason: e.to_string(),
            },
        },
    };
    let transport = match tokio::time::timeout(options.connect_timeout, pool.acquire()).await {
        Err(_) | Ok(Err(sqlx::Error::PoolTimedOut)) => {
            return Err(failed(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {:?}", options.connect_timeout),
            ))))
        }
        Ok(Err(e)) => return Err(failed(e)),
        Ok(Ok(mut first)) => pg_transport(&mut first, mode).await,
    };
    Ok(Database {
        pool: Pool::Postgres(pool),
        location,
        transport,
        _tunnel: Some(tunnel),
    })
}

/// Returns `mode` as the URL spells it (`verify-full`).
fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// Returns how the probe connection is secured: the server says whether it is encrypted
/// (`pg_stat_ssl`, readable by every role), the sslmode what the certificate was checked for.
async fn pg_transport(conn: &mut sqlx::PgConnection, mode: PgSslMode) -> conn_tls::Transport {
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_optional(&mut *conn)
            .await
            .ok()
            .flatten()
            .unwrap_or(false);
    let verified = match (encrypted, mode) {
        (true, PgSslMode::VerifyFull) => conn_tls::Verification::CaAndHost,
        (true, PgSslMode::VerifyCa) => conn_tls::Verification::Ca,
        _ => conn_tls::Verification::None,
    };
    conn_tls::Transport {
        encrypted,
        verified,
    }
}

/// Opens an SQLite database: a file (its folder created when missing) or `:memory:`.
async fn connect_sqlite(location: Location, options: &OpenOptions) -> Result<Database, OpenError> {
    if let Location::File(path) = &location {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
    }
    let described = match &location {
        Location::File(path) => path.display().to_string(),
        Location::Memory => ":memory:".to_owned(),
    };
    let pool = sqlite::Pool::connect(
        location,
        options.max_connections,
        options.connect_timeout.max(sqlite::BUSY_TIMEOUT),
    )
    .await
    .map_err(|source| OpenError::Sqlite {
        path: described.clone(),
        source,
    })?;
    Ok(Database {
        pool: Pool::Sqlite(pool),
        location: described,
        transport: conn_tls::Transport::PLAIN,
        _tunnel: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_engine() {
        assert_eq!(classify("postgres://u:p@h/d").unwrap(), Target::Postgres);
        assert_eq!(classify("postgresql://h/d").unwrap(), Target::Postgres);
        assert_eq!(
            classify("sqlite:///tmp/a.db").unwrap(),
            Target::SqliteFile("/tmp/a.db".into())
        );
        assert_eq!(
            classify("sqlite://rel/a.db?mode=rwc").unwrap(),
            Target::SqliteFile("rel/a.db".into())
        );
        assert_eq!(
            classify("/home/u/.config/iMi/iMi.db").unwrap(),
            Target::SqliteFile("/home/u/.config/iMi/iMi.db".into())
        );
        assert_eq!(classify("sqlite::memory:").unwrap(), Target::SqliteMemory);
    }

    #[test]
    fn unsupported_urls_are_refused_without_their_password() {
        let e = classify("mysql://root:hunter2@h/d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mysql://root:***@h/d"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(classify("").is_err());
    }
}
