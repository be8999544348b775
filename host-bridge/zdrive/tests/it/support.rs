//! Test fixtures: fresh stores of each backend, and the zdrive binary in an isolated environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;
use zdrive::{EmbeddedStore, PaneStore, RedisStore};

/// A store and whatever keeps it alive.
pub struct Fixture {
    pub store: Box<dyn PaneStore>,
    pub dir: TempDir,
    pub redis: Option<tests::Redis>,
}

/// Whatever must outlive an engine built from a [`Fixture`].
pub struct KeepAlive {
    _dirs: (TempDir, TempDir),
    _redis: Option<tests::Redis>,
}

impl Fixture {
    /// Returns a guard holding a fixture's folder and server plus another folder.
    pub fn keep_alive(dir: TempDir, redis: Option<tests::Redis>, other: TempDir) -> KeepAlive {
        KeepAlive {
            _dirs: (dir, other),
            _redis: redis,
        }
    }
}

/// Returns a fresh embedded store (and its outbox, the same file).
pub async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = store::Database::open(&dir.path().join("zdrive.db").display().to_string())
        .await
        .unwrap();
    Fixture {
        store: Box::new(EmbeddedStore::open(db.clone()).await.unwrap()),
        dir,
        redis: None,
    }
}

/// Returns a store on a fresh redis-server, or `None` when Redis cannot start outside CI.
pub async fn redis() -> Option<Fixture> {
    let server = tests::require_or_skip("redis", tests::Redis::start())?;
    let dir = tempfile::tempdir().unwrap();
    let store = RedisStore::connect(&server.url(), &Default::default(), Default::default())
        .await
        .unwrap();
    Some(Fixture {
        store: Box::new(store),
        dir,
        redis: Some(server),
    })
}

/// Returns the path of the zdrive binary cargo built for these tests.
pub fn zdrive_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zdrive"))
}

/// An isolated HOME with zdrive's configuration, for running the binary.
pub struct Env {
    pub env: tests::IsolatedEnv,
}

impl Env {
    pub fn new() -> Self {
        let mut env = tests::IsolatedEnv::new().unwrap();
        env.set_var("ZDRIVE_LOG", "warn");
        Self { env }
    }

    pub fn with_redis(url: &str) -> Self {
        let mut e = Self::new();
        e.env.set_var("ZDRIVE_REDIS_URL", url);
        e
    }

    pub fn command(&self) -> Command {
        self.env.command(zdrive_bin())
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let text = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
            panic!(
                "{args:?} printed no JSON ({e}): {text}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), value)
    }

    pub fn data_db(&self) -> PathBuf {
        self.env.data_dir().join("zellij-driver/zdrive.db")
    }

    pub fn config_file(&self) -> PathBuf {
        self.env.config_dir().join("zellij-driver/config.toml")
    }
}

/// Opens a database file to inspect it.
pub async fn open_db(path: &Path) -> store::Database {
    store::Database::open(&path.display().to_string())
        .await
        .unwrap()
}
