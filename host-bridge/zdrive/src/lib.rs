//! zdrive, the pane context manager: semantic pane names, an intent log per pane, and its
//! history as text, JSON or LLM context, on Redis or an embedded store (DESIGN.md D5-D7).
//!
//! The library is the engine ([`engine::Zdrive`]) used by the `zdrive` command line and,
//! later, host-bridge and the zdrive plugin. It never reads `$HOME` or the environment: the
//! binary resolves configuration, the session and the paths, and passes them in.

pub mod config;
pub mod engine;
pub mod format;
pub mod migrate;
pub mod model;
pub mod mux;
pub mod store;

pub use engine::{
    EngineError, LivePane, LogOutcome, LogRequest, Navigation, ReconcileChange, Zdrive,
};
pub use model::{EntryType, InputError, IntentEntry, PaneRecord, Source};
pub use store::{EmbeddedStore, History, PaneStore, PaneUpdate, RedisStore, StoreError, StoreKind};
