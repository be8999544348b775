//! Integration tests of Bloodbank: the outbox pump without a broker and against a real RabbitMQ.

mod broker;
mod offline;
mod support;
mod team_server;
