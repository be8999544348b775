//! Integration tests of host-bridge: the real binary, spawned in an isolated HOME and XDG_RUNTIME_DIR.

mod agent_log;
mod events;
mod lifecycle;
mod limits;
mod outbox;
mod pane;
mod rpc;
mod security;
mod snapshot;
mod support;
mod worktrees;
mod zdrive;
