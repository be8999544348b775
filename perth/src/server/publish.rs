//! The session's socket appears under the session's name only once it answers.
//!
//! Zellij 0.45.1 binds its socket at the session's name and starts listening on it a moment
//! later. A lookup in that moment (`zellij list-sessions`, `perth list-sessions`, a session
//! picker, `perth action` finding its session) is refused, takes the session for dead and
//! deletes its socket (zellij-utils `sessions.rs`, `assert_socket`; upstream zellij #5583 and
//! #2080). The server then runs on with every pane in it and no client can ever reach it
//! again; the next `perth --session` of that name starts a second server beside it.
//!
//! perth's server therefore has Zellij bind a staging path in perth's own folder of the socket
//! directory, which no lookup reads, and renames it to the session's name once it listens
//! (the rename is atomic and keeps the listening socket): the name appears already answering.
//! When the server ends it removes the socket it published, under whatever name the session
//! has by then (a renamed session's socket is left behind by Zellij).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the publisher waits for Zellij to listen before it renames the socket anyway.
pub const LISTEN_LIMIT: Duration = Duration::from_secs(10);

/// A Unix socket path holds at most this many bytes (with its terminating zero: 108).
const SOCKET_PATH_MAX: usize = 107;

/// The `__SO_ACCEPTCON` flag of `/proc/net/unix`: the socket listens.
const ACCEPTS: u32 = 0x0001_0000;

/// One session socket on its way to its name: Zellij binds `staging`, perth renames it to
/// `target` once it listens.
#[derive(Debug)]
pub struct Publication {
    staging: PathBuf,
    target: PathBuf,
}

/// The socket once published: its file's device and inode, which stay the same under a rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    dev: u64,
    ino: u64,
}

impl Publication {
    /// The publication of the session socket `target`, staged in the `perth` folder beside it;
    /// `None` where it cannot be staged (no `/proc/net/unix` to see it listen, or a socket
    /// folder so long that the staging path would not fit), and Zellij binds `target` itself.
    pub fn new(target: &Path) -> Option<Publication> {
        if !Path::new("/proc/net/unix").exists() {
            return None;
        }
        let dir = target.parent()?.join("perth");
        let staging = dir.join(format!(".starting-{}", std::process::id()));
        if staging.as_os_str().len() > SOCKET_PATH_MAX {
            return None;
        }
        std::fs::create_dir_all(&dir).ok()?;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        let _ = std::fs::remove_file(&staging);
        Some(Publication {
            staging,
            target: target.to_path_buf(),
        })
    }

