//! A private PostgreSQL cluster (`initdb` + `postgres`) on a free loopback port, with trust authentication.
//!
//! PostgreSQL refuses to run as root. When the tests run as root, the server binaries run as
//! the system user `perthtest` (created once with `useradd --system`), by `setuid`/`setgid` in
//! the child (`CommandExt::uid`/`gid`, which also drops supplementary groups); the scratch
//! directory is handed to that user. The postmaster is spawned directly rather than through
//! `pg_ctl start`, because `pg_ctl` detaches it into a new session, out of reach of the
//! process-group cleanup.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use nix::sys::signal::Signal;
use nix::unistd::{chown, Gid, Uid, User};

use super::certs::TestCa;
use super::packages::{ensure_installed, lock_file};
use super::{find_program, start_on_free_ports, try_free_port, StartError};
use crate::process::{ProcessGroup, ScratchDir};
use crate::wait::wait_for_with_last;

/// The system user that runs the server when the tests run as root.
pub const SERVICE_USER: &str = "perthtest";
/// The superuser `initdb` creates; trust authentication, no password.
pub const DB_USER: &str = "perth";
/// The role a secured server authenticates by client certificate (`cert` in `pg_hba.conf`)
/// instead of a password; [`Postgres::create_role`] creates it like any other.
pub const CERT_ROLE: &str = "certuser";
/// The database created at start.
pub const DB_NAME: &str = "perth";

/// How long `postgres` gets to accept connections after it is spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `postgres` gets for a fast shutdown (`SIGINT`).
const STOP_GRACE: Duration = Duration::from_secs(30);
/// Serializes `useradd` across test processes.
const USERADD_LOCK: &str = "/tmp/perth-tests-useradd.lock";

/// A running (or deliberately stopped) PostgreSQL cluster owned by one test.
pub struct Postgres {
    dir: ScratchDir,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<(Uid, Gid)>,
    process: Option<ProcessGroup>,
    auth: Option<PgAuth>,
}

/// How a server started by the harness authenticates TCP connections.
enum Auth<'a> {
    /// Trust: no password (the default).
    Trust,
    /// `scram-sha-256` passwords over plain TCP.
    Passwords,
    /// `scram-sha-256` passwords over TLS only, with a certificate signed by the CA.
    Tls(&'a TestCa),
}

/// What a server with passwords ([`Postgres::start_secured`],
/// [`Postgres::start_with_passwords`]) adds: the admin's password, and TLS files when secured.
struct PgAuth {
    /// The CA that signed the server's certificate (and accepted client certificates); `None`
    /// for a server that takes passwords over plain TCP.
    ca: Option<PathBuf>,
    /// The password of the superuser [`DB_USER`].
    admin_password: String,
}

/// Returns a password no other test run uses, for a role of a secured server.
pub fn test_password(role: &str) -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("pw-{role}-{}-{nanos:09}", std::process::id())
}

