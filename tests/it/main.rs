//! The one integration test binary of the harness crate: one module per area.

mod agent_log;
mod agents;
mod attach;
mod bad_input;
mod bridge;
mod concurrency;
mod config;
mod dist;
mod events;
mod foundation;
mod grants;
mod harness;
mod layouts;
mod notify;
mod persist;
mod real_agents;
mod snapshot;
mod status_bar;
mod tab_bar;
mod web;
mod workflows;
mod zdrive_pane;
