//! Turning a database URL into a connection pool, failing fast and clearly when the server is down.

use std::ffi::OsString;
use std::future::Future as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::task::Poll;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::ConnectOptions as _;

use crate::error::redact_url;
use crate::pg_tls::{self, StartError as TunnelStartError, TlsTarget, Tunnel, TunnelFailure};
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

/// libpq's environment variables for PostgreSQL, as a binary read them: what a `postgres://`
/// URL leaves out is taken from here, and what it says wins, as with libpq.
///
/// The store reads no environment itself; binaries fill this with [`PgEnv::from_process`] and
/// pass it in [`crate::OpenOptions::pg_env`]. Empty means libpq's defaults.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PgEnv {
    /// `PGHOST`: the server's host name, or the folder of its Unix socket.
    pub host: Option<String>,
    /// `PGHOSTADDR`: the server's IP address, used instead of `PGHOST`.
    pub hostaddr: Option<String>,
    /// `PGPORT`.
    pub port: Option<String>,
    /// `PGDATABASE`.
    pub database: Option<String>,
    /// `PGUSER`.
    pub user: Option<String>,
    /// `PGPASSWORD`.
    pub password: Option<String>,
    /// The password file: `PGPASSFILE`, else `~/.pgpass`. Read only when no password is given.
    pub passfile: Option<PathBuf>,
    /// `PGSSLMODE`.
    pub sslmode: Option<String>,
    /// `PGSSLROOTCERT`.
    pub sslrootcert: Option<String>,
    /// `PGSSLCERT`.
    pub sslcert: Option<String>,
    /// `PGSSLKEY`.
    pub sslkey: Option<String>,
}

impl PgEnv {
    /// Returns the settings the variables `var` looks up give (an empty or non-UTF-8 value
    /// counts as unset; the password file is `PGPASSFILE`, else `.pgpass` in `HOME`).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let text = |name: &str| set(name).and_then(|v| v.into_string().ok());
        let passfile = set("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| set("HOME").map(|home| Path::new(&home).join(".pgpass")));
        Self {
            host: text("PGHOST"),
            hostaddr: text("PGHOSTADDR"),
            port: text("PGPORT"),
            database: text("PGDATABASE"),
            user: text("PGUSER"),
            password: text("PGPASSWORD"),
            passfile,
            sslmode: text("PGSSLMODE"),
            sslrootcert: text("PGSSLROOTCERT"),
            sslcert: text("PGSSLCERT"),
            sslkey: text("PGSSLKEY"),
        }
    }

    /// Returns the settings of this process's environment. For binaries: the library never
    /// calls it.
    pub fn from_process() -> Self {
        Self::from_vars(|name| std::env::var_os(name))
    }
}

impl std::fmt::Debug for PgEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEnv")
            .field("host", &self.host)
            .field("hostaddr", &self.hostaddr)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("passfile", &self.passfile)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("sslcert", &self.sslcert)
            .field("sslkey", &self.sslkey)
            .finish()
    }
}