impl Postgres {
    /// Creates a cluster with superuser `perth` and database `perth`, starts it, and waits until it accepts connections.
    ///
    /// Installs package `postgresql` if no `/usr/lib/postgresql/<version>/bin` exists.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(Auth::Trust)
    }

    /// Starts a server secured as a team server is: `ssl=on` with a certificate for
    /// `localhost` signed by `ca`, and `pg_hba.conf` allowing only TLS connections over TCP,
    /// with `scram-sha-256` passwords (the superuser [`DB_USER`] gets one too). Local socket
    /// connections stay trusted, for the harness's own readiness checks.
    pub fn start_secured(ca: &TestCa) -> anyhow::Result<Self> {
        Self::start_with(Auth::Tls(ca))
    }

    /// Starts a server that asks for `scram-sha-256` passwords over plain TCP, without TLS:
    /// what a secured server is compared with when measuring the price of TLS alone.
    pub fn start_with_passwords() -> anyhow::Result<Self> {
        Self::start_with(Auth::Passwords)
    }

    fn start_with(auth: Auth<'_>) -> anyhow::Result<Self> {
        let bin_dir = ensure_postgres()?;
        let run_as = if nix::unistd::geteuid().is_root() {
            Some(ensure_service_user()?)
        } else {
            None
        };
        start_on_free_ports("postgres", || {
            let mut pg = Self {
                dir: ScratchDir::new("pt-pg-")?,
                bin_dir: bin_dir.clone(),
                port: try_free_port()?,
                run_as,
                process: None,
                auth: None,
            };
            pg.init_cluster()?;
            match auth {
                Auth::Trust => {}
                Auth::Passwords => pg.secure(None)?,
                Auth::Tls(ca) => pg.secure(Some(ca))?,
            }
            if let Err(e) = pg.start_again() {
                let log = pg.process.as_ref().map(|p| p.log_tail(50));
                return Err(StartError::after(e, &log.unwrap_or_default()));
            }
            if let Some(auth) = &pg.auth {
                // Over the trusted socket: TCP already wants the password being set here.
                pg.psql(
                    &pg.socket_url("postgres"),
                    &format!(
                        "SET password_encryption = 'scram-sha-256'; ALTER ROLE {DB_USER} PASSWORD '{}'",
                        auth.admin_password
                    ),
                )
                .context("setting the superuser's password")?;
            }
            pg.psql(
                &pg.url_for("postgres"),
                &format!("CREATE DATABASE {DB_NAME}"),
            )
            .context("creating database perth")?;
            Ok(pg)
        })
    }

    /// Returns `postgres://perth@127.0.0.1:<port>/perth`.
    pub fn url(&self) -> String {
        self.url_for(DB_NAME)
    }

    /// Returns the URL of database `name` on this server (on a secured one: the superuser's
    /// password, `localhost`, `sslmode=verify-full` and the CA as `sslrootcert`; on one with
    /// passwords over plain TCP: the superuser's password and `sslmode=disable`).
    pub fn url_for(&self, name: &str) -> String {
        match &self.auth {
            None => format!("postgres://{DB_USER}@127.0.0.1:{}/{name}", self.port),
            Some(PgAuth {
                ca: None,
                admin_password,
            }) => format!(
                "postgres://{DB_USER}:{admin_password}@127.0.0.1:{}/{name}?sslmode=disable",
                self.port
            ),
            Some(auth) => self.tls_url(DB_USER, &auth.admin_password, name, "verify-full"),
        }
    }

    /// Returns the URL of database `db` on a secured server as `role` with `password`, to
    /// `localhost` with `sslmode` and the test CA as `sslrootcert`.
    pub fn tls_url(&self, role: &str, password: &str, db: &str, sslmode: &str) -> String {
        let ca = self
            .auth
            .as_ref()
            .and_then(|a| a.ca.as_ref())
            .map(|ca| ca.display().to_string())
            .unwrap_or_default();
        format!(
            "postgres://{role}:{password}@localhost:{}/{db}?sslmode={sslmode}&sslrootcert={ca}",
            self.port
        )
    }

    /// Returns the superuser's password on a server with passwords.
    pub fn admin_password(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.admin_password.as_str())
    }

    /// Creates login role `role` with `password` (stored as SCRAM-SHA-256) and `extra`
    /// attributes (`BYPASSRLS`, ...), allowed to connect to every database and to use schema
    /// `public` of database `db`.
    pub fn create_role(
        &self,
        db: &str,
        role: &str,
        password: &str,
        extra: &str,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            role.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "role name {role:?} must be lowercase letters and '_'"
        );
        self.psql(
            &self.url_for(db),
            &format!(
                "SET password_encryption = 'scram-sha-256'; \
                 CREATE ROLE {role} LOGIN PASSWORD '{password}' {extra}; \
                 GRANT USAGE ON SCHEMA public TO {role};"
            ),
        )?;
        Ok(())
    }

    /// Returns a libpq URL to database `name` through this cluster's socket folder (trusted).
    fn socket_url(&self, name: &str) -> String {
        format!(
            "postgres:///{name}?host={}&port={}&user={DB_USER}",
            self.dir.path().join("sock").display(),
            self.port
        )
    }

    /// Writes `pg_hba.conf` asking TCP connections for `scram-sha-256` passwords and, with a
    /// CA, the server's certificate and key, allowing TCP only over TLS (and client
    /// certificates for [`CERT_ROLE`]).
    fn secure(&mut self, ca: Option<&TestCa>) -> anyhow::Result<()> {
        let data = self.data_dir();
        let hba = data.join("pg_hba.conf");
        let mut owned = vec![hba.clone()];
        let rules = match ca {
            None => "local all all trust\n\
                     host all all 127.0.0.1/32 scram-sha-256\n\
                     host all all ::1/128 scram-sha-256\n"
                .to_owned(),
            Some(ca) => {
                let pair = ca.server_cert("postgres")?;
                let (cert, key, ca_copy) = (
                    data.join("server.crt"),
                    data.join("server.key"),
                    data.join("root.crt"),
                );
                std::fs::copy(&pair.cert, &cert).context("copying the server certificate")?;
                std::fs::copy(&pair.key, &key).context("copying the server key")?;
                std::fs::copy(ca.cert(), &ca_copy).context("copying the CA certificate")?;
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                    .context("making the server key private")?;
                owned.extend([cert, key, ca_copy]);
                format!(
                    "local all all trust\n\
                     hostssl all {CERT_ROLE} 127.0.0.1/32 cert\n\
                     hostssl all {CERT_ROLE} ::1/128 cert\n\
                     hostssl all all 127.0.0.1/32 scram-sha-256\n\
                     hostssl all all ::1/128 scram-sha-256\n"
                )
            }
        };
        std::fs::write(&hba, rules).context("writing pg_hba.conf")?;
        if let Some((uid, gid)) = self.run_as {
            for path in &owned {
                chown(path, Some(uid), Some(gid))
                    .with_context(|| format!("handing {} to {SERVICE_USER}", path.display()))?;
            }
        }
        self.auth = Some(PgAuth {
            ca: ca.map(TestCa::cert),
            admin_password: test_password("admin"),
        });
        Ok(())
    }

    /// Returns the TCP port, which stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns the directory holding this server's binaries (`psql` included).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Creates database `name` (letters, digits, `_`) and returns its URL.
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            bail!(
                "database name {name:?} must be letters, digits and '_', not starting with a digit"
            );
        }
        self.psql(&self.url(), &format!("CREATE DATABASE {name}"))?;
        Ok(self.url_for(name))
    }

    /// Runs `sql` with `psql` against `url` and returns its unaligned, tuples-only output without the final newline.
    pub fn psql(&self, url: &str, sql: &str) -> anyhow::Result<String> {
        let out = Command::new(self.bin_dir.join("psql"))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .context("running psql")?;
        if !out.status.success() {
            bail!(
                "psql {url} -c {sql:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.ends_with('\n') {
            text.pop();
        }
        Ok(text)
    }

    /// Returns true while the postmaster runs.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.is_running())
    }

    /// Stops the server with a fast shutdown (`SIGINT`: clients disconnected, data kept); the port stays reserved.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut process) = self.process.take() {
            process
                .stop(Signal::SIGINT, STOP_GRACE)
                .context("stopping postgres")?;
        }
        Ok(())
    }

    /// Starts the server again on the same port, with the same data, and waits until it accepts connections.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.is_running(),
            "postgres on port {} is already running",
            self.port
        );
        let socket_dir = self.dir.path().join("sock");
        let mut cmd = self.server_command("postgres");
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(&socket_dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .args(["-c", "shared_buffers=16MB"]);
        if self.auth.as_ref().is_some_and(|a| a.ca.is_some()) {
            cmd.args(["-c", "ssl=on"])
                .args(["-c", "ssl_cert_file=server.crt"])
                .args(["-c", "ssl_key_file=server.key"])
                .args(["-c", "ssl_ca_file=root.crt"]);
        }
        let log = self.dir.path().join("postgres.log");
        let process = self
            .process
            .insert(ProcessGroup::spawn("postgres", cmd, &log)?);
        let pg_isready = self.bin_dir.join("pg_isready");
        let port = self.port.to_string();
        wait_for_with_last(
            &format!("postgres on port {port} to accept connections"),
            READY_TIMEOUT,
            || {
                if let Some(status) = process.try_status() {
                    return Ok(Err(anyhow!(
                        "postgres exited ({status}) before accepting connections:\n{}",
                        process.log_tail(30)
                    )));
                }
                // Asked through this cluster's own socket folder: over TCP, another test's
                // server that took the port first would answer for it.
                let ready = Command::new(&pg_isready)
                    .env_clear()
                    .arg("-q")
                    .arg("-h")
                    .arg(&socket_dir)
                    .args(["-p", &port, "-U", DB_USER, "-d", "postgres"])
                    .status();
                match ready {
                    Ok(status) if status.success() => Ok(Ok(())),
                    Ok(status) => Err(format!("pg_isready: {status}\n{}", process.log_tail(10))),
                    Err(e) => Ok(Err(anyhow!(e).context("running pg_isready"))),
                }
            },
        )?
    }

    /// Stops and starts the server on the same port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `initdb` and prepares the socket directory, handing the tree to the service user if there is one.
    fn init_cluster(&self) -> anyhow::Result<()> {
        let socket_dir = self.dir.path().join("sock");
        std::fs::create_dir(&socket_dir)
            .with_context(|| format!("creating {}", socket_dir.display()))?;
        if let Some((uid, gid)) = self.run_as {
            for path in [self.dir.path(), &socket_dir] {
                chown(path, Some(uid), Some(gid))
                    .with_context(|| format!("handing {} to {SERVICE_USER}", path.display()))?;
            }
        }
        let out = self
            .server_command("initdb")
            .arg("-D")
            .arg(self.data_dir())
            .args([
                "-U",
                DB_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Returns a command for a server binary, as the service user when running as root.
    fn server_command(&self, binary: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(binary));
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C")
            .current_dir(self.dir.path());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Immediate shutdown: the data is thrown away with the directory, so skip the checkpoint.
        if let Some(mut process) = self.process.take() {
            let _ = process.stop(Signal::SIGQUIT, STOP_GRACE);
        }
    }
}

/// Returns the newest `/usr/lib/postgresql/<version>/bin` holding `initdb`, `postgres`, `pg_isready` and `psql`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            ["initdb", "postgres", "pg_isready", "psql"]
                .iter()
                .all(|b| bin.join(b).is_file())
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Returns the PostgreSQL binary directory, installing packages `postgresql` and `postgresql-client` if needed.
fn ensure_postgres() -> anyhow::Result<PathBuf> {
    if let Some(bin) = find_bin_dir() {
        return Ok(bin);
    }
    ensure_installed(
        || {
            if find_bin_dir().is_some() {
                Vec::new()
            } else {
                vec!["postgresql".to_owned(), "postgresql-client".to_owned()]
            }
        },
        || Ok(()),
    )?;
    find_bin_dir().context("no /usr/lib/postgresql/<version>/bin with initdb, postgres, pg_isready and psql after installing postgresql")
}

/// Returns the uid and gid of [`SERVICE_USER`], creating it (a system user without home or shell) if needed.
fn ensure_service_user() -> anyhow::Result<(Uid, Gid)> {
    let lookup = || -> anyhow::Result<Option<(Uid, Gid)>> {
        Ok(User::from_name(SERVICE_USER)
            .with_context(|| format!("looking up user {SERVICE_USER}"))?
            .map(|u| (u.uid, u.gid)))
    };
    if let Some(ids) = lookup()? {
        return Ok(ids);
    }
    let _lock = lock_file(USERADD_LOCK)?;
    if let Some(ids) = lookup()? {
        return Ok(ids);
    }
    let useradd = find_program("useradd").context("useradd not found (package passwd)")?;
    let out = Command::new(useradd)
        .args(["--system", "--user-group", "--no-create-home"])
        .args(["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"])
        .arg(SERVICE_USER)
        .output()
        .context("running useradd (package passwd)")?;
    // Exit code 9: the user exists (created by a process that does not take our lock).
    if !out.status.success() && out.status.code() != Some(9) {
        bail!(
            "useradd {SERVICE_USER} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    lookup()?.with_context(|| format!("user {SERVICE_USER} missing right after useradd"))
}

/// One PostgreSQL server per test binary: starting a cluster takes seconds, a database milliseconds.
static SHARED: std::sync::OnceLock<Result<std::sync::Mutex<Postgres>, String>> =
    std::sync::OnceLock::new();
static SHARED_DATABASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Returns the URL of a fresh database on the test binary's shared PostgreSQL server, named
/// `<prefix><n>_<test>`, or `None` when PostgreSQL cannot start and the test is skipped (never
/// under `CI=true`, where that fails the test).
pub fn fresh_database(prefix: &str, test: &str) -> Option<String> {
    let server = SHARED.get_or_init(|| {
        Postgres::start()
            .map(std::sync::Mutex::new)
            .map_err(|e| format!("{e:#}"))
    });
    let server = match server {
        Ok(server) => server,
        Err(e) => {
            super::require_or_skip::<()>("postgres", Err(anyhow!("{e}")))?;
            return None;
        }
    };
    let name = format!(
        "{prefix}{}_{}",
        SHARED_DATABASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect::<String>()
    );
    Some(
        server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .create_database(&name)
            .expect("creating a test database"),
    )
}