    /// The path Zellij is to bind.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// Waits until a socket listens at the staging path (at most `limit`; past it the socket
    /// is published as it is, as Zellij would have), then gives it Zellij's permissions (owner
    /// only, sticky so that a runtime-folder cleaner keeps it) and renames it to the session's
    /// name, replacing a stale socket there as Zellij does.
    pub fn publish(&self, limit: Duration) -> std::io::Result<Published> {
        let deadline = Instant::now() + limit;
        while !listens(&self.staging)? {
            if Instant::now() >= deadline {
                log::warn!(
                    "perth: the session socket {} did not listen within {limit:?}",
                    self.staging.display()
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let meta = std::fs::symlink_metadata(&self.staging)?;
        std::fs::set_permissions(&self.staging, std::fs::Permissions::from_mode(0o1700))?;
        std::fs::rename(&self.staging, &self.target)?;
        Ok(Published {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Starts the thread that publishes the socket (see [`Publication::publish`]); it ends once
    /// it has. Its answer is what [`withdraw`] takes when the server ends.
    pub fn start(self) -> std::thread::JoinHandle<Option<Published>> {
        std::thread::Builder::new()
            .name("perth-publish".into())
            .spawn(move || match self.publish(LISTEN_LIMIT) {
                Ok(published) => Some(published),
                Err(e) => {
                    log::error!(
                        "perth: cannot publish the session socket {}: {e}",
                        self.target.display()
                    );
                    None
                }
            })
            .expect("spawning a thread")
    }
}

/// Removes the published socket from `dir` (the socket directory) under whatever name it has
/// now, and never another server's socket: only the file that is this very socket.
pub fn withdraw(dir: &Path, published: Published) {
    use std::os::unix::fs::FileTypeExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if meta.file_type().is_socket()
            && meta.dev() == published.dev
            && meta.ino() == published.ino
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Returns whether a socket bound at `path` listens, as `/proc/net/unix` reports it.
pub fn listens(path: &Path) -> std::io::Result<bool> {
    let table = std::fs::read_to_string("/proc/net/unix")?;
    Ok(listens_in(&table, path))
}

/// Reads `/proc/net/unix` (`Num RefCount Protocol Flags Type St Inode Path`) for a listening
/// socket bound at `path`. The path is the rest of the line, so it may hold spaces.
fn listens_in(table: &str, path: &Path) -> bool {
    let Some(path) = path.to_str() else {
        return false;
    };
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace();
        let flags = fields.nth(3).and_then(|f| u32::from_str_radix(f, 16).ok());
        let bound = line
            .strip_suffix(path)
            .is_some_and(|head| head.ends_with(' '));
        bound && flags.is_some_and(|f| f & ACCEPTS != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// A Unix stream socket bound at `path` and not yet listening, as Zellij's is for a moment.
    fn bound(path: &Path) -> OwnedFd {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain socket calls on a descriptor this function owns; the address is
        // zeroed, then filled with a path shorter than its buffer.
        unsafe {
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_un = std::mem::zeroed();
            addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
            let bytes = path.as_os_str().as_bytes();
            assert!(bytes.len() < addr.sun_path.len());
            for (slot, byte) in addr.sun_path.iter_mut().zip(bytes) {
                *slot = *byte as libc::c_char;
            }
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            let rc = libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len);
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            fd
        }
    }

    fn listen(fd: &OwnedFd) {
        // SAFETY: `fd` is a bound socket this test owns.
        assert_eq!(unsafe { libc::listen(fd.as_raw_fd(), 16) }, 0);
    }

    #[test]
    fn the_name_appears_only_once_the_socket_listens_and_then_answers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("my session");
        let publication = Publication::new(&target).expect("a short path can be staged");
        assert!(publication.staging().starts_with(dir.path().join("perth")));
        let socket = bound(publication.staging());
        // What Zellij 0.45.1 shows a lookup in this moment: a file that refuses connections.
        let refused = std::os::unix::net::UnixStream::connect(publication.staging()).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(!listens(publication.staging()).unwrap());
        let publisher = publication.start();
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !target.exists(),
            "the session's name appeared before its socket listened"
        );
        listen(&socket);
        let published = publisher.join().unwrap().expect("published");
        assert!(std::os::unix::net::UnixStream::connect(&target).is_ok());
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1700);

        // Renamed by the session (as `rename-session` does), then withdrawn: the socket goes
        // under its new name, and a socket of another server beside it stays.
        let renamed = dir.path().join("renamed");
        std::fs::rename(&target, &renamed).unwrap();
        let other = dir.path().join("other");
        let _other = std::os::unix::net::UnixListener::bind(&other).unwrap();
        withdraw(dir.path(), published);
        assert!(!renamed.exists());
        assert!(other.exists());
    }

    #[test]
    fn the_table_is_read_by_flags_and_whole_path() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
             0000000000000000: 00000002 00000000 00000000 0001 01 1001 /run/s/a b\n\
             0000000000000000: 00000002 00000000 00010000 0001 01 1002 /run/s/c\n\
             0000000000000000: 00000002 00000000 00010000 0001 01 1003 /run/s/xa b\n";
        assert!(!listens_in(table, Path::new("/run/s/a b")), "not listening");
        assert!(listens_in(table, Path::new("/run/s/c")));
        assert!(!listens_in(table, Path::new("s/c")), "another path's tail");
        assert!(listens_in(table, Path::new("/run/s/xa b")));
    }

    #[test]
    fn a_staging_path_too_long_for_a_socket_leaves_the_bind_to_zellij() {
        let long = PathBuf::from("/tmp").join("d".repeat(100)).join("s");
        assert!(Publication::new(&long).is_none());
    }
}
