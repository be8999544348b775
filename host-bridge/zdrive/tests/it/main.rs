//! Integration tests of zdrive: the store contract on Redis and embedded, the engine, and the binary.

mod cli;
mod concurrency;
mod contract;
mod e2e;
mod engine;
mod fake_llm;
mod llm;
mod migrate;
mod snapshot;
mod spec;
mod support;
mod team_server;
