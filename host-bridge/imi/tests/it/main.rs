//! Integration tests of iMi: the CLI run as a process against real git repositories, real PostgreSQL and SQLite.

mod cli;
mod contract;
mod github;
mod monitor;
mod pane;
mod perth;
mod safety;
mod setup;
mod spec;
mod support;
mod team_server;
