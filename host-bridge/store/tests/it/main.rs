//! Integration tests of the store: one contract suite run against real PostgreSQL and SQLite.

mod contract;
mod fixture;
mod open;
mod persist_sessions;
mod team_server;