/// A PostgreSQL URL completed from a [`PgEnv`]: sqlx's options, and the TLS files for the tunnel.
struct PgTarget {
    connect: PgConnectOptions,
    /// `sslrootcert`, `sslcert`, `sslkey`: the URL's, else the environment's.
    rootcert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

/// The folders libpq and sqlx look in for a local server's Unix socket.
const SOCKET_DIRS: [&str; 3] = ["/var/run/postgresql", "/private/tmp", "/tmp"];

/// Returns the options `url` gives, completed from `env` where the URL says nothing.
///
/// Every constructor of sqlx's options starts from libpq's variables and its URL parser reads
/// the password file, so the URL is completed before sqlx parses it: every setting the store
/// knows (host, port, password, database, sslmode) is set from the URL, else `env`, else
/// libpq's default, and the password is always set (an empty one is what sqlx sends for none),
/// which keeps sqlx from reading a password file itself; the store reads `env.passfile`. What
/// sqlx cannot be told to forget still reaches it from the process: `PGOPTIONS`, and `PGUSER`,
/// `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY` where neither the URL nor `env` sets them (binaries
/// pass the same values in `env`).
fn pg_target(url: &str, env: &PgEnv) -> Result<PgTarget, OpenError> {
    let invalid = |source: sqlx::Error| OpenError::InvalidUrl {
        url: redact_url(url),
        source,
    };
    let mut full = url::Url::parse(url).map_err(|e| invalid(sqlx::Error::config(e)))?;
    // sqlx's URL parser reads the parameters in order, so the last of a name wins.
    let param = |names: &[&str]| {
        full.query_pairs()
            .filter(|(k, _)| names.contains(&k.as_ref()))
            .last()
            .map(|(_, v)| v.into_owned())
    };
    let file = |names: &[&str], env: &Option<String>| {
        param(names)
            .filter(|v| !v.is_empty())
            .or_else(|| env.clone())
    };
    let rootcert = file(
        &["sslrootcert", "ssl-root-cert", "ssl-ca"],
        &env.sslrootcert,
    );
    let cert = file(&["sslcert", "ssl-cert"], &env.sslcert);
    let key = file(&["sslkey", "ssl-key"], &env.sslkey);
    let has_host =
        full.host_str().is_some_and(|h| !h.is_empty()) || param(&["host", "hostaddr"]).is_some();
    let url_port = param(&["port"]).or_else(|| full.port().map(|p| p.to_string()));
    let has_user = !full.username().is_empty() || param(&["user"]).is_some();
    let has_password = full.password().is_some() || param(&["password"]).is_some();
    let has_database =
        !full.path().trim_start_matches('/').is_empty() || param(&["dbname"]).is_some();
    let has_sslmode = param(&["sslmode", "ssl-mode"]).is_some();

    let from_env = |name: &str, value: &str, expected: &str| {
        invalid(sqlx::Error::config(std::io::Error::other(format!(
            "{name}={value:?} in the environment: {expected}"
        ))))
    };
    let mut added = Vec::new();
    let port = match (&url_port, &env.port) {
        (Some(port), _) => port.parse().unwrap_or(5432),
        (None, Some(port)) => {
            let number: u16 = port
                .parse()
                .map_err(|_| from_env("PGPORT", port, "not a port number"))?;
            added.push(("port", port.clone()));
            number
        }
        (None, None) => 5432,
    };
    if !has_host {
        added.push(match (&env.hostaddr, &env.host) {
            (Some(addr), _) => ("hostaddr", addr.clone()),
            (None, Some(host)) => ("host", host.clone()),
            (None, None) => ("host", default_host(port)),
        });
    }
    if let (false, Some(user)) = (has_user, &env.user) {
        added.push(("user", user.clone()));
    }
    if !has_password {
        added.push(("password", env.password.clone().unwrap_or_default()));
    }
    if let (false, Some(database)) = (has_database, &env.database) {
        added.push(("dbname", database.clone()));
    }
    if !has_sslmode {
        let mode = env.sslmode.as_deref().unwrap_or("prefer");
        PgSslMode::from_str(mode).map_err(|_| {
            from_env(
                "PGSSLMODE",
                mode,
                "use disable, allow, prefer, require, verify-ca or verify-full",
            )
        })?;
        added.push(("sslmode", mode.to_owned()));
    }
    for (name, url_names, value) in [
        (
            "sslrootcert",
            &["sslrootcert", "ssl-root-cert", "ssl-ca"][..],
            &env.sslrootcert,
        ),
        ("sslcert", &["sslcert", "ssl-cert"][..], &env.sslcert),
        ("sslkey", &["sslkey", "ssl-key"][..], &env.sslkey),
    ] {
        if let (None, Some(value)) = (param(url_names).filter(|v| !v.is_empty()), value) {
            added.push((name, value.clone()));
        }
    }
    full.query_pairs_mut().extend_pairs(added);

    let mut connect = PgConnectOptions::from_str(full.as_str())
        .map_err(invalid)?
        .application_name("perth-store");
    if connect.get_database().is_none() {
        // libpq's default, said outright so that PGDATABASE, which sqlx read, is not used.
        let user = connect.get_username().to_owned();
        connect = connect.database(&user);
    }
    if let (false, None, Some(passfile)) = (has_password, &env.password, &env.passfile) {
        if let Some(password) = password_from_file(
            passfile,
            &pgpass_host(&connect),
            connect.get_port(),
            connect.get_database().unwrap_or_default(),
            connect.get_username(),
        ) {
            connect = connect.password(&password);
        }
    }
    Ok(PgTarget {
        connect,
        rootcert,
        cert,
        key,
    })
}

/// Returns libpq's default server for `port`: the folder of a local server's Unix socket, else
/// `localhost`.
fn default_host(port: u16) -> String {
    let socket = format!(".s.PGSQL.{port}");
    SOCKET_DIRS
        .into_iter()
        .find(|dir| Path::new(dir).join(&socket).exists())
        .unwrap_or("localhost")
        .to_owned()
}

/// Returns the folder of the Unix socket `connect` names, if it names one.
fn socket_dir(connect: &PgConnectOptions) -> Option<PathBuf> {
    match connect.get_socket() {
        Some(dir) => Some(dir.clone()),
        None if connect.get_host().starts_with('/') => Some(PathBuf::from(connect.get_host())),
        None => None,
    }
}

/// Returns the host name a password file line is matched with: over a Unix socket the folder,
/// or `localhost` for a default one, as libpq.
fn pgpass_host(connect: &PgConnectOptions) -> String {
    let Some(dir) = socket_dir(connect) else {
        return connect.get_host().to_owned();
    };
    let dir = dir.display().to_string();
    let dir = dir.trim_end_matches('/');
    if SOCKET_DIRS.contains(&dir) {
        "localhost".to_owned()
    } else {
        dir.to_owned()
    }
}

/// Returns the password a libpq password file gives for the connection, if it gives one.
///
/// Lines are `host:port:database:user:password`, `*` matching anything in the first four,
/// `\` escaping `:` and `\`, `#` starting a comment line; the first match wins. As libpq, a
/// file its group or others may read is ignored, with a warning.
fn password_from_file(
    path: &Path,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
) -> Option<String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the PostgreSQL password file");
            return None;
        }
    };
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() {
        tracing::warn!(path = %path.display(), "the PostgreSQL password file is not a plain file; ignored");
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the PostgreSQL password file has group or world access, ignored; permissions should be u=rw (0600) or less");
            return None;
        }
    }
    let text = std::io::read_to_string(file).ok()?;
    let port = port.to_string();
    let wanted = [host, port.as_str(), database, user];
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(pgpass_fields)
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want)
        })
        .map(|[.., password]| password)
}

