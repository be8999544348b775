//! iMi: git worktree management for parallel agents; this library is the engine the `iMi` CLI, host-bridge and the plugin share.
//!
//! Git is driven through the `git` command line ([`git::Git`]), never libgit2; state lives in
//! the shared database ([`store::Database`], PostgreSQL or SQLite) and every change writes its
//! Bloodbank event to the outbox in the same transaction. Each operation is one method of
//! [`Engine`] returning a serialisable report. The library reads neither `$HOME` nor the
//! environment: the binary resolves configuration and passes it in.

pub mod cli;
pub mod db;
mod engine;
mod error;
pub mod git;
pub mod github;
pub mod layout;
pub mod lock;
pub mod monitor;
pub mod names;
pub mod setup;

pub use engine::{
    builtin_kinds, rfc3339, validate_agent, AddReport, AddRequest, ClaimReport, DbNote, DbState,
    Engine, EngineConfig, InitReport, ListReport, ListedWorktree, Progress, ProjectCreateReport,
    PruneCandidate, PruneReport, RemovePreview, RemoveReport, RemoveRequest, StatusReport,
    TrunkStatus, TrustReport, WorktreeAgent, WorktreeInfo, WorktreeKind, WorktreeStatus, IMI_AGENT,
};
pub use error::{Error, ErrorClass, Result};
pub use layout::ProjectLayout;
