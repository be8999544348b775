//! The runtime folder: the one-instance-per-user lock, the 0600 runtime file, and the bearer token.

use bridge_protocol::RuntimeInfo;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Names the files host-bridge keeps in its runtime folder (`$XDG_RUNTIME_DIR/perth` or `~/.config/perth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeDir {
    dir: PathBuf,
}

/// Reports a failure to use the runtime folder.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot create the runtime folder {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot open the lock file {path}")]
    OpenLock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot write the runtime file {path}")]
    WriteInfo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the runtime file {path}")]
    ReadInfo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the runtime file {path} is not valid; remove it if no host-bridge runs")]
    ParseInfo {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read random bytes for the token: {0}")]
    Random(String),
}

impl RuntimeDir {
    /// Returns the runtime folder for the given environment: `$XDG_RUNTIME_DIR/perth`, else
    /// `$XDG_CONFIG_HOME/perth`, else `~/.config/perth`; `None` when none of them is known.
    ///
    /// Binaries read the variables and pass them in; every program that looks for the bridge
    /// (host-bridge itself, perth) resolves the folder with this one function.
    pub fn resolve(
        xdg_runtime_dir: Option<PathBuf>,
        xdg_config_home: Option<PathBuf>,
        home: Option<PathBuf>,
    ) -> Option<Self> {
        let base = xdg_runtime_dir
            .or(xdg_config_home)
            .or_else(|| home.map(|h| h.join(".config")))?;
        Some(RuntimeDir::new(base.join("perth")))
    }

    /// Returns the runtime folder at `dir` (not created yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Returns the folder itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Returns the path of the lock file held by the running daemon.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("host-bridge.lock")
    }

    /// Returns the path of the runtime file (`RuntimeInfo` as JSON, mode 0600).
    pub fn info_path(&self) -> PathBuf {
        self.dir.join("host-bridge.json")
    }

    /// Returns the path of the log file a daemonized `serve` writes to.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("host-bridge.log")
    }

    /// Creates the folder (mode 0700 for the parts it creates) if it does not exist.
    pub fn create(&self) -> Result<(), RuntimeError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| RuntimeError::CreateDir {
                path: self.dir.clone(),
                source,
            })
    }

    /// Takes the one-per-user lock, or returns `None` when another process holds it.
    pub fn try_lock(&self) -> Result<Option<InstanceLock>, RuntimeError> {
        self.create()?;
        let path = self.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| RuntimeError::OpenLock {
                path: path.clone(),
                source,
            })?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(flock) => Ok(Some(InstanceLock { _flock: flock })),
            Err((_, nix::Error::EWOULDBLOCK)) => Ok(None),
            Err((_, source)) => Err(RuntimeError::Lock { path, source }),
        }
    }

    /// Tells whether some process holds the lock, without keeping it.
    pub fn is_locked(&self) -> Result<bool, RuntimeError> {
        if !self.lock_path().exists() {
            return Ok(false);
        }
        Ok(self.try_lock()?.is_none())
    }

    /// Writes the runtime file atomically with mode 0600 (a temporary file renamed into place).
    pub fn write_info(&self, info: &RuntimeInfo) -> Result<(), RuntimeError> {
        self.write_private_json(self.info_path(), info)
    }

    /// Returns the path of the identity file: the address and token of the last daemon, kept
    /// after it stops so that the next one answers at the same place with the same token
    /// (plugins carry both in their configuration).
    pub fn identity_path(&self) -> PathBuf {
        self.dir.join("host-bridge.identity.json")
    }

    /// Records the daemon's address and token for its successors (0600).
    pub fn write_identity(&self, info: &RuntimeInfo) -> Result<(), RuntimeError> {
        self.write_private_json(self.identity_path(), info)
    }

    /// Reads the identity a previous daemon left; `None` when there is none or it is unreadable.
    pub fn read_identity(&self) -> Option<RuntimeInfo> {
        let bytes = fs::read(self.identity_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records `proposed` as the identity unless one exists already, and returns the identity
    /// in force. Lets a program that needs the bridge's address before any bridge runs (perth
    /// writing its plugins' configuration) fix it without racing another such program.
    pub fn claim_identity(&self, proposed: &RuntimeInfo) -> Result<RuntimeInfo, RuntimeError> {
        if let Some(existing) = self.read_identity() {
            return Ok(existing);
        }
        self.create()?;
        let staged = self
            .dir
            .join(format!("host-bridge.identity.{}.claim", std::process::id()));
        self.write_private_json(staged.clone(), proposed)?;
        // A hard link never replaces an existing file: the first claim wins.
        let linked = fs::hard_link(&staged, self.identity_path());
        let _ = fs::remove_file(&staged);
        match linked {
            Ok(()) => Ok(proposed.clone()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Ok(self.read_identity().unwrap_or_else(|| proposed.clone()))
            }
            Err(source) => Err(RuntimeError::WriteInfo {
                path: self.identity_path(),
                source,
            }),
        }
    }

    fn write_private_json(&self, path: PathBuf, info: &RuntimeInfo) -> Result<(), RuntimeError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self.dir.join(format!("{name}.{}.tmp", std::process::id()));
        let write = || -> io::Result<()> {
            let _ = fs::remove_file(&tmp);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            let json = serde_json::to_vec_pretty(info).map_err(io::Error::other)?;
            file.write_all(&json)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|source| {
            let _ = fs::remove_file(&tmp);
            RuntimeError::WriteInfo {
                path: path.clone(),
                source,
            }
        })
    }

    /// Reads the runtime file; `None` when there is none.
    pub fn read_info(&self) -> Result<Option<RuntimeInfo>, RuntimeError> {
        let path = self.info_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RuntimeError::ReadInfo { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| RuntimeError::ParseInfo { path, source })
    }

    /// Removes the runtime file; a missing file is not an error.
    pub fn remove_info(&self) -> io::Result<()> {
        match fs::remove_file(self.info_path()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Holds the one-per-user lock; dropping it releases the lock.
#[derive(Debug)]
pub struct InstanceLock {
    _flock: Flock<File>,
}

/// Returns a fresh bearer token: 32 random bytes from the OS, hex-encoded.
pub fn generate_token() -> Result<String, RuntimeError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| RuntimeError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn info() -> RuntimeInfo {
        RuntimeInfo {
            pid: 1,
            port: 2,
            url: "http://127.0.0.1:2".into(),
            token: "t".into(),
            started_at: 3,
            protocol_version: 1,
        }
    }

    #[test]
    fn runtime_file_is_private_and_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::new(tmp.path().join("perth"));
        dir.create().unwrap();
        assert_eq!(dir.read_info().unwrap(), None);
        dir.write_info(&info()).unwrap();
        let mode = fs::metadata(dir.info_path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(dir.read_info().unwrap(), Some(info()));
        dir.remove_info().unwrap();
        dir.remove_info().unwrap();
        assert_eq!(dir.read_info().unwrap(), None);
    }

    #[test]
    fn the_first_identity_claim_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::new(tmp.path().join("perth"));
        let first = dir.claim_identity(&info()).unwrap();
        assert_eq!(first, info());
        let mut other = info();
        other.token = "other".into();
        assert_eq!(dir.claim_identity(&other).unwrap(), info());
        let mode = fs::metadata(dir.identity_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_lock_is_exclusive_until_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::new(tmp.path().join("perth"));
        assert!(!dir.is_locked().unwrap());
        let lock = dir.try_lock().unwrap().expect("first lock");
        assert!(dir.try_lock().unwrap().is_none());
        assert!(dir.is_locked().unwrap());
        drop(lock);
        assert!(!dir.is_locked().unwrap());
    }

    #[test]
    fn tokens_are_64_hex_digits_and_differ() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