/// Splits a password file line into its four fields and the password, with `\` escapes
/// undone; `None` for a line with fewer than five fields.
fn pgpass_fields(line: &str) -> Option<[String; 5]> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        let c = match c {
            '\\' => chars.next().unwrap_or('\\'),
            ':' if fields.len() == 5 => break,
            ':' => {
                fields.push(String::new());
                continue;
            }
            c => c,
        };
        if let Some(field) = fields.last_mut() {
            field.push(c);
        }
    }
    fields.try_into().ok()
}

async fn connect_postgres(url: &str, options: &OpenOptions) -> Result<Database, OpenError> {
    conn_tls::install_crypto_provider();
    let PgTarget {
        connect,
        rootcert,
        cert,
        key,
    } = pg_target(url, &options.pg_env)?;
    let mode = connect.get_ssl_mode();
    let identity = match mode {
        PgSslMode::Disable => None,
        _ => pg_tls::client_identity(cert.as_deref(), key.as_deref()).map_err(|half| {
            OpenError::TlsClientPair {
                url: redact_url(url),
                given: half.given,
                missing: half.missing,
            }
        })?,
    };
    let at = match connect.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", connect.get_host(), connect.get_port()),
    };
    let location = format!("{at}/{}", connect.get_database().unwrap_or_default());
    let tls_error = |problem: conn_tls::TlsProblem| OpenError::Tls {
        url: redact_url(url),
        problem,
        ssl_mode: ssl_mode_name(mode),
    };
    let tunnel_target = match socket_dir(&connect) {
        Some(_) => None,
        None => TlsTarget::new(
            connect.get_host(),
            connect.get_port(),
            mode,
            rootcert.as_deref(),
            identity,
            options.connect_timeout,
        ),
    };
    if let Some(target) = tunnel_target {
        return connect_through_tunnel(url, connect, target, options, at, location).await;
    }

    // One connection: the pool's first, which the checks run on and which stays in the pool
    // for the migrations and the first caller. The pool retries a refused connection until its
    // deadline and then says only "pool timed out", so a bare connection attempt beside it
    // (no TLS, no login: it sends nothing) says at once when nothing listens there.
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.connect_timeout)
        .connect_lazy_with(connect.clone().disable_statement_logging());
    let mut first = std::pin::pin!(tokio::time::timeout(
        options.connect_timeout,
        pool.acquire()
    ));
    let mut refused = std::pin::pin!(refused(&connect));
    let first = std::future::poll_fn(|cx| {
        if let Poll::Ready(first) = first.as_mut().poll(cx) {
            return Poll::Ready(Ok(first));
        }
        refused.as_mut().poll(cx).map(Err)
    })
    .await;
    let transport = match first {
        Err(refused) => {
            return Err(OpenError::Unreachable {
                at,
                reason: sqlx::Error::Io(refused).to_string(),
            })
        }
        Ok(Err(_) | Ok(Err(sqlx::Error::PoolTimedOut))) => {
            return Err(OpenError::Unreachable {
                at,
                reason: format!("no answer within {:?}", options.connect_timeout),
            })
        }
        Ok(Ok(Err(e))) => {
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
        Ok(Ok(Ok(first))) => first_transport(first, mode).await,
    };
    Ok(Database {
        pool: Pool::Postgres(pool),
        location,
        transport,
        _tunnel: None,
        returning: Default::default(),
    })
}

