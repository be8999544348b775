//! zdrive, the pane context manager: semantic pane names, an intent log per pane, and its
//! history as text, JSON or LLM context, on Redis or an embedded store (DESIGN.md D5-D7).
//!
//! The library is the engine ([`engine::Zdrive`]) used by the `zdrive` command line and by
//! host-bridge (the `zdrive::log` pipe). It never reads the process environment itself:
//! [`setup::Setup`] resolves configuration and paths from a lookup the program passes in.

pub mod agents;
pub mod config;
pub mod engine;
pub mod error;
pub mod format;
pub mod llm;
pub mod migrate;
pub mod model;
pub mod mux;
pub mod setup;
pub mod snapshot;
pub mod store;
pub mod text;

pub use engine::{
    EngineError, LivePane, LogOutcome, LogRequest, Navigation, ReconcileChange, Zdrive,
};
pub use model::{EntryType, InputError, IntentEntry, PaneRecord, Source};
pub use store::{
    CursorAdvance, CursorAppend, EmbeddedStore, History, KeyPrefix, MetadataChange, PaneStore,
    PaneUpdate, RedisStore, RenameOutcome, StoreError, StoreKind,
};
