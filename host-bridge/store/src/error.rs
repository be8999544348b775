//! Errors of opening a database and of the operations on it.

use crate::value::QueryError;

/// Why [`crate::Database::open`] failed. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is neither PostgreSQL, SQLite nor a path.
    #[error("unsupported database URL {url}: use postgres://USER:PASSWORD@HOST:PORT/DB, sqlite://PATH or a file path")]
    UnsupportedUrl {
        /// The URL without its password.
        url: String,
    },
    /// The URL could not be parsed.
    #[error("invalid database URL {url}: {source}")]
    InvalidUrl {
        /// The URL without its password.
        url: String,
        /// What the parser said.
        #[source]
        source: sqlx::Error,
    },
    /// No PostgreSQL server answered at the address.
    #[error("cannot reach PostgreSQL at {at}: {reason}; start the server, fix DATABASE_URL, or unset it to use the embedded SQLite store")]
    Unreachable {
        /// `host:port` (or the socket path) that was tried.
        at: String,
        /// What went wrong (connection refused, no answer within the timeout, ...).
        reason: String,
    },
    /// The PostgreSQL server answered but refused the connection (authentication, missing database).
    #[error("PostgreSQL at {at} refused the connection: {source}; check the user, password and database name in DATABASE_URL")]
    Rejected {
        /// `host:port/db` that was tried.
        at: String,
        /// The server's answer.
        #[source]
        source: sqlx::Error,
    },
    /// The TLS handshake with PostgreSQL failed; the message says which way and what to set.
    #[error("{}", tls_message(url, problem, ssl_mode))]
    Tls {
        /// The URL without its password.
        url: String,
        /// Which way TLS failed.
        problem: conn_tls::TlsProblem,
        /// The sslmode in effect (`verify-full`, ...).
        ssl_mode: &'static str,
    },
    /// The CA file, client certificate or key the URL names could not be used.
    #[error("TLS to PostgreSQL at {url}: {source}; fix sslrootcert, sslcert or sslkey in the URL")]
    TlsFiles {
        /// The URL without its password.
        url: String,
        /// Which file and why.
        #[source]
        source: conn_tls::ClientConfigError,
    },
    /// A client certificate was given without its key, or a key without its certificate.
    #[error("TLS to PostgreSQL at {url}: {given} is set but {missing} is not; sslcert and sslkey go together: set both, or neither")]
    TlsClientPair {
        /// The URL without its password.
        url: String,
        /// The setting given: `sslcert` or `sslkey` (in the URL, or PGSSLCERT / PGSSLKEY).
        given: &'static str,
        /// The setting missing.
        missing: &'static str,
    },
    /// The SQLite file could not be opened or created.
    #[error("cannot open the SQLite database {path}: {source}; check that the folder exists and is writable")]
    Sqlite {
        /// The file.
        path: String,
        /// What SQLite said.
        #[source]
        source: QueryError,
    },
    /// The folder of the SQLite file could not be created.
    #[error("cannot create the folder {path} for the SQLite database: {source}")]
    CreateDir {
        /// The folder.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database was migrated by a newer perth or iMi.
    #[error("database schema version {found} is newer than this binary ({supported}); upgrade perth/iMi")]
    SchemaTooNew {
        /// The highest migration applied to the database.
        found: i64,
        /// The highest migration this binary knows.
        supported: i64,
    },
    /// A migration failed.
    #[error(
        "migrating the database at {location} failed: {source}{}",
        migrate_advice(source)
    )]
    Migrate {
        /// Where the database is, without credentials.
        location: String,
        /// What failed.
        #[source]
        source: MigrateError,
    },
    /// A query run while opening failed.
    #[error("opening the database at {location} failed: {source}")]
    Query {
        /// Where the database is, without credentials.
        location: String,
        /// What failed.
        #[source]
        source: QueryError,
    },
}