/// Resolves, with the error, when the server's address refuses connections (nothing listens
/// there); never otherwise. The connection it makes sends nothing and is closed at once.
async fn refused(connect: &PgConnectOptions) -> std::io::Error {
    let attempt = match socket_dir(connect) {
        Some(dir) => {
            let socket = dir.join(format!(".s.PGSQL.{}", connect.get_port()));
            tokio::net::UnixStream::connect(socket).await.map(drop)
        }
        None => tokio::net::TcpStream::connect((connect.get_host(), connect.get_port()))
            .await
            .map(drop),
    };
    match attempt {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => e,
        _ => std::future::pending().await,
    }
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
        Ok(Ok(first)) => first_transport(first, mode).await,
    };
    Ok(Database {
        pool: Pool::Postgres(pool),
        location,
        transport,
        _tunnel: Some(tunnel),
        returning: Default::default(),
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

/// Returns how the pool's first connection is secured, and puts it back in the pool.
///
/// Dropping a pooled connection returns it from a task spawned for that; the migrations,
/// asking for a connection at once, would find none idle and open a second one.
async fn first_transport(
    mut first: sqlx::pool::PoolConnection<sqlx::Postgres>,
    mode: PgSslMode,
) -> conn_tls::Transport {
    let transport = pg_transport(&mut first, mode).await;
    first.return_to_pool().await;
    transport
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
        returning: Default::default(),
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

    /// Host, port, user and database of `c`, as the tests compare them.
    fn where_to(c: &PgConnectOptions) -> (&str, u16, &str, Option<&str>) {
        (
            c.get_host(),
            c.get_port(),
            c.get_username(),
            c.get_database(),
        )
    }

    fn env() -> PgEnv {
        PgEnv {
            host: Some("db.example".into()),
            port: Some("6543".into()),
            database: Some("teamdb".into()),
            user: Some("alice".into()),
            password: Some("env-secret".into()),
            sslmode: Some("verify-full".into()),
            sslrootcert: Some("/etc/team-ca.pem".into()),
            ..PgEnv::default()
        }
    }

    #[test]
    fn the_environment_fills_what_the_url_leaves_out() {
        let target = pg_target("postgres://", &env()).unwrap();
        let c = &target.connect;
        assert_eq!(where_to(c), ("db.example", 6543, "alice", Some("teamdb")));
        assert_eq!(ssl_mode_name(c.get_ssl_mode()), "verify-full");
        assert_eq!(target.rootcert.as_deref(), Some("/etc/team-ca.pem"));
    }

    #[test]
    fn what_the_url_says_wins_over_the_environment() {
        let target = pg_target(
            "postgres://bob@h.example:5433/bobdb?sslmode=require&ssl-ca=/ca.pem",
            &env(),
        )
        .unwrap();
        let c = &target.connect;
        assert_eq!(where_to(c), ("h.example", 5433, "bob", Some("bobdb")));
        assert_eq!(ssl_mode_name(c.get_ssl_mode()), "require");
        assert_eq!(target.rootcert.as_deref(), Some("/ca.pem"));
        // Parameters count as the URL's too.
        let c = pg_target(
            "postgres:///?host=q.example&port=7000&dbname=d&user=u",
            &env(),
        )
        .unwrap()
        .connect;
        assert_eq!(where_to(&c), ("q.example", 7000, "u", Some("d")));
    }

    #[test]
    fn without_url_or_environment_the_defaults_are_libpqs() {
        let c = pg_target("postgres://u@h.example", &PgEnv::default())
            .unwrap()
            .connect;
        assert_eq!(c.get_port(), 5432);
        assert_eq!(ssl_mode_name(c.get_ssl_mode()), "prefer");
        assert_eq!(
            c.get_database(),
            Some("u"),
            "the database defaults to the user"
        );
    }

    #[test]
    fn a_bad_port_or_sslmode_in_the_environment_is_refused() {
        for env in [
            PgEnv {
                port: Some("54x".into()),
                ..PgEnv::default()
            },
            PgEnv {
                sslmode: Some("verify_full".into()),
                ..PgEnv::default()
            },
        ] {
            let err = pg_target("postgres://u:hunter2@h/d", &env)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("in the environment"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    /// Writes a password file with `text` and `mode` into `dir`.
    fn passfile(dir: &Path, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("pgpass");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn the_password_file_is_read_only_without_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = passfile(dir.path(), "h.example:5432:d:u:fromfile\n", 0o600);
        let env = PgEnv {
            passfile: Some(file),
            ..PgEnv::default()
        };
        let from_file = |url: &str, env: &PgEnv| {
            // The options keep the password to themselves; their URL form shows it.
            let c = pg_target(url, env).unwrap().connect;
            c.to_url_lossy().password().map(str::to_owned)
        };
        assert_eq!(
            from_file("postgres://u@h.example/d", &env).as_deref(),
            Some("fromfile")
        );
        assert_eq!(
            from_file("postgres://u:given@h.example/d", &env).as_deref(),
            Some("given")
        );
        let with_password = PgEnv {
            password: Some("envsecret".into()),
            ..env.clone()
        };
        assert_eq!(
            from_file("postgres://u@h.example/d", &with_password).as_deref(),
            Some("envsecret")
        );
        // No line for another database; sqlx gets an empty password (what it sends for none).
        assert_eq!(from_file("postgres://u@h.example/other", &env), None);
    }

    #[test]
    fn password_file_lines_match_as_libpqs() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# comment:*:*:*:no\n\
                    short:line\n\
                    h.example:5432:d:u:first\n\
                    *:*:*:u:any\\:thing\\\\:ignored\n\
                    db\\:x:5432:d:u:escaped-host\n";
        let file = passfile(dir.path(), text, 0o600);
        let find = |host, port, db, user| password_from_file(&file, host, port, db, user);
        assert_eq!(find("h.example", 5432, "d", "u").as_deref(), Some("first"));
        assert_eq!(find("other", 1, "x", "u").as_deref(), Some("any:thing\\"));
        assert_eq!(find("db:x", 5432, "d", "v"), None);
        assert_eq!(find("h.example", 5432, "d", "nobody"), None);
        // A file others may read is ignored.
        let open = passfile(dir.path(), text, 0o640);
        assert_eq!(password_from_file(&open, "h.example", 5432, "d", "u"), None);
    }

    #[test]
    fn the_environment_is_read_from_what_the_binary_gives() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            PgEnv::from_vars(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            })
        };
        let env = vars(&[("PGUSER", "alice"), ("PGHOST", ""), ("HOME", "/home/alice")]);
        assert_eq!(env.user.as_deref(), Some("alice"));
        assert_eq!(env.host, None, "an empty variable is unset");
        assert_eq!(env.passfile, Some(PathBuf::from("/home/alice/.pgpass")));
        let env = vars(&[("PGPASSFILE", "/run/pw"), ("HOME", "/home/alice")]);
        assert_eq!(env.passfile, Some(PathBuf::from("/run/pw")));
        let shown = format!(
            "{:?}",
            PgEnv {
                password: Some("hunter2".into()),
                ..PgEnv::default()
            }
        );
        assert!(!shown.contains("hunter2"), "{shown}");
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
