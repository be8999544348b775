//! Bloodbank events (DESIGN.md D6): CloudEvents 1.0 JSON, stored in the outbox, published to RabbitMQ with confirms.
//!
//! A command stores its [`Event`] with [`outbox_append`] in the transaction of the change it
//! describes and returns; it never waits for the broker. An [`OutboxPump`] (host-bridge's
//! [`OutboxPump::run`] loop, or a CLI's [`OutboxPump::pump_once`]) then publishes pending
//! rows in id order through a [`Publisher`] to the topic exchange `bloodbank.workspace`,
//! marking them published only once the broker confirmed them. [`watch_broker`] and
//! [`OutboxWatch`] read the stream back for people (`perth events`).

mod event;
mod publisher;
mod pump;
mod watch;

pub use event::{outbox_append, Event, DATA_CONTENT_TYPE, SPEC_VERSION};
pub use publisher::{
    amqp_transport_of, connect_amqp, connection_properties, declare_exchange, redact_amqp_url,
    with_ca_file, AmqpConnectError, PublishError, Publisher, CONTENT_TYPE, EXCHANGE,
};
pub use pump::{OutboxPump, PumpConfig, PumpError, PumpReport, PumpWaker};
pub use watch::{describe, watch_broker, OutboxWatch, WatchError, Watched};
