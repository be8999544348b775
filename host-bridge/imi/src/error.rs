//! The engine's errors: each says what failed and what to do, and maps to a stable exit code.

pub use cli_docs::exit::ErrorClass;

/// Why an iMi operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name, type or PR number given by the user is not allowed; the message says what is.
    #[error("{0}")]
    InvalidName(String),
    /// The directory is not inside an iMi project or a git repository.
    #[error("{path} is not inside an iMi project: run `iMi init` in the repository (or pass --repo PATH|URL)")]
    NotAProject {
        /// Where the search started.
        path: String,
    },
    /// A named thing does not exist.
    #[error("{what} {name:?} not found{hint}")]
    NotFound {
        /// What was looked for (`worktree`, `worktree type`, ...).
        what: &'static str,
        /// The name.
        name: String,
        /// What to do, starting with "; " (or empty).
        hint: String,
    },
    /// A worktree, branch or folder with this name exists already.
    #[error("{what} {name:?} already exists{hint}")]
    AlreadyExists {
        /// What exists (`worktree`, `folder`, `branch`).
        what: &'static str,
        /// The name.
        name: String,
        /// What to do, starting with "; " (or empty).
        hint: String,
    },
    /// The operation would lose work; the message says how much and which flag allows it.
    #[error("{0}")]
    WouldLoseWork(String),
    /// The operation was refused for another reason the message explains.
    #[error("{0}")]
    Refused(String),
    /// The `git` executable could not be run.
    #[error("cannot run git: {source}; install git (2.41 or newer) and make sure it is on PATH")]
    GitMissing {
        /// Why spawning failed.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("git {args} failed in {dir}: {stderr}")]
    Git {
        /// The arguments, joined.
        args: String,
        /// The working directory.
        dir: String,
        /// What git printed on stderr.
        stderr: String,
    },
    /// A remote service (GitHub) could not be used; the message says why and what to check.
    #[error("{0}")]
    Unavailable(String),
    /// GitHub's API did not answer: no network, a name that does not resolve, a closed port, a timeout.
    #[error("cannot reach GitHub at {api_url} to {what}: {cause}; check the network or IMI_GITHUB_API_URL")]
    GitHubUnreachable {
        /// The API's base URL.
        api_url: String,
        /// What iMi was doing (`look up pull request o/r#7`).
        what: String,
        /// Why, from the HTTP client's error chain (never its backtrace).
        cause: String,
    },
    /// A git remote could not be reached (the network, its host, its credentials).
    #[error("cannot reach {remote} to {what}: {stderr}; check the network and the remote's URL (`git remote -v`)")]
    RemoteUnreachable {
        /// The remote's name (`origin`).
        remote: String,
        /// What iMi was doing (`fetch pull request 7`).
        what: String,
        /// What git printed on stderr, on one line.
        stderr: String,
    },
    /// The database is needed for this operation and is not available; the reason says what to do.
    #[error("the database is not available: {0}")]
    DatabaseUnavailable(String),
    /// A database query failed.
    #[error(transparent)]
    Database(#[from] store::Error),
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or folder.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Returns how this error is reported.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::InvalidName(_)
            | Error::NotAProject { .. }
            | Error::NotFound { .. }
            | Error::AlreadyExists { .. }
            | Error::WouldLoseWork(_)
            | Error::Refused(_)
            | Error::Git { .. } => ErrorClass::User,
            Error::GitMissing { .. }
            | Error::DatabaseUnavailable(_)
            | Error::Unavailable(_)
            | Error::GitHubUnreachable { .. }
            | Error::RemoteUnreachable { .. } => ErrorClass::Unavailable,
            Error::Database(e) if e.is_unavailable() => ErrorClass::Unavailable,
            Error::Database(_) | Error::Io { .. } => ErrorClass::Internal,
        }
    }

    /// Returns the stable machine-readable kind used in `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidName(_) => "invalid_name",
            Error::NotAProject { .. } => "not_a_project",
            Error::NotFound { .. } => "not_found",
            Error::AlreadyExists { .. } => "already_exists",
            Error::WouldLoseWork(_) => "would_lose_work",
            Error::Refused(_) => "refused",
            Error::GitMissing { .. } => "git_missing",
            Error::Git { .. } => "git_failed",
            Error::DatabaseUnavailable(_) => "database_unavailable",
            Error::Unavailable(_) => "unavailable",
            Error::GitHubUnreachable { .. } => "github_unavailable",
            Error::RemoteUnreachable { .. } => "remote_unavailable",
            Error::Database(e) if e.is_unavailable() => "database_unavailable",
            Error::Database(_) => "database",
            Error::Io { .. } => "io",
        }
    }

    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.display().to_string(),
            source,
        }
    }
}

/// Shorthand for results of engine operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