/// Why the migrations could not bring a database up to date. PostgreSQL's are sqlx's
/// migrator's; SQLite's are the store's own, which keeps sqlx's `_sqlx_migrations` table and
/// refuses what sqlx refused, with the same messages.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// sqlx's migrator failed (PostgreSQL).
    #[error(transparent)]
    Postgres(#[from] sqlx_core::migrate::MigrateError),
    /// A statement failed.
    #[error("while executing migrations: {0}")]
    Execute(#[source] QueryError),
    /// A migration's SQL failed.
    #[error("while executing migration {version}: {source}")]
    ExecuteMigration {
        /// The migration.
        version: i64,
        /// What failed.
        #[source]
        source: QueryError,
    },
    /// An applied migration's SQL is not the SQL this binary has for it (its checksum differs).
    #[error("migration {0} was previously applied but has been modified")]
    VersionMismatch(i64),
    /// An applied migration is unknown to this binary.
    #[error("migration {0} was previously applied but is missing in the resolved migrations")]
    VersionMissing(i64),
    /// A migration failed half-way before (its row says `success = false`).
    #[error(
        "migration {0} is partially applied; fix and remove row from `_sqlx_migrations` table"
    )]
    Dirty(i64),
}

/// Returns what to do when a migration was refused for lack of rights (a user's role on a team server).
fn migrate_advice(e: &MigrateError) -> &'static str {
    if e.to_string().contains("permission denied") {
        "; this role may not change the schema: run any perth or iMi command once as the database's administrator to migrate it"
    } else {
        ""
    }
}

/// Returns the message of [`OpenError::Tls`]: what failed and which setting fixes it.
fn tls_message(url: &str, problem: &conn_tls::TlsProblem, ssl_mode: &str) -> String {
    use conn_tls::TlsProblem;
    let advice = match problem {
        TlsProblem::UnknownCa => "set sslrootcert=PATH in the URL to the CA file that signed the server's certificate (or PGSSLROOTCERT)".to_owned(),
        TlsProblem::WrongHost => "connect with a host name the server's certificate names (its subject alternative names), in the URL's host".to_owned(),
        TlsProblem::ServerWithoutTls => format!("turn on ssl in the server's postgresql.conf, or lower sslmode={ssl_mode} in the URL (sslmode=prefer or disable sends the password in plain text)"),
        TlsProblem::ClientCertificate => "set sslcert=PATH and sslkey=PATH in the URL to a client certificate the server accepts".to_owned(),
        TlsProblem::Other(_) => "check the server's certificate and sslmode, sslrootcert, sslcert and sslkey in the URL".to_owned(),
    };
    format!(
        "TLS to PostgreSQL at {url} failed (sslmode={ssl_mode}): {}; {advice}",
        problem.what()
    )
}

/// Why an operation on an open database failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database rejected or could not run a query.
    #[error("database operation {op} failed: {source}")]
    Query {
        /// The operation, for example `outbox_append`.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: QueryError,
    },
    /// A name given by the user is not allowed; the message says what is.
    #[error("{0}")]
    InvalidName(String),
    /// A row with the same unique name exists already.
    #[error("{what} {name:?} already exists")]
    AlreadyExists {
        /// What kind of row, for example `worktree type`.
        what: &'static str,
        /// The name.
        name: String,
    },
}

impl Error {
    /// Returns the error of operation `op`.
    pub fn query(op: &'static str, source: impl Into<QueryError>) -> Self {
        Error::Query {
            op,
            source: source.into(),
        }
    }

    /// Returns true when the database could not be reached (as opposed to a rejected query).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Query { source, .. } if source.is_unavailable())
    }
}

/// Returns `url` with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end + 3],
        &userinfo[..colon],
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(
            redact_url("postgres://perth:s3cret@db:5432/perth"),
            "postgres://perth:***@db:5432/perth"
        );
        assert_eq!(
            redact_url("postgres://perth@db:5432/perth"),
            "postgres://perth@db:5432/perth"
        );
        assert_eq!(redact_url("/tmp/x.db"), "/tmp/x.db");
        assert_eq!(
            redact_url("postgres://u:p@ss@h/d?x=@"),
            "postgres://u:***@h/d?x=@"
        );
    }
}
